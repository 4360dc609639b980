import { describeOutcome, type PrefectCallContext, PrefectError } from './prefect-error.ts';

/**
 * A Prefect response did not have the shape this client relies on (a zod validation failure, or a
 * body that is not JSON). Not retryable: the same server will answer the same way again.
 */
export class PrefectResponseError extends PrefectError {
  override readonly name: string = 'PrefectResponseError';
  readonly status: number;
  /** The validation issues as `path: message`, e.g. `state.type: Invalid option`. */
  readonly issues: readonly string[];

  constructor(context: PrefectCallContext, status: number, issues: readonly string[]) {
    super(
      `Prefect ${context.operation} returned an unexpected response: ${context.method} ${context.path} → ${status}: ${issues.join('; ')} ${describeOutcome(false, context.attempts)}`,
      context,
      false
    );
    this.status = status;
    this.issues = issues;
  }
}
