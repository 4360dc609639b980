import { randomUUID } from 'node:crypto';
import { AwsServiceError } from '../aws/service.ts';
import {
  type CapacityProviderStrategyItem,
  type ClusterRecord,
  type ClusterStore,
  NOT_ASSOCIATED_MESSAGE,
} from './clusters.ts';
import {
  type AccountContext,
  containerArn,
  containerInstanceArn,
  newTaskId,
  taskArn,
} from './ecs-arns.ts';
import { conflict, invalidParameter } from './ecs-errors.ts';
import {
  fargateSizeMessage,
  isFargateSize,
  parseCpuUnits,
  parseMemoryMiB,
} from './fargate-sizes.ts';
import { checkTags, type Tag } from './tags.ts';
import type { TaskDefinitionRecord, TaskDefinitionStore } from './task-definitions.ts';
import type { Lifecycle } from './task-lifecycle.ts';
import { type EniState, renderTask, type TaskRecord } from './tasks.ts';
import type { EcsContainerOverride, EcsTaskOverride, FailRunTaskOptions } from './types.ts';

export interface RunTaskInput {
  taskDefinition: string;
  cluster?: string;
  count?: number;
  launchType?: string;
  capacityProviderStrategy?: CapacityProviderStrategyItem[];
  networkConfiguration?: {
    awsvpcConfiguration?: { subnets: string[]; securityGroups?: string[]; assignPublicIp?: string };
  };
  overrides?: Partial<EcsTaskOverride> & { inferenceAcceleratorOverrides?: unknown[] };
  startedBy?: string;
  group?: string;
  tags?: { key?: string; value?: string }[];
  clientToken?: string;
  platformVersion?: string;
  enableExecuteCommand?: boolean;
  propagateTags?: string;
  [member: string]: unknown;
}

export interface RunTaskFailure {
  reason: string;
  times: number;
  options: FailRunTaskOptions;
}

/** Where RunTask looks subnets and security groups up (the EC2 stand-in); format checks only without it. */
export interface NetworkLookup {
  subnet(id: string): { vpcId: string; availabilityZone: string; cidrBlock: string } | undefined;
  securityGroup(id: string): { vpcId: string } | undefined;
}

export interface RunTaskDeps {
  ctx: AccountContext;
  now: () => Date;
  clusters: ClusterStore;
  taskDefinitions: TaskDefinitionStore;
  lifecycle: Lifecycle;
  tasks: Map<string, TaskRecord>;
  /** Queued `failNextRunTask` answers, consumed first-in first-out. */
  failures: RunTaskFailure[];
  network?: NetworkLookup;
}

interface IdempotencyEntry {
  fingerprint: string;
  taskArns: string[];
  at: number;
}

const DAY_MS = 24 * 60 * 60 * 1000;
const STARTED_BY = /^[a-zA-Z0-9_/-]*$/;
const FARGATE_PLATFORM_VERSIONS = new Set(['LATEST', '1.4.0', '1.3.0']);
const FARGATE_PROVIDERS = new Set(['FARGATE', 'FARGATE_SPOT']);

/** JSON with sorted keys, so two requests with the same parameters compare equal. */
const stableStringify = (value: unknown): string => {
  if (Array.isArray(value)) return `[${value.map(stableStringify).join(',')}]`;
  if (typeof value === 'object' && value !== null) {
    const entries = Object.entries(value)
      .filter(([, item]) => item !== undefined && item !== null)
      .sort(([a], [b]) => (a < b ? -1 : 1));
    return `{${entries.map(([key, item]) => `${JSON.stringify(key)}:${stableStringify(item)}`).join(',')}}`;
  }
  return JSON.stringify(value);
};

