/**
 * RunTask `startedBy` for our tasks: `prefect/<flow run id>`. ECS echoes it in every "ECS Task State
 * Change" event, so the reporter's EventBridge rule matches our tasks by prefix and reads the flow
 * run id without a DescribeTasks call. ECS allows only letters, digits, `-`, `_` and `/` (up to 128),
 * hence `/` and not the `prefect:` the design notes first proposed.
 */
export const STARTED_BY_PREFIX = 'prefect/';

/** The prefix the first design used; still recognised when reading events. */
const LEGACY_STARTED_BY_PREFIX = 'prefect:';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * `startedBy` for a flow run's task.
 *
 * @example
 * ```ts
 * startedByForFlowRun('0b6c0e4e-8c4f-4f53-9d0e-7f6f3c1d2a10'); // 'prefect/0b6c0e4e-8c4f-…'
 * ```
 */
export const startedByForFlowRun = (flowRunId: string): string =>
  `${STARTED_BY_PREFIX}${flowRunId}`;

/**
 * The flow run id in a task's `startedBy` (`prefect/<uuid>`, or the legacy `prefect:<uuid>`);
 * undefined for tasks something else started.
 *
 * @example
 * ```ts
 * flowRunIdFromStartedBy('prefect/0b6c0e4e-8c4f-4f53-9d0e-7f6f3c1d2a10'); // '0b6c0e4e-…'
 * flowRunIdFromStartedBy('ecs-svc/123'); // undefined
 * ```
 */
export const flowRunIdFromStartedBy = (
  startedBy: string | null | undefined
): string | undefined => {
  if (!startedBy) return undefined;
  for (const prefix of [STARTED_BY_PREFIX, LEGACY_STARTED_BY_PREFIX]) {
    if (startedBy.startsWith(prefix)) {
      const id = startedBy.slice(prefix.length);
      return UUID.test(id) ? id.toLowerCase() : undefined;
    }
  }
  return undefined;
};
