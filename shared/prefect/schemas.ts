/**
 * zod schemas of the Prefect responses this project reads. Objects are `.loose()`: fields we do not
 * use pass through untouched, and new server fields never break us. Fields we do read are checked
 * strictly. Missing-or-null collections are normalised (`job_variables: null` → `{}`) so callers
 * never branch on server version (prefect-worker-api.md §6).
 */
import * as z from 'zod';

/** Optional-or-null on the wire → `T | null`. */
const orNull = <T extends z.ZodType>(schema: T) =>
  schema.nullish().transform((value): z.output<T> | null => value ?? null);

/** A JSON object. */
const JsonObject = z.record(z.string(), z.unknown());

/** Optional-or-null JSON object → `{}`. */
const objectOrEmpty = JsonObject.nullish().transform((value) => value ?? {});

/** Optional-or-null string array → `[]`. */
const stringsOrEmpty = z
  .array(z.string())
  .nullish()
  .transform((value) => value ?? []);

/** Prefect ids are UUIDs; `guid` accepts any 8-4-4-4-12 hex form. */
const Id = z.guid();

/** An ISO-8601 datetime string as the server sends it (with an offset). */
const DateTime = z.string();

/** The state types of Prefect 3 (`server/schemas/states.py: StateType`). */
export const StateTypeSchema = z.enum([
  'SCHEDULED',
  'PENDING',
  'RUNNING',
  'COMPLETED',
  'FAILED',
  'CANCELLED',
  'CRASHED',
  'PAUSED',
  'CANCELLING',
]);
/** A Prefect state type, e.g. `PENDING`. */
export type StateType = z.infer<typeof StateTypeSchema>;

/** `state_details`: lenient on the server too; we read the ids and scheduling fields. */
export const StateDetailsSchema = z
  .object({
    flow_run_id: orNull(Id),
    transition_id: orNull(z.string()),
    scheduled_time: orNull(DateTime),
    deployment_concurrency_lease_id: orNull(z.string()),
    pause_key: orNull(z.string()),
  })
  .loose();
/** Parsed `state_details`. */
export type StateDetails = z.infer<typeof StateDetailsSchema>;

/** A state as the server returns it. */
export const StateSchema = z
  .object({
    id: Id,
    type: StateTypeSchema,
    name: orNull(z.string()),
    message: orNull(z.string()),
    timestamp: DateTime,
    data: z.unknown().optional(),
    state_details: StateDetailsSchema.nullish().transform(
      (value) => value ?? StateDetailsSchema.parse({})
    ),
  })
  .loose();
/** A parsed Prefect state. */
export type State = z.infer<typeof StateSchema>;

/** `OrchestrationResult.status`. */
export const SetStateStatusSchema = z.enum(['ACCEPT', 'REJECT', 'ABORT', 'WAIT']);
/** Outcome of a state proposal. */
export type SetStateStatus = z.infer<typeof SetStateStatusSchema>;

/** `OrchestrationResult.details`, discriminated by `type`. */
export const OrchestrationDetailsSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('accept_details') }).loose(),
  z.object({ type: z.literal('reject_details'), reason: orNull(z.string()) }).loose(),
  z.object({ type: z.literal('abort_details'), reason: orNull(z.string()) }).loose(),
  z
    .object({
      type: z.literal('wait_details'),
      delay_seconds: z.number(),
      reason: orNull(z.string()),
    })
    .loose(),
]);
/** Why the server answered as it did. */
export type OrchestrationDetails = z.infer<typeof OrchestrationDetailsSchema>;

/** Response of `POST /flow_runs/{id}/set_state`. */
export const OrchestrationResultSchema = z
  .object({
    status: SetStateStatusSchema,
    state: orNull(StateSchema),
    details: OrchestrationDetailsSchema,
  })
  .loose();
/** A parsed orchestration result. */
export type OrchestrationResult = z.infer<typeof OrchestrationResultSchema>;

/** `GET /work_pools/{name}` (`WorkPoolResponse`). */
export const WorkPoolSchema = z
  .object({
    id: Id,
    name: z.string(),
    type: z.string(),
    is_paused: z.boolean().default(false),
    status: orNull(z.enum(['READY', 'NOT_READY', 'PAUSED'])),
    base_job_template: objectOrEmpty,
    concurrency_limit: orNull(z.number().int()),
    default_queue_id: orNull(Id),
  })
  .loose();
/** A parsed work pool. */
export type WorkPool = z.infer<typeof WorkPoolSchema>;

/** A worker row of a pool (`WorkerResponse`). */
export const WorkerSchema = z
  .object({
    id: Id,
    name: z.string(),
    work_pool_id: Id,
    last_heartbeat_time: orNull(DateTime),
    heartbeat_interval_seconds: orNull(z.number().int()),
    status: z.enum(['ONLINE', 'OFFLINE']),
  })
  .loose();
/** A parsed worker. */
export type Worker = z.infer<typeof WorkerSchema>;

/** `GET /work_pools/{pool}/queues/{name}` (`WorkQueueResponse`). */
export const WorkQueueSchema = z
  .object({
    id: Id,
    name: z.string(),
    is_paused: z.boolean().default(false),
    concurrency_limit: orNull(z.number().int()),
    priority: z.number().int(),
    work_pool_id: orNull(Id),
    work_pool_name: orNull(z.string()),
    status: orNull(z.enum(['READY', 'NOT_READY', 'PAUSED'])),
    last_polled: orNull(DateTime),
  })
  .loose();
