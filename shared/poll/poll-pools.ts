/**
 * `pollPools`: the poller's (and the webhook's) one domain call. Polls the requested pools (all
 * configured ones by default) in parallel; one pool's failure never stops another's.
 */
import { describeError, type PollDeps, resolvePollDeps } from './poll-deps.ts';
import { pollPool } from './poll-pool.ts';
import { emptyPoolResult, type PollResult, type PoolPollResult } from './poll-result.ts';
import { UnknownWorkPoolError } from './work-pool-errors.ts';

/** What to poll. */
export interface PollRequest {
  /** Pools to poll; each must be configured (`PREFECT_WORK_POOLS`). Absent or empty: every configured pool. */
  pools?: readonly string[] | undefined;
  /** Run the cancellation and orphan sweeps too (default true). */
  sweeps?: boolean;
}

/**
 * The requested pools that are not configured (empty when all are, or none was requested).
 *
 * @example
 * findUnknownPools(['gpu'], ['ecs']); // ['gpu']
 */
export const findUnknownPools = (
  requested: readonly string[] | undefined,
  configured: readonly string[]
): string[] => (requested ?? []).filter((pool) => !configured.includes(pool));

/**
 * Polls: per pool, read (paused → skip claims; not `ecs` or missing → an error), heartbeat, claim
 * and enqueue due runs, then the cancellation and orphan sweeps. Resolves with what happened per
 * pool, errors included; throws only `UnknownWorkPoolError` (before calling Prefect) for a pool
 * that is not configured.
 *
 * @example
 * const result = await pollPools({ pools: ['ecs'] }, deps);
 * const { claimed, enqueued } = summarizePoll(result);
 */
export const pollPools = async (request: PollRequest, deps: PollDeps): Promise<PollResult> => {
  const resolved = resolvePollDeps(deps);
  const configured = resolved.options.workPools;
  const unknown = findUnknownPools(request.pools, configured);
  if (unknown.length > 0) throw new UnknownWorkPoolError(unknown, configured);
  const pools = [
    ...new Set(request.pools && request.pools.length > 0 ? request.pools : configured),
  ];
  const sweeps = request.sweeps ?? true;
  const guarded = (pool: string): Promise<PoolPollResult> =>
    pollPool(pool, resolved, { sweeps }).catch((error: unknown) => {
      const message = `Poll failed unexpectedly: ${describeError(error)}`;
      resolved.logger.error(message, { pool });
      return { ...emptyPoolResult(pool), errors: [{ stage: 'internal', message }] };
    });
  return { pools: await Promise.all(pools.map(guarded)) };
};
