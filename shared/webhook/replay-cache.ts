/**
 * Signatures already accepted by this (warm) Lambda container, so that a captured signed request
 * cannot be sent again while its timestamp is still inside the tolerance window.
 *
 * Why memory is enough: the cache lives as long as the container. A new container, or another one
 * serving requests concurrently, does not know what its siblings accepted, so a replay may still be
 * accepted once per container while the window lasts. That is acceptable here because
 * - the window bounds it: after `timestamp + 5 min` the signature is refused everywhere;
 * - a replayed request cannot change anything: the body (hence the pool) is signed, and the only
 *   effect is one more poll, which is idempotent (claims are locks; a run is never claimed twice);
 * - a shared store (a DynamoDB conditional put per request) would add a table, IAM and latency to
 *   every call for no gain in what an attacker can do.
 */

/** Remembers keys until their expiry. */
export interface ReplayCache {
  /**
   * True the first time a key is seen (and remembers it until `expiresAtMs`); false while it is
   * remembered, i.e. for a replay.
   */
  remember(key: string, expiresAtMs: number, nowMs: number): boolean;
  /** How many keys are remembered now (for tests and metrics). */
  readonly size: number;
}

/** Options of {@link createReplayCache}. */
export interface ReplayCacheOptions {
  /**
   * At most this many keys (default 10 000). When full, the oldest entry is forgotten first; only
   * correctly signed requests are ever stored, so this takes a flood of valid ones.
   */
  maxEntries?: number;
}

/**
 * An in-memory {@link ReplayCache}; expired entries are dropped as new keys arrive.
 *
 * @example
 * const cache = createReplayCache();
 * cache.remember(signature, (timestamp + 300) * 1000, Date.now()); // true
 * cache.remember(signature, (timestamp + 300) * 1000, Date.now()); // false: a replay
 */
export const createReplayCache = (options: ReplayCacheOptions = {}): ReplayCache => {
  const maxEntries = options.maxEntries ?? 10_000;
  const expiries = new Map<string, number>();
  const prune = (nowMs: number): void => {
    for (const [key, expiresAt] of expiries) {
      if (expiresAt <= nowMs) expiries.delete(key);
    }
  };
  return {
    remember(key, expiresAtMs, nowMs) {
      const known = expiries.get(key);
      if (known !== undefined && known > nowMs) return false;
      prune(nowMs);
      while (expiries.size >= maxEntries) {
        const oldest = expiries.keys().next();
        if (oldest.done) break;
        expiries.delete(oldest.value);
      }
      expiries.set(key, expiresAtMs);
      return true;
    },
    get size() {
      return expiries.size;
    },
  };
};