/** A parsed work queue. */
export type WorkQueue = z.infer<typeof WorkQueueSchema>;

/** `empirical_policy` of a flow run; `retry_type` tells in-process retries apart. */
export const FlowRunPolicySchema = z
  .object({ retry_type: orNull(z.enum(['in_process', 'reschedule'])) })
  .loose();

/**
 * A flow run: `FlowRunResponse` from `GET /flow_runs/{id}` and `/flow_runs/filter`, or the core
 * `FlowRun` inside `get_scheduled_flow_runs` items (no `work_pool_name`, `state` not loaded).
 */
export const FlowRunSchema = z
  .object({
    id: Id,
    name: z.string(),
    flow_id: Id,
    deployment_id: orNull(Id),
    work_queue_id: orNull(Id),
    work_queue_name: orNull(z.string()),
    work_pool_id: orNull(Id),
    work_pool_name: orNull(z.string()),
    state: orNull(StateSchema),
    state_type: orNull(StateTypeSchema),
    state_name: orNull(z.string()),
    infrastructure_pid: orNull(z.string()),
    start_time: orNull(DateTime),
    expected_start_time: orNull(DateTime),
    next_scheduled_start_time: orNull(DateTime),
    job_variables: objectOrEmpty,
    labels: objectOrEmpty,
    tags: stringsOrEmpty,
    parameters: objectOrEmpty,
    empirical_policy: FlowRunPolicySchema.nullish().transform(
      (value) => value ?? FlowRunPolicySchema.parse({})
    ),
    created: orNull(DateTime),
    run_count: z.number().int().default(0),
  })
  .loose();
/** A parsed flow run. */
export type FlowRun = z.infer<typeof FlowRunSchema>;

/** One item of `POST /work_pools/{pool}/get_scheduled_flow_runs`. */
export const WorkerFlowRunResponseSchema = z
  .object({ work_pool_id: Id, work_queue_id: Id, flow_run: FlowRunSchema })
  .loose();
/** A scheduled run with the pool and queue it was found in. */
export type WorkerFlowRunResponse = z.infer<typeof WorkerFlowRunResponseSchema>;

/**
 * `GET /deployments/{id}`. `job_variables` falls back to 2.14–2.16's `infra_overrides`, then `{}`.
 */
export const DeploymentSchema = z
  .object({
    id: Id,
    name: z.string(),
    flow_id: Id,
    job_variables: JsonObject.nullish(),
    infra_overrides: JsonObject.nullish(),
    work_pool_name: orNull(z.string()),
    work_queue_name: orNull(z.string()),
    updated: orNull(DateTime),
    concurrency_limit: orNull(z.number().int()),
    tags: stringsOrEmpty,
    labels: objectOrEmpty,
    paused: z.boolean().default(false),
  })
  .loose()
  .transform(({ job_variables, infra_overrides, ...rest }) => ({
    ...rest,
    job_variables: job_variables ?? infra_overrides ?? {},
  }));
/** A parsed deployment. */
export type Deployment = z.infer<typeof DeploymentSchema>;

/** `GET /flows/{id}`. */
export const FlowSchema = z
  .object({ id: Id, name: z.string(), tags: stringsOrEmpty, labels: objectOrEmpty })
  .loose();
/** A parsed flow. */
export type Flow = z.infer<typeof FlowSchema>;

/** `GET /variables/name/{name}`. 3.x values are any JSON; 2.x values are strings. */
export const VariableSchema = z
  .object({ id: Id, name: z.string(), value: z.unknown(), tags: stringsOrEmpty })
  .loose();
/** A parsed variable. */
export type Variable = z.infer<typeof VariableSchema>;

/** A block type (`POST /block_types/`). */
export const BlockTypeSchema = z.object({ id: Id, name: z.string(), slug: z.string() }).loose();
/** A parsed block type. */
export type BlockType = z.infer<typeof BlockTypeSchema>;

/** A block schema (`POST /block_schemas/`). */
export const BlockSchemaSchema = z
  .object({ id: Id, checksum: z.string(), block_type_id: orNull(Id), fields: objectOrEmpty })
  .loose();
/** A parsed block schema. */
export type BlockSchema = z.infer<typeof BlockSchemaSchema>;

/** A block document; `data` holds secrets only when read with `include_secrets=true`. */
export const BlockDocumentSchema = z
  .object({
    id: Id,
    name: orNull(z.string()),
    data: JsonObject,
    block_schema_id: Id,
    block_type_id: Id,
    block_type_name: orNull(z.string()),
    is_anonymous: z.boolean().default(false),
  })
  .loose();
/** A parsed block document. */
export type BlockDocument = z.infer<typeof BlockDocumentSchema>;

/** A stored log line. */
export const LogSchema = z
  .object({
    id: Id,
    name: z.string(),
    level: z.number().int(),
    message: z.string(),
    timestamp: DateTime,
    flow_run_id: orNull(Id),
    task_run_id: orNull(Id),
  })
  .loose();
/** A parsed log line. */
export type Log = z.infer<typeof LogSchema>;
