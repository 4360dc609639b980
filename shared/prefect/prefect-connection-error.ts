import { describeOutcome, type PrefectCallContext, PrefectError } from './prefect-error.ts';

/**
 * The Prefect API could not be reached or did not answer in time: connection refused or reset, DNS
 * failure, a socket dropped mid-response, or the per-attempt timeout. Always retryable.
 *
 * `cause` is a sanitised copy of the underlying error (name, message, code; secrets redacted),
 * never the original object, which may reference the request and its headers.
 */
export class PrefectConnectionError extends PrefectError {
  override readonly name: string = 'PrefectConnectionError';
  /** Whether the last attempt hit the per-attempt timeout (or the call deadline). */
  readonly timedOut: boolean;

  constructor(context: PrefectCallContext, reason: string, timedOut: boolean, cause: Error) {
    super(
      `Prefect ${context.operation} failed: ${context.method} ${context.path} → ${reason} ${describeOutcome(true, context.attempts)}`,
      context,
      true,
      { cause }
    );
    this.timedOut = timedOut;
  }
}
