/**
 * In-process delivery of "ECS Task State Change" events to the reporter's handler, as EventBridge
 * and Lambda's asynchronous invocation do it: each event is delivered once, a failed delivery is
 * retried after a delay (Lambda: twice), and an event that still fails is dropped with an error
 * log (in AWS it would land in the reporter's dead-letter queue). The events of one task reach the
 * handler one at a time, in the order they were built.
 */
import type { LaunchLogger } from '../launch/launch-logger.ts';
import type { FollowedTaskEvent } from './task-event.ts';

/** Options of {@link EventDelivery}. */
export interface EventDeliveryOptions {
  /** The reporter's handler (or anything taking the event). */
  handler: (event: unknown) => Promise<unknown>;
  logger: LaunchLogger;
  /** Waits before each retry, in ms (default 5 s, 15 s: two retries, as Lambda's async invoke). */
  retryDelaysMs?: readonly number[];
  /** Called after each event was handled (`error` set when it was dropped). */
  onDelivered?: (event: FollowedTaskEvent, error?: unknown) => void;
}

/** Counts, for status lines. */
export interface DeliveryStats {
  delivered: number;
  retried: number;
  dropped: number;
  pending: number;
}

const describe = (error: unknown): string =>
  error instanceof Error ? `${error.name}: ${error.message}` : String(error);

/**
 * @example
 * const delivery = new EventDelivery({ handler: reporterHandler, logger });
 * delivery.deliver(event);
 * await delivery.idle(10_000);
 */
export class EventDelivery {
  private readonly handler: (event: unknown) => Promise<unknown>;
  private readonly logger: LaunchLogger;
  private readonly retryDelaysMs: readonly number[];
  private readonly onDelivered: ((event: FollowedTaskEvent, error?: unknown) => void) | undefined;
  /** The tail of each task's chain of deliveries. */
  private readonly chains = new Map<string, Promise<void>>();
  private readonly waits = new Set<{ timer: NodeJS.Timeout; resolve: () => void }>();
  private closed = false;
  private readonly counts = { delivered: 0, retried: 0, dropped: 0, pending: 0 };

  constructor(options: EventDeliveryOptions) {
    this.handler = options.handler;
    this.logger = options.logger;
    this.retryDelaysMs = options.retryDelaysMs ?? [5_000, 15_000];
    this.onDelivered = options.onDelivered;
  }

  /** Queues the event after the earlier events of its task. */
  deliver(event: FollowedTaskEvent): void {
    const key = event.detail.taskArn;
    this.counts.pending += 1;
    const tail = (this.chains.get(key) ?? Promise.resolve()).then(() => this.attempt(event));
    this.chains.set(key, tail);
    void tail.finally(() => {
      this.counts.pending -= 1;
      if (this.chains.get(key) === tail) this.chains.delete(key);
    });
  }

  /** Waits up to `timeoutMs` until every queued event was handled; resolves `false` on timeout. */
  async idle(timeoutMs = 30_000): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (this.chains.size > 0) {
      const remaining = deadline - Date.now();
      if (remaining <= 0) return false;
      let timer: NodeJS.Timeout | undefined;
      const expired = new Promise<false>((resolve) => {
        timer = setTimeout(() => resolve(false), remaining);
      });
      const done = await Promise.race([
        Promise.allSettled([...this.chains.values()]).then(() => true),
        expired,
      ]);
      clearTimeout(timer);
      if (!done) return false;
    }
    return true;
  }

  /**
   * Stops retrying: events waiting for a retry are dropped at once (with their error log). Queued
   * events still get their first delivery, and deliveries in flight finish.
   */
  close(): void {
    this.closed = true;
    for (const wait of this.waits) {
      clearTimeout(wait.timer);
      wait.resolve();
    }
    this.waits.clear();
  }

  stats(): DeliveryStats {
    return { ...this.counts };
  }

  private async attempt(event: FollowedTaskEvent): Promise<void> {
    let lastError: unknown;
    for (let attempt = 0; attempt <= this.retryDelaysMs.length; attempt += 1) {
      if (this.closed && attempt > 0) break;
      if (attempt > 0) {
        this.counts.retried += 1;
        await this.wait(this.retryDelaysMs[attempt - 1] ?? 0);
        if (this.closed) break;
      }
      try {
        await this.handler(event);
        this.counts.delivered += 1;
        this.onDelivered?.(event);
        return;
      } catch (error) {
        lastError = error;
        const retryIn = this.retryDelaysMs[attempt];
        if (retryIn !== undefined && !this.closed) {
          this.logger.warn('The reporter failed on a task event; delivering it again later', {
            ecs_task_arn: event.detail.taskArn,
            ecs_status: event.detail.lastStatus,
            retry_in_seconds: retryIn / 1000,
            error: describe(error),
          });
        }
      }
    }
    this.counts.dropped += 1;
    this.logger.error(
      'A task event was dropped after its retries (deployed, it would land in the reporter’s dead-letter queue)',
      {
        ecs_task_arn: event.detail.taskArn,
        ecs_status: event.detail.lastStatus,
        error: describe(lastError),
      }
    );
    this.onDelivered?.(event, lastError ?? new Error('not delivered'));
  }

  private wait(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const entry = {
        timer: setTimeout(() => {
          this.waits.delete(entry);
          resolve();
        }, ms),
        resolve,
      };
      this.waits.add(entry);
    });
  }
}
