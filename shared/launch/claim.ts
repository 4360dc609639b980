/**
 * Whether a launch message still owns its flow run's *current attempt*: the rule that makes
 * redelivered, duplicated and stale messages safe (DESIGN.md "Idempotency", "Attempts").
 *
 * A run keeps its id and its `infrastructure_pid` across attempts (Retry, a Spot reschedule, an
 * automation), so the pid says nothing about the attempt in hand: a claimed attempt is launched
 * whatever pid an earlier attempt left. A message owns the run when the run is PENDING and either
 * - the current state is the claim itself: `state_details.transition_id` equals the message's
 *   (with or without a pid: RunTask with the attempt's clientToken gives back the attempt's task
 *   if a delivery before this one started it, so going on never starts a second one); or
 * - the current state is a *named* PENDING sub-state (any name but "Pending", e.g. the reporter's
 *   `InfrastructurePending`) and the run has no `infrastructure_pid`: a launcher that died after
 *   RunTask may still record its task. The caller must then confirm from the state history that
 *   the message's claim is the run's latest (`latestClaim`), since a sub-state does not carry it.
 *   A sub-state with a pid means this attempt already has its task (the reporter proposes the
 *   sub-state only for a task of the current attempt, and records the pid with it).
 *
 * The launcher never proposes a sub-state itself (no `Submitting`): its own proposal would carry a
 * new transition id and break the first rule for the next delivery.
 *
 * A plain "Pending" state with another transition id is another claim (a re-claim after a
 * reschedule, or another poller): the message is stale and is dropped.
 */
import type { FlowRun } from '../prefect/schemas.ts';
import { PENDING_STATE_NAME } from './current-claim.ts';
import type { LaunchMessage } from './launch-message.ts';

export { PENDING_STATE_NAME } from './current-claim.ts';

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
  if (state.state_details.transition_id === message.transition_id) {
    return { owned: true, via: 'transition_id' };
  }
  if (name === PENDING_STATE_NAME) {
    return {
      owned: false,
      reason: `the flow run was claimed by another proposal (transition ${state.state_details.transition_id ?? 'none'}, not ${message.transition_id})`,
    };
  }
  if (run.infrastructure_pid !== null && run.infrastructure_pid !== '') {
    return {
      owned: false,
      reason: `this attempt already has a task: the run is ${name} with infrastructure ${run.infrastructure_pid}`,
    };
  }
  return { owned: true, via: 'sub_state' };
};
