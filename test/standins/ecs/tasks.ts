import type { ClusterRecord } from './clusters.ts';
import type { Tag } from './tags.ts';
import type { TaskDefinitionRecord } from './task-definitions.ts';
import type {
  EcsEventContainer,
  EcsTaskOverride,
  EcsTaskSnapshot,
  EcsTaskStateChangeDetail,
  TaskPlan,
  TaskStatus,
} from './types.ts';

export interface ContainerState {
  name: string;
  arn: string;
  image: string;
  cpu: number;
  memory?: number;
  memoryReservation?: number;
  essential: boolean;
  lastStatus: 'PENDING' | 'RUNNING' | 'STOPPED';
  exitCode?: number;
  reason?: string;
  runtimeId?: string;
  imageDigest?: string;
}

export interface EniState {
  attachmentId: string;
  subnetId: string;
  networkInterfaceId: string;
  macAddress: string;
  privateIpv4Address: string;
  privateDnsName: string;
  status: 'PRECREATED' | 'ATTACHED' | 'DELETED';
}

/** A task as the stand-in keeps it; rendered for the API (epoch seconds) or events (ISO strings). */
export interface TaskRecord {
  id: string;
  arn: string;
  cluster: ClusterRecord;
  taskDefinition: TaskDefinitionRecord;
  lastStatus: TaskStatus;
  desiredStatus: 'RUNNING' | 'STOPPED';
  version: number;
  createdAt: Date;
  updatedAt: Date;
  connectivityAt?: Date;
  pullStartedAt?: Date;
  pullStoppedAt?: Date;
  startedAt?: Date;
  stoppingAt?: Date;
  executionStoppedAt?: Date;
  stoppedAt?: Date;
  stopCode?: string;
  stoppedReason?: string;
  startedBy?: string;
  group: string;
  launchType: string;
  capacityProviderName?: string;
  platformVersion?: string;
  platformFamily?: string;
  cpu?: string;
  memory?: string;
  overrides: EcsTaskOverride;
  containers: ContainerState[];
  eni?: EniState;
  availabilityZone: string;
  containerInstanceArn?: string;
  tags: Tag[];
  clientToken?: string;
  enableExecuteCommand: boolean;
  plan?: TaskPlan;
  /** Events report `containers: []` (a task that failed before its containers existed). */
  containersGone: boolean;
}

const epoch = (date: Date | undefined): number | undefined =>
  date === undefined ? undefined : date.getTime() / 1000;

const iso = (date: Date | undefined): string | undefined => date?.toISOString();

/** Drops undefined members so the JSON carries only what ECS would send. */
const compact = <T extends Record<string, unknown>>(value: T): T =>
  Object.fromEntries(Object.entries(value).filter(([, item]) => item !== undefined)) as T;

const attachment = (eni: EniState, type: string) => ({
  id: eni.attachmentId,
  type,
  status: eni.status,
  details: [
    { name: 'subnetId', value: eni.subnetId },
    ...(eni.status === 'PRECREATED'
      ? []
      : [
          { name: 'networkInterfaceId', value: eni.networkInterfaceId },
          { name: 'macAddress', value: eni.macAddress },
          { name: 'privateDnsName', value: eni.privateDnsName },
          { name: 'privateIPv4Address', value: eni.privateIpv4Address },
        ]),
  ],
});

const networkInterfaces = (task: TaskRecord) =>
  task.eni && task.eni.status !== 'PRECREATED'
    ? [{ attachmentId: task.eni.attachmentId, privateIpv4Address: task.eni.privateIpv4Address }]
    : [];

const containerFields = (task: TaskRecord, container: ContainerState) =>
  compact({
    containerArn: container.arn,
    taskArn: task.arn,
    name: container.name,
    image: container.image,
    imageDigest: container.imageDigest,
    runtimeId: container.runtimeId,
    lastStatus: container.lastStatus,
    exitCode: container.exitCode,
    reason: container.reason,
    networkInterfaces: networkInterfaces(task),
    cpu: String(container.cpu),
    memory: container.memory === undefined ? undefined : String(container.memory),
    memoryReservation:
      container.memoryReservation === undefined ? undefined : String(container.memoryReservation),
  });

