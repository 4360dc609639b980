import {
  type AccountContext,
  isArn,
  NAME_PATTERN,
  parseOwnArn,
  taskDefinitionArn,
} from './ecs-arns.ts';
import { clientException, invalidParameter } from './ecs-errors.ts';
import {
  fargateSizeMessage,
  isFargateSize,
  parseCpuUnits,
  parseMemoryMiB,
} from './fargate-sizes.ts';
import { checkTags, type Tag } from './tags.ts';

export interface ContainerDefinition {
  name: string;
  image: string;
  cpu: number;
  memory?: number;
  memoryReservation?: number;
  essential: boolean;
  [member: string]: unknown;
}

interface ContainerDefinitionInput {
  name?: string;
  image?: string;
  cpu?: number;
  memory?: number;
  memoryReservation?: number;
  essential?: boolean;
  environment?: { name?: string; value?: string }[];
  secrets?: { name: string; valueFrom: string }[];
  portMappings?: { containerPort?: number; hostPort?: number; protocol?: string }[];
  logConfiguration?: { logDriver: string; options?: Record<string, string> };
  [member: string]: unknown;
}

export interface RegisterTaskDefinitionInput {
  family: string;
  containerDefinitions: ContainerDefinitionInput[];
  taskRoleArn?: string;
  executionRoleArn?: string;
  networkMode?: string;
  requiresCompatibilities?: string[];
  cpu?: string;
  memory?: string;
  tags?: { key?: string; value?: string }[];
  volumes?: unknown[];
  placementConstraints?: unknown[];
  [member: string]: unknown;
}

export interface TaskDefinitionRecord {
  arn: string;
  family: string;
  revision: number;
  status: 'ACTIVE' | 'INACTIVE';
  networkMode?: string;
  requiresCompatibilities: string[];
  compatibilities: string[];
  /** Task-level CPU units / memory MiB, normalised (`"1 vCPU"` → `"1024"`). */
  cpu?: string;
  memory?: string;
  containers: ContainerDefinition[];
  tags: Tag[];
  registeredAt: Date;
  deregisteredAt?: Date;
  /** Everything else registered, echoed back as ECS does. */
  extra: Record<string, unknown>;
}

export interface TaskDefinitionStore {
  register(input: RegisterTaskDefinitionInput): {
    taskDefinition: Record<string, unknown>;
    tags?: Tag[];
  };
  describe(input: { taskDefinition: string; include?: string[] }): {
    taskDefinition: Record<string, unknown>;
    tags?: Tag[];
  };
  deregister(input: { taskDefinition: string }): { taskDefinition: Record<string, unknown> };
  list(input: {
    familyPrefix?: string;
    status?: string;
    sort?: string;
    maxResults?: number;
    nextToken?: string;
  }): { taskDefinitionArns: string[]; nextToken?: string };
  /** What RunTask runs: InvalidParameterException when missing or INACTIVE. */
  resolveForRun(identifier: string): TaskDefinitionRecord;
  byArn(arn: string): TaskDefinitionRecord | undefined;
}

const epoch = (date: Date): number => date.getTime() / 1000;

const INVALID_SETTING = (what: 'cpu' | 'memory'): string =>
  `Invalid '${what}' setting for task. For more information, see the Troubleshooting section of the Amazon ECS Developer Guide.`;

/** Splits `family`, `family:revision` or a task-definition ARN; revision undefined = latest ACTIVE. */
const parseIdentifier = (
  ctx: AccountContext,
  identifier: string
): { family: string; revision?: number } | { invalid: string } | undefined => {
  let reference = identifier;
  if (isArn(identifier)) {
    const arn = parseOwnArn(ctx, identifier, 'task-definition');
    if (!arn) return undefined;
    reference = arn.resource;
  }
  const colon = reference.lastIndexOf(':');
  if (colon === -1) return { family: reference };
  const revisionText = reference.slice(colon + 1);
  if (!/^\d+$/.test(revisionText) || Number(revisionText) < 1) return { invalid: revisionText };
  return { family: reference.slice(0, colon), revision: Number(revisionText) };
};

