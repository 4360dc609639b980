/**
 * The launcher would have to wait too long for its own share of the account's RunTask rate (or ECS
 * answered ThrottlingException): the launch goes back to the queue for a short, jittered delay
 * instead of waiting inside the invocation. Always retryable.
 */
export class LaunchThrottledError extends Error {
  override readonly name = 'LaunchThrottledError';
  readonly retryable = true as const;
  /** How long this container would have waited for a RunTask token, in ms. */
  readonly waitMs: number;

  constructor(waitMs: number) {
    super(
      `The launcher's share of the ECS launch rate is used up for the next ${Math.ceil(waitMs / 1000)} s; the launch goes back to the queue.`
    );
    this.waitMs = waitMs;
  }
}
