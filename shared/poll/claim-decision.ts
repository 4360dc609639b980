/**
 * Reading the server's answer to a claim (the PENDING proposal) the way Prefect's worker does, plus
 * the retry case (prefect-worker-api.md §2.4, §4.3):
 * - ACCEPT with a PENDING state: ours;
 * - REJECT whose state is PENDING with *our* transition id: ours too (our own proposal, replayed
 *   after a lost response, met PreventDuplicateTransitions);
 * - anything else is not ours: ABORT (another worker won, the run moved on), REJECT to
 *   `AwaitingConcurrencySlot` (deployment concurrency) or `Cancelled` (CANCEL_NEW), WAIT.
 */
import type { SetStateResult } from '../prefect/flow-run-calls.ts';

/** The verdict, with a reason for the debug log when the run is not ours. */
export type ClaimVerdict =
  | { claimed: true; scheduledTime: string | null; claimedAt: string }
  | { claimed: false; reason: string };

/**
 * @example
 * interpretClaim(await prefect.setFlowRunState(id, pending), transitionId);
 * // { claimed: false, reason: 'REJECT → SCHEDULED (AwaitingConcurrencySlot): …' }
 */
export const interpretClaim = (result: SetStateResult, transitionId: string): ClaimVerdict => {
  const state = result.state;
  if (state?.type === 'PENDING') {
    const claimed = {
      claimed: true,
      scheduledTime: state.state_details.scheduled_time,
      claimedAt: state.timestamp,
    } as const;
    if (result.status === 'ACCEPT') return claimed;
    if (result.status === 'REJECT' && state.state_details.transition_id === transitionId) {
      return claimed;
    }
  }
  const reason = 'reason' in result.details ? result.details.reason : null;
  const now = state ? `${state.type} (${state.name ?? state.type})` : 'no state';
  return {
    claimed: false,
    reason: `${result.status} → ${now}${reason ? `: ${reason}` : ''}`,
  };
};
