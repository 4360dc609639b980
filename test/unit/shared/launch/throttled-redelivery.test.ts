import { describe, expect, it } from 'vitest';
import { EcsApiError } from '../../../../shared/errors/ecs-api-error.ts';
import { LaunchThrottledError } from '../../../../shared/launch/launch-throttled-error.ts';
import {
  computeThrottledRedeliveryDelay,
  isThrottlingError,
  QUICK_THROTTLE_RETRIES,
} from '../../../../shared/launch/throttled-redelivery.ts';

const FAR = 10 ** 12;
const pacing = { ratePerSecond: 20, maxConcurrency: 5, batchSize: 5 };

describe('computeThrottledRedeliveryDelay', () => {
  it.each([
    [0, 1],
    [0.34, 2],
    [0.999, 3],
  ])('spreads quick retries over 1–3 s as deployed (random %f → %i s)', (random, expected) => {
    // Act / Assess: 25 held launches / 20 per second → ceil 2, + 1
    expect(
      computeThrottledRedeliveryDelay({
        receiveCount: 1,
        nowMs: 0,
        deadlineMs: FAR,
        random: () => random,
        pacing,
      })
    ).toBe(expected);
  });

  it('widens the spread when the launchers hold more than the rate serves in a second', () => {
    // Act
    const delay = computeThrottledRedeliveryDelay({
      receiveCount: 2,
      nowMs: 0,
      deadlineMs: FAR,
      random: () => 0.999,
      pacing: { ratePerSecond: 20, maxConcurrency: 20, batchSize: 10 },
    });
    // Assess: 200 / 20 = 10, + 1
    expect(delay).toBe(11);
  });

  it('backs off exponentially after the quick retries, counted from them', () => {
    // Act
    const delay = computeThrottledRedeliveryDelay({
      receiveCount: QUICK_THROTTLE_RETRIES + 2,
      nowMs: 0,
      deadlineMs: FAR,
      random: () => 0.5,
      pacing,
    });
    // Assess: the second exponential step
    expect(delay).toBe(30);
  });

  it('never waits past the deadline, and at least a second', () => {
    // Act / Assess
    const base = { receiveCount: 1, random: () => 0.999, pacing };
    expect(computeThrottledRedeliveryDelay({ ...base, nowMs: 0, deadlineMs: 2_000 })).toBe(2);
    expect(computeThrottledRedeliveryDelay({ ...base, nowMs: 5_000, deadlineMs: 0 })).toBe(1);
  });
});

describe('isThrottlingError', () => {
  it('recognises ECS throttling and the pacer, not other errors', () => {
    // Prepare
    const ecsThrottle = new EcsApiError(
      'Rate exceeded',
      { operation: 'runTask', code: 'ThrottlingException' },
      true
    );
    const sdkThrottle = Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' });
    const notFound = new EcsApiError(
      'Cluster not found',
      { operation: 'runTask', code: 'ClusterNotFoundException' },
      false
    );
    // Act / Assess
    expect(isThrottlingError(ecsThrottle)).toBe(true);
    expect(isThrottlingError(sdkThrottle)).toBe(true);
    expect(isThrottlingError(new LaunchThrottledError(12_000))).toBe(true);
    expect(isThrottlingError(notFound)).toBe(false);
    expect(isThrottlingError(new Error('socket hang up'))).toBe(false);
    expect(isThrottlingError(undefined)).toBe(false);
  });
});
