/**
 * The poller's Lambda handler around its dependencies (`handler.ts` wires the real ones): parse the
 * event (schedule, tick records, direct invoke), make the one domain call (`runPoller`), map the
 * outcome. Tick records always succeed (`batchItemFailures: []`): a failed poll is in the logs, and
 * retrying a tick would only poll late. With `deps.metrics`, each invocation publishes its
 * RunsClaimed, RunsCancelled and TasksStopped (and the orphan sweep's RunsCrashed), also when it
 * fails, and, with `pollDurationMetric`, its poll's duration.
 *
 * An idle poll (nothing claimed, cancelled, stopped, re-enqueued, crashed or failed) publishes no
 * metric and logs its summary at DEBUG: it runs 131,400 times a month with the default 20 s
 * interval, so a metric it published would be billed all month ($0.30) and each INFO line adds
 * ~40 MB of logs (docs/deploy.md, "What it costs").
 */
import type { Context } from 'aws-lambda';
import type { WorkerStartedAnnouncer } from '../../shared/events/worker-started-announcer.ts';
import {
  flushMetrics,
  MetricName,
  recordCount,
  recordPollDuration,
} from '../../shared/observability.ts';
import type { PollLogger } from '../../shared/poll/poll-deps.ts';
import { type PollTotals, summarizePoll } from '../../shared/poll/poll-result.ts';
import { parsePollerEvent } from '../../shared/poll/poller-event.ts';
import { type PollerDeps, type PollerOutcome, runPoller } from '../../shared/poll/run-poller.ts';

/**
 * A poll runs every 20 s: fail fast rather than let one call's retries outlast the interval (the
 * next poll tries again; nothing is lost).
 */
export const POLLER_PREFECT_TIMEOUTS = {
  timeoutMs: 10_000,
  maxRetries: 3,
  maxDelayMs: 4_000,
  deadlineMs: 15_000,
} as const;

/** What a scheduled or direct invocation answers. */
export interface PollerResponse extends PollTotals {
  ticks_enqueued: number;
  pools: { name: string; skipped?: string; claimed: number; enqueued: number; errors: string[] }[];
}

/** What a tick (SQS) invocation answers: never a failed record. */
export interface TickResponse {
  batchItemFailures: never[];
}

/** A logger the handler can also give the Lambda context to (Powertools' `Logger`). */
export type HandlerLogger = PollLogger & { addContext?(context: Context): void };

/** Options of {@link createPollerHandler}. */
export interface PollerHandlerOptions {
  /** Publish PollDuration on every poll (`POLL_DURATION_METRIC`, for the dashboard). Default false. */
  pollDurationMetric?: boolean;
  /**
   * Announces `prefect.worker.started` after the container's first poll of each pool (its
   * `observe`d client must be the deps' `prefect`). None: no worker events.
   */
  workerStarted?: Pick<WorkerStartedAnnouncer, 'announce'>;
}

/** Nothing happened: no run claimed, cancelled, stopped, re-enqueued or crashed, and no error. */
export const isIdlePoll = (totals: PollTotals): boolean =>
  Object.values(totals).every((count) => count === 0);

/**
 * @example
 * export const handler = createPollerHandler(() => depsPromise, logger, { pollDurationMetric: false });
 */
export const createPollerHandler =
  (deps: () => Promise<PollerDeps>, logger: HandlerLogger, options: PollerHandlerOptions = {}) =>
  async (event: unknown, context?: Context): Promise<PollerResponse | TickResponse> => {
    if (context) logger.addContext?.(context);
    const trigger = parsePollerEvent(event);
    const resolved = await deps();
    const { metrics } = resolved;
    let outcome: PollerOutcome;
    let totals: PollTotals;
    try {
      const started = performance.now();
      outcome = await runPoller(trigger, resolved);
      totals = summarizePoll(outcome.poll);
      // Best effort and bounded: a cold container's first poll tells Prefect the worker started.
      await options.workerStarted?.announce();
      if (metrics) {
        if (options.pollDurationMetric) recordPollDuration(metrics, performance.now() - started);
        recordCount(metrics, MetricName.RunsClaimed, totals.claimed);
        recordCount(metrics, MetricName.RunsCancelled, totals.cancelled);
        recordCount(metrics, MetricName.TasksStopped, totals.stopped);
      }
    } finally {
      if (metrics) flushMetrics(metrics);
    }
    logger[isIdlePoll(totals) ? 'debug' : 'info']('Poll finished', {
      trigger: outcome.trigger,
      ticks_enqueued: outcome.ticksEnqueued,
      ...totals,
    });
    if (trigger.kind === 'tick') return { batchItemFailures: [] };
    return {
      ticks_enqueued: outcome.ticksEnqueued,
      ...totals,
      pools: outcome.poll.pools.map((pool) => ({
        name: pool.name,
        ...(pool.skipped ? { skipped: pool.skipped } : {}),
        claimed: pool.claimed,
        enqueued: pool.enqueued,
        errors: pool.errors.map((error) => error.message),
      })),
    };
  };
