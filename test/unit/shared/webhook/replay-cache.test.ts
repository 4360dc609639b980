import { describe, expect, it } from 'vitest';
import { createReplayCache } from '../../../../shared/webhook/replay-cache.ts';

describe('replay cache', () => {
  it('remembers a key until its expiry, then forgets it', () => {
    // Prepare
    const cache = createReplayCache();
    // Act
    const first = cache.remember('sig', 10_000, 0);
    const replay = cache.remember('sig', 10_000, 9_999);
    const afterExpiry = cache.remember('sig', 20_000, 10_000);
    // Assess
    expect([first, replay, afterExpiry]).toEqual([true, false, true]);
  });

  it('drops expired entries as new keys arrive', () => {
    // Prepare
    const cache = createReplayCache();
    cache.remember('a', 1_000, 0);
    cache.remember('b', 5_000, 0);
    // Act
    cache.remember('c', 9_000, 2_000);
    // Assess
    expect(cache.size).toBe(2);
  });

  it('forgets the oldest entry when full', () => {
    // Prepare
    const cache = createReplayCache({ maxEntries: 2 });
    cache.remember('a', 10_000, 0);
    cache.remember('b', 10_000, 0);
    // Act
    cache.remember('c', 10_000, 0);
    // Assess
    expect(cache.size).toBe(2);
    expect(cache.remember('b', 10_000, 1)).toBe(false);
    expect(cache.remember('a', 10_000, 1)).toBe(true);
  });
});