/** The `Task` shape of RunTask / DescribeTasks / StopTask answers. */
export const renderTask = (task: TaskRecord, includeTags: boolean): Record<string, unknown> =>
  compact({
    attachments: task.eni ? [attachment(task.eni, 'ElasticNetworkInterface')] : [],
    attributes: [{ name: 'ecs.cpu-architecture', value: 'x86_64' }],
    availabilityZone: task.availabilityZone,
    capacityProviderName: task.capacityProviderName,
    clusterArn: task.cluster.arn,
    connectivity: task.connectivityAt ? 'CONNECTED' : undefined,
    connectivityAt: epoch(task.connectivityAt),
    containerInstanceArn: task.containerInstanceArn,
    containers: task.containers.map((container) => ({
      ...containerFields(task, container),
      networkBindings: [],
      healthStatus: 'UNKNOWN',
    })),
    cpu: task.cpu,
    createdAt: epoch(task.createdAt),
    desiredStatus: task.desiredStatus,
    enableExecuteCommand: task.enableExecuteCommand,
    ephemeralStorage: task.launchType === 'FARGATE' ? { sizeInGiB: 20 } : undefined,
    executionStoppedAt: epoch(task.executionStoppedAt),
    group: task.group,
    healthStatus: 'UNKNOWN',
    lastStatus: task.lastStatus,
    launchType: task.launchType,
    memory: task.memory,
    overrides: { ...task.overrides, inferenceAcceleratorOverrides: [] },
    platformVersion: task.platformVersion,
    platformFamily: task.platformFamily,
    pullStartedAt: epoch(task.pullStartedAt),
    pullStoppedAt: epoch(task.pullStoppedAt),
    startedAt: epoch(task.startedAt),
    startedBy: task.startedBy,
    stopCode: task.stopCode,
    stoppedAt: epoch(task.stoppedAt),
    stoppedReason: task.stoppedReason,
    stoppingAt: epoch(task.stoppingAt),
    tags: includeTags ? task.tags : undefined,
    taskArn: task.arn,
    taskDefinitionArn: task.taskDefinition.arn,
    version: task.version,
  });

/** `detail` of the "ECS Task State Change" event for the task as it is now. */
export const renderDetail = (task: TaskRecord): EcsTaskStateChangeDetail =>
  compact({
    attachments: task.eni ? [attachment(task.eni, 'eni')] : undefined,
    availabilityZone: task.availabilityZone,
    clusterArn: task.cluster.arn,
    containerInstanceArn: task.containerInstanceArn,
    containers: task.containersGone
      ? []
      : task.containers.map((container) => containerFields(task, container) as EcsEventContainer),
    createdAt: iso(task.createdAt) as string,
    launchType: task.launchType,
    capacityProviderName: task.capacityProviderName,
    cpu: task.cpu,
    memory: task.memory,
    desiredStatus: task.desiredStatus,
    group: task.group,
    lastStatus: task.lastStatus,
    overrides: task.overrides,
    connectivity: task.connectivityAt ? 'CONNECTED' : undefined,
    connectivityAt: iso(task.connectivityAt),
    pullStartedAt: iso(task.pullStartedAt),
    pullStoppedAt: iso(task.pullStoppedAt),
    startedAt: iso(task.startedAt),
    startedBy: task.startedBy,
    stoppingAt: iso(task.stoppingAt),
    executionStoppedAt: iso(task.executionStoppedAt),
    stoppedAt: iso(task.stoppedAt),
    stopCode: task.stopCode,
    stoppedReason: task.stoppedReason,
    updatedAt: iso(task.updatedAt) as string,
    taskArn: task.arn,
    taskDefinitionArn: task.taskDefinition.arn,
    version: task.version,
    platformVersion: task.platformVersion,
    platformFamily: task.platformFamily,
  });

export const snapshotTask = (task: TaskRecord): EcsTaskSnapshot =>
  compact({
    taskArn: task.arn,
    clusterArn: task.cluster.arn,
    clusterName: task.cluster.name,
    taskDefinitionArn: task.taskDefinition.arn,
    family: task.taskDefinition.family,
    lastStatus: task.lastStatus,
    desiredStatus: task.desiredStatus,
    startedBy: task.startedBy,
    group: task.group,
    launchType: task.launchType,
    capacityProviderName: task.capacityProviderName,
    version: task.version,
    stopCode: task.stopCode,
    stoppedReason: task.stoppedReason,
    containers: task.containers.map((container) =>
      compact({
        name: container.name,
        lastStatus: container.lastStatus,
        exitCode: container.exitCode,
        reason: container.reason,
      })
    ),
    tags: task.tags.map((tag) => ({ ...tag })),
    clientToken: task.clientToken,
  });
