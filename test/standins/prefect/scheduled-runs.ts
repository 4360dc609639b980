/**
 * `POST /work_pools/{name}/get_scheduled_flow_runs`: the selection of
 * `get-runs-from-worker-queues.sql` for one pool. SCHEDULED-type runs that are not in-process
 * retries, in unpaused queues of an unpaused pool, inside the inclusive time window; per queue at
 * most `concurrency_limit − PENDING/RUNNING in the queue`, per pool at most
 * `concurrency_limit − PENDING/RUNNING in the pool`, ordered by queue priority then
 * `next_scheduled_start_time`, then `limit`. Read-only for runs: nothing is claimed.
 */
import { toMillis } from './datetime.ts';
import type { FlowRunRecord, Store, WorkPoolRecord, WorkQueueRecord } from './store.ts';
import { poolActiveSlots, queueActiveSlots } from './views.ts';

/** The internal `queue_limit` / `worker_limit` of the query. */
const INTERNAL_LIMIT = 1000;

export interface ScheduledRunsQuery {
  /** The queues to read; all queues of the pool when undefined. */
  queues: readonly WorkQueueRecord[] | undefined;
  scheduledBefore: string | undefined;
  scheduledAfter: string | undefined;
  limit: number;
}

export interface ScheduledRun {
  queue: WorkQueueRecord;
  run: FlowRunRecord;
}

const availableSlots = (limit: number | null, active: number): number =>
  limit === null ? INTERNAL_LIMIT : Math.min(INTERNAL_LIMIT, Math.max(0, limit - active));

/** Runs due, sorted by time with never-scheduled (null) first, as SQLite sorts NULLs. */
const byNextStart = (a: FlowRunRecord, b: FlowRunRecord): number => {
  const x =
    a.next_scheduled_start_time === null
      ? Number.NEGATIVE_INFINITY
      : toMillis(a.next_scheduled_start_time);
  const y =
    b.next_scheduled_start_time === null
      ? Number.NEGATIVE_INFINITY
      : toMillis(b.next_scheduled_start_time);
  return x - y;
};

const isCandidate = (run: FlowRunRecord, query: ScheduledRunsQuery): boolean => {
  if (run.state_type !== 'SCHEDULED') return false;
  if (run.empirical_policy.retry_type === 'in_process') return false;
  const next = run.next_scheduled_start_time;
  if (query.scheduledAfter !== undefined) {
    if (next === null || toMillis(next) < toMillis(query.scheduledAfter)) return false;
  }
  if (query.scheduledBefore !== undefined) {
    if (next === null || toMillis(next) > toMillis(query.scheduledBefore)) return false;
  }
  return true;
};

/** Selects the runs a worker polling `pool` would receive. */
export const selectScheduledRuns = (
  store: Store,
  pool: WorkPoolRecord,
  query: ScheduledRunsQuery
): ScheduledRun[] => {
  if (pool.is_paused) return [];
  const wanted = query.queues ? new Set(query.queues.map((queue) => queue.id)) : undefined;
  const queues = [...store.workQueues.values()].filter(
    (queue) =>
      queue.work_pool_id === pool.id && !queue.is_paused && (!wanted || wanted.has(queue.id))
  );

  const perQueue: ScheduledRun[] = [];
  for (const queue of queues) {
    const slots = availableSlots(queue.concurrency_limit, queueActiveSlots(store, queue));
    const due = [...store.flowRuns.values()]
      .filter((run) => run.work_queue_id === queue.id && isCandidate(run, query))
      .sort(byNextStart)
      .slice(0, slots);
    for (const run of due) perQueue.push({ queue, run });
  }

  const poolSlots = availableSlots(pool.concurrency_limit, poolActiveSlots(store, pool));
  return perQueue
    .sort((a, b) => a.queue.priority - b.queue.priority || byNextStart(a.run, b.run))
    .slice(0, poolSlots)
    .slice(0, query.limit);
};
