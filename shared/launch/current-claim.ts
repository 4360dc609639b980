/**
 * The *current attempt* of a flow run, as Prefect's records show it: its latest claim. A claim is the
 * PENDING state named "Pending" that a worker proposes from SCHEDULED (ours, Prefect's own worker's);
 * every later PENDING of the attempt is a named sub-state (`InfrastructurePending`). A run keeps its
 * id and its `infrastructure_pid` across attempts, so the claim is what tells one attempt from the
 * next: a task created before the current claim is an older attempt's.
 */
import type { FlowRun, State } from '../prefect/schemas.ts';
import type { StateInput } from '../prefect/state-create.ts';

/** The default name of a PENDING state (the claim); other names are sub-states. */
export const PENDING_STATE_NAME = 'Pending';

/** Whether a state is a claim (PENDING with the default name). */
export const isClaimState = (state: Pick<State, 'type' | 'name'> | null | undefined): boolean =>
  state?.type === 'PENDING' && (state.name ?? PENDING_STATE_NAME) === PENDING_STATE_NAME;

/** A claim: its transition id and when the server wrote it. */
export interface CurrentClaim {
  transitionId: string | null;
  claimedAt: Date;
}

const toClaim = (state: State): CurrentClaim | undefined => {
  const claimedAt = new Date(state.timestamp);
  if (Number.isNaN(claimedAt.getTime())) return undefined;
  return { transitionId: state.state_details.transition_id ?? null, claimedAt };
};

/**
 * The claim of the run's current state, when the current state is a claim (no read needed).
 *
 * @example
 * claimOfCurrentState(run); // { transitionId: '…', claimedAt: 2026-…Z } for a run in "Pending"
 */
export const claimOfCurrentState = (run: Pick<FlowRun, 'state'>): CurrentClaim | undefined =>
  run.state && isClaimState(run.state) ? toClaim(run.state) : undefined;

/**
 * The latest claim in a run's state history (`GET /flow_run_states/?flow_run_id=`), by timestamp.
 *
 * @example
 * latestClaim(await prefect.readFlowRunStates(run.id)); // the claim of the current attempt
 */
export const latestClaim = (states: readonly State[]): CurrentClaim | undefined => {
  let latest: State | undefined;
  for (const state of states) {
    if (!isClaimState(state)) continue;
    if (!latest || Date.parse(state.timestamp) >= Date.parse(latest.timestamp)) latest = state;
  }
  return latest ? toClaim(latest) : undefined;
};

/**
 * Whether the engine reported RUNNING during the current attempt (after the latest claim). Prefect
 * sets a run's `start_time` at its first RUNNING and never resets it, so a retried run waiting for
 * its second task still has one: only the history tells. With no claim in the history, any RUNNING
 * counts.
 *
 * @example
 * engineStartedInCurrentAttempt(await prefect.readFlowRunStates(run.id)); // false while PENDING again
 */
export const engineStartedInCurrentAttempt = (states: readonly State[]): boolean => {
  const claim = latestClaim(states);
  const since = claim?.claimedAt.getTime() ?? Number.NEGATIVE_INFINITY;
  return states.some((state) => state.type === 'RUNNING' && Date.parse(state.timestamp) > since);
};

const ENDED_OR_RESCHEDULED: ReadonlySet<string> = new Set([
  'COMPLETED',
  'FAILED',
  'CANCELLED',
  'CRASHED',
  'SCHEDULED',
]);

/**
 * The latest final or SCHEDULED state written after the latest claim: what the run had reached when
 * a PENDING proposal decided earlier landed on it (Prefect accepts PENDING after final states and
 * SCHEDULED). `undefined` when the attempt never ended.
 *
 * @example
 * endedSinceClaim(await prefect.readFlowRunStates(run.id)); // the COMPLETED a late PENDING undid
 */
export const endedSinceClaim = (states: readonly State[]): State | undefined => {
  const since = latestClaim(states)?.claimedAt.getTime() ?? Number.NEGATIVE_INFINITY;
  return states
    .filter((state) => ENDED_OR_RESCHEDULED.has(state.type) && Date.parse(state.timestamp) > since)
    .sort((a, b) => Date.parse(a.timestamp) - Date.parse(b.timestamp))
    .at(-1);
};

/**
 * The proposal that writes `state` again as it was: type, name, message, data (the result
 * reference) and scheduled time. Propose it forced.
 *
 * @example
 * await prefect.setFlowRunState(id, restoring(ended), { force: true, replay: false });
 */
export const restoring = (state: State): StateInput => ({
  type: state.type,
  ...(state.name ? { name: state.name } : {}),
  message: state.message,
  ...(state.data === undefined ? {} : { data: state.data }),
  ...(state.state_details.scheduled_time
    ? { stateDetails: { scheduledTime: state.state_details.scheduled_time } }
    : {}),
});
