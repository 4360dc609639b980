/** Where a failed ECS (or EC2) call was going and what AWS answered. */
export interface AwsCallContext {
  /** The port function that failed, e.g. `runTask`. */
  operation: string;
  /** AWS error code (`ThrottlingException`, `ClusterNotFoundException`, …), or `NetworkError`. */
  code: string;
  /** HTTP status, when AWS answered. */
  status?: number | undefined;
  /** AWS request id, for support cases. */
  requestId?: string | undefined;
}

/**
 * An ECS call failed. `retryable` says whether trying later may succeed (throttling, 5xx, network)
 * as opposed to a request AWS will always refuse; the message says what to fix in that case.
 *
 * @example
 * // ECS runTask failed: ClusterNotFoundException: Cluster not found. Create cluster 'prod' in
 * //   us-east-1 or set the work pool's `cluster` variable to an existing one. (not retryable)
 */
export class EcsApiError extends Error {
  override readonly name: string = 'EcsApiError';
  readonly operation: string;
  readonly code: string;
  readonly status: number | undefined;
  readonly requestId: string | undefined;
  readonly retryable: boolean;

  constructor(
    message: string,
    context: AwsCallContext,
    retryable: boolean,
    options?: { cause?: unknown }
  ) {
    super(message, options);
    this.operation = context.operation;
    this.code = context.code;
    this.status = context.status;
    this.requestId = context.requestId;
    this.retryable = retryable;
  }
}
