/**
 * When and how long to wait before retrying a Prefect API call. Pure: the clock and the random
 * source are arguments.
 *
 * Mirrors the official client's policy (prefect-worker-api.md §1.3): retry 408, 429, 502 and 503
 * (not 500 or 504, which Prefect does not retry either), honour `Retry-After` with 0–20 % extra
 * jitter, otherwise back off 2^n seconds with ±20 % jitter.
 */

/** HTTP statuses the official Prefect client retries. */
export const RETRYABLE_STATUSES: ReadonlySet<number> = new Set([408, 429, 502, 503]);

/** Jitter factor (Prefect's `PREFECT_CLIENT_RETRY_JITTER_FACTOR` default). */
export const JITTER_FACTOR = 0.2;

/** Whether a response status is worth retrying. */
export const isRetryableStatus = (status: number): boolean => RETRYABLE_STATUSES.has(status);

/**
 * Whether the response says the server is in a maintenance window (`Prefect-Maintenance: true`);
 * such responses are retried without counting against `maxRetries`.
 */
export const isMaintenanceResponse = (headers: Headers): boolean =>
  headers.get('prefect-maintenance')?.trim().toLowerCase() === 'true';

/**
 * Parses a `Retry-After` header: delay-seconds (fractions allowed, as Prefect sends them) or an
 * HTTP-date. Returns milliseconds from `nowMs`, never negative, or `undefined` when absent or
 * unparseable.
 *
 * @example
 * parseRetryAfter('1.5', 0); // 1500
 */
export const parseRetryAfter = (value: string | null, nowMs: number): number | undefined => {
  if (value === null) return undefined;
  const trimmed = value.trim();
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Number(trimmed) * 1000;
  // HTTP-dates always name the weekday and month; this keeps bare numbers like "-1" out.
  if (!/[a-z]/i.test(trimmed)) return undefined;
  const at = Date.parse(trimmed);
  return Number.isNaN(at) ? undefined : Math.max(0, at - nowMs);
};

/** Inputs to {@link computeRetryDelay}. */
export interface RetryDelayInput {
  /** Counted attempts made so far (1 after the first failure). */
  attempt: number;
  /** Parsed `Retry-After` in ms, if the response had one. */
  retryAfterMs?: number | undefined;
  maxDelayMs: number;
  /** Uniform in [0, 1). */
  random: () => number;
}

/**
 * Milliseconds to wait before the next attempt, or `undefined` when the server asked for a longer
 * wait than `maxDelayMs` allows (retrying sooner would only be refused again; the caller gives up
 * and reports the error as retryable, with the wait, so a queue can redeliver later).
 *
 * - With `Retry-After`: between 1× and 1.2× of it, capped at `maxDelayMs`.
 * - Without: 2^attempt s ±20 %, capped at `maxDelayMs`.
 *
 * @example
 * computeRetryDelay({ attempt: 1, maxDelayMs: 30_000, random: () => 0.5 }); // 2000
 */
export const computeRetryDelay = ({
  attempt,
  retryAfterMs,
  maxDelayMs,
  random,
}: RetryDelayInput): number | undefined => {
  if (retryAfterMs !== undefined) {
    if (retryAfterMs > maxDelayMs) return undefined;
    return Math.min(maxDelayMs, retryAfterMs * (1 + JITTER_FACTOR * random()));
  }
  const base = 2 ** attempt * 1000;
  const jittered = base * (1 + JITTER_FACTOR * (2 * random() - 1));
  return Math.min(maxDelayMs, Math.max(0, jittered));
};
