/**
 * When a launch that ECS throttled comes back. Not the blind 15 s → 900 s backoff of other
 * transient failures (`redelivery.ts`): a throttled RunTask only says the account's token bucket
 * was empty at that instant, and it refills at the sustained rate (20 launches/s by default,
 * `launch-pacing.ts`). The launchers hold at most `maxConcurrency × batchSize` launches at once,
 * which the bucket serves within `maxConcurrency × batchSize / rate` seconds; a throttled run
 * comes back after a uniformly jittered 1 … that + 1 seconds (1–3 s as deployed), so the retries
 * spread over the refill instead of returning together, and a run due now starts seconds late,
 * not minutes.
 *
 * Every delivery counts toward the launch queue's `maxReceiveCount` (after which SQS moves the
 * message to the DLQ), so only the first {@link QUICK_THROTTLE_RETRIES} throttled deliveries are
 * quick. A run still throttled after them meets an account whose buckets something else keeps
 * empty (other ECS users, a quota lowered by AWS): it then backs off like any transient failure,
 * counted from there (15 s, 30 s, … 480 s, then the deadline), and reaches its retry deadline
 * after about 3 + 7 deliveries, within the queue's `maxReceiveCount` (11 for the default 900 s
 * deadline, infra/parameters.cjs), so it is CRASHED with a reason, never dropped into the DLQ.
 */
import type { LaunchPacing } from './launch-pacing.ts';
import { LaunchThrottledError } from './launch-throttled-error.ts';
import { computeRedeliveryDelay } from './redelivery.ts';

/** Throttled deliveries retried after seconds; later ones back off exponentially. */
export const QUICK_THROTTLE_RETRIES = 3;

const THROTTLING_CODES = new Set([
  'ThrottlingException',
  'Throttling',
  'TooManyRequestsException',
  'RequestLimitExceeded',
]);

/**
 * Whether an AWS call (or our own pacer) refused for rate: an `EcsApiError` / SDK error whose code
 * or name is a throttling code, or a {@link LaunchThrottledError}. Prefect's 429s are not (they
 * are Prefect's limits, not the account's ECS buckets).
 *
 * @example
 * isThrottlingError(new EcsApiError('…', { operation: 'runTask', code: 'ThrottlingException' }, true)); // true
 */
export const isThrottlingError = (error: unknown): boolean => {
  if (error instanceof LaunchThrottledError) return true;
  if (typeof error !== 'object' || error === null) return false;
  const { code, name } = error as { code?: unknown; name?: unknown };
  return (
    (typeof code === 'string' && THROTTLING_CODES.has(code)) ||
    (typeof name === 'string' && THROTTLING_CODES.has(name))
  );
};

/** Inputs to {@link computeThrottledRedeliveryDelay}. */
export interface ThrottledRedeliveryInput {
  /** `ApproximateReceiveCount` of the record: 1 on the first delivery. */
  receiveCount: number;
  /** Epoch ms now. */
  nowMs: number;
  /** Epoch ms after which the run is CRASHED instead of retried. */
  deadlineMs: number;
  /** Uniform in [0, 1). */
  random: () => number;
  pacing: LaunchPacing;
}

/**
 * Seconds until a throttled launch is delivered again (see the module comment): whole seconds in
 * 1 … ceil(concurrency × batch / rate) + 1 for the first {@link QUICK_THROTTLE_RETRIES}
 * deliveries, then `computeRedeliveryDelay` counted from the last quick one; never past the
 * deadline, at least 1.
 *
 * @example
 * computeThrottledRedeliveryDelay({
 *   receiveCount: 1, nowMs: 0, deadlineMs: 900_000, random: () => 0.99,
 *   pacing: { ratePerSecond: 20, maxConcurrency: 5, batchSize: 5 },
 * }); // 3
 */
export const computeThrottledRedeliveryDelay = (input: ThrottledRedeliveryInput): number => {
  const { receiveCount, nowMs, deadlineMs, random, pacing } = input;
  if (receiveCount > QUICK_THROTTLE_RETRIES) {
    return computeRedeliveryDelay({
      receiveCount: receiveCount - QUICK_THROTTLE_RETRIES,
      nowMs,
      deadlineMs,
      random,
    });
  }
  const held = pacing.maxConcurrency * pacing.batchSize;
  const spread = Math.max(1, Math.ceil(held / pacing.ratePerSecond)) + 1;
  const jittered = 1 + Math.min(spread - 1, Math.floor(random() * spread));
  const untilDeadline = Math.ceil((deadlineMs - nowMs) / 1000);
  return Math.max(1, Math.min(jittered, untilDeadline));
};
