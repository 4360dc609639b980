/**
 * Sends worker events to Prefect without ever failing or holding up the work they describe: a
 * failed `POST /events` is logged and counted (metric `WorkerEventsDropped`), never thrown, and a
 * slow one is waited for at most `budgetMs` (the request then finishes, or fails quietly, on its
 * own). Events are best effort, as with Prefect's worker, whose `emit_event` logs and drops errors
 * (src/prefect/events/utilities.py). Their ids are name-based, so sending one again adds nothing.
 */
import { type Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import type { PrefectEvent } from './prefect-event.ts';
import type { WorkerIdentity } from './worker-events.ts';

/** The metric counting events that could not be sent. */
export const WORKER_EVENTS_DROPPED_METRIC = 'WorkerEventsDropped';

/** Default longest wait for `POST /events` before the caller goes on. */
export const DEFAULT_EVENTS_BUDGET_MS = 2_000;

/** What a send did. */
export interface PublishResult {
  /** Events Prefect answered for (2xx). */
  sent: number;
  /** Events whose request failed or took longer than the budget. */
  dropped: number;
}

/** Collects one invocation's events to send them in one request. */
export interface WorkerEventBatch {
  /** Who the events are from. */
  readonly worker: WorkerIdentity;
  add(event: PrefectEvent): void;
  /** Sends what was added (nothing: no request) and empties the batch. Never throws. */
  flush(): Promise<PublishResult>;
}

/** Sends worker events for one worker. */
export interface WorkerEventPublisher {
  readonly worker: WorkerIdentity;
  /** Sends these events now, in one request. Never throws. */
  publish(events: readonly PrefectEvent[]): Promise<PublishResult>;
  /** A batch whose `flush` publishes everything added to it in one request. */
  batch(): WorkerEventBatch;
}

/** I/O of {@link createWorkerEventPublisher}. */
export interface WorkerEventPublisherDeps {
  worker: WorkerIdentity;
  /** `PrefectClient.emitEvents`. */
  emitEvents: (events: readonly PrefectEvent[]) => Promise<void>;
  logger: { warn(message: string, ...attributes: Record<string, unknown>[]): void };
  metrics?: Pick<Metrics, 'addMetric'> | undefined;
  /** Longest wait for the request (default {@link DEFAULT_EVENTS_BUDGET_MS}). */
  budgetMs?: number;
}

const describe = (error: unknown): string =>
  error instanceof Error ? `${error.name}: ${error.message}` : String(error);

/**
 * @example
 * const events = createWorkerEventPublisher({ worker, emitEvents: prefect.emitEvents, logger });
 * const batch = events.batch();
 * batch.add(buildSubmittedFlowRunEvent({ worker, objects, attempt, occurred: new Date() }));
 * await batch.flush(); // { sent: 1, dropped: 0 }
 */
export const createWorkerEventPublisher = (
  deps: WorkerEventPublisherDeps
): WorkerEventPublisher => {
  const budgetMs = deps.budgetMs ?? DEFAULT_EVENTS_BUDGET_MS;

  const drop = (events: readonly PrefectEvent[], reason: string): PublishResult => {
    deps.logger.warn('Could not send worker events to Prefect; they are dropped', {
      events: events.length,
      event_names: [...new Set(events.map((event) => event.event))],
      reason,
    });
    deps.metrics?.addMetric(WORKER_EVENTS_DROPPED_METRIC, MetricUnit.Count, events.length);
    return { sent: 0, dropped: events.length };
  };

  const publish = async (events: readonly PrefectEvent[]): Promise<PublishResult> => {
    if (events.length === 0) return { sent: 0, dropped: 0 };
    let timer: NodeJS.Timeout | undefined;
    const sending = deps.emitEvents(events).then(
      () => 'sent' as const,
      (error: unknown) => ({ error })
    );
    const late = new Promise<'late'>((resolve) => {
      timer = setTimeout(() => resolve('late'), budgetMs);
      timer.unref?.();
    });
    const outcome = await Promise.race([sending, late]);
    clearTimeout(timer);
    if (outcome === 'sent') return { sent: events.length, dropped: 0 };
    if (outcome === 'late') {
      // Let the request finish on its own; it can only fail quietly (`sending` never rejects).
      return drop(events, `no answer within ${budgetMs} ms`);
    }
    return drop(events, describe(outcome.error));
  };

  return {
    worker: deps.worker,
    publish,
    batch() {
      let pending: PrefectEvent[] = [];
      return {
        worker: deps.worker,
        add(event) {
          pending.push(event);
        },
        flush() {
          const events = pending;
          pending = [];
          return publish(events);
        },
      };
    },
  };
};
