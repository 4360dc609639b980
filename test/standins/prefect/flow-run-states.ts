/**
 * `POST /flow_runs/{id}/set_state`: asks `orchestrate()` for a decision, then does what the real
 * server does around it: writes the state (new `id`, unique `timestamp`), applies the
 * GlobalFlowPolicy bookkeeping to the run (state_type/state_name, start_time, end_time,
 * total_run_time, expected_start_time, next_scheduled_start_time, run_count, empirical_policy) and
 * the deployment concurrency leases, and answers an OrchestrationResult.
 */
import { formatDateTime, normaliseDateTime, toMillis } from './datetime.ts';
import { deploymentActiveSlots, isLeaseExpired, trackLease } from './leases.ts';
import { isDateTime } from './openapi-validator.ts';
import {
  isTerminal,
  normalizeState,
  type OrchestrationContext,
  type OrchestrationResult,
  orchestrate,
  type ProposedState,
  type StateRecord,
} from './orchestration.ts';
import { type FlowRunRecord, newId, type Store } from './store.ts';
import { stateView } from './views.ts';

/** The JSON body of an `OrchestrationResult`. */
export interface OrchestrationResultBody {
  status: 'ACCEPT' | 'REJECT' | 'ABORT' | 'WAIT';
  state: ReturnType<typeof stateView> | null;
  details: Record<string, unknown>;
}

const DATETIME_DETAILS = ['scheduled_time', 'pause_timeout', 'cache_expiration'] as const;

const normaliseDetails = (details: Record<string, unknown>): Record<string, unknown> => {
  const copy = { ...details };
  for (const key of DATETIME_DETAILS) {
    const value = copy[key];
    if (typeof value === 'string' && isDateTime(value)) copy[key] = normaliseDateTime(value);
  }
  return copy;
};

/** A timestamp strictly after the run's previous state (`EnsureFlowRunStateTimestampIsUnique`). */
const uniqueTimestamp = (store: Store, run: FlowRunRecord): string => {
  const now = store.now().getTime();
  const previous = run.state ? toMillis(run.state.timestamp) : Number.NEGATIVE_INFINITY;
  return formatDateTime(new Date(Math.max(now, previous + 1)));
};

/** Writes `proposal` as the run's new state and applies the run bookkeeping. */
export const writeState = (
  store: Store,
  run: FlowRunRecord,
  proposal: ProposedState
): StateRecord => {
  const timestamp = uniqueTimestamp(store, run);
  const full = normalizeState(proposal, new Date(toMillis(timestamp)));
  const state: StateRecord = {
    id: newId(),
    type: full.type,
    name: full.name,
    timestamp,
    message: full.message,
    data: full.data,
    state_details: normaliseDetails({ ...full.state_details, flow_run_id: run.id }),
  };
  const previous = run.state;
  const scheduledTime =
    typeof state.state_details.scheduled_time === 'string'
      ? state.state_details.scheduled_time
      : null;

  // SetNextScheduledStartTime
  if (previous?.type === 'SCHEDULED') run.next_scheduled_start_time = null;
  if (state.type === 'SCHEDULED') run.next_scheduled_start_time = scheduledTime;
  // SetExpectedStartTime
  if (run.expected_start_time === null) {
    run.expected_start_time = state.type === 'SCHEDULED' ? scheduledTime : timestamp;
  }
  // SetStartTime
  if (state.type === 'RUNNING' && run.start_time === null) run.start_time = timestamp;
  // SetEndTime
  if (previous && isTerminal(previous.type) && !isTerminal(state.type)) run.end_time = null;
  if (isTerminal(state.type) && run.end_time === null) {
    if (run.start_time === null) run.start_time = timestamp;
    run.end_time = timestamp;
  }
  // IncrementRunTime
  if (previous?.type === 'RUNNING') {
    run.total_run_time += (toMillis(timestamp) - toMillis(previous.timestamp)) / 1000;
  }
  // SetRunStateType / SetRunStateName / SetRunStateTimestamp
  run.state = state;
  run.state_id = state.id;
  run.state_type = state.type;
  run.state_name = state.name;
  run.updated = timestamp;
  run.history.push(state);
  trackLease(store, run, state);
  return state;
};

const CLIENT_VERSION = /^prefect\/(\d+\.\d+\.\d+(?:[a-z.+0-9]+)?) \(API \S+\)$/;

/** The Prefect client version of a `User-Agent`, as the server parses it; null for other clients. */
export const clientVersionOf = (userAgent: string | undefined): string | null =>
  (userAgent ? CLIENT_VERSION.exec(userAgent)?.[1] : undefined) ?? null;

const contextFor = (
  store: Store,
  run: FlowRunRecord,
  proposed: ProposedState,
  force: boolean,
  clientVersion: string | null
): OrchestrationContext => {
  const deployment = run.deployment_id ? store.deployments.get(run.deployment_id) : undefined;
  return {
    current: run.state,
    proposed,
    force,
    run: {
      id: run.id,
      infrastructure_pid: run.infrastructure_pid,
      empirical_policy: run.empirical_policy,
      deployment_id: run.deployment_id,
      run_count: run.run_count,
      parent_task_run_id: run.parent_task_run_id,
    },
    deployment: deployment
      ? {
          id: deployment.id,
          concurrency_limit: deployment.concurrency_limit,
          collision_strategy: deployment.concurrency_options?.collision_strategy ?? 'ENQUEUE',
          active_slots: deploymentActiveSlots(store, deployment.id, run.id),
        }
      : null,
    deploymentMissing: run.deployment_id !== null && !deployment,
    now: store.now(),
    newId,
    clientVersion,
    deploymentLeaseExpired: isLeaseExpired(store, run),
  };
};

const detailsOf = (result: OrchestrationResult): Record<string, unknown> => {
  switch (result.status) {
    case 'ACCEPT':
      return { type: 'accept_details' };
    case 'REJECT':
      return { type: 'reject_details', reason: result.reason };
    case 'ABORT':
      return { type: 'abort_details', reason: result.reason };
    case 'WAIT':
      return {
        type: 'wait_details',
        delay_seconds: Math.round(result.delaySeconds),
        reason: result.reason,
      };
  }
};

/**
 * Orchestrates and applies a proposal. `status` is 201 when a state was written, 200 otherwise,
 * as the server answers.
 */
export const setFlowRunState = (
  store: Store,
  run: FlowRunRecord,
  proposed: ProposedState,
  force: boolean,
  clientVersion: string | null = null
): { status: 200 | 201; body: OrchestrationResultBody } => {
  const result = orchestrate(contextFor(store, run, proposed, force, clientVersion));
  const updates = result.runUpdates;
  if (updates?.empirical_policy) run.empirical_policy = updates.empirical_policy;
  if (updates?.run_count !== undefined) run.run_count = updates.run_count;

  const toWrite = result.status === 'ACCEPT' || result.status === 'REJECT' ? result.state : null;
  const written = toWrite ? writeState(store, run, toWrite) : null;
  const state = written ?? run.state;
  return {
    status: written ? 201 : 200,
    body: {
      status: result.status,
      state: state ? stateView(state) : null,
      details: detailsOf(result),
    },
  };
};
