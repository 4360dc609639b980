/**
 * `prefect.worker.started` for a serverless worker. Prefect's worker emits it once per process,
 * when it starts polling (`BaseWorker.start` → `_emit_worker_started_event`), related to its pool.
 * Our worker's process is a poller container: the first poll of each container (a cold start)
 * announces the worker once per `ecs` pool it read, with the pool as the related resource. The
 * event id is derived from the worker, the pool and the container (`instance`), so a poll that
 * sends it again (the first send failed, or its answer was lost) adds nothing; a pool whose event
 * could not be sent is announced on the next poll. `prefect.worker.stopped` has no equivalent: a
 * Lambda container is frozen and later discarded without notice (docs/deploy.md §5).
 */
import type { WorkPool } from '../prefect/schemas.ts';
import type { PublishResult, WorkerEventPublisher } from './worker-event-publisher.ts';
import { buildWorkerStartedEvent } from './worker-events.ts';

/** The client call the announcer watches. */
export interface ReadsWorkPools {
  readWorkPool(name: string): Promise<WorkPool>;
}

/** Announces the worker's start for the pools a container polls. */
export interface WorkerStartedAnnouncer {
  /** The same client, whose `readWorkPool` also notes each `ecs` pool it read. */
  observe<T extends ReadsWorkPools>(prefect: T): T;
  /** Sends `prefect.worker.started` for each pool read and not yet announced. Never throws. */
  announce(): Promise<PublishResult>;
}

/** I/O of {@link createWorkerStartedAnnouncer}. */
export interface WorkerStartedAnnouncerDeps {
  publisher: Pick<WorkerEventPublisher, 'worker' | 'publish'>;
  /** Identifies this container (the Lambda log stream name is unique per execution environment). */
  instance: string;
  /** When the container started: the events' `occurred`. */
  startedAt: Date;
}

/**
 * @example
 * const started = createWorkerStartedAnnouncer({ publisher, instance: process.env.AWS_LAMBDA_LOG_STREAM_NAME ?? randomUUID(), startedAt: new Date() });
 * const prefect = started.observe(createPrefectClient(options));
 * // after each poll:
 * await started.announce(); // { sent: 1, dropped: 0 } on the first poll, then { sent: 0, dropped: 0 }
 */
export const createWorkerStartedAnnouncer = (
  deps: WorkerStartedAnnouncerDeps
): WorkerStartedAnnouncer => {
  const read = new Map<string, { id: string; name: string }>();
  const announced = new Set<string>();
  return {
    observe<T extends ReadsWorkPools>(prefect: T): T {
      const observed: ReadsWorkPools = {
        async readWorkPool(name: string) {
          const pool = await prefect.readWorkPool(name);
          if (pool.type === 'ecs') read.set(pool.id, { id: pool.id, name: pool.name });
          return pool;
        },
      };
      // The client's calls are plain functions (no `this`): a copy with one call replaced.
      return { ...prefect, ...observed };
    },
    async announce() {
      const pools = [...read.values()].filter((pool) => !announced.has(pool.id));
      if (pools.length === 0) return { sent: 0, dropped: 0 };
      const { worker } = deps.publisher;
      const events = pools.map((workPool) =>
        buildWorkerStartedEvent({
          worker,
          workPool,
          instance: deps.instance,
          occurred: deps.startedAt,
        })
      );
      const result = await deps.publisher.publish(events);
      if (result.sent > 0) for (const pool of pools) announced.add(pool.id);
      return result;
    },
  };
};
