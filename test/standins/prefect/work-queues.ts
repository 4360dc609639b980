/**
 * Work queues of a pool and their priorities (`models/workers.py: create_work_queue`,
 * `bulk_update_work_queue_priorities`): priorities stay unique integers ≥ 1; a new queue without a
 * priority takes the first free rank, one with a priority pushes the queues at or after it down.
 */
import { newId, nowString, queuesOfPool, type Store, type WorkQueueRecord } from './store.ts';

export interface WorkQueueInput {
  name: string;
  description?: string | null;
  is_paused?: boolean;
  concurrency_limit?: number | null;
  priority?: number | null;
}

const firstFreePriority = (taken: readonly number[]): number => {
  const sorted = [...taken].sort((a, b) => a - b);
  for (let i = 0; i < sorted.length; i += 1) {
    if (sorted[i] !== i + 1) return i + 1;
  }
  return (sorted.at(-1) ?? 0) + 1;
};

/** Gives `queue` the priority `target` and renumbers the others with as few changes as possible. */
export const setQueuePriority = (store: Store, queue: WorkQueueRecord, target: number): void => {
  const others = queuesOfPool(store, queue.work_pool_id).filter((q) => q.id !== queue.id);
  queue.priority = target;
  const index = others.findIndex((q) => q.priority >= target);
  const ordered =
    index === -1 ? [...others, queue] : [...others.slice(0, index), queue, ...others.slice(index)];
  let last = 0;
  for (const q of ordered) {
    if (q.priority <= last) q.priority = last + 1;
    last = q.priority;
  }
};

/** Creates a queue in the pool. The caller checks the name is free. */
export const createWorkQueue = (
  store: Store,
  workPoolId: string,
  input: WorkQueueInput
): WorkQueueRecord => {
  const now = nowString(store);
  const explicit = input.priority ?? null;
  const queue: WorkQueueRecord = {
    id: newId(),
    created: now,
    updated: now,
    name: input.name,
    description: input.description === undefined ? '' : input.description,
    is_paused: input.is_paused ?? false,
    concurrency_limit: input.concurrency_limit ?? null,
    priority: explicit ?? firstFreePriority(queuesOfPool(store, workPoolId).map((q) => q.priority)),
    work_pool_id: workPoolId,
    last_polled: null,
  };
  store.workQueues.set(queue.id, queue);
  if (explicit !== null) setQueuePriority(store, queue, explicit);
  return queue;
};
