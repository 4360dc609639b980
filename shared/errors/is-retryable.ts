/**
 * Whether an error says trying again later may succeed: any error with `retryable: true`
 * (`PrefectError`, `LaunchError`, `EcsApiError`, the EC2 adapter's errors). Errors without the
 * flag (bugs, `TypeError`s) are not retryable.
 *
 * @example
 * isRetryable(new LaunchError('capacity', true)); // true
 */
export const isRetryable = (error: unknown): boolean =>
  typeof error === 'object' &&
  error !== null &&
  'retryable' in error &&
  (error as { retryable: unknown }).retryable === true;
