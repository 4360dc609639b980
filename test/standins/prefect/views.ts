/**
 * Response bodies in the real server's shapes, built from store records. Statuses that the real
 * server's Foreman service keeps up to date every 15 s are computed here from the clock instead.
 */
import { toMillis } from './datetime.ts';
import { deploymentActiveSlots } from './leases.ts';
import type { StateRecord } from './orchestration.ts';
import {
  countActiveRuns,
  type DeploymentRecord,
  type FlowRecord,
  type FlowRunRecord,
  type LogRecord,
  type Store,
  secondsSince,
  type VariableRecord,
  type WorkerRecord,
  type WorkPoolRecord,
  type WorkQueueRecord,
} from './store.ts';

/** `INACTIVITY_HEARTBEAT_MULTIPLE` and `FALLBACK_HEARTBEAT_INTERVAL_SECONDS` of the Foreman. */
export const WORKER_HEARTBEAT_MULTIPLE = 3;
export const WORKER_FALLBACK_HEARTBEAT_SECONDS = 30;
/** `WORK_QUEUE_LAST_POLLED_TIMEOUT_SECONDS` and `DEPLOYMENT_LAST_POLLED_TIMEOUT_SECONDS`. */
export const LAST_POLLED_TIMEOUT_SECONDS = 60;

const FINAL_STATES = new Set(['COMPLETED', 'FAILED', 'CANCELLED', 'CRASHED']);

/** Whether a state type is terminal. */
export const isFinal = (type: string | null): boolean => type !== null && FINAL_STATES.has(type);

export const isWorkerOnline = (store: Store, worker: WorkerRecord): boolean =>
  secondsSince(store, worker.last_heartbeat_time) <=
  (worker.heartbeat_interval_seconds ?? WORKER_FALLBACK_HEARTBEAT_SECONDS) *
    WORKER_HEARTBEAT_MULTIPLE;

const polledRecently = (store: Store, lastPolled: string | null): boolean =>
  lastPolled !== null && secondsSince(store, lastPolled) <= LAST_POLLED_TIMEOUT_SECONDS;

export const workPoolStatus = (store: Store, pool: WorkPoolRecord): string | null => {
  if (pool.type === 'prefect-agent') return null;
  if (pool.is_paused) return 'PAUSED';
  const online = [...store.workers.values()].some(
    (worker) => worker.work_pool_id === pool.id && isWorkerOnline(store, worker)
  );
  return online ? 'READY' : 'NOT_READY';
};

export const workQueueStatus = (store: Store, queue: WorkQueueRecord): string => {
  if (queue.is_paused) return 'PAUSED';
  return polledRecently(store, queue.last_polled) ? 'READY' : 'NOT_READY';
};

/** The pool a run belongs to, through its queue. */
export const poolOfRun = (store: Store, run: FlowRunRecord): WorkPoolRecord | undefined => {
  const queue = run.work_queue_id ? store.workQueues.get(run.work_queue_id) : undefined;
  return queue ? store.workPools.get(queue.work_pool_id) : undefined;
};

export const poolActiveSlots = (store: Store, pool: WorkPoolRecord): number =>
  countActiveRuns(store, (run) => poolOfRun(store, run)?.id === pool.id);

export const queueActiveSlots = (store: Store, queue: WorkQueueRecord): number =>
  countActiveRuns(store, (run) => run.work_queue_id === queue.id);

export const workPoolView = (store: Store, pool: WorkPoolRecord) => ({
  id: pool.id,
  created: pool.created,
  updated: pool.updated,
  name: pool.name,
  description: pool.description,
  type: pool.type,
  base_job_template: pool.base_job_template,
  is_paused: pool.is_paused,
  concurrency_limit: pool.concurrency_limit,
  status: workPoolStatus(store, pool),
  default_queue_id: pool.default_queue_id,
  storage_configuration: pool.storage_configuration,
  active_slots: pool.concurrency_limit === null ? null : poolActiveSlots(store, pool),
});

export const workQueueView = (store: Store, queue: WorkQueueRecord) => ({
  id: queue.id,
  created: queue.created,
  updated: queue.updated,
  name: queue.name,
  description: queue.description,
  is_paused: queue.is_paused,
  concurrency_limit: queue.concurrency_limit,
  priority: queue.priority,
  work_pool_id: queue.work_pool_id,
  filter: null,
  last_polled: queue.last_polled,
  work_pool_name: store.workPools.get(queue.work_pool_id)?.name ?? null,
  status: workQueueStatus(store, queue),
  active_slots: queue.concurrency_limit === null ? null : queueActiveSlots(store, queue),
});

export const workerView = (store: Store, worker: WorkerRecord) => ({
  id: worker.id,
  created: worker.created,
  updated: worker.updated,
  name: worker.name,
  work_pool_id: worker.work_pool_id,
  last_heartbeat_time: worker.last_heartbeat_time,
  heartbeat_interval_seconds: worker.heartbeat_interval_seconds,
  status: isWorkerOnline(store, worker) ? 'ONLINE' : 'OFFLINE',
});

