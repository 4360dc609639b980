/**
 * An "ECS Task State Change" event built from a DescribeTasks answer, for a process that cannot
 * receive EventBridge (the local worker follows its tasks instead). The envelope is the one AWS
 * delivers; `detail` carries the task's fields as events spell them (ISO-8601 timestamps, `eni`
 * attachments, no tags or health fields), so the reporter cannot tell it from a real event.
 *
 * The event id is derived from the task ARN, its `version` and `lastStatus`: observing the same
 * task state again (a restarted worker) gives the same id, hence the same transition id in the
 * reporter's proposal, as an EventBridge redelivery would.
 */

import type { Attachment, Container, Task } from '@aws-sdk/client-ecs';
import { type ArnPlace, placeOfArn } from '../aws/arn-place.ts';
import { uuidV5 } from '../report/transition-id.ts';

/** RFC 9562's URL namespace. */
const URL_NAMESPACE = '6ba7b811-9dad-11d1-80b4-00c04fd430c8';
/** Namespace of the ids of events built here. Fixed: ids must stay stable across versions. */
export const FOLLOWED_EVENT_NAMESPACE = uuidV5(
  'https://github.com/prefect-ecs-serverless/local/task-follower',
  URL_NAMESPACE
);

/** A container of an event's `detail`. */
export interface EventContainer {
  containerArn: string;
  lastStatus: string;
  name: string;
  taskArn: string;
  image?: string;
  imageDigest?: string;
  runtimeId?: string;
  exitCode?: number;
  reason?: string;
  networkInterfaces?: { attachmentId?: string; privateIpv4Address?: string }[];
  cpu?: string;
  memory?: string;
  memoryReservation?: string;
  gpuIds?: string[];
}

