import type { StateType } from './schemas.ts';
import { compact, type DateTimeInput, toIsoDateTime } from './wire.ts';

/** `state_details` fields a proposal may carry. The server ignores unknown ones; we send none. */
export interface StateDetailsInput {
  /** Defaults to the flow run the state is proposed for. */
  flowRunId?: string;
  /**
   * Identifies one logical proposal. Reuse it when re-proposing after a lost response: the server
   * then answers REJECT with the current state instead of ABORT (prefect-worker-api.md §4.3).
   */
  transitionId?: string;
  scheduledTime?: DateTimeInput | null;
  /** Copy from the current state when replacing it, so the deployment slot is released. */
  deploymentConcurrencyLeaseId?: string | null;
  pauseKey?: string | null;
}

/** A proposed state (`StateCreate`: type, name, message, data, state_details; nothing else). */
export interface StateInput {
  type: StateType;
  /** Defaults server-side from `type` ("Pending", "Crashed", …). */
  name?: string;
  message?: string | null;
  data?: unknown;
  stateDetails?: StateDetailsInput;
}

/**
 * Builds a `StateCreate` body. Never sends `id` or `timestamp` (the server answers 422); only the
 * keys the caller gave, plus `flow_run_id`/`transition_id` when provided here.
 *
 * @example
 * toStateCreate({ type: 'PENDING' }, { transition_id: 't' });
 * // { type: 'PENDING', state_details: { transition_id: 't' } }
 */
export const toStateCreate = (
  state: StateInput,
  extraDetails: { flow_run_id?: string; transition_id?: string } = {}
): Record<string, unknown> => {
  const details = state.stateDetails ?? {};
  const stateDetails = compact({
    flow_run_id: details.flowRunId ?? extraDetails.flow_run_id,
    transition_id: details.transitionId ?? extraDetails.transition_id,
    scheduled_time:
      details.scheduledTime === undefined || details.scheduledTime === null
        ? details.scheduledTime
        : toIsoDateTime(details.scheduledTime),
    deployment_concurrency_lease_id: details.deploymentConcurrencyLeaseId,
    pause_key: details.pauseKey,
  });
  return compact({
    type: state.type,
    name: state.name,
    message: state.message,
    data: state.data,
    state_details: Object.keys(stateDetails).length > 0 ? stateDetails : undefined,
  });
};