const checkScalars = (input: RunTaskInput): void => {
  const token = input.clientToken;
  if (token !== undefined) {
    if (token.length === 0 || token.length > 64) {
      throw invalidParameter('The clientToken must be between 1 and 64 characters long.');
    }
    if ([...token].some((c) => c.charCodeAt(0) < 33 || c.charCodeAt(0) > 126)) {
      throw invalidParameter(
        'The clientToken contains invalid characters. Valid characters are in the range 33-126 (inclusive).'
      );
    }
  }
  const count = input.count ?? 1;
  if (count < 1 || count > 10) {
    throw invalidParameter('The count must be between 1 and 10 (inclusive).');
  }
  const startedBy = input.startedBy;
  if (startedBy !== undefined) {
    if (startedBy.length > 128) throw invalidParameter('startedBy longer than 128.');
    if (!STARTED_BY.test(startedBy)) {
      throw invalidParameter(
        'startedBy contains invalid characters. Up to 128 letters (uppercase and lowercase), numbers, hyphens (-), forward slash (/), and underscores (_) are allowed.'
      );
    }
  }
  if (input.launchType !== undefined && input.capacityProviderStrategy !== undefined) {
    throw invalidParameter(
      'Specifying both a launch type and capacity provider strategy is not supported. Remove one and try again.'
    );
  }
};

const checkStrategy = (strategy: CapacityProviderStrategyItem[], cluster: ClusterRecord): void => {
  if (strategy.length === 0) {
    throw invalidParameter(
      'The capacity provider strategy must contain at least one capacity provider.'
    );
  }
  if (strategy.length > 20) {
    throw invalidParameter(
      'A capacity provider strategy can contain a maximum of 20 capacity providers.'
    );
  }
  const names = strategy.map((item) => item.capacityProvider);
  if (new Set(names).size !== names.length) {
    throw invalidParameter(
      'The capacity provider strategy cannot contain duplicate capacity providers.'
    );
  }
  if (names.some((name) => !cluster.capacityProviders.includes(name))) {
    throw invalidParameter(NOT_ASSOCIATED_MESSAGE);
  }
  if (strategy.filter((item) => (item.base ?? 0) > 0).length > 1) {
    throw invalidParameter(
      'Only one capacity provider in a capacity provider strategy can have a base defined.'
    );
  }
  if (strategy.length > 1 && strategy.every((item) => (item.weight ?? 0) === 0)) {
    throw invalidParameter(
      'At least one capacity provider in a capacity provider strategy must have a weight greater than zero.'
    );
  }
};

/** Which provider each of `count` tasks lands on: bases first, then by weight. */
const placeOnProviders = (strategy: CapacityProviderStrategyItem[], count: number): string[] => {
  const placed: string[] = [];
  const withBase = strategy.find((item) => (item.base ?? 0) > 0);
  for (let i = 0; i < Math.min(withBase?.base ?? 0, count); i++) {
    placed.push(withBase?.capacityProvider ?? '');
  }
  const weighted = strategy.filter((item) => (item.weight ?? 0) > 0);
  const cycle = (weighted.length > 0 ? weighted : strategy).flatMap((item) =>
    Array.from({ length: Math.max(item.weight ?? 0, 1) }, () => item.capacityProvider)
  );
  for (let i = 0; placed.length < count; i++) placed.push(cycle[i % cycle.length] ?? '');
  return placed;
};

const checkOverrides = (
  input: RunTaskInput,
  definition: TaskDefinitionRecord,
  fargate: boolean
): EcsTaskOverride => {
  const overrides = input.overrides ?? {};
  if (JSON.stringify(overrides).length > 8192) {
    throw invalidParameter('Container Overrides length must be at most 8192');
  }
  const byName = new Map<string, EcsContainerOverride>();
  for (const override of overrides.containerOverrides ?? []) {
    const name = override.name;
    if (name === undefined || !definition.containers.some((c) => c.name === name)) {
      throw invalidParameter(
        `Override for container named ${name ?? 'null'} is not a container in the TaskDefinition.`
      );
    }
    if (byName.has(name)) {
      throw invalidParameter(`Duplicate container override for container named ${name}.`);
    }
    if (override.environment?.some((pair) => !pair.name?.trim())) {
      throw invalidParameter('Environment variable name cannot be null or blank.');
    }
    byName.set(name, override);
  }
  const cpuText = overrides.cpu ?? definition.cpu;
  const memoryText = overrides.memory ?? definition.memory;
  if (overrides.cpu !== undefined && parseCpuUnits(overrides.cpu) === undefined) {
    throw invalidParameter("Invalid 'cpu' setting for task override.");
  }
  if (overrides.memory !== undefined && parseMemoryMiB(overrides.memory) === undefined) {
    throw invalidParameter("Invalid 'memory' setting for task override.");
  }
  if (fargate && (overrides.cpu !== undefined || overrides.memory !== undefined)) {
    const cpu = parseCpuUnits(cpuText ?? '') ?? 0;
    const memory = parseMemoryMiB(memoryText ?? '') ?? 0;
    if (!isFargateSize(cpu, memory)) throw invalidParameter(fargateSizeMessage(cpu, memory));
  }
  const {
    inferenceAcceleratorOverrides: _ignored,
    containerOverrides: _given,
    ...taskLevel
  } = overrides;
  return {
    containerOverrides: definition.containers.map((container) => ({
      ...byName.get(container.name),
      name: container.name,
    })),
    ...taskLevel,
    ...(taskLevel.cpu === undefined ? {} : { cpu: String(parseCpuUnits(taskLevel.cpu)) }),
    ...(taskLevel.memory === undefined ? {} : { memory: String(parseMemoryMiB(taskLevel.memory)) }),
  };
};