/** `detail` of the event (the fields the DescribeTasks answer has; optional ones when absent). */
export interface FollowedTaskDetail {
  attachments?: {
    id?: string;
    type?: string;
    status?: string;
    details?: { name?: string; value?: string }[];
  }[];
  attributes?: { name?: string; value?: string }[];
  availabilityZone?: string;
  capacityProviderName?: string;
  clusterArn: string;
  connectivity?: string;
  connectivityAt?: string;
  containerInstanceArn?: string;
  containers: EventContainer[];
  cpu?: string;
  createdAt: string;
  desiredStatus: string;
  enableExecuteCommand?: boolean;
  ephemeralStorage?: { sizeInGiB?: number };
  executionStoppedAt?: string;
  group?: string;
  launchType?: string;
  lastStatus: string;
  memory?: string;
  overrides: NonNullable<Task['overrides']> & {
    containerOverrides: NonNullable<NonNullable<Task['overrides']>['containerOverrides']>;
  };
  platformFamily?: string;
  platformVersion?: string;
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

/** The EventBridge envelope. */
export interface FollowedTaskEvent {
  version: '0';
  id: string;
  'detail-type': 'ECS Task State Change';
  source: 'aws.ecs';
  account: string;
  time: string;
  region: string;
  resources: string[];
  detail: FollowedTaskDetail;
}

/** A task DescribeTasks returned, with the fields every event has. */
export type DescribedEcsTask = Task & { taskArn: string; lastStatus: string };

const iso = (date: Date | undefined): string | undefined => date?.toISOString();

/** `2026-01-15T10:00:00Z`: EventBridge's `time` has no milliseconds. */
const eventTime = (date: Date): string => `${date.toISOString().slice(0, 19)}Z`;

/** Drops undefined members, so the JSON carries only what ECS sent. */
const compact = <T extends object>(value: T): T =>
  Object.fromEntries(Object.entries(value).filter(([, item]) => item !== undefined)) as T;

/** `arn:aws:ecs:<region>:<account>:task/…` → region and account. */
const arnParts = (arn: string): ArnPlace => placeOfArn(arn) ?? { region: '', account: '' };

/** DescribeTasks calls the ENI attachment `ElasticNetworkInterface`; events call it `eni`. */
const attachmentOf = (attachment: Attachment) =>
  compact({
    id: attachment.id,
    type: attachment.type === 'ElasticNetworkInterface' ? 'eni' : attachment.type,
    status: attachment.status,
    details: attachment.details?.map((detail) => compact({ ...detail })),
  });

const containerOf = (container: Container, taskArn: string): EventContainer =>
  compact({
    containerArn: container.containerArn ?? '',
    lastStatus: container.lastStatus ?? 'PENDING',
    name: container.name ?? '',
    taskArn: container.taskArn ?? taskArn,
    image: container.image,
    imageDigest: container.imageDigest,
    runtimeId: container.runtimeId,
    exitCode: container.exitCode ?? undefined,
    reason: container.reason,
    networkInterfaces: container.networkInterfaces?.map((eni) => compact({ ...eni })),
    cpu: container.cpu,
    memory: container.memory,
    memoryReservation: container.memoryReservation,
    gpuIds: container.gpuIds,
  });

/** The latest timestamp the task carries: when it last changed, as far as its answer tells. */
const lastChange = (task: Task): Date | undefined => {
  const times = [
    task.createdAt,
    task.connectivityAt,
    task.pullStartedAt,
    task.pullStoppedAt,
    task.startedAt,
    task.stoppingAt,
    task.executionStoppedAt,
    task.stoppedAt,
  ].filter((time): time is Date => time instanceof Date);
  if (times.length === 0) return undefined;
  return new Date(Math.max(...times.map((time) => time.getTime())));
};

/**
 * The id of the event for a task state: the same task, version and status always give the same id.
 *
 * @example
 * followedEventId('arn:aws:ecs:us-east-1:123456789012:task/prefect/abc', 3, 'RUNNING'); // a UUID
 */
export const followedEventId = (taskArn: string, version: number, lastStatus: string): string =>
  uuidV5(`${taskArn}#${version}#${lastStatus}`, FOLLOWED_EVENT_NAMESPACE);

/**
 * Builds the event AWS would have sent for the task's current state.
 *
 * @example
 * const { tasks } = await ecs.send(new DescribeTasksCommand({ cluster, tasks: [taskArn] }));
 * await reporter(taskStateChangeEventOf(tasks[0], new Date()));
 */
export const taskStateChangeEventOf = (
  task: DescribedEcsTask,
  observedAt: Date
): FollowedTaskEvent => {
  const { region, account } = arnParts(task.taskArn);
  const version = task.version ?? 0;
  const createdAt = task.createdAt ?? observedAt;
  const detail: FollowedTaskDetail = compact({
    attachments: task.attachments?.map(attachmentOf),
    attributes: task.attributes?.map((attribute) =>
      compact({ name: attribute.name, value: attribute.value })
    ),
    availabilityZone: task.availabilityZone,
    capacityProviderName: task.capacityProviderName,
    clusterArn: task.clusterArn ?? '',
    connectivity: task.connectivity,
    connectivityAt: iso(task.connectivityAt),
    containerInstanceArn: task.containerInstanceArn,
    containers: (task.containers ?? []).map((container) => containerOf(container, task.taskArn)),
    cpu: task.cpu,
    createdAt: createdAt.toISOString(),
    desiredStatus: task.desiredStatus ?? 'RUNNING',
    enableExecuteCommand: task.enableExecuteCommand,
    ephemeralStorage: task.ephemeralStorage
      ? { sizeInGiB: task.ephemeralStorage.sizeInGiB }
      : undefined,
    executionStoppedAt: iso(task.executionStoppedAt),
    group: task.group,
    launchType: task.launchType,
    lastStatus: task.lastStatus,
    memory: task.memory,
    overrides: {
      ...task.overrides,
      containerOverrides: task.overrides?.containerOverrides ?? [],
    },
    platformFamily: task.platformFamily,
    platformVersion: task.platformVersion,
    pullStartedAt: iso(task.pullStartedAt),
    pullStoppedAt: iso(task.pullStoppedAt),
    startedAt: iso(task.startedAt),
    startedBy: task.startedBy,
    stopCode: task.stopCode,
    stoppedAt: iso(task.stoppedAt),
    stoppedReason: task.stoppedReason,
    stoppingAt: iso(task.stoppingAt),
    taskArn: task.taskArn,
    taskDefinitionArn: task.taskDefinitionArn ?? '',
    updatedAt: (lastChange(task) ?? observedAt).toISOString(),
    version,
  });
  return {
    version: '0',
    id: followedEventId(task.taskArn, version, task.lastStatus),
    'detail-type': 'ECS Task State Change',
    source: 'aws.ecs',
    account,
    time: eventTime(observedAt),
    region,
    resources: [task.taskArn],
    detail,
  };
};
