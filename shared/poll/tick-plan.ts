/**
 * Cadence without idle time (issue 4 §2): an EventBridge schedule invokes the poller once a minute;
 * each *scheduled* invocation also enqueues delayed "tick" messages on the tick queue, one per poll
 * interval within the minute (20 s and 40 s at the default 20 s), and the tick queue invokes the
 * poller again when each becomes visible. Ticks never enqueue ticks, so there is no chain to run
 * away: a lost tick costs one poll, a duplicated schedule event one extra set of polls.
 *
 * The longest gap between polls is the interval (the schedule supplies the poll at 60 s), which is
 * what the poller reports to Prefect as `heartbeat_interval_seconds`.
 */
import * as z from 'zod';
import type { OutgoingMessage } from '../queue/queue-sender.ts';

/** The span one schedule invocation covers with ticks: EventBridge's minimum rate. */
export const SCHEDULE_PERIOD_SECONDS = 60;

/** The body of a tick message. */
export const TickMessageSchema = z.object({
  kind: z.literal('poll-tick'),
  /** When the scheduled invocation planned it. */
  planned_at: z.iso.datetime({ offset: true }),
  /** Its delay after `planned_at`. */
  delay_seconds: z.number().int().min(0).max(900),
});
/** A parsed tick. */
export type TickMessage = z.infer<typeof TickMessageSchema>;

/**
 * The tick delays for one schedule period: every multiple of the interval strictly inside it.
 *
 * @example
 * planTickDelays(20); // [20, 40]
 * planTickDelays(25); // [25, 50]
 * planTickDelays(60); // []
 */
export const planTickDelays = (
  intervalSeconds: number,
  periodSeconds = SCHEDULE_PERIOD_SECONDS
): number[] => {
  if (!Number.isInteger(intervalSeconds) || intervalSeconds < 1) {
    throw new RangeError(
      `The poll interval must be a positive whole number, got ${intervalSeconds}`
    );
  }
  const delays: number[] = [];
  for (let delay = intervalSeconds; delay < periodSeconds; delay += intervalSeconds) {
    delays.push(delay);
  }
  return delays;
};

/**
 * The tick messages a scheduled invocation sends.
 *
 * @example
 * buildTickMessages(new Date(), 20).map((m) => m.delaySeconds); // [20, 40]
 */
export const buildTickMessages = (plannedAt: Date, intervalSeconds: number): OutgoingMessage[] =>
  planTickDelays(intervalSeconds).map((delay) => {
    const tick: TickMessage = {
      kind: 'poll-tick',
      planned_at: plannedAt.toISOString(),
      delay_seconds: delay,
    };
    return { id: `tick-${delay}`, body: JSON.stringify(tick), delaySeconds: delay };
  });
