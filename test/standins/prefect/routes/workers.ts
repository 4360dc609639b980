/** Worker heartbeats (upsert by name within a pool) and the worker list. */
import { toMillis } from '../datetime.ts';
import { page } from '../limits.ts';
import type { RouteDefinition } from '../router.ts';
import { newId, nowString, type WorkerRecord } from '../store.ts';
import { isWorkerOnline, workerView } from '../views.ts';
import { bodyOf, type Json, requireWorkPool } from './lookups.ts';

const heartbeat: RouteDefinition = {
  method: 'POST',
  path: '/work_pools/{work_pool_name}/workers/heartbeat',
  handle: ({ store, params, body }) => {
    // `return_id` and `metadata` are read by Prefect Cloud only; OSS ignores them (204, no body).
    const input = bodyOf(body);
    const pool = requireWorkPool(store, params.work_pool_name ?? '');
    const name = String(input.name);
    const interval = input.heartbeat_interval_seconds;
    const now = nowString(store);
    const existing = [...store.workers.values()].find(
      (worker) => worker.work_pool_id === pool.id && worker.name === name
    );
    const worker: WorkerRecord = existing ?? {
      id: newId(),
      created: now,
      updated: now,
      name,
      work_pool_id: pool.id,
      last_heartbeat_time: now,
      heartbeat_interval_seconds: null,
    };
    worker.last_heartbeat_time = now;
    worker.updated = now;
    if (typeof interval === 'number') worker.heartbeat_interval_seconds = interval;
    store.workers.set(worker.id, worker);
    return { status: 204 };
  },
};

const filter: RouteDefinition = {
  method: 'POST',
  path: '/work_pools/{work_pool_name}/workers/filter',
  handle: ({ store, params, body }) => {
    const input = bodyOf(body);
    const pool = requireWorkPool(store, params.work_pool_name ?? '');
    const criteria = (input.workers as Json | null | undefined) ?? {};
    const status = (criteria.status as Json | null | undefined) ?? {};
    const heartbeatTime = (criteria.last_heartbeat_time as Json | null | undefined) ?? {};
    const statusOf = (worker: WorkerRecord) =>
      isWorkerOnline(store, worker) ? 'ONLINE' : 'OFFLINE';
    const checks: Array<(worker: WorkerRecord) => boolean> = [];
    const anyStatus = status.any_ as string[] | null | undefined;
    const notStatus = status.not_any_ as string[] | null | undefined;
    const before = heartbeatTime.before_ as string | null | undefined;
    const after = heartbeatTime.after_ as string | null | undefined;
    if (anyStatus) checks.push((w) => anyStatus.includes(statusOf(w)));
    if (notStatus) checks.push((w) => !notStatus.includes(statusOf(w)));
    if (before) checks.push((w) => toMillis(w.last_heartbeat_time) <= toMillis(before));
    if (after) checks.push((w) => toMillis(w.last_heartbeat_time) >= toMillis(after));
    const combine = criteria.operator === 'or_' && checks.length > 0 ? 'some' : 'every';
    const workers = [...store.workers.values()]
      .filter((w) => w.work_pool_id === pool.id && checks[combine]((check) => check(w)))
      .sort((a, b) => toMillis(b.last_heartbeat_time) - toMillis(a.last_heartbeat_time));
    return { status: 200, body: page(workers, input).map((w) => workerView(store, w)) };
  },
};

export const workerRoutes: readonly RouteDefinition[] = [heartbeat, filter];