const SUBNET = /^subnet-[0-9a-f]{8,17}$/;
const SECURITY_GROUP = /^sg-[0-9a-f]{8,17}$/;

interface PlacedSubnet {
  id: string;
  availabilityZone?: string;
  cidrBlock?: string;
}

const checkNetwork = (
  input: RunTaskInput,
  definition: TaskDefinitionRecord,
  fargate: boolean,
  lookup: NetworkLookup | undefined
): PlacedSubnet[] | undefined => {
  const awsvpc = input.networkConfiguration?.awsvpcConfiguration;
  if (definition.networkMode !== 'awsvpc') {
    if (input.networkConfiguration !== undefined) {
      throw invalidParameter(
        'Network Configuration is not valid for the given networkMode of this task definition.'
      );
    }
    return undefined;
  }
  if (!awsvpc) {
    throw invalidParameter(
      "Network Configuration must be provided when networkMode 'awsvpc' is specified."
    );
  }
  if (awsvpc.subnets.length === 0) throw invalidParameter('subnets can not be empty.');
  if (awsvpc.subnets.length > 16) throw invalidParameter('subnets can have at most 16 items.');
  for (const subnet of awsvpc.subnets) {
    if (!SUBNET.test(subnet)) {
      throw invalidParameter(
        `Error retrieving subnet information for [${subnet}]: The subnet ID '${subnet}' is malformed (ErrorCode: InvalidSubnetID.Malformed)`
      );
    }
  }
  const groups = awsvpc.securityGroups ?? [];
  if (groups.length > 5) throw invalidParameter('securityGroups can have at most 5 items.');
  for (const group of groups) {
    if (!SECURITY_GROUP.test(group)) {
      throw invalidParameter(
        `Error retrieving security group information for [${group}]: Invalid id: "${group}" (expecting "sg-...") (ErrorCode: InvalidGroupId.Malformed)`
      );
    }
  }
  if (awsvpc.assignPublicIp === 'ENABLED' && !fargate) {
    throw invalidParameter('Assign public IP is not supported for this launch type.');
  }
  if (!lookup) return awsvpc.subnets.map((id) => ({ id }));
  const placed = awsvpc.subnets.map((id) => {
    const subnet = lookup.subnet(id);
    if (!subnet) {
      throw invalidParameter(
        `Error retrieving subnet information for [${id}]: The subnet ID '${id}' does not exist (ErrorCode: InvalidSubnetID.NotFound)`
      );
    }
    return { id, ...subnet };
  });
  const vpcId = placed[0]?.vpcId;
  if (placed.some((subnet) => subnet.vpcId !== vpcId)) {
    throw invalidParameter('The subnets must all belong to the same VPC.');
  }
  for (const group of groups) {
    const found = lookup.securityGroup(group);
    if (!found) {
      throw invalidParameter(
        `Error retrieving security group information for [${group}]: The security group '${group}' does not exist (ErrorCode: InvalidGroup.NotFound)`
      );
    }
    if (found.vpcId !== vpcId) {
      throw invalidParameter(
        `The security group '${group}' does not belong to the VPC of the subnets (${vpcId}).`
      );
    }
  }
  return placed;
};

let ipCounter = 0;

