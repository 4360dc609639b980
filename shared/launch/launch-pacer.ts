/**
 * A launcher container's client-side token bucket for RunTask (its share of the account's rate,
 * `launch-pacing.ts`), and the `EcsApi` wrapper that spends one token per RunTask call.
 *
 * Callers queue in order: each takes the next token even when it is not there yet (the bucket goes
 * negative) and sleeps until it would have been, so calls leave at the share's rate, spaced
 * 1/rate apart, in the order they asked. A wait longer than `maxWaitMs` is not taken: the caller
 * gets a `LaunchThrottledError` (the queue brings the run back shortly), which keeps the
 * invocation well inside the function timeout. When ECS still answers ThrottlingException (other
 * users of the account spend the same buckets), the bucket is emptied, so this container slows
 * down at once; the SDK's adaptive retry mode (launcher-deps.ts) slows its own retries as well.
 */
import type { EcsApi } from '../ecs/ecs-api.ts';
import type { ContainerShare } from './launch-pacing.ts';
import { LaunchThrottledError } from './launch-throttled-error.ts';
import { isThrottlingError } from './throttled-redelivery.ts';

/** The longest a launch waits in the invocation for a RunTask token (then: back to the queue). */
export const MAX_PACING_WAIT_MS = 10_000;

/** A container's RunTask pacer. */
export interface LaunchPacer {
  /** Resolves when this caller may call RunTask; throws `LaunchThrottledError` past `maxWaitMs`. */
  acquire(): Promise<void>;
  /** ECS answered ThrottlingException: spend what this container thought it had left. */
  throttled(): void;
}

/** Clock and timer of {@link createLaunchPacer} (tests: a manual clock). */
export interface LaunchPacerOptions {
  nowMs?: () => number;
  sleep?: (ms: number) => Promise<void>;
  maxWaitMs?: number;
}

const sleepFor = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * A pacer for one container's share.
 *
 * @example
 * const pacer = createLaunchPacer({ ratePerSecond: 4, burst: 4 });
 * await pacer.acquire(); // immediately (4 tokens), then one every 250 ms
 */
export const createLaunchPacer = (
  share: ContainerShare,
  options: LaunchPacerOptions = {}
): LaunchPacer => {
  const nowMs = options.nowMs ?? Date.now;
  const sleep = options.sleep ?? sleepFor;
  const maxWaitMs = options.maxWaitMs ?? MAX_PACING_WAIT_MS;
  let tokens = share.burst;
  let at = nowMs();
  const refill = (): void => {
    const now = nowMs();
    if (now > at) {
      tokens = Math.min(share.burst, tokens + ((now - at) / 1000) * share.ratePerSecond);
      at = now;
    }
  };
  return {
    async acquire() {
      refill();
      const waitMs = tokens >= 1 ? 0 : ((1 - tokens) / share.ratePerSecond) * 1000;
      if (waitMs > maxWaitMs) throw new LaunchThrottledError(waitMs);
      tokens -= 1;
      if (waitMs > 0) await sleep(waitMs);
    },
    throttled() {
      refill();
      tokens = Math.min(tokens, 0);
    },
  };
};

/**
 * `ecs` with every RunTask paced by `pacer` (the other calls unchanged).
 *
 * @example
 * const ecs = withLaunchPacing(createEcsClient(client, { region }), createLaunchPacer(share));
 */
export const withLaunchPacing = <T extends EcsApi>(ecs: T, pacer: LaunchPacer): T => ({
  ...ecs,
  async runTask(input) {
    await pacer.acquire();
    try {
      return await ecs.runTask(input);
    } catch (error) {
      if (isThrottlingError(error)) pacer.throttled();
      throw error;
    }
  },
});
