/**
 * One poller invocation, whatever invoked it: a scheduled invocation first enqueues the minute's
 * ticks (so a slow or failing poll never breaks the cadence), then every invocation polls.
 */
import { type PollDeps, resolvePollDeps } from './poll-deps.ts';
import { pollPools } from './poll-pools.ts';
import type { PollResult } from './poll-result.ts';
import type { PollerTrigger } from './poller-event.ts';
import { buildTickMessages } from './tick-plan.ts';

/** {@link PollDeps} plus where the ticks go. */
export interface PollerDeps extends PollDeps {
  /** `TICK_QUEUE_URL`; without it a scheduled invocation polls once and enqueues no ticks. */
  tickQueueUrl: string | undefined;
}

/** What one invocation did. */
export interface PollerOutcome {
  trigger: PollerTrigger['kind'];
  /** Tick messages the tick queue accepted (scheduled invocations only). */
  ticksEnqueued: number;
  poll: PollResult;
}

/**
 * @example
 * await runPoller({ kind: 'schedule' }, { ...deps, tickQueueUrl }); // ticks at +20 s and +40 s, then a poll
 */
export const runPoller = async (
  trigger: PollerTrigger,
  deps: PollerDeps
): Promise<PollerOutcome> => {
  const resolved = resolvePollDeps(deps);
  let ticksEnqueued = 0;
  if (trigger.kind === 'schedule') {
    if (deps.tickQueueUrl === undefined) {
      resolved.logger.warn('TICK_QUEUE_URL is not set: polling once a minute only');
    } else {
      const ticks = buildTickMessages(resolved.now(), resolved.options.pollIntervalSeconds);
      const outcome = await resolved.queue.sendMessages(deps.tickQueueUrl, ticks);
      ticksEnqueued = outcome.sent.length;
      for (const failure of outcome.failed) {
        resolved.logger.error('Tick not enqueued: one poll of this minute is skipped', {
          tick: failure.id,
          code: failure.code,
          reason: failure.message,
        });
      }
    }
  }
  if (trigger.kind === 'tick' && trigger.ignored.length > 0) {
    resolved.logger.warn('Records on the tick queue that are not ticks were dropped', {
      message_ids: trigger.ignored,
    });
  }
  const poll = await pollPools(trigger.kind === 'direct' ? { pools: trigger.pools } : {}, deps);
  return { trigger: trigger.kind, ticksEnqueued, poll };
};
