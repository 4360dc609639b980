/**
 * The flow-run labels the poller writes (`PATCH /flow_runs/{id}/labels`, Prefect 3.2+):
 * - after a claim, the same four the official worker writes (`prefect.worker.name`, …), so the UI
 *   and automations see which worker took the run, and the orphan sweep recognises it even after a
 *   PENDING sub-state replaced the claim's state (`InfrastructurePending`); and the claimed attempt
 *   (`prefect-ecs-serverless.attempt`), which tells the reporter whose task an event is;
 * - when the orphan sweep re-enqueues a run, how often it did so and when: the count bounds the
 *   re-enqueues (`ORPHAN_MAX_REQUEUES`), the time restarts the wait (`ORPHAN_AFTER_SECONDS`).
 */
import { ATTEMPT_LABEL } from '../ecs/attempt-marker.ts';
import type { FlowRunLabels } from '../prefect/flow-run-calls.ts';

/** The worker that claimed the run (the official worker's key). */
export const WORKER_NAME_LABEL = 'prefect.worker.name';
/** The worker type (`ecs`). */
export const WORKER_TYPE_LABEL = 'prefect.worker.type';
/** The pool the run was claimed from. */
export const WORK_POOL_NAME_LABEL = 'prefect.work-pool.name';
/** The pool's id. */
export const WORK_POOL_ID_LABEL = 'prefect.work-pool.id';
/** How often the orphan sweep re-enqueued the run's launch message (absent: never). */
export const REQUEUES_LABEL = 'prefect-ecs-serverless.requeues';
/** When the orphan sweep last re-enqueued it (ISO-8601). */
export const LAST_REQUEUE_LABEL = 'prefect-ecs-serverless.last-requeue';

/**
 * The labels written after a claim: the worker's four, the claimed attempt (`attempt-marker.ts`),
 * and the orphan sweep's re-enqueue count and time reset, since those count per attempt (a retried
 * run starts again from none).
 *
 * @example
 * claimLabels('prefect-ecs-serverless', { name: 'ecs', id: '0b3b…' }, '3b1f9c0a-…');
 * // { 'prefect.worker.name': 'prefect-ecs-serverless', 'prefect.worker.type': 'ecs', … }
 */
export const claimLabels = (
  workerName: string,
  pool: { name: string; id: string },
  attempt: string
): FlowRunLabels => ({
  ...workerLabels(workerName, pool),
  [ATTEMPT_LABEL]: attempt,
  [REQUEUES_LABEL]: 0,
  [LAST_REQUEUE_LABEL]: '',
});

/**
 * The four labels the official worker writes on the runs it submits.
 *
 * @example
 * workerLabels('prefect-ecs-serverless', { name: 'ecs', id: '0b3b…' });
 */
export const workerLabels = (
  workerName: string,
  pool: { name: string; id: string }
): FlowRunLabels => ({
  [WORKER_NAME_LABEL]: workerName,
  [WORKER_TYPE_LABEL]: 'ecs',
  [WORK_POOL_NAME_LABEL]: pool.name,
  [WORK_POOL_ID_LABEL]: pool.id,
});

/** The labels written when the orphan sweep re-enqueues a run for the `count`th time. */
export const requeueLabels = (count: number, at: Date): FlowRunLabels => ({
  [REQUEUES_LABEL]: count,
  [LAST_REQUEUE_LABEL]: at.toISOString(),
});

/** Re-enqueues so far (0 when the label is absent or not a non-negative integer). */
export const requeueCount = (labels: Readonly<Record<string, unknown>>): number => {
  const value = labels[REQUEUES_LABEL];
  const count = typeof value === 'string' ? Number(value) : value;
  return typeof count === 'number' && Number.isInteger(count) && count >= 0 ? count : 0;
};

/** When the last re-enqueue happened, if the label holds a valid time. */
export const lastRequeueAt = (labels: Readonly<Record<string, unknown>>): Date | undefined => {
  const value = labels[LAST_REQUEUE_LABEL];
  if (typeof value !== 'string') return undefined;
  const time = new Date(value);
  return Number.isNaN(time.getTime()) ? undefined : time;
};
