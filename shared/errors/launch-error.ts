/** What a launch error is about; every member is optional. */
export interface LaunchErrorContext {
  flowRunId?: string;
  /**
   * The task already started for the run, when the failure came after RunTask (recording the
   * pid): retried without the launch deadline, since nothing may CRASH a run whose task runs.
   */
  taskArn?: string;
  /** The cause, kept for logs (`error.cause`), never serialised into Prefect. */
  cause?: unknown;
}

/**
 * A flow run could not be launched. `retryable` says whether the same message may succeed later
 * (throttling, capacity, an outage: the queue redelivers it) or never will (bad template, missing
 * cluster, role not passable: the run is marked CRASHED with this message at once).
 *
 * The message is what a person reads in the Prefect UI, so it says what to fix.
 */
export class LaunchError extends Error {
  override readonly name: string = 'LaunchError';
  readonly retryable: boolean;
  readonly flowRunId: string | undefined;
  readonly taskArn: string | undefined;

  constructor(message: string, retryable: boolean, context: LaunchErrorContext = {}) {
    super(message, context.cause === undefined ? undefined : { cause: context.cause });
    this.retryable = retryable;
    this.flowRunId = context.flowRunId;
    this.taskArn = context.taskArn;
  }
}