/** A private address inside the subnet (its 5th address onwards, as AWS reserves the first 4). */
const addressIn = (cidrBlock: string | undefined): string => {
  ipCounter += 1;
  const [base = '10.0.0.0', bits = '24'] = (cidrBlock ?? '10.0.0.0/16').split('/');
  const start = base.split('.').reduce((sum, part) => sum * 256 + Number(part), 0);
  const size = 2 ** (32 - Number(bits));
  const offset = 4 + (ipCounter % Math.max(size - 5, 1));
  const address = start + offset;
  return [24, 16, 8, 0].map((shift) => Math.floor(address / 2 ** shift) % 256).join('.');
};

const newEni = (subnet: PlacedSubnet, region: string): EniState => {
  const ip = addressIn(subnet.cidrBlock);
  const hex = (bytes: number) =>
    Array.from({ length: bytes }, () =>
      Math.floor(Math.random() * 256)
        .toString(16)
        .padStart(2, '0')
    );
  return {
    attachmentId: randomUUID(),
    subnetId: subnet.id,
    networkInterfaceId: `eni-${hex(9).join('').slice(0, 17)}`,
    macAddress: ['0a', ...hex(5)].join(':'),
    privateIpv4Address: ip,
    privateDnsName: `ip-${ip.replaceAll('.', '-')}.${region === 'us-east-1' ? 'ec2' : `${region}.compute`}.internal`,
    status: 'PRECREATED',
  };
};

export type RunTask = (input: RunTaskInput) => {
  tasks: Record<string, unknown>[];
  failures: Record<string, unknown>[];
};

/** RunTask, checked the way ECS checks it, creating PROVISIONING tasks and their first event. */
export const createRunTask = (deps: RunTaskDeps): RunTask => {
  const { ctx, now, clusters, taskDefinitions, lifecycle, tasks } = deps;
  const idempotency = new Map<string, IdempotencyEntry>();

  const replay = (
    cluster: ClusterRecord,
    input: RunTaskInput
  ): { key: string; fingerprint: string; previous?: TaskRecord[] } | undefined => {
    if (input.clientToken === undefined) return undefined;
    const key = `${cluster.name}\u0000${input.clientToken}`;
    const { clientToken: _token, ...parameters } = input;
    const fingerprint = stableStringify({ ...parameters, cluster: cluster.name });
    const entry = idempotency.get(key);
    if (!entry || now().getTime() - entry.at > DAY_MS) return { key, fingerprint };
    if (entry.fingerprint !== fingerprint) {
      throw conflict(
        'The RunTask request could not be processed due to conflicts. The provided clientToken is already in use with a different RunTask request. The resourceIds are the existing task ARNs which are already associated with the clientToken.',
        entry.taskArns
      );
    }
    const previous = entry.taskArns.flatMap((arn) => {
      const task = tasks.get(arn);
      return task ? [task] : [];
    });
    return { key, fingerprint, previous };
  };

  return (input) => {
    checkScalars(input);
    const cluster = clusters.resolve(input.cluster);
    const idempotent = replay(cluster, input);
    if (idempotent?.previous) {
      return {
        tasks: idempotent.previous.map((task) => renderTask(task, task.tags.length > 0)),
        failures: [],
      };
    }
    const definition = taskDefinitions.resolveForRun(input.taskDefinition);

    const strategy =
      input.capacityProviderStrategy ??
      (input.launchType === undefined && cluster.defaultCapacityProviderStrategy.length > 0
        ? cluster.defaultCapacityProviderStrategy
        : undefined);
    if (strategy) checkStrategy(strategy, cluster);
    const launchType =
      strategy !== undefined
        ? strategy.every((item) => FARGATE_PROVIDERS.has(item.capacityProvider))
          ? 'FARGATE'
          : 'EC2'
        : (input.launchType ?? 'EC2');
    const fargate = launchType === 'FARGATE';

    if (launchType !== 'EC2' && !definition.compatibilities.includes(launchType)) {
      throw invalidParameter(`Task definition does not support launch_type ${launchType}.`);
    }
    if (!fargate && cluster.containerInstances === 0) {
      throw invalidParameter('No Container Instances were found in your cluster.');
    }
    if (input.platformVersion !== undefined) {
      if (!fargate) {
        throw invalidParameter(
          `The platform version must be null when specifying an ${launchType} launch type.`
        );
      }
      if (!FARGATE_PLATFORM_VERSIONS.has(input.platformVersion)) {
        throw new AwsServiceError(
          'PlatformUnknownException',
          'The specified platform version does not exist.'
        );
      }
    }
    const network = checkNetwork(input, definition, fargate, deps.network);
    const overrides = checkOverrides(input, definition, fargate);
    const requestTags = checkTags(input.tags);
    const tags =
      input.propagateTags === 'TASK_DEFINITION'
        ? [
            ...definition.tags.filter((tag) => !requestTags.some((t) => t.key === tag.key)),
            ...requestTags,
          ]
        : requestTags;
    if (tags.length > 50) throw invalidParameter('The number of tags exceeds the limit of 50.');

    const failure = deps.failures[0];
    if (failure) {
      failure.times -= 1;
      if (failure.times <= 0) deps.failures.shift();
      return {
        tasks: [],
        failures: [
          {
            arn: failure.options.arn ?? cluster.arn,
            reason: failure.reason,
            ...(failure.options.detail === undefined ? {} : { detail: failure.options.detail }),
          },
        ],
      };
    }

    const count = input.count ?? 1;
    const providers = strategy ? placeOnProviders(strategy, count) : [];
    const created: TaskRecord[] = [];
    for (let i = 0; i < count; i++) {
      created.push(
        createTask({
          ctx,
          at: now(),
          cluster,
          definition,
          input,
          launchType,
          capacityProviderName: providers[i],
          overrides,
          tags,
          subnet: network?.[i % network.length],
        })
      );
    }
    for (const task of created) {
      task.plan = lifecycle.planFor(task);
      tasks.set(task.arn, task);
    }
    if (idempotent) {
      idempotency.set(idempotent.key, {
        fingerprint: idempotent.fingerprint,
        taskArns: created.map((task) => task.arn),
        at: now().getTime(),
      });
    }
    const answer = created.map((task) => renderTask(task, tags.length > 0));
    for (const task of created) lifecycle.started(task);
    return { tasks: answer, failures: [] };
  };
};

