/**
 * An SQS message body that is not a launch message (not JSON, or fails the schema). Never
 * retryable: the same bytes fail the same way. `issues` are zod's, as `path: message`; the body
 * itself is never quoted (it may be large or hold anything).
 */
export class InvalidMessageError extends Error {
  override readonly name: string = 'InvalidMessageError';
  readonly retryable = false;
  readonly issues: readonly string[];

  constructor(issues: readonly string[], options?: { cause?: unknown }) {
    super(`Invalid launch message: ${issues.join('; ')}`, options);
    this.issues = issues;
  }
}
