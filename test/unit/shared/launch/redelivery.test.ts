import { describe, expect, it } from 'vitest';
import { computeRedeliveryDelay } from '../../../../shared/launch/redelivery.ts';

const FAR = 10 ** 12;

describe('computeRedeliveryDelay', () => {
  it.each([
    [1, 15],
    [2, 30],
    [3, 60],
    [4, 120],
    [6, 480],
    [7, 900],
    [50, 900],
  ])('receive %i → %i s (no jitter)', (receiveCount, expected) => {
    // Prepare / Act / Assess
    expect(
      computeRedeliveryDelay({ receiveCount, nowMs: 0, deadlineMs: FAR, random: () => 0.5 })
    ).toBe(expected);
  });

  it('jitters ±20 %', () => {
    // Prepare / Act
    const low = computeRedeliveryDelay({
      receiveCount: 3,
      nowMs: 0,
      deadlineMs: FAR,
      random: () => 0,
    });
    const high = computeRedeliveryDelay({
      receiveCount: 3,
      nowMs: 0,
      deadlineMs: FAR,
      random: () => 0.999,
    });
    // Assess
    expect(low).toBe(48);
    expect(high).toBe(72);
  });

  it('lands the last retry on the deadline, at least 1 s ahead', () => {
    // Prepare / Act / Assess
    expect(
      computeRedeliveryDelay({ receiveCount: 5, nowMs: 0, deadlineMs: 40_500, random: () => 0.5 })
    ).toBe(41);
    expect(
      computeRedeliveryDelay({ receiveCount: 5, nowMs: 0, deadlineMs: -5_000, random: () => 0.5 })
    ).toBe(1);
  });
});
