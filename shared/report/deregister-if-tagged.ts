/**
 * Deregisters a stopped task's task definition when the task carries the deregister tag, as
 * prefect-aws's observer does (prefect-ecs-worker.md §3.1, `deregister_task_definition`). Events
 * carry no tags, so this costs one DescribeTasks (`include: ["TAGS"]`) per STOPPED event of ours,
 * and never a Prefect call. DeregisterTaskDefinition is idempotent, so a redelivered event is safe.
 */
import type { EcsTaskCleanup } from '../ecs/ecs-api.ts';
import { DEREGISTER_TAG_KEY } from '../ecs/ecs-tags.ts';
import type { TaskStateChangeEvent } from './task-state-change-event.ts';

/** What happened to the task definition. */
export type DeregisterOutcome = 'deregistered' | 'not-tagged' | 'task-gone';

/**
 * @example
 * await deregisterIfTagged(stoppedEvent, ecs); // 'deregistered'
 */
export const deregisterIfTagged = async (
  event: TaskStateChangeEvent,
  ecs: EcsTaskCleanup
): Promise<DeregisterOutcome> => {
  const { clusterArn, taskArn, taskDefinitionArn } = event.detail;
  const tags = await ecs.describeTaskTags(clusterArn, taskArn);
  if (tags === undefined) return 'task-gone';
  const tagged = tags.some(
    (tag) => tag.key === DEREGISTER_TAG_KEY && tag.value.trim().toLowerCase() === 'true'
  );
  if (!tagged) return 'not-tagged';
  await ecs.deregisterTaskDefinition(taskDefinitionArn);
  return 'deregistered';
};
