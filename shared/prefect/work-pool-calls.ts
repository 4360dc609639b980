import * as z from 'zod';
import { apiPath, type HttpTransport } from './http.ts';
import {
  type Worker,
  type WorkerFlowRunResponse,
  WorkerFlowRunResponseSchema,
  WorkerSchema,
  type WorkPool,
  WorkPoolSchema,
  type WorkQueue,
  WorkQueueSchema,
} from './schemas.ts';
import { checkLimit, compact, type DateTimeInput, toIsoDateTime } from './wire.ts';

/** Body of a worker heartbeat. */
export interface WorkerHeartbeatInput {
  /** One stable worker name: every distinct name creates a worker row. */
  name: string;
  /** The real heartbeat cadence; the worker goes OFFLINE after 3× this (90 s if omitted). */
  heartbeatIntervalSeconds?: number;
}

/** Window and queues for `getScheduledFlowRuns`; everything optional. */
export interface ScheduledFlowRunsQuery {
  /** Queue names of the pool; empty or omitted means all queues. */
  workQueueNames?: readonly string[];
  scheduledBefore?: DateTimeInput;
  scheduledAfter?: DateTimeInput;
  /** 1–200 (server default 200). */
  limit?: number;
}

/** Fields of `WorkPoolCreate` (admin/seeding). */
export interface CreateWorkPoolInput {
  name: string;
  type: string;
  description?: string | null;
  baseJobTemplate?: Record<string, unknown>;
  isPaused?: boolean;
  concurrencyLimit?: number | null;
}

/** Fields of `WorkPoolUpdate`; only the given keys are sent. */
export interface UpdateWorkPoolInput {
  description?: string | null;
  baseJobTemplate?: Record<string, unknown>;
  isPaused?: boolean;
  concurrencyLimit?: number | null;
}

/** Fields of `WorkQueueCreate` (admin/seeding). */
export interface CreateWorkQueueInput {
  name: string;
  description?: string | null;
  isPaused?: boolean;
  concurrencyLimit?: number | null;
  priority?: number;
}

/** Work pool, worker and work queue calls. */
export interface WorkPoolCalls {
  /** `GET /work_pools/{name}`. 404 → `PrefectNotFoundError`. */
  readWorkPool(name: string): Promise<WorkPool>;
  /** `POST /work_pools/{pool}/workers/heartbeat` with `{name, heartbeat_interval_seconds}` (204). */
  sendWorkerHeartbeat(pool: string, heartbeat: WorkerHeartbeatInput): Promise<void>;
  /**
   * `POST /work_pools/{pool}/get_scheduled_flow_runs`. Read-only: it claims nothing; the PENDING
   * proposal is the claim. An unknown queue name → 404.
   */
  getScheduledFlowRuns(
    pool: string,
    query?: ScheduledFlowRunsQuery
  ): Promise<WorkerFlowRunResponse[]>;
  /** `GET /work_pools/{pool}/queues/{name}`. */
  readWorkQueue(pool: string, name: string): Promise<WorkQueue>;
  /** `POST /work_pools/{pool}/workers/filter`: the pool's workers and their status. */
  readWorkers(pool: string, options?: { limit?: number }): Promise<Worker[]>;
  /** `POST /work_pools/` (admin). 409 when the name exists, 403 for names starting with `prefect`. */
  createWorkPool(pool: CreateWorkPoolInput): Promise<WorkPool>;
  /** `PATCH /work_pools/{name}` (admin, 204). */
  updateWorkPool(name: string, update: UpdateWorkPoolInput): Promise<void>;
  /** `POST /work_pools/{pool}/queues` (admin). */
  createWorkQueue(pool: string, queue: CreateWorkQueueInput): Promise<WorkQueue>;
}

/** Binds the work-pool calls to a transport. */
export const createWorkPoolCalls = (http: HttpTransport): WorkPoolCalls => ({
  async readWorkPool(name) {
    const path = apiPath`/work_pools/${name}`;
    return (
      await http.sendParsed({ operation: 'readWorkPool', method: 'GET', path }, WorkPoolSchema)
    ).data;
  },

  async sendWorkerHeartbeat(pool, { name, heartbeatIntervalSeconds }) {
    await http.send({
      operation: 'sendWorkerHeartbeat',
      method: 'POST',
      path: apiPath`/work_pools/${pool}/workers/heartbeat`,
      body: compact({ name, heartbeat_interval_seconds: heartbeatIntervalSeconds }),
    });
  },

  async getScheduledFlowRuns(pool, query = {}) {
    const body = compact({
      work_queue_names: query.workQueueNames,
      scheduled_before:
        query.scheduledBefore === undefined ? undefined : toIsoDateTime(query.scheduledBefore),
      scheduled_after:
        query.scheduledAfter === undefined ? undefined : toIsoDateTime(query.scheduledAfter),
      limit: checkLimit(query.limit),
    });
    const request = {
      operation: 'getScheduledFlowRuns',
      method: 'POST',
      path: apiPath`/work_pools/${pool}/get_scheduled_flow_runs`,
      body,
    } as const;
    return (await http.sendParsed(request, z.array(WorkerFlowRunResponseSchema))).data;
  },

  async readWorkQueue(pool, name) {
    const path = apiPath`/work_pools/${pool}/queues/${name}`;
    return (
      await http.sendParsed({ operation: 'readWorkQueue', method: 'GET', path }, WorkQueueSchema)
    ).data;
  },

  async readWorkers(pool, options = {}) {
    const request = {
      operation: 'readWorkers',
      method: 'POST',
      path: apiPath`/work_pools/${pool}/workers/filter`,
      body: compact({ limit: checkLimit(options.limit) }),
    } as const;
    return (await http.sendParsed(request, z.array(WorkerSchema))).data;
  },

  async createWorkPool(pool) {
    const request = {
      operation: 'createWorkPool',
      method: 'POST',
      path: '/work_pools/',
      body: compact({
        name: pool.name,
        type: pool.type,
        description: pool.description,
        base_job_template: pool.baseJobTemplate,
        is_paused: pool.isPaused,
        concurrency_limit: pool.concurrencyLimit,
      }),
    } as const;
    return (await http.sendParsed(request, WorkPoolSchema)).data;
  },

  async updateWorkPool(name, update) {
    await http.send({
      operation: 'updateWorkPool',
      method: 'PATCH',
      path: apiPath`/work_pools/${name}`,
      body: compact({
        description: update.description,
        base_job_template: update.baseJobTemplate,
        is_paused: update.isPaused,
        concurrency_limit: update.concurrencyLimit,
      }),
    });
  },

  async createWorkQueue(pool, queue) {
    const request = {
      operation: 'createWorkQueue',
      method: 'POST',
      path: apiPath`/work_pools/${pool}/queues`,
      body: compact({
        name: queue.name,
        description: queue.description,
        is_paused: queue.isPaused,
        concurrency_limit: queue.concurrencyLimit,
        priority: queue.priority,
      }),
    } as const;
    return (await http.sendParsed(request, WorkQueueSchema)).data;
  },
});
