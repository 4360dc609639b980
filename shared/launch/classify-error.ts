/**
 * Whether a failure during a launch may go away by itself. Errors of this project carry
 * `retryable`; AWS SDK errors that reach us unchanged (the EC2 adapter's) carry `$fault` and
 * `$metadata`; anything else is unexpected.
 */
import { PrefectApiError } from '../prefect/prefect-api-error.ts';

/** The classification. */
export type ErrorClass = 'retryable' | 'permanent';

const THROTTLING = /throttl|rate exceeded|toomanyrequests|requestlimitexceeded/i;

/**
 * - Prefect 5xx → retryable (the client itself retries only 502/503; a 500 during an incident
 *   deserves the queue's slower retries too);
 * - an error with a boolean `retryable` → that;
 * - an AWS SDK error → retryable when throttled or `$fault: 'server'`, permanent when
 *   `$fault: 'client'`;
 * - anything else (a network error without metadata, a bug) → retryable: the launch retry deadline
 *   bounds it, and the run is then CRASHED with the error's message.
 *
 * @example
 * classifyError(new EcsApiError('…', { operation: 'runTask', code: 'ThrottlingException' }, true)); // 'retryable'
 */
export const classifyError = (error: unknown): ErrorClass => {
  if (error instanceof PrefectApiError && error.status >= 500) return 'retryable';
  if (typeof error !== 'object' || error === null) return 'retryable';
  const { retryable, $fault, name } = error as {
    retryable?: unknown;
    $fault?: unknown;
    name?: unknown;
  };
  if (typeof retryable === 'boolean') return retryable ? 'retryable' : 'permanent';
  if (typeof name === 'string' && THROTTLING.test(name)) return 'retryable';
  if ($fault === 'server') return 'retryable';
  if ($fault === 'client') return 'permanent';
  return 'retryable';
};

/** `Name: message` of an error, for the Prefect UI (the official worker's `{ExcType}: {msg}`). */
export const describeError = (error: unknown): string => {
  if (error instanceof Error) return `${error.name}: ${error.message}`;
  return String(error);
};
