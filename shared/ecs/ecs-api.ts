/**
 * The ECS calls the launcher makes, as a port: what *we* need, named after it. The adapter is
 * `createEcsClient` (`ecs-client.ts`); tests use small fakes. Inputs are the SDK's own request
 * types (type-only imports: nothing of the SDK is loaded by code that depends on this port).
 *
 * Every method throws `EcsApiError` (with `retryable`) when AWS refuses or cannot be reached.
 */
import type {
  RegisterTaskDefinitionCommandInput,
  RunTaskCommandInput,
  TaskDefinition,
} from '@aws-sdk/client-ecs';

/** The message ECS gives when two registrations of one family race (a retryable ClientException). */
export const CONCURRENT_REGISTRATION_MESSAGE =
  'Too many concurrent attempts to create a new revision of the specified family';

/** A RegisterTaskDefinition request (the builders' output). */
export type RegisterTaskDefinitionInput = RegisterTaskDefinitionCommandInput;
/** A RunTask request (the builders' output). */
export type RunTaskInput = RunTaskCommandInput;

/** A key/value tag, as ECS spells it. */
export interface EcsTag {
  key: string;
  value: string;
}

/** A registered (or described) task definition and its tags. */
export interface DescribedTaskDefinition {
  /** The definition as ECS returns it (with `taskDefinitionArn`, `revision`, `status`, …). */
  taskDefinition: TaskDefinition & { taskDefinitionArn: string };
  /** Empty unless asked for (`includeTags`) or given at registration. */
  tags: EcsTag[];
}

/** The task fields the launcher reads from RunTask. */
export interface StartedTask {
  taskArn: string;
  clusterArn: string | undefined;
  taskDefinitionArn: string | undefined;
  /** `RUNNING` for a task ECS is starting or running; `STOPPED` once it is stopping or stopped. */
  desiredStatus: string | undefined;
  lastStatus: string | undefined;
  createdAt: Date | undefined;
  /** The attempt marker it carries (`attempt-marker.ts`); none on the previous release's tasks. */
  attempt?: string | undefined;
}

/** A `failures[]` entry of RunTask (`RESOURCE:MEMORY`, `AGENT`, `MISSING`, …). */
export interface RunTaskFailure {
  arn: string | undefined;
  reason: string;
  detail: string | undefined;
}

/** RunTask's answer: started tasks, or failures (ECS answers 200 with `failures` for capacity). */
export interface RunTaskResult {
  tasks: StartedTask[];
  failures: RunTaskFailure[];
}

/** The ECS port. */
export interface EcsApi {
  /** `RegisterTaskDefinition`; resolves with the new revision and the tags it was given. */
  registerTaskDefinition(input: RegisterTaskDefinitionInput): Promise<DescribedTaskDefinition>;
  /**
   * `DescribeTaskDefinition` of `family` (its latest ACTIVE revision), `family:revision` or an
   * ARN. Resolves `undefined` when there is no such definition (ECS: ClientException "Unable to
   * describe task definition.").
   */
  describeTaskDefinition(
    familyOrArn: string,
    options?: { includeTags?: boolean }
  ): Promise<DescribedTaskDefinition | undefined>;
  /** `RunTask`. */
  runTask(input: RunTaskInput): Promise<RunTaskResult>;
  /**
   * `ListTasks` with `startedBy` (which ECS allows only alone, plus the cluster), then
   * `DescribeTasks` of what it lists: the tasks ECS still wants RUNNING that were started with this
   * value, with their creation times (which tell one attempt's task from another's).
   */
  listLiveTasksStartedBy(cluster: string | undefined, startedBy: string): Promise<LiveTask[]>;
}

/** A task ECS still wants RUNNING, from {@link EcsApi.listLiveTasksStartedBy}. */
export interface LiveTask {
  taskArn: string;
  createdAt: Date | undefined;
  /** The attempt marker it carries (`attempt-marker.ts`); none on the previous release's tasks. */
  attempt: string | undefined;
}

/** A task as DescribeTasks reports it: the fields the poller's cancellation sweep reads. */
export interface DescribedTask {
  taskArn: string;
  /** `PROVISIONING`, `PENDING`, `RUNNING`, …, `STOPPED`. */
  lastStatus: string | undefined;
  /** `RUNNING`, or `STOPPED` once ECS is stopping it. */
  desiredStatus: string | undefined;
  /** When RunTask created it: tells an older attempt's task from the current one's. */
  createdAt: Date | undefined;
  /** The attempt marker it carries (`attempt-marker.ts`); none on the previous release's tasks. */
  attempt?: string | undefined;
  /** Once stopped: why (`TaskFailedToStart`, `EssentialContainerExited`, …) and ECS's words. */
  stopCode?: string | undefined;
  stoppedReason?: string | undefined;
}

/** DescribeTasks' answer: the tasks ECS knows, and `failures` (`MISSING`) for the others. */
export interface DescribeTasksResult {
  tasks: DescribedTask[];
  failures: RunTaskFailure[];
}

/**
 * The task calls the poller's cancellation sweep makes (StopTask, DescribeTasks): a port of its own
 * so that fakes of {@link EcsApi} need not implement them. `createEcsClient` implements both.
 */
export interface EcsTaskControl {
  /** `DescribeTasks` (batched by 100): what ECS knows of each task; a task ECS forgot is `MISSING`. */
  describeTasks(
    cluster: string | undefined,
    taskArns: readonly string[]
  ): Promise<DescribeTasksResult>;
  /**
   * `StopTask` with a reason ECS shows as `stoppedReason`. Resolves `undefined` when ECS no longer
   * knows the task ("The referenced task was not found."), i.e. there is nothing left to stop.
   */
  stopTask(
    cluster: string | undefined,
    taskArn: string,
    reason: string
  ): Promise<StartedTask | undefined>;
}

/**
 * The calls the reporter makes once a task stopped: the task's tags (DescribeTasks with
 * `include: ["TAGS"]`, since events carry none) to see the deregister tag, and
 * DeregisterTaskDefinition. A port of its own so that fakes of {@link EcsApi} need not implement
 * them. `createEcsClient` implements both.
 */
export interface EcsTaskCleanup {
  /** The task's tags; `undefined` when ECS no longer knows the task (`MISSING`). */
  describeTaskTags(cluster: string, taskArn: string): Promise<EcsTag[] | undefined>;
  /** `DeregisterTaskDefinition` of `family:revision` or an ARN; an INACTIVE one stays INACTIVE. */
  deregisterTaskDefinition(taskDefinition: string): Promise<void>;
}
