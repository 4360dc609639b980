/** Work pools: create, read, update, filter, and the worker's `get_scheduled_flow_runs`. */
import { formatDateTime, parseDateTime } from '../datetime.ts';
import { httpError } from '../http-errors.ts';
import { validatePoolDefaults } from '../job-variables.ts';
import { limitFrom, page } from '../limits.ts';
import type { RouteDefinition } from '../router.ts';
import { selectScheduledRuns } from '../scheduled-runs.ts';
import {
  findWorkPoolByName,
  newId,
  nowString,
  queuesOfPool,
  type WorkPoolRecord,
} from '../store.ts';
import { coreFlowRunView, workPoolView } from '../views.ts';
import { createWorkQueue } from '../work-queues.ts';
import { bodyOf, has, type Json, requireWorkPool, requireWorkQueue } from './lookups.ts';

const DEFAULT_STORAGE_CONFIGURATION = {
  bundle_upload_step: null,
  bundle_execution_step: null,
  default_result_storage_block_id: null,
};

const isReserved = (name: string): boolean => name.toLowerCase().startsWith('prefect');

const createWorkPool: RouteDefinition = {
  method: 'POST',
  path: '/work_pools/',
  handle: ({ store, body }) => {
    const input = bodyOf(body);
    const name = String(input.name);
    if (isReserved(name)) {
      throw httpError(403, "Work pools starting with 'Prefect' are reserved for internal use.");
    }
    const baseJobTemplate = (input.base_job_template as Json | undefined) ?? {};
    validatePoolDefaults(store, baseJobTemplate);
    if (findWorkPoolByName(store, name)) {
      throw httpError(409, 'A work pool with this name already exists.');
    }
    const now = nowString(store);
    const pool: WorkPoolRecord = {
      id: newId(),
      created: now,
      updated: now,
      name,
      description: (input.description as string | null | undefined) ?? null,
      type: (input.type as string | undefined) ?? 'prefect-agent',
      base_job_template: baseJobTemplate,
      is_paused: (input.is_paused as boolean | undefined) ?? false,
      concurrency_limit: (input.concurrency_limit as number | null | undefined) ?? null,
      default_queue_id: null,
      storage_configuration: {
        ...DEFAULT_STORAGE_CONFIGURATION,
        ...((input.storage_configuration as Json | undefined) ?? {}),
      },
    };
    store.workPools.set(pool.id, pool);
    const queue = createWorkQueue(store, pool.id, {
      name: 'default',
      description: "The work pool's default queue.",
    });
    pool.default_queue_id = queue.id;
    return { status: 201, body: workPoolView(store, pool) };
  },
};

const readWorkPool: RouteDefinition = {
  method: 'GET',
  path: '/work_pools/{name}',
  handle: ({ store, params }) => ({
    status: 200,
    body: workPoolView(store, requireWorkPool(store, params.name ?? '')),
  }),
};

const updateWorkPool: RouteDefinition = {
  method: 'PATCH',
  path: '/work_pools/{name}',
  handle: ({ store, params, body }) => {
    const name = params.name ?? '';
    const update = bodyOf(body);
    const keys = Object.keys(update);
    if (isReserved(name) && keys.some((k) => k !== 'is_paused' && k !== 'concurrency_limit')) {
      throw httpError(
        403,
        "Work pools starting with 'Prefect' are reserved for internal use and can only be updated to set concurrency limits or pause."
      );
    }
    const pool = requireWorkPool(store, name);
    if (has(update, 'base_job_template') && update.base_job_template !== null) {
      validatePoolDefaults(store, update.base_job_template as Json);
      pool.base_job_template = update.base_job_template as Json;
    }
    if (has(update, 'description')) pool.description = update.description as string | null;
    if (typeof update.is_paused === 'boolean') pool.is_paused = update.is_paused;
    if (has(update, 'concurrency_limit')) {
      pool.concurrency_limit = update.concurrency_limit as number | null;
    }
    if (has(update, 'storage_configuration') && update.storage_configuration !== null) {
      pool.storage_configuration = {
        ...DEFAULT_STORAGE_CONFIGURATION,
        ...(update.storage_configuration as Json),
      };
    }
    pool.updated = nowString(store);
    return { status: 204 };
  },
};

const filterWorkPools: RouteDefinition = {
  method: 'POST',
  path: '/work_pools/filter',
  handle: ({ store, body }) => {
    const input = bodyOf(body);
    const filter = (input.work_pools as Json | null | undefined) ?? {};
    const anyOf = (key: string): unknown[] | undefined =>
      ((filter[key] as Json | null | undefined)?.any_ as unknown[] | null | undefined) ?? undefined;
    const ids = anyOf('id');
    const names = anyOf('name');
    const types = anyOf('type');
    const pools = [...store.workPools.values()]
      .filter(
        (pool) =>
          (!ids || ids.includes(pool.id)) &&
          (!names || names.includes(pool.name)) &&
          (!types || types.includes(pool.type))
      )
      .sort((a, b) => a.name.localeCompare(b.name));
    return { status: 200, body: page(pools, input).map((pool) => workPoolView(store, pool)) };
  },
};

const getScheduledFlowRuns: RouteDefinition = {
  method: 'POST',
  path: '/work_pools/{name}/get_scheduled_flow_runs',
  handle: ({ store, params, body }) => {
    const input = bodyOf(body);
    const limit = limitFrom(input);
    const poolName = params.name ?? '';
    const pool = requireWorkPool(store, poolName);
    const names = (input.work_queue_names as string[] | null | undefined) ?? [];
    const queues =
      names.length > 0
        ? names.map((queueName) => requireWorkQueue(store, poolName, queueName))
        : undefined;
    const asTime = (key: string): string | undefined =>
      typeof input[key] === 'string' ? formatDateTime(parseDateTime(input[key])) : undefined;

    const selected = selectScheduledRuns(store, pool, {
      queues,
      scheduledBefore: asTime('scheduled_before'),
      scheduledAfter: asTime('scheduled_after'),
      limit,
    });

    // Side effects of a poll: the polled queues and their deployments become READY.
    const now = nowString(store);
    const polled = queues ?? queuesOfPool(store, pool.id);
    const polledIds = new Set(polled.map((queue) => queue.id));
    for (const queue of polled) queue.last_polled = now;
    for (const deployment of store.deployments.values()) {
      if (deployment.work_queue_id !== null && polledIds.has(deployment.work_queue_id)) {
        deployment.last_polled = now;
      }
    }

    return {
      status: 200,
      body: selected.map(({ queue, run }) => ({
        work_pool_id: pool.id,
        work_queue_id: queue.id,
        flow_run: coreFlowRunView(store, run),
      })),
    };
  },
};

export const workPoolRoutes: readonly RouteDefinition[] = [
  createWorkPool,
  readWorkPool,
  updateWorkPool,
  filterWorkPools,
  getScheduledFlowRuns,
];
