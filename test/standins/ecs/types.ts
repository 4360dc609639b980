/** Public types of the AWS stand-in (ECS control plane plus the services it dispatches to). */
import type { Ec2Service } from '../aws/ec2.ts';
import type { LogsService } from '../aws/logs.ts';
import type { SecretsManagerService } from '../aws/secrets-manager.ts';
import type { SsmService } from '../aws/ssm.ts';
import type { StsService } from '../aws/sts.ts';
import type { EcsThrottling, EcsThrottlingOptions } from './throttling.ts';

export interface AwsStandinOptions {
  /** 0 (default) picks a free port. */
  port?: number;
  host?: string;
  /** The home region. Default `us-east-1`. */
  region?: string;
  /**
   * Every region served (the home region is always served; default: only it). A request signed for
   * another region is refused (`InvalidSignatureException` / `SignatureDoesNotMatch` / `AuthFailure`).
   * Each (account, region) is a tenant of its own, created on first use (see `AwsStandin.tenant`).
   */
  regions?: readonly string[];
  /** The home account: the account of every access key STS did not issue. Default `123456789012`. */
  accountId?: string;
  /** Clock for every timestamp the stand-in writes (tasks, events, the clientToken window). */
  now?: () => Date;
  /**
   * The plan of every task no `ecs.setPlan` matcher picks, e.g. `{ autoAdvance: true }` so a
   * stand-alone sandbox runs each task to exit 0 with no manual steps. Default: none (tasks wait).
   */
  taskPlan?: TaskPlan;
  /**
   * ECS request throttling (throttling.ts): `true` for the documented token buckets (RunTask,
   * task definitions, Fargate launches, …), or other limits per bucket; the buckets run on `now`.
   * Default: off (nothing is throttled except by `ecs.throttle`).
   */
  throttling?: boolean | Omit<EcsThrottlingOptions, 'nowMs'>;
}

export type AwsServiceName = 'ecs' | 'ec2' | 'secretsmanager' | 'logs' | 'ssm' | 'sts';

/** One request the stand-in answered, in arrival order. */
export interface RecordedCall {
  service: AwsServiceName;
  operation: string;
  /** The parsed body: JSON input, or the EC2 query parameters as an object. */
  input: unknown;
  /**
   * The answer body (JSON services: the object; EC2 and STS: the XML text, STS's issued
   * `SecretAccessKey` and `SessionToken` replaced by `REDACTED`). Absent when it failed.
   */
  output?: unknown;
  error?: { code: string; message: string };
  /** The SigV4 access key id that signed it: tests give each function's clients their own key. */
  accessKeyId?: string;
  /**
   * The account the call is attributed to: the role's account for a key STS issued (AssumeRole),
   * the home account for any other key (or none).
   */
  accountId: string;
  /** The region of the SigV4 credential scope (the home region when the request has none). */
  region: string;
  requestId: string;
  at: Date;
}

/** `detail.containers[]` of an "ECS Task State Change" event. */
export interface EcsEventContainer {
  containerArn: string;
  lastStatus: string;
  name: string;
  image?: string;
  imageDigest?: string;
  runtimeId?: string;
  taskArn: string;
  networkInterfaces: { attachmentId: string; privateIpv4Address: string }[];
  cpu: string;
  memory?: string;
  memoryReservation?: string;
  exitCode?: number;
  reason?: string;
}

export interface EcsEventAttachment {
  id: string;
  type: string;
  status: string;
  details: { name: string; value: string }[];
}

export interface EcsKeyValuePair {
  name?: string;
  value?: string;
}

export interface EcsContainerOverride {
  name?: string;
  command?: string[];
  environment?: EcsKeyValuePair[];
  environmentFiles?: { value: string; type: string }[];
  cpu?: number;
  memory?: number;
  memoryReservation?: number;
  resourceRequirements?: { value: string; type: string }[];
}

export interface EcsTaskOverride {
  containerOverrides: EcsContainerOverride[];
  cpu?: string;
  memory?: string;
  taskRoleArn?: string;
  executionRoleArn?: string;
  ephemeralStorage?: { sizeInGiB: number };
}