const normaliseContainer = (
  input: ContainerDefinitionInput,
  networkMode: string | undefined
): ContainerDefinition => {
  const portMappings = (input.portMappings ?? []).map((mapping) => ({
    ...mapping,
    hostPort:
      mapping.hostPort ??
      (networkMode === 'awsvpc' || networkMode === 'host' ? mapping.containerPort : 0),
    protocol: mapping.protocol ?? 'tcp',
  }));
  return {
    ...input,
    name: input.name ?? '',
    image: input.image ?? '',
    cpu: input.cpu ?? 0,
    portMappings,
    essential: input.essential ?? true,
    environment: input.environment ?? [],
    mountPoints: (input.mountPoints as unknown[] | undefined) ?? [],
    volumesFrom: (input.volumesFrom as unknown[] | undefined) ?? [],
    systemControls: (input.systemControls as unknown[] | undefined) ?? [],
  };
};

/**
 * The image rules of the model's `ContainerDefinition.image` documentation: letters, numbers, `-`,
 * `_`, `:`, `.`, `/` and `#`, at most 255 characters; with a digest the limit covers what precedes
 * `@`, and the digest is `sha256:` and 64 hex digits. ECS answers the first with its own wording.
 */
const IMAGE_CHARACTERS = /^[A-Za-z0-9\-_:./#]+$/;
const IMAGE_DIGEST = /^sha256:[A-Fa-f0-9]{64}$/;
const MAX_IMAGE_LENGTH = 255;

const imageProblem = (image: string): string | undefined => {
  const at = image.indexOf('@');
  const reference = at === -1 ? image : image.slice(0, at);
  if (!IMAGE_CHARACTERS.test(reference)) return 'Container.image contains invalid characters.';
  if (reference.length > MAX_IMAGE_LENGTH) {
    return `Container.image should not be longer than ${MAX_IMAGE_LENGTH} characters.`;
  }
  if (at !== -1 && !IMAGE_DIGEST.test(image.slice(at + 1))) {
    return 'Container.image digest must be sha256: followed by 64 hexadecimal characters.';
  }
  return undefined;
};

const checkContainers = (input: RegisterTaskDefinitionInput, fargate: boolean): void => {
  const containers = input.containerDefinitions;
  if (containers.length === 0) throw clientException('Container list cannot be empty.');
  if (containers.length > 10) {
    throw clientException(
      'Too many containers. A task definition can contain at most 10 containers.'
    );
  }
  const names = new Set<string>();
  for (const container of containers) {
    const name = container.name;
    if (name === undefined || name === '') {
      throw clientException('Container.name should not be null or empty.');
    }
    if (!NAME_PATTERN.test(name))
      throw clientException('Container.name contains invalid characters.');
    if (names.has(name)) throw clientException(`Duplicate container name: ${name}.`);
    names.add(name);
    if (container.image === undefined || container.image.trim() === '') {
      throw clientException('Container.image should not be null or empty.');
    }
    const badImage = imageProblem(container.image);
    if (badImage) throw clientException(badImage);
    if (container.environment?.some((pair) => !pair.name?.trim())) {
      throw clientException('Environment variable name cannot be null or blank.');
    }
    if (container.secrets?.length && !input.executionRoleArn) {
      throw clientException(
        "When you are specifying container secrets, you must also specify a value for 'executionRoleArn'."
      );
    }
    if (!fargate && input.memory === undefined && container.memory === undefined) {
      if (container.memoryReservation === undefined) {
        throw clientException(
          `Invalid setting for container '${name}'. At least one of 'memory' or 'memoryReservation' must be specified.`
        );
      }
    }
    if (
      container.memory !== undefined &&
      container.memoryReservation !== undefined &&
      container.memory < container.memoryReservation
    ) {
      throw clientException(
        `Invalid setting for container '${name}'. 'memory' must be greater than or equal to 'memoryReservation'.`
      );
    }
    if (fargate && container.logConfiguration?.logDriver === 'awslogs' && !input.executionRoleArn) {
      throw clientException(
        'Fargate requires task definition to have execution role ARN to support log driver awslogs.'
      );
    }
    const mode = input.networkMode;
    if (mode === 'awsvpc' || mode === 'host') {
      for (const mapping of container.portMappings ?? []) {
        if (mapping.hostPort !== undefined && mapping.hostPort !== mapping.containerPort) {
          throw clientException(
            `When networkMode=${mode}, the host ports and container ports in port mappings must match.`
          );
        }
      }
    }
  }
  if (!containers.some((container) => container.essential !== false)) {
    throw clientException('Task definition does not have any essential container.');
  }
};

const requiresAttributes = (
  input: RegisterTaskDefinitionInput,
  networkMode: string | undefined
): { name: string }[] => {
  const names = new Set<string>();
  if (networkMode === 'awsvpc') {
    names.add('com.amazonaws.ecs.capability.docker-remote-api.1.18');
    names.add('ecs.capability.task-eni');
  }
  for (const container of input.containerDefinitions) {
    const driver = container.logConfiguration?.logDriver;
    if (driver) {
      names.add(`com.amazonaws.ecs.capability.logging-driver.${driver}`);
      names.add('com.amazonaws.ecs.capability.docker-remote-api.1.19');
      if (driver === 'awslogs' && input.executionRoleArn) {
        names.add('ecs.capability.execution-role-awslogs');
      }
    }
    if (container.secrets?.some((secret) => secret.valueFrom.includes(':secretsmanager:'))) {
      names.add('ecs.capability.secrets.asm.environment-variables');
    }
    if (container.secrets?.some((secret) => secret.valueFrom.includes(':ssm:'))) {
      names.add('ecs.capability.secrets.ssm.environment-variables');
    }
  }
  return [...names].map((name) => ({ name }));
};

export const createTaskDefinitionStore = (
  ctx: AccountContext,
  now: () => Date
): TaskDefinitionStore => {
  const families = new Map<string, TaskDefinitionRecord[]>();

  const render = (record: TaskDefinitionRecord): Record<string, unknown> => ({
    taskDefinitionArn: record.arn,
    containerDefinitions: record.containers,
    family: record.family,
    ...record.extra,
    ...(record.networkMode === undefined ? {} : { networkMode: record.networkMode }),
    revision: record.revision,
    status: record.status,
    compatibilities: record.compatibilities,
    ...(record.requiresCompatibilities.length > 0
      ? { requiresCompatibilities: record.requiresCompatibilities }
      : {}),
    ...(record.cpu === undefined ? {} : { cpu: record.cpu }),
    ...(record.memory === undefined ? {} : { memory: record.memory }),
    registeredAt: epoch(record.registeredAt),
    ...(record.deregisteredAt ? { deregisteredAt: epoch(record.deregisteredAt) } : {}),
    registeredBy: `arn:aws:iam::${ctx.accountId}:root`,
  });

  const find = (identifier: string): TaskDefinitionRecord | undefined | 'invalid-revision' => {
    const parsed = parseIdentifier(ctx, identifier);
    if (!parsed) return undefined;
    if ('invalid' in parsed) return 'invalid-revision';
    const revisions = families.get(parsed.family) ?? [];
    if (parsed.revision === undefined) {
      return revisions.findLast((record) => record.status === 'ACTIVE');
    }
    return revisions[parsed.revision - 1];
  };

  const sizes = (input: RegisterTaskDefinitionInput) => {
    let cpu: number | undefined;
    let memory: number | undefined;
    if (input.cpu !== undefined) {
      cpu = parseCpuUnits(input.cpu);
      if (cpu === undefined || cpu < 128 || cpu > 196608)
        throw clientException(INVALID_SETTING('cpu'));
    }
    if (input.memory !== undefined) {
      memory = parseMemoryMiB(input.memory);
      if (memory === undefined) throw clientException(INVALID_SETTING('memory'));
    }
    return { cpu, memory };
  };

  return {
    register(input) {
      const family = input.family;
      if (family.trim() === '') throw clientException('Family can not be blank.');
      if (family.length > 255) throw clientException('Family name must be at most 255 characters.');
      if (!NAME_PATTERN.test(family)) throw clientException('Family contains invalid characters.');
      const requires = input.requiresCompatibilities ?? [];
      const fargate = requires.includes('FARGATE');
      checkContainers(input, fargate);
      const { cpu, memory } = sizes(input);
      const networkMode = input.networkMode;
      if (fargate) {
        if (networkMode !== 'awsvpc') {
          throw clientException('Fargate only supports network mode \u2018awsvpc\u2019.');
        }
        if (cpu === undefined) {
          throw clientException("Fargate requires that 'cpu' be defined at the task level.");
        }
        if (memory === undefined) {
          throw clientException("Fargate requires that 'memory' be defined at the task level.");
        }
        if (!isFargateSize(cpu, memory)) throw clientException(fargateSizeMessage(cpu, memory));
      }
      const tags = checkTags(input.tags);
      const fitsFargate =
        networkMode === 'awsvpc' &&
        cpu !== undefined &&
        memory !== undefined &&
        isFargateSize(cpu, memory);
      const compatibilities = ['EC2'];
      if (fitsFargate) compatibilities.push('FARGATE');
      if (networkMode !== 'awsvpc') compatibilities.push('EXTERNAL');
      const {
        family: _family,
        containerDefinitions,
        networkMode: _networkMode,
        requiresCompatibilities: _requires,
        cpu: _cpu,
        memory: _memory,
        tags: _tags,
        ...rest
      } = input;
      const revisions = families.get(family) ?? [];
      const revision = revisions.length + 1;
      const record: TaskDefinitionRecord = {
        arn: taskDefinitionArn(ctx, family, revision),
        family,
        revision,
        status: 'ACTIVE',
        ...(networkMode === undefined ? {} : { networkMode }),
        requiresCompatibilities: requires,
        compatibilities,
        ...(cpu === undefined ? {} : { cpu: String(cpu) }),
        ...(memory === undefined ? {} : { memory: String(memory) }),
        containers: containerDefinitions.map((container) =>
          normaliseContainer(container, networkMode)
        ),
        tags,
        registeredAt: now(),
        extra: {
          ...rest,
          volumes: input.volumes ?? [],
          placementConstraints: input.placementConstraints ?? [],
          requiresAttributes: requiresAttributes(input, networkMode),
        },
      };
      revisions.push(record);
      families.set(family, revisions);
      return { taskDefinition: render(record), ...(tags.length > 0 ? { tags } : {}) };
    },

    describe(input) {
      const record = find(input.taskDefinition);
      if (record === 'invalid-revision' || record === undefined) {
        throw clientException('Unable to describe task definition.');
      }
      return {
        taskDefinition: render(record),
        ...(input.include?.includes('TAGS') ? { tags: record.tags } : {}),
      };
    },

    deregister(input) {
      const parsed = parseIdentifier(ctx, input.taskDefinition);
      if (parsed && !('invalid' in parsed) && parsed.revision === undefined) {
        throw clientException(
          `Invalid revision number. Number: ${input.taskDefinition}. A revision (family:revision) must be specified.`
        );
      }
      const record = find(input.taskDefinition);
      if (record === 'invalid-revision') {
        throw clientException(`Invalid revision number. Number: ${input.taskDefinition}`);
      }
      if (!record) throw clientException('The specified task definition does not exist.');
      if (record.status === 'ACTIVE') {
        record.status = 'INACTIVE';
        record.deregisteredAt = now();
      }
      return { taskDefinition: render(record) };
    },

    list(input) {
      const status = input.status ?? 'ACTIVE';
      const all = [...families.entries()]
        .filter(([family]) => input.familyPrefix === undefined || family === input.familyPrefix)
        .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
        .flatMap(([, revisions]) => revisions.filter((record) => record.status === status));
      if (input.sort === 'DESC') all.reverse();
      const maxResults = input.maxResults ?? 100;
      if (maxResults < 1 || maxResults > 100) {
        throw clientException('maxResults must be between 1 and 100.');
      }
      const start = input.nextToken === undefined ? 0 : decodeToken(input.nextToken);
      const page = all.slice(start, start + maxResults);
      const next = start + maxResults < all.length ? encodeToken(start + maxResults) : undefined;
      return {
        taskDefinitionArns: page.map((record) => record.arn),
        ...(next === undefined ? {} : { nextToken: next }),
      };
    },

    resolveForRun(identifier) {
      const record = find(identifier);
      if (record === 'invalid-revision' || record === undefined) {
        throw invalidParameter('TaskDefinition not found.');
      }
      if (record.status !== 'ACTIVE') throw invalidParameter('TaskDefinition is inactive');
      return record;
    },

    byArn(arn) {
      const record = find(arn);
      return record === 'invalid-revision' || !isArn(arn) ? undefined : record;
    },
  };
};

export const encodeToken = (offset: number): string =>
  Buffer.from(JSON.stringify({ offset })).toString('base64');

export const decodeToken = (token: string): number => {
  try {
    const parsed = JSON.parse(Buffer.from(token, 'base64').toString('utf8')) as {
      offset?: unknown;
    };
    if (
      typeof parsed.offset === 'number' &&
      Number.isInteger(parsed.offset) &&
      parsed.offset >= 0
    ) {
      return parsed.offset;
    }
  } catch {
    // Falls through to the error below.
  }
  throw invalidParameter('Invalid nextToken.');
};
