/**
 * A job configuration that can never launch as it stands: a missing execution role, a subnet outside
 * the VPC, a container name that does not exist, an unbalanced quote in the command, … Retrying the
 * same flow run cannot help, so the launcher reports it as Crashed with this message and acks the
 * message. The message names the work-pool / job variable to change (`variable`) and how.
 *
 * @example
 * ```ts
 * throw new EcsConfigurationError(
 *   'execution_role_arn is required when configure_cloudwatch_logs is true: …',
 *   { variable: 'execution_role_arn' }
 * );
 * ```
 */
export class EcsConfigurationError extends Error {
  override readonly name: string = 'EcsConfigurationError';
  /** Always false: the same configuration fails the same way every time. */
  readonly retryable = false as const;
  /** The job variable (or job configuration key) to fix, when there is one. */
  readonly variable: string | undefined;

  constructor(message: string, options: { variable?: string; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.variable = options.variable;
  }
}

/**
 * Whether `error` is an {@link EcsConfigurationError} (permanent: report, do not retry).
 *
 * @example
 * ```ts
 * if (isEcsConfigurationError(error)) reportCrashed(error.message);
 * ```
 */
export const isEcsConfigurationError = (error: unknown): error is EcsConfigurationError =>
  error instanceof EcsConfigurationError;
