/**
 * The EventBridge "ECS Task State Change" event, parsed with zod from the EventBridge schema
 * registry's definition (`aws.ecs@ECSTaskStateChange`, vendored in
 * `test/fixtures/aws-events/schema/`). Required fields are the registry's; unknown fields are
 * ignored, so fields AWS adds later (`capacityProviderName`, `platformFamily`, …) never break us.
 * These are events, not DescribeTasks output: timestamps are ISO-8601 strings and there are no tags.
 */
import * as z from 'zod';

/** A `{name, value}` pair of `containerOverrides[].environment`. */
const KeyValuePairSchema = z.object({
  name: z.string().optional(),
  value: z.string().optional(),
});

/** `detail.overrides.containerOverrides[]`: only `name` is required. */
const ContainerOverrideSchema = z.object({
  name: z.string(),
  environment: z.array(KeyValuePairSchema).optional(),
  command: z.array(z.string()).optional(),
  cpu: z.number().optional(),
  memory: z.number().optional(),
});

/** `detail.containers[]`. `exitCode` is absent (null tolerated) when ECS has none to report. */
const ContainerSchema = z.object({
  containerArn: z.string(),
  lastStatus: z.string(),
  name: z.string(),
  taskArn: z.string(),
  exitCode: z.preprocess((code) => code ?? undefined, z.number().optional()),
  reason: z.string().optional(),
  image: z.string().optional(),
  imageDigest: z.string().optional(),
  runtimeId: z.string().optional(),
  cpu: z.string().optional(),
  memory: z.string().optional(),
  memoryReservation: z.string().optional(),
});

/** `detail` of the event: the task as ECS sees it now. */
export const TaskStateChangeDetailSchema = z.object({
  version: z.number(),
  taskArn: z.string().min(1),
  clusterArn: z.string().min(1),
  taskDefinitionArn: z.string().min(1),
  createdAt: z.string(),
  updatedAt: z.string(),
  /** PROVISIONING, PENDING, ACTIVATING, RUNNING, DEACTIVATING, STOPPING, DEPROVISIONING, STOPPED. */
  lastStatus: z.string(),
  desiredStatus: z.string(),
  containers: z.array(ContainerSchema),
  overrides: z.object({ containerOverrides: z.array(ContainerOverrideSchema) }),
  startedBy: z.string().optional(),
  /** `TaskFailedToStart`, `EssentialContainerExited`, `UserInitiated`, `SpotInterruption`, … */
  stopCode: z.string().optional(),
  stoppedReason: z.string().optional(),
  group: z.string().optional(),
  launchType: z.string().optional(),
  cpu: z.string().optional(),
  /** Task memory in MiB, as a string (`"2048"`). */
  memory: z.string().optional(),
  availabilityZone: z.string().optional(),
  platformVersion: z.string().optional(),
  containerInstanceArn: z.string().optional(),
  connectivity: z.string().optional(),
  connectivityAt: z.string().optional(),
  pullStartedAt: z.string().optional(),
  pullStoppedAt: z.string().optional(),
  startedAt: z.string().optional(),
  stoppingAt: z.string().optional(),
  stoppedAt: z.string().optional(),
  executionStoppedAt: z.string().optional(),
});

/** The EventBridge envelope. `id` is unique per event and identical across redeliveries. */
export const TaskStateChangeEventSchema = z.object({
  version: z.string(),
  id: z.string().min(1),
  'detail-type': z.literal('ECS Task State Change'),
  source: z.literal('aws.ecs'),
  account: z.string(),
  time: z.string(),
  region: z.string(),
  resources: z.array(z.string()),
  detail: TaskStateChangeDetailSchema,
});

/** A parsed "ECS Task State Change" event. */
export type TaskStateChangeEvent = z.infer<typeof TaskStateChangeEventSchema>;
/** Its `detail`. */
export type TaskStateChangeDetail = TaskStateChangeEvent['detail'];
/** One of its containers. */
export type TaskContainer = TaskStateChangeDetail['containers'][number];

/** What {@link parseTaskStateChange} answers. */
export type ParsedTaskStateChange =
  | { ok: true; event: TaskStateChangeEvent }
  | {
      ok: false;
      /** The envelope's `id` when there is a string one, for the error log. */
      eventId: string | undefined;
      /** zod's issues as `path: message` (never the values). */
      issues: string[];
    };

/**
 * Parses an EventBridge event. Never throws: an event that does not parse is answered with its id
 * (when it has one) and zod's issues, for one error log.
 *
 * @example
 * const parsed = parseTaskStateChange(event);
 * if (!parsed.ok) logger.error('Not an ECS Task State Change event', { event_id: parsed.eventId });
 */
export const parseTaskStateChange = (raw: unknown): ParsedTaskStateChange => {
  const result = TaskStateChangeEventSchema.safeParse(raw);
  if (result.success) return { ok: true, event: result.data };
  const id = typeof raw === 'object' && raw !== null ? (raw as { id?: unknown }).id : undefined;
  return {
    ok: false,
    eventId: typeof id === 'string' ? id : undefined,
    issues: result.error.issues.map(
      (issue) => `${issue.path.map(String).join('.') || '(event)'}: ${issue.message}`
    ),
  };
};

/**
 * The task id: the last segment of the task ARN (`arn:…:task/<cluster>/<id>` or the older
 * `arn:…:task/<id>`). CloudWatch streams and the ECS console name tasks by it.
 *
 * @example
 * taskIdOf('arn:aws:ecs:eu-west-1:123456789012:task/prefect/0f1e2d3c'); // '0f1e2d3c'
 */
export const taskIdOf = (taskArn: string): string => taskArn.slice(taskArn.lastIndexOf('/') + 1);
