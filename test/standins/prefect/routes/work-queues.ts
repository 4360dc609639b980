/** Work queues of a pool: create, read, update, filter. */
import { normaliseDateTime } from '../datetime.ts';
import { httpError } from '../http-errors.ts';
import { page } from '../limits.ts';
import type { RouteDefinition } from '../router.ts';
import { findQueueByName, nowString, queuesOfPool } from '../store.ts';
import { workQueueView } from '../views.ts';
import { createWorkQueue, setQueuePriority } from '../work-queues.ts';
import { bodyOf, has, type Json, requireWorkPool, requireWorkQueue } from './lookups.ts';

const create: RouteDefinition = {
  method: 'POST',
  path: '/work_pools/{work_pool_name}/queues',
  handle: ({ store, params, body }) => {
    const input = bodyOf(body);
    const pool = requireWorkPool(store, params.work_pool_name ?? '');
    const name = String(input.name);
    if (findQueueByName(store, pool.id, name)) {
      // The server's message really is this literal text (its f-string prefix is missing).
      throw httpError(
        409,
        'A work queue with this name already exists in work pool {work_pool_name!r}.'
      );
    }
    const queue = createWorkQueue(store, pool.id, {
      name,
      description: input.description as string | null | undefined,
      is_paused: input.is_paused as boolean | undefined,
      concurrency_limit: input.concurrency_limit as number | null | undefined,
      priority: input.priority as number | null | undefined,
    });
    return { status: 201, body: workQueueView(store, queue) };
  },
};

const read: RouteDefinition = {
  method: 'GET',
  path: '/work_pools/{work_pool_name}/queues/{name}',
  handle: ({ store, params }) => ({
    status: 200,
    body: workQueueView(
      store,
      requireWorkQueue(store, params.work_pool_name ?? '', params.name ?? '')
    ),
  }),
};

const update: RouteDefinition = {
  method: 'PATCH',
  path: '/work_pools/{work_pool_name}/queues/{name}',
  handle: ({ store, params, body }) => {
    const poolName = params.work_pool_name ?? '';
    requireWorkPool(store, poolName);
    const queue = requireWorkQueue(store, poolName, params.name ?? '');
    const input = bodyOf(body);
    if (typeof input.name === 'string') queue.name = input.name;
    if (has(input, 'description')) queue.description = input.description as string | null;
    if (typeof input.is_paused === 'boolean') queue.is_paused = input.is_paused;
    if (has(input, 'concurrency_limit')) {
      queue.concurrency_limit = input.concurrency_limit as number | null;
    }
    if (has(input, 'last_polled')) {
      const value = input.last_polled;
      queue.last_polled = typeof value === 'string' ? normaliseDateTime(value) : null;
    }
    if (typeof input.priority === 'number') setQueuePriority(store, queue, input.priority);
    queue.updated = nowString(store);
    return { status: 204 };
  },
};

const filter: RouteDefinition = {
  method: 'POST',
  path: '/work_pools/{work_pool_name}/queues/filter',
  handle: ({ store, params, body }) => {
    const input = bodyOf(body);
    const pool = requireWorkPool(store, params.work_pool_name ?? '');
    const criteria = (input.work_queues as Json | null | undefined) ?? {};
    const ids = (criteria.id as Json | null | undefined)?.any_ as string[] | null | undefined;
    const nameFilter = (criteria.name as Json | null | undefined) ?? {};
    const names = nameFilter.any_ as string[] | null | undefined;
    const prefixes = nameFilter.startswith_ as string[] | null | undefined;
    const conditions = [
      ids ? (q: { id: string }) => ids.includes(q.id) : undefined,
      names ? (q: { name: string }) => names.includes(q.name) : undefined,
      prefixes
        ? (q: { name: string }) =>
            prefixes.some((p) => q.name.toLowerCase().startsWith(p.toLowerCase()))
        : undefined,
    ].filter((c) => c !== undefined);
    const matches = queuesOfPool(store, pool.id).filter((queue) =>
      criteria.operator === 'or_' && conditions.length > 0
        ? conditions.some((c) => c(queue))
        : conditions.every((c) => c(queue))
    );
    return { status: 200, body: page(matches, input).map((q) => workQueueView(store, q)) };
  },
};

export const workQueueRoutes: readonly RouteDefinition[] = [create, read, update, filter];
