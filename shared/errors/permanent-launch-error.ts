import { LaunchError, type LaunchErrorContext } from './launch-error.ts';

/**
 * A launch that will fail the same way however often it is tried: the run is proposed CRASHED with
 * this message and the queue message is acknowledged.
 *
 * @example
 * throw new PermanentLaunchError(
 *   "Cluster 'prod' was not found in us-east-1. Create it, or set the work pool's `cluster` variable."
 * );
 */
export class PermanentLaunchError extends LaunchError {
  override readonly name: string = 'PermanentLaunchError';

  constructor(message: string, context: LaunchErrorContext = {}) {
    super(message, false, context);
  }
}
