/**
 * The Lambda's environment is missing a variable or holds an invalid one. Thrown once, at cold
 * start, listing every problem at once so one deploy fixes them all. Never retryable: the same
 * environment gives the same error. Messages name variables, never their values.
 *
 * @example
 * // Invalid launcher configuration (2 problems):
 * //   - PREFECT_API_URL: required
 * //   - LAUNCH_RETRY_DEADLINE_SECONDS: must be an integer ≥ 60
 */
export class ConfigError extends Error {
  override readonly name: string = 'ConfigError';
  readonly retryable = false;
  /** One line per problem, `VARIABLE: what is wrong`. */
  readonly issues: readonly string[];

  constructor(issues: readonly string[], options?: { cause?: unknown }) {
    super(
      `Invalid configuration (${issues.length} problem${issues.length === 1 ? '' : 's'}):\n${issues.map((issue) => `  - ${issue}`).join('\n')}`,
      options
    );
    this.issues = issues;
  }
}