interface NewTask {
  ctx: AccountContext;
  at: Date;
  cluster: ClusterRecord;
  definition: TaskDefinitionRecord;
  input: RunTaskInput;
  launchType: string;
  capacityProviderName: string | undefined;
  overrides: EcsTaskOverride;
  tags: Tag[];
  subnet: PlacedSubnet | undefined;
}

const createTask = (spec: NewTask): TaskRecord => {
  const { ctx, at, cluster, definition, input, launchType, overrides } = spec;
  const id = newTaskId();
  const arn = taskArn(ctx, cluster.name, id);
  const fargate = launchType === 'FARGATE';
  const eni = spec.subnet === undefined ? undefined : newEni(spec.subnet, ctx.region);
  return {
    id,
    arn,
    cluster,
    taskDefinition: definition,
    lastStatus: eni ? 'PROVISIONING' : 'PENDING',
    desiredStatus: 'RUNNING',
    version: 1,
    createdAt: at,
    updatedAt: at,
    ...(eni ? { eni } : { pullStartedAt: at }),
    ...(input.startedBy === undefined ? {} : { startedBy: input.startedBy }),
    group: input.group ?? `family:${definition.family}`,
    launchType,
    ...(spec.capacityProviderName === undefined
      ? {}
      : { capacityProviderName: spec.capacityProviderName }),
    ...(fargate ? { platformVersion: '1.4.0', platformFamily: 'Linux' } : {}),
    ...((overrides.cpu ?? definition.cpu) ? { cpu: overrides.cpu ?? definition.cpu } : {}),
    ...((overrides.memory ?? definition.memory)
      ? { memory: overrides.memory ?? definition.memory }
      : {}),
    overrides,
    containers: definition.containers.map((container) => ({
      name: container.name,
      arn: containerArn(ctx, cluster.name, id),
      image: container.image,
      cpu: container.cpu,
      ...(container.memory === undefined ? {} : { memory: container.memory }),
      ...(container.memoryReservation === undefined
        ? {}
        : { memoryReservation: container.memoryReservation }),
      essential: container.essential,
      lastStatus: 'PENDING',
    })),
    availabilityZone: spec.subnet?.availabilityZone ?? `${ctx.region}a`,
    ...(fargate ? {} : { containerInstanceArn: containerInstanceArn(ctx, cluster.name) }),
    tags: spec.tags,
    ...(input.clientToken === undefined ? {} : { clientToken: input.clientToken }),
    enableExecuteCommand: input.enableExecuteCommand ?? false,
    containersGone: false,
  };
};
