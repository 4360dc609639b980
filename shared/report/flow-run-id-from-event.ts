/**
 * Which flow run a task runs, and which of its containers runs the flow. Both come from the event
 * alone (no DescribeTasks): the launcher sets `startedBy = prefect/<flow run id>` and puts
 * `PREFECT__FLOW_RUN_ID` in the flow container's environment overrides, as prefect-aws does.
 */
import { flowRunIdFromStartedBy } from '../ecs/started-by.ts';
import type { TaskContainer, TaskStateChangeDetail } from './task-state-change-event.ts';

/** The environment variable Prefect's workers give the flow container. */
export const FLOW_RUN_ID_ENV = 'PREFECT__FLOW_RUN_ID';

/** The container name prefect-aws gives the flow container when the template names none. */
const DEFAULT_FLOW_CONTAINER = 'prefect';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The first container override that sets `PREFECT__FLOW_RUN_ID` to a UUID. */
const flowRunOverride = (
  detail: Pick<TaskStateChangeDetail, 'overrides'>
): { container: string; flowRunId: string } | undefined => {
  for (const override of detail.overrides.containerOverrides) {
    const value = override.environment?.find((pair) => pair.name === FLOW_RUN_ID_ENV)?.value;
    if (value !== undefined && UUID.test(value.trim())) {
      return { container: override.name, flowRunId: value.trim().toLowerCase() };
    }
  }
  return undefined;
};

/**
 * The flow run a task belongs to: from `startedBy` (`prefect/<id>`, or the `prefect:<id>` of the
 * first design), else from `PREFECT__FLOW_RUN_ID` in the container overrides; `undefined` for a
 * task that is not a flow run's (it is then ignored without calling Prefect).
 *
 * @example
 * flowRunIdFromEvent({ detail: { startedBy: 'prefect/7a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d', … } });
 * // '7a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d'
 * flowRunIdFromEvent({ detail: { startedBy: 'ecs-svc/9223370556150183303', … } }); // undefined
 */
export const flowRunIdFromEvent = (event: {
  detail: Pick<TaskStateChangeDetail, 'startedBy' | 'overrides'>;
}): string | undefined =>
  flowRunIdFromStartedBy(event.detail.startedBy) ?? flowRunOverride(event.detail)?.flowRunId;

/**
 * The containers whose exit decides the run's fate: the one the overrides give
 * `PREFECT__FLOW_RUN_ID`, else the one named `prefect`, else every container (prefect-aws checks
 * them all when it cannot tell). Empty when ECS reported no containers (TaskFailedToStart before
 * they were created).
 *
 * @example
 * flowContainers(detail).map((container) => container.name); // ['prefect']
 */
export const flowContainers = (
  detail: Pick<TaskStateChangeDetail, 'containers' | 'overrides'>
): TaskContainer[] => {
  const named = flowRunOverride(detail)?.container;
  const byName = (name: string | undefined) =>
    name === undefined ? undefined : detail.containers.find((container) => container.name === name);
  const flow = byName(named) ?? byName(DEFAULT_FLOW_CONTAINER);
  return flow ? [flow] : detail.containers;
};
