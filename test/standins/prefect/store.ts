/**
 * In-memory data of the Prefect stand-in. Records keep the field names of the real schemas;
 * datetimes are stored already formatted (see `datetime.ts`). Derived fields (statuses, slots,
 * work pool of a run, estimates) are computed on read by `views.ts`.
 */
import { randomUUID } from 'node:crypto';
import { formatDateTime, toMillis } from './datetime.ts';
import type { StateRecord, StateType } from './orchestration.ts';

export interface WorkPoolRecord {
  id: string;
  created: string;
  updated: string;
  name: string;
  description: string | null;
  type: string;
  base_job_template: Record<string, unknown>;
  is_paused: boolean;
  concurrency_limit: number | null;
  default_queue_id: string | null;
  storage_configuration: Record<string, unknown>;
}

export interface WorkQueueRecord {
  id: string;
  created: string;
  updated: string;
  name: string;
  description: string | null;
  is_paused: boolean;
  concurrency_limit: number | null;
  priority: number;
  work_pool_id: string;
  last_polled: string | null;
}

export interface WorkerRecord {
  id: string;
  created: string;
  updated: string;
  name: string;
  work_pool_id: string;
  last_heartbeat_time: string;
  heartbeat_interval_seconds: number | null;
}

export interface FlowRecord {
  id: string;
  created: string;
  updated: string;
  name: string;
  tags: string[];
  labels: Record<string, unknown>;
}

export interface DeploymentRecord {
  id: string;
  created: string;
  updated: string;
  name: string;
  version: string | null;
  description: string | null;
  flow_id: string;
  paused: boolean;
  schedules: Record<string, unknown>[];
  /** The deployment's own limit; served as `global_concurrency_limit.limit` (see views). */
  concurrency_limit: number | null;
  concurrency_limit_record: { id: string; created: string; updated: string } | null;
  concurrency_options: {
    collision_strategy: 'ENQUEUE' | 'CANCEL_NEW';
    grace_period_seconds?: number | null;
  } | null;
  job_variables: Record<string, unknown>;
  parameters: Record<string, unknown>;
  tags: string[];
  labels: Record<string, unknown>;
  /** Set when the deployment has a queue without a work pool (legacy); otherwise read from the queue. */
  work_queue_name: string | null;
  work_queue_id: string | null;
  last_polled: string | null;
  parameter_openapi_schema: Record<string, unknown> | null;
  path: string | null;
  pull_steps: Record<string, unknown>[] | null;
  entrypoint: string | null;
  storage_document_id: string | null;
  infrastructure_document_id: string | null;
  created_by: unknown;
  updated_by: unknown;
  enforce_parameter_schema: boolean;
}

export interface FlowRunRecord {
  id: string;
  created: string;
  updated: string;
  name: string;
  flow_id: string;
  state_id: string | null;
  deployment_id: string | null;
  deployment_version: string | null;
  work_queue_id: string | null;
  work_queue_name: string | null;
  flow_version: string | null;
  parameters: Record<string, unknown>;
  idempotency_key: string | null;
  context: Record<string, unknown>;
  empirical_policy: Record<string, unknown>;
  tags: string[];
  labels: Record<string, unknown>;
  parent_task_run_id: string | null;
  state_type: StateType | null;
  state_name: string | null;
  run_count: number;
  expected_start_time: string | null;
  next_scheduled_start_time: string | null;
  start_time: string | null;
  end_time: string | null;
  total_run_time: number;
  auto_scheduled: boolean;
  infrastructure_document_id: string | null;
  infrastructure_pid: string | null;
  created_by: unknown;
  job_variables: Record<string, unknown> | null;
  state: StateRecord | null;
  /** Every state the run went through, oldest first (for tests reading the history). */
  history: StateRecord[];
}

export interface BlockTypeRecord {
  id: string;
  created: string;
  updated: string;
  name: string;
  slug: string;
  logo_url: string | null;
  documentation_url: string | null;
  description: string | null;
  code_example: string | null;
  is_protected: boolean;
}

export interface BlockSchemaRecord {
  id: string;
  created: string;
  updated: string;
  checksum: string;
  fields: Record<string, unknown>;
  block_type_id: string;
  capabilities: string[];
  version: string;
}