export const flowView = (flow: FlowRecord) => ({ ...flow });

export const deploymentView = (store: Store, deployment: DeploymentRecord) => {
  const queue = deployment.work_queue_id
    ? store.workQueues.get(deployment.work_queue_id)
    : undefined;
  const pool = queue ? store.workPools.get(queue.work_pool_id) : undefined;
  const limit = deployment.concurrency_limit_record;
  return {
    id: deployment.id,
    created: deployment.created,
    updated: deployment.updated,
    name: deployment.name,
    version: deployment.version,
    description: deployment.description,
    flow_id: deployment.flow_id,
    paused: deployment.paused,
    schedules: deployment.schedules,
    // Always null since 3.x: the limit is served as `global_concurrency_limit`.
    concurrency_limit: null,
    global_concurrency_limit:
      limit && deployment.concurrency_limit !== null
        ? {
            id: limit.id,
            created: limit.created,
            updated: limit.updated,
            active: true,
            name: `deployment:${deployment.id}`,
            limit: deployment.concurrency_limit,
            active_slots: deploymentActiveSlots(store, deployment.id),
            slot_decay_per_second: 0,
          }
        : null,
    concurrency_options: deployment.concurrency_options,
    job_variables: deployment.job_variables,
    parameters: deployment.parameters,
    tags: deployment.tags,
    labels: deployment.labels,
    work_queue_name: queue?.name ?? deployment.work_queue_name,
    work_queue_id: deployment.work_queue_id,
    last_polled: deployment.last_polled,
    parameter_openapi_schema: deployment.parameter_openapi_schema,
    path: deployment.path,
    pull_steps: deployment.pull_steps,
    entrypoint: deployment.entrypoint,
    storage_document_id: deployment.storage_document_id,
    infrastructure_document_id: deployment.infrastructure_document_id,
    created_by: deployment.created_by,
    updated_by: deployment.updated_by,
    work_pool_name: pool?.name ?? null,
    status: polledRecently(store, deployment.last_polled) ? 'READY' : 'NOT_READY',
    enforce_parameter_schema: deployment.enforce_parameter_schema,
  };
};

export const stateView = (state: StateRecord) => ({
  id: state.id,
  type: state.type,
  name: state.name,
  timestamp: state.timestamp,
  message: state.message,
  data: state.data,
  state_details: state.state_details,
});

const estimatedRunTime = (store: Store, run: FlowRunRecord): number => {
  if (run.state_type === 'RUNNING' && run.state) {
    return run.total_run_time + Math.max(0, secondsSince(store, run.state.timestamp));
  }
  return run.total_run_time;
};

const estimatedStartTimeDelta = (store: Store, run: FlowRunRecord): number => {
  if (run.expected_start_time === null) return 0;
  if (run.start_time !== null) {
    return (toMillis(run.start_time) - toMillis(run.expected_start_time)) / 1000;
  }
  const late = secondsSince(store, run.expected_start_time);
  return late > 0 && !isFinal(run.state_type) ? late : 0;
};

/** The core `FlowRun` schema: what `get_scheduled_flow_runs` returns, with `state` not loaded. */
export const coreFlowRunView = (store: Store, run: FlowRunRecord) => ({
  id: run.id,
  created: run.created,
  updated: run.updated,
  name: run.name,
  flow_id: run.flow_id,
  state_id: run.state_id,
  deployment_id: run.deployment_id,
  deployment_version: run.deployment_version,
  work_queue_name: run.work_queue_name,
  flow_version: run.flow_version,
  parameters: run.parameters,
  idempotency_key: run.idempotency_key,
  context: run.context,
  empirical_policy: run.empirical_policy,
  tags: run.tags,
  labels: run.labels,
  parent_task_run_id: run.parent_task_run_id,
  state_type: run.state_type,
  state_name: run.state_name,
  run_count: run.run_count,
  expected_start_time: run.expected_start_time,
  next_scheduled_start_time: run.next_scheduled_start_time,
  start_time: run.start_time,
  end_time: run.end_time,
  total_run_time: run.total_run_time,
  estimated_run_time: estimatedRunTime(store, run),
  estimated_start_time_delta: estimatedStartTimeDelta(store, run),
  auto_scheduled: run.auto_scheduled,
  infrastructure_document_id: run.infrastructure_document_id,
  infrastructure_pid: run.infrastructure_pid,
  created_by: run.created_by,
  work_queue_id: run.work_queue_id,
  state: null,
  job_variables: run.job_variables,
});

/** `FlowRunResponse`: the core fields plus `work_pool_id`, `work_pool_name` and the state. */
export const flowRunView = (store: Store, run: FlowRunRecord) => {
  const pool = poolOfRun(store, run);
  return {
    ...coreFlowRunView(store, run),
    work_pool_id: pool?.id ?? null,
    work_pool_name: pool?.name ?? null,
    state: run.state ? stateView(run.state) : null,
  };
};

export const variableView = (variable: VariableRecord) => ({ ...variable });

export const logView = (log: LogRecord) => ({ ...log });
