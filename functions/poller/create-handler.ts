/**
 * The poller's Lambda handler around its dependencies (`handler.ts` wires the real ones): parse the
 * event (schedule, tick records, direct invoke), make the one domain call (`runPoller`), map the
 * outcome. Tick records always succeed (`batchItemFailures: []`): a failed poll is in the logs, and
 * retrying a tick would only poll late.
 */
import type { Context } from 'aws-lambda';
import type { PollLogger } from '../../shared/poll/poll-deps.ts';
import { type PollTotals, summarizePoll } from '../../shared/poll/poll-result.ts';
import { parsePollerEvent } from '../../shared/poll/poller-event.ts';
import { type PollerDeps, runPoller } from '../../shared/poll/run-poller.ts';

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

/**
 * @example
 * export const handler = createPollerHandler(() => depsPromise, logger);
 */
export const createPollerHandler =
  (deps: () => Promise<PollerDeps>, logger: HandlerLogger) =>
  async (event: unknown, context?: Context): Promise<PollerResponse | TickResponse> => {
    if (context) logger.addContext?.(context);
    const trigger = parsePollerEvent(event);
    const outcome = await runPoller(trigger, await deps());
    const totals = summarizePoll(outcome.poll);
    logger.info('Poll finished', {
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
