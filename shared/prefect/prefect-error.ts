/** Where a failed Prefect call was going. Never contains the host, query string or credentials. */
export interface PrefectCallContext {
  /** The client function that failed, e.g. `setFlowRunState`. */
  operation: string;
  /** HTTP method. */
  method: string;
  /** Path relative to the API root, e.g. `/flow_runs/7f0e…/set_state`. */
  path: string;
  /** Attempts made, retries included. */
  attempts: number;
}

/**
 * Base of the Prefect client's errors. `retryable` tells a caller whether trying the same call
 * later may succeed (throttling, outage, network), as opposed to a request the server will always
 * refuse.
 */
export class PrefectError extends Error {
  override readonly name: string = 'PrefectError';
  readonly operation: string;
  readonly method: string;
  readonly path: string;
  readonly attempts: number;
  readonly retryable: boolean;

  constructor(
    message: string,
    context: PrefectCallContext,
    retryable: boolean,
    options?: { cause?: unknown }
  ) {
    super(message, options);
    this.operation = context.operation;
    this.method = context.method;
    this.path = context.path;
    this.attempts = context.attempts;
    this.retryable = retryable;
  }
}

/** Whether `error` is a Prefect client error that may succeed when tried again later. */
export const isRetryablePrefectError = (error: unknown): boolean =>
  error instanceof PrefectError && error.retryable;

/** `(retryable, 3 attempts)`-style suffix shared by the error messages. */
export const describeOutcome = (retryable: boolean, attempts: number): string =>
  `(${retryable ? 'retryable' : 'not retryable'}${attempts > 1 ? `, ${attempts} attempts` : ''})`;