/** `detail` of an "ECS Task State Change" event; timestamps are ISO-8601 strings. */
export interface EcsTaskStateChangeDetail {
  attachments?: EcsEventAttachment[];
  attributes?: { name: string; value?: string }[];
  availabilityZone?: string;
  capacityProviderName?: string;
  clusterArn: string;
  connectivity?: string;
  connectivityAt?: string;
  containerInstanceArn?: string;
  containers: EcsEventContainer[];
  cpu?: string;
  createdAt: string;
  desiredStatus: string;
  executionStoppedAt?: string;
  group?: string;
  lastStatus: string;
  launchType?: string;
  memory?: string;
  overrides: EcsTaskOverride;
  platformVersion?: string;
  platformFamily?: string;
  pullStartedAt?: string;
  pullStoppedAt?: string;
  startedAt?: string;
  startedBy?: string;
  stopCode?: string;
  stoppedAt?: string;
  stoppedReason?: string;
  stoppingAt?: string;
  taskArn: string;
  taskDefinitionArn: string;
  updatedAt: string;
  version: number;
}

/** The EventBridge envelope AWS delivers "ECS Task State Change" events in. */
export interface EcsTaskStateChangeEvent {
  version: '0';
  id: string;
  'detail-type': 'ECS Task State Change';
  source: 'aws.ecs';
  account: string;
  /** ISO-8601 without milliseconds, e.g. `2026-01-15T10:00:00Z`. */
  time: string;
  region: string;
  resources: string[];
  detail: EcsTaskStateChangeDetail;
}

export type EcsEventListener = (event: EcsTaskStateChangeEvent) => void | Promise<void>;

/** The task statuses the stand-in walks a task through (ECS has a few more in between). */
export type TaskStatus = 'PROVISIONING' | 'PENDING' | 'RUNNING' | 'STOPPED';

/** How a task ends when its containers exit (the default outcome: exit 0). */
export interface CompletionOptions {
  /** Exit code of the essential containers (default 0). */
  exitCode?: number;
  /** Exit codes per container name, overriding `exitCode`. */
  containerExitCodes?: Record<string, number>;
  /** Default `EssentialContainerExited`; `SpotInterruption`, `TerminationNotice`, ... for others. */
  stopCode?: string;
  /** Default `Essential container in task exited`. */
  stoppedReason?: string;
  /** `containers[].reason` of the essential containers, e.g. `OutOfMemoryError: Container killed due to memory usage`. */
  containerReason?: string;
}

/** A task that never starts: `stopCode: TaskFailedToStart`, no exit codes. */
export interface FailToStartOptions {
  /** e.g. `CannotPullContainerError: pull image manifest has been retried 7 time(s): ...` */
  stoppedReason: string;
  /** `containers[].reason`; defaults to `stoppedReason`. */
  containerReason?: string;
  /** Report `containers: []`, as ECS does when the task fails before its containers exist. */
  withoutContainers?: boolean;
}

export type TaskOutcome =
  | ({ kind: 'exit' } & CompletionOptions)
  | ({ kind: 'failToStart' } & FailToStartOptions)
  /** Keeps running until StopTask (or a manual `advance`). */
  | { kind: 'keepRunning' };

/** Picks the tasks a plan applies to; every given field must match. */
export type TaskMatcher =
  | {
      family?: string;
      startedBy?: string | RegExp;
      group?: string;
      cluster?: string;
    }
  | ((task: EcsTaskSnapshot) => boolean);

export interface TaskPlan {
  /** What happens at the end of the lifecycle (default: exit 0). */
  outcome?: TaskOutcome;
  /**
   * Walk the lifecycle without manual steps: each transition `delayMs` (default 5) after the last.
   * Without it the task waits in PROVISIONING for `ecs.advance` / `runToCompletion` / `failToStart`,
   * which then follow this plan's outcome.
   */
  autoAdvance?: boolean | { delayMs?: number };
}

/** What the stand-in knows about a task, for assertions (API shape, epoch timestamps as `Date`). */
export interface EcsTaskSnapshot {
  taskArn: string;
  clusterArn: string;
  clusterName: string;
  taskDefinitionArn: string;
  family: string;
  lastStatus: string;
  desiredStatus: string;
  startedBy?: string;
  group: string;
  launchType: string;
  capacityProviderName?: string;
  version: number;
  stopCode?: string;
  stoppedReason?: string;
  containers: { name: string; lastStatus: string; exitCode?: number; reason?: string }[];
  tags: { key: string; value: string }[];
  clientToken?: string;
}

