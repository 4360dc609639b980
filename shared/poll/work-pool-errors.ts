/** The configuration names pools the poller cannot serve; messages say what to fix. */

/** A poll asked for pools this stack is not configured for (`PREFECT_WORK_POOLS`). */
export class UnknownWorkPoolError extends Error {
  override readonly name: string = 'UnknownWorkPoolError';
  readonly retryable = false;
  readonly pools: readonly string[];

  constructor(pools: readonly string[], configured: readonly string[]) {
    super(
      `Unknown work pool${pools.length === 1 ? '' : 's'} ${pools.map((pool) => `'${pool}'`).join(', ')}: this stack serves ${configured.map((pool) => `'${pool}'`).join(', ')} (PREFECT_WORK_POOLS)`
    );
    this.pools = pools;
  }
}

/** The message for a pool Prefect does not know. */
export const poolNotFoundMessage = (pool: string): string =>
  `Work pool '${pool}' was not found in Prefect. Create it (prefect work-pool create '${pool}' --type ecs) or fix PREFECT_WORK_POOLS; the poller never creates pools.`;

/** The message for a pool of another type. */
export const wrongPoolTypeMessage = (pool: string, type: string): string =>
  `Work pool '${pool}' has type '${type}', not 'ecs': this poller serves ECS work pools only. Use an ECS pool in PREFECT_WORK_POOLS (an 'ecs:push' pool is Prefect Cloud's own push pool and cannot be served by a worker).`;
