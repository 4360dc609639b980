import { isRecord } from './json-values.ts';

/** The container name prefect-aws falls back to. */
export const DEFAULT_CONTAINER_NAME = 'prefect';

/**
 * The container prefect-aws runs the flow in when `container_name` is not configured: the one named
 * `prefect` if there is one, else the first container's name (undefined when it has none).
 *
 * @example
 * ```ts
 * inferContainerName([{ name: 'sidecar' }, { name: 'prefect' }]); // 'prefect'
 * inferContainerName([{ name: 'app' }, { name: 'sidecar' }]); // 'app'
 * ```
 */
export const inferContainerName = (containers: unknown): string | undefined => {
  const list = Array.isArray(containers) ? containers.filter(isRecord) : [];
  if (list.some((container) => container.name === DEFAULT_CONTAINER_NAME)) {
    return DEFAULT_CONTAINER_NAME;
  }
  const first = list[0]?.name;
  return typeof first === 'string' && first !== '' ? first : undefined;
};

/**
 * The orchestration container's name: `container_name` as configured, else inferred from the task
 * definition's containers, else `prefect`.
 *
 * @example
 * ```ts
 * orchestrationContainerName(null, { containerDefinitions: [{ name: 'app' }] }); // 'app'
 * ```
 */
export const orchestrationContainerName = (
  configured: string | null,
  taskDefinition: { containerDefinitions?: unknown }
): string =>
  configured || inferContainerName(taskDefinition.containerDefinitions) || DEFAULT_CONTAINER_NAME;