export interface FailRunTaskOptions {
  /** `failures[].arn` (default: the cluster ARN). */
  arn?: string;
  detail?: string;
}

/** Programming hooks of the ECS stand-in. */
export interface EcsControl {
  /** The next `times` (default 1) RunTask calls answer `{ tasks: [], failures: [{ reason }] }`. */
  failNextRunTask(reason: string, times?: number, options?: FailRunTaskOptions): void;
  /** The next `times` (default 1) calls of `operation` answer `ThrottlingException: Rate exceeded`. */
  throttle(operation: string, times?: number): void;
  /** Applies to tasks started after this call; the most recent matching plan wins. Returns a remover. */
  setPlan(matcher: TaskMatcher, plan: TaskPlan): () => void;
  clearPlans(): void;
  /**
   * Moves a task one step (PROVISIONING → PENDING → RUNNING → STOPPED) or straight to `to`, following
   * its plan's outcome when it stops. Resolves when subscribers have seen the events.
   */
  advance(taskArn: string, to?: TaskStatus): Promise<EcsTaskSnapshot>;
  /** Runs the task to STOPPED through every status it has not reached, ending as told. */
  runToCompletion(taskArn: string, options?: CompletionOptions): Promise<EcsTaskSnapshot>;
  /** Stops a PROVISIONING or PENDING task with `TaskFailedToStart`. */
  failToStart(taskArn: string, options: FailToStartOptions): Promise<EcsTaskSnapshot>;
  /** Delivers an already emitted event again (EventBridge delivers at least once). */
  redeliver(event: EcsTaskStateChangeEvent): Promise<void>;
  /** Container instances registered in a cluster (needed for the EC2 launch type; default 0). */
  setContainerInstances(cluster: string, count: number): void;
  task(taskArnOrId: string): EcsTaskSnapshot | undefined;
  tasks(): EcsTaskSnapshot[];
  /** Resolves when every emitted event has reached every subscriber; rejects with a listener's error. */
  settled(): Promise<void>;
}

/** One account in one region: its own ECS, EC2, Logs, Secrets Manager and SSM, and its calls. */
export interface AwsTenant {
  readonly accountId: string;
  readonly region: string;
  /**
   * Every request attributed to this account and region, in arrival order (a live array). The home
   * tenant also gets the requests refused before they could be attributed (no signature, a region
   * not served).
   */
  calls: RecordedCall[];
  callsTo(operation: string): RecordedCall[];
  /** Every "ECS Task State Change" event emitted, in order (a live array). */
  events: EcsTaskStateChangeEvent[];
  /** Events reach listeners asynchronously, one at a time, in lifecycle order. Returns an unsubscriber. */
  subscribe(listener: EcsEventListener): () => void;
  ecs: EcsControl;
  /** The token buckets when `throttling` is on (counts, tokens, limits); otherwise undefined. */
  throttling: EcsThrottling | undefined;
  ec2: Ec2Service;
  secrets: SecretsManagerService;
  /** SSM Parameter Store: SecureString parameters (the default home of the credentials). */
  parameters: SsmService;
  logs: LogsService;
}

/**
 * A running stand-in: one HTTP endpoint for ECS, EC2, Secrets Manager, CloudWatch Logs, SSM, STS and
 * IAM. Its own members (`calls`, `events`, `ecs`, `ec2`, …) are the home tenant's (home account, home
 * region); `tenant(account, region)` reaches the others.
 */
export interface AwsStandin extends AwsTenant {
  /** `http://127.0.0.1:<port>`: `AWS_ENDPOINT_URL` (or `_ECS`, `_EC2`, `_STS`, ...) or a client's `endpoint`. */
  url: string;
  /** Every region served, the home region first. */
  regions: readonly string[];
  /** Every request answered, whatever its tenant, in arrival order (a live array). */
  allCalls: RecordedCall[];
  /** STS: `addRole` (roles AssumeRole may assume), `sessions()` (credentials issued), `expire(key)`. */
  sts: StsService;
  /**
   * The tenant of `accountId` in `region` (default: the home region), created on first use. The
   * account must be the home account or that of a role registered with `sts.addRole`; the region one
   * of `regions`. The home tenant's members are the stand-in's own.
   */
  tenant(accountId: string, region?: string): AwsTenant;
  /** The tenants created so far, the home tenant first. */
  tenants(): AwsTenant[];
  close(): Promise<void>;
}