export interface BlockDocumentRecord {
  id: string;
  created: string;
  updated: string;
  name: string | null;
  data: Record<string, unknown>;
  block_schema_id: string;
  block_type_id: string;
  is_anonymous: boolean;
}

export interface VariableRecord {
  id: string;
  created: string;
  updated: string;
  name: string;
  value: unknown;
  tags: string[];
}

export interface LogRecord {
  id: string;
  created: string;
  updated: string;
  name: string;
  level: number;
  message: string;
  timestamp: string;
  flow_run_id: string | null;
  task_run_id: string | null;
}

/** An event received by `POST /events` (the server's `ReceivedEvent`), once per id. */
export interface EventRecord {
  id: string;
  occurred: string;
  event: string;
  resource: Record<string, string>;
  related: Record<string, string>[];
  payload: Record<string, unknown>;
  follows: string | null;
  /** When the stand-in received it. */
  received: string;
}

/**
 * A deployment concurrency lease (`state_details.deployment_concurrency_lease_id`). It expires
 * `grace_period_seconds` after the PENDING transition that took it unless the run reaches RUNNING
 * (`expiresAt` null: held until the run leaves PENDING/RUNNING).
 */
export interface LeaseRecord {
  id: string;
  deploymentId: string;
  flowRunId: string;
  expiresAt: number | null;
}

/** All data of one stand-in, plus its clock. */
export interface Store {
  readonly now: () => Date;
  readonly workPools: Map<string, WorkPoolRecord>;
  readonly workQueues: Map<string, WorkQueueRecord>;
  readonly workers: Map<string, WorkerRecord>;
  readonly flows: Map<string, FlowRecord>;
  readonly deployments: Map<string, DeploymentRecord>;
  readonly flowRuns: Map<string, FlowRunRecord>;
  readonly blockTypes: Map<string, BlockTypeRecord>;
  readonly blockSchemas: Map<string, BlockSchemaRecord>;
  readonly blockDocuments: Map<string, BlockDocumentRecord>;
  readonly variables: Map<string, VariableRecord>;
  readonly logs: LogRecord[];
  readonly leases: Map<string, LeaseRecord>;
  /** Events received by `POST /events`, oldest first, one per id. */
  readonly events: EventRecord[];
}

/** A new, empty store reading time from `now`. */
export const createStore = (now: () => Date = () => new Date()): Store => ({
  now,
  workPools: new Map(),
  workQueues: new Map(),
  workers: new Map(),
  flows: new Map(),
  deployments: new Map(),
  flowRuns: new Map(),
  blockTypes: new Map(),
  blockSchemas: new Map(),
  blockDocuments: new Map(),
  variables: new Map(),
  logs: [],
  leases: new Map(),
  events: [],
});

/** A fresh object id. */
export const newId = (): string => randomUUID();

/** The store's current time, formatted. */
export const nowString = (store: Store): string => formatDateTime(store.now());

/** Seconds elapsed between a stored datetime and the store's clock. */
export const secondsSince = (store: Store, value: string): number =>
  (store.now().getTime() - toMillis(value)) / 1000;

export const findWorkPoolByName = (store: Store, name: string): WorkPoolRecord | undefined =>
  [...store.workPools.values()].find((pool) => pool.name === name);

export const queuesOfPool = (store: Store, workPoolId: string): WorkQueueRecord[] =>
  [...store.workQueues.values()]
    .filter((queue) => queue.work_pool_id === workPoolId)
    .sort((a, b) => a.priority - b.priority);

export const findQueueByName = (
  store: Store,
  workPoolId: string,
  name: string
): WorkQueueRecord | undefined =>
  queuesOfPool(store, workPoolId).find((queue) => queue.name === name);

/** States that hold a concurrency slot (pool, queue and deployment limits). */
export const SLOT_OCCUPYING: ReadonlySet<StateType> = new Set(['PENDING', 'RUNNING']);

/** PENDING + RUNNING runs matching `predicate`. */
export const countActiveRuns = (store: Store, predicate: (run: FlowRunRecord) => boolean): number =>
  [...store.flowRuns.values()].filter(
    (run) => run.state_type !== null && SLOT_OCCUPYING.has(run.state_type) && predicate(run)
  ).length;
