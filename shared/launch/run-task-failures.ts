/**
 * What RunTask's `failures[]` mean for a launch (reference prefect-ecs-worker.md §2.7). ECS answers
 * 200 with `tasks: []` and a failure when it cannot place the task now.
 */
import type { RunTaskFailure } from '../ecs/ecs-api.ts';

/** A failure, classified. */
export interface ClassifiedFailure {
  retryable: boolean;
  /** One sentence for the Prefect UI: what happened and what to do. */
  message: string;
}

const describe = (failure: RunTaskFailure): string =>
  `${failure.reason}${failure.detail ? ` (${failure.detail})` : ''}${failure.arn ? ` on ${failure.arn}` : ''}`;

/**
 * Classifies the first failure (ECS reports one per task; we start one):
 * - `RESOURCE:*` (CPU, MEMORY, PORTS, ENI, GPU), `AGENT`, capacity messages → retryable: capacity
 *   comes back or scales out;
 * - `INACTIVE` (the task definition was deregistered meanwhile) → retryable: the next attempt
 *   registers again;
 * - `MISSING` (cluster or container instance gone), `ATTRIBUTE` (placement constraints no instance
 *   meets) → permanent;
 * - anything else → retryable, bounded by the launch retry deadline.
 *
 * @example
 * classifyRunTaskFailure({ reason: 'RESOURCE:MEMORY', arn: undefined, detail: undefined });
 * // { retryable: true, message: 'ECS could not place the task: RESOURCE:MEMORY …' }
 */
export const classifyRunTaskFailure = (failure: RunTaskFailure): ClassifiedFailure => {
  const what = describe(failure);
  const reason = failure.reason;
  if (reason.startsWith('RESOURCE:') || reason === 'AGENT' || /capacity/i.test(reason)) {
    return {
      retryable: true,
      message: `ECS could not place the task: ${what}. The cluster lacks capacity right now.`,
    };
  }
  if (reason === 'INACTIVE' || /inactive/i.test(reason)) {
    return {
      retryable: true,
      message: `ECS refused the task definition: ${what}. It was deregistered meanwhile.`,
    };
  }
  if (reason === 'MISSING') {
    return {
      retryable: false,
      message: `ECS could not run the task: ${what}. The cluster or its container instances are missing; check the \`cluster\` job variable.`,
    };
  }
  if (reason === 'ATTRIBUTE') {
    return {
      retryable: false,
      message: `ECS could not place the task: ${what}. No container instance meets the task's placement constraints or required attributes; check \`placementConstraints\` and the task definition.`,
    };
  }
  return { retryable: true, message: `ECS could not run the task: ${what}.` };
};
