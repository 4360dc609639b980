/**
 * Whether a launch message still owns its flow run: the rule that makes redelivered, duplicated and
 * stale messages safe (DESIGN.md "Idempotency").
 *
 * A message owns the run when the run is PENDING, has no `infrastructure_pid`, and either
 * - the current state is the claim itself: `state_details.transition_id` equals the message's; or
 * - the current state is a *named* PENDING sub-state (any name but "Pending", e.g. the reporter's
 *   `InfrastructurePending`), which only follows a claim once a task was started for it. Going on
 *   then is safe because the launch is idempotent: RunTask's `clientToken` (the flow run id), and
 *   the live-task check before any fallback token, give back the task already started instead of a
 *   second one. This is what lets a launcher that died after RunTask record the pid later, even
 *   after the reporter moved the run to `InfrastructurePending`.
 *
 * The launcher never proposes a sub-state itself (no `Submitting`): its own proposal would carry a
 * new transition id and break the first rule for the next delivery.
 *
 * A plain "Pending" state with another transition id is another claim (a re-claim after a
 * reschedule, or another poller): the message is stale and is dropped.
 */
import type { FlowRun } from '../prefect/schemas.ts';
import type { LaunchMessage } from './launch-message.ts';

/** The default name of a PENDING state (the claim); other names are sub-states. */
export const PENDING_STATE_NAME = 'Pending';

/** The decision, with the reason logged when the message is dropped. */
export type ClaimCheck =
  | { owned: true; via: 'transition_id' | 'sub_state' }
  | { owned: false; reason: string };

/**
 * Applies the ownership rule to a freshly read run.
 *
 * @example
 * checkClaim(run, message); // { owned: true, via: 'transition_id' }
 */
export const checkClaim = (run: FlowRun, message: LaunchMessage): ClaimCheck => {
  const state = run.state;
  if (state === null) return { owned: false, reason: 'the flow run has no state' };
  const name = state.name ?? PENDING_STATE_NAME;
  if (state.type !== 'PENDING') {
    return {
      owned: false,
      reason: `the flow run is ${state.type} (${name}), no longer PENDING`,
    };
  }
  if (run.infrastructure_pid !== null && run.infrastructure_pid !== '') {
    return {
      owned: false,
      reason: `the flow run already has infrastructure ${run.infrastructure_pid}`,
    };
  }
  if (state.state_details.transition_id === message.transition_id) {
    return { owned: true, via: 'transition_id' };
  }
  if (name !== PENDING_STATE_NAME) return { owned: true, via: 'sub_state' };
  return {
    owned: false,
    reason: `the flow run was claimed by another proposal (transition ${state.state_details.transition_id ?? 'none'}, not ${message.transition_id})`,
  };
};
