import type { RegisterTaskDefinitionCommandInput, TaskDefinition } from '@aws-sdk/client-ecs';
import { cloneJson, dropEmptyKeys, isRecord, recordsIn } from './json-values.ts';
import { cpuUnits, memoryMiB } from './task-size.ts';

/**
 * Fields DescribeTaskDefinition adds that are not content (prefect-aws's
 * `ECS_POST_REGISTRATION_FIELDS`, plus `deleteRequestedAt` and the `tags`, which hold our hash).
 */
const NOT_CONTENT = [
  'taskDefinitionArn',
  'revision',
  'status',
  'compatibilities',
  'requiresAttributes',
  'registeredAt',
  'registeredBy',
  'deregisteredAt',
  'deleteRequestedAt',
  'tags',
] as const;

/**
 * The content of a task definition in one canonical form, so that the RegisterTaskDefinition input
 * we build and the `taskDefinition` DescribeTaskDefinition returns for it compare (and hash) equal:
 *
 * - registration metadata and `tags` removed;
 * - what ECS fills in made explicit or dropped on both sides: `networkMode` `bridge`, container
 *   `essential: true`, container `cpu: 0` dropped, port mappings' `protocol: tcp` and, in `awsvpc`
 *   / `host` mode, `hostPort` = `containerPort` (`hostPort: 0` dropped), `enableFaultInjection: false` dropped;
 * - task-level `cpu`/`memory` as unit strings (`"1 vCPU"` → `"1024"`), `requiresCompatibilities` sorted;
 * - container `environment` and `secrets` sorted by name, `environmentFiles` by value (ECS keeps
 *   them unordered), as prefect-aws does since 2025-06;
 * - empty values (`null`, `""`, `[]`, `{}`) dropped; `false` and other numbers kept.
 *
 * @example
 * ```ts
 * normalizeTaskDefinition(described); // equals normalizeTaskDefinition(registeredInput)
 * ```
 */
export const normalizeTaskDefinition = (
  taskDefinition: RegisterTaskDefinitionCommandInput | TaskDefinition | Record<string, unknown>
): Record<string, unknown> => {
  const content = cloneJson(taskDefinition) as Record<string, unknown>;
  for (const field of NOT_CONTENT) delete content[field];
  if (content.networkMode === undefined || content.networkMode === null) {
    content.networkMode = 'bridge';
  }
  if (content.enableFaultInjection === false) delete content.enableFaultInjection;
  content.cpu = canonicalSize(content.cpu, cpuUnits);
  content.memory = canonicalSize(content.memory, memoryMiB);
  if (Array.isArray(content.requiresCompatibilities)) {
    content.requiresCompatibilities = [
      ...new Set(content.requiresCompatibilities.map(String)),
    ].sort();
  }
  const networkMode = String(content.networkMode);
  content.containerDefinitions = recordsIn(content.containerDefinitions).map((container) =>
    normalizeContainer(container, networkMode)
  );
  return dropEmptyKeys(content);
};

const canonicalSize = (value: unknown, parse: (value: unknown) => number | undefined): unknown => {
  const parsed = parse(value);
  return parsed === undefined ? value : String(parsed);
};

const byKey =
  (key: string) =>
  (a: unknown, b: unknown): number => {
    const left = isRecord(a) ? String(a[key] ?? '') : '';
    const right = isRecord(b) ? String(b[key] ?? '') : '';
    return left < right ? -1 : left > right ? 1 : 0;
  };

const normalizeContainer = (
  container: Record<string, unknown>,
  networkMode: string
): Record<string, unknown> => {
  if (container.essential === undefined || container.essential === null) container.essential = true;
  if (container.cpu === 0) delete container.cpu;
  if (Array.isArray(container.environment)) container.environment.sort(byKey('name'));
  if (Array.isArray(container.secrets)) container.secrets.sort(byKey('name'));
  if (Array.isArray(container.environmentFiles)) container.environmentFiles.sort(byKey('value'));
  container.portMappings = recordsIn(container.portMappings).map((mapping) => {
    const normalized = { ...mapping };
    if (normalized.protocol === undefined || normalized.protocol === null) {
      normalized.protocol = 'tcp';
    }
    if (
      (networkMode === 'awsvpc' || networkMode === 'host') &&
      (normalized.hostPort === undefined || normalized.hostPort === null)
    ) {
      normalized.hostPort = normalized.containerPort;
    }
    if (normalized.hostPort === 0) delete normalized.hostPort;
    return normalized;
  });
  return container;
};
