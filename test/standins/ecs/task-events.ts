import { randomUUID } from 'node:crypto';
import type { AccountContext } from './ecs-arns.ts';
import { renderDetail, type TaskRecord } from './tasks.ts';
import type { EcsEventListener, EcsTaskStateChangeEvent } from './types.ts';

/** `2026-01-15T10:00:00Z`: EventBridge's `time` has no milliseconds. */
const eventTime = (date: Date): string => `${date.toISOString().slice(0, 19)}Z`;

/** Wraps the task's current state in the EventBridge envelope AWS uses. */
export const buildTaskEvent = (
  ctx: AccountContext,
  task: TaskRecord,
  now: Date
): EcsTaskStateChangeEvent => ({
  version: '0',
  id: randomUUID(),
  'detail-type': 'ECS Task State Change',
  source: 'aws.ecs',
  account: ctx.accountId,
  time: eventTime(now),
  region: ctx.region,
  resources: [task.arn],
  detail: renderDetail(task),
});

export interface EventBus {
  /** Every event published, in order (redeliveries are not repeated here). */
  readonly events: EcsTaskStateChangeEvent[];
  subscribe(listener: EcsEventListener): () => void;
  /** Records the event and queues its delivery; resolves once every subscriber has handled it. */
  publish(event: EcsTaskStateChangeEvent): Promise<void>;
  /** Queues another delivery of an event already published. */
  redeliver(event: EcsTaskStateChangeEvent): Promise<void>;
  /** Waits for the queue to drain; rejects with (and forgets) the first listener error. */
  settled(): Promise<void>;
}

/**
 * Delivers events one at a time, in publication order, each to every subscriber in turn (awaiting
 * async listeners), never before the publishing call (and the HTTP answer it belongs to) is done.
 * Listeners get a copy, so one cannot change what another (or `events`) sees.
 */
export const createEventBus = (): EventBus => {
  const events: EcsTaskStateChangeEvent[] = [];
  const listeners = new Set<EcsEventListener>();
  const errors: unknown[] = [];
  let tail: Promise<void> = Promise.resolve();

  const deliver = async (event: EcsTaskStateChangeEvent): Promise<void> => {
    for (const listener of [...listeners]) {
      try {
        await listener(structuredClone(event));
      } catch (error) {
        errors.push(error);
      }
    }
  };

  /** Each delivery waits for a macrotask turn, so the API answer that caused it goes out first. */
  const enqueue = (event: EcsTaskStateChangeEvent): Promise<void> => {
    tail = tail
      .then(() => new Promise<void>((resolve) => setImmediate(resolve)))
      .then(() => deliver(event));
    return tail;
  };

  return {
    events,
    subscribe(listener) {
      listeners.add(listener);
      return () => {
        listeners.delete(listener);
      };
    },
    publish(event) {
      events.push(event);
      return enqueue(event);
    },
    redeliver(event) {
      return enqueue(event);
    },
    async settled() {
      let seen: Promise<void>;
      do {
        seen = tail;
        await seen;
      } while (seen !== tail);
      if (errors.length > 0) {
        const [first] = errors.splice(0);
        throw first;
      }
    },
  };
};
