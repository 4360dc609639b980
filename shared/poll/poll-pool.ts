/**
 * One pool's poll: read it, heartbeat, claim and enqueue its due runs, then the cancellation and
 * orphan sweeps. Each stage's failure is recorded and the next stages still run where that makes
 * sense; nothing here throws.
 *
 * - missing pool (404) or a pool of another type → an error naming it; nothing else is done (we
 *   are not that pool's worker, and we never create pools);
 * - paused → heartbeat and sweeps, but no claims (`skipped: 'paused'`), as Prefect's worker keeps
 *   heartbeating a paused pool so it is READY the moment it is resumed.
 */
import { isNotFound } from '../prefect/prefect-api-error.ts';
import type { WorkPool } from '../prefect/schemas.ts';
import { sweepCancellations } from './cancel-sweep.ts';
import { claimScheduledRuns } from './claim-scheduled-runs.ts';
import { sweepOrphans } from './orphan-sweep.ts';
import { describeError, type ResolvedPollDeps } from './poll-deps.ts';
import { emptyPoolResult, type PoolPollResult } from './poll-result.ts';
import { poolNotFoundMessage, wrongPoolTypeMessage } from './work-pool-errors.ts';

/** Options of one pool's poll. */
export interface PollPoolOptions {
  /** Run the cancellation and orphan sweeps (default true). */
  sweeps?: boolean;
}

/** Polls one pool. Never throws. */
export const pollPool = async (
  poolName: string,
  deps: ResolvedPollDeps,
  options: PollPoolOptions = {}
): Promise<PoolPollResult> => {
  const { logger } = deps;
  const result = emptyPoolResult(poolName);
  const log = { pool: poolName };

  let pool: WorkPool;
  try {
    pool = await deps.prefect.readWorkPool(poolName);
  } catch (error) {
    const message = isNotFound(error)
      ? poolNotFoundMessage(poolName)
      : `Could not read work pool '${poolName}': ${describeError(error)}`;
    result.errors.push({ stage: 'read-pool', message });
    logger.error(message, log);
    return result;
  }
  if (pool.type !== 'ecs') {
    const message = wrongPoolTypeMessage(poolName, pool.type);
    result.errors.push({ stage: 'read-pool', message });
    logger.error(message, { ...log, pool_type: pool.type });
    return result;
  }

  try {
    await deps.prefect.sendWorkerHeartbeat(poolName, {
      name: deps.options.workerName,
      heartbeatIntervalSeconds: deps.options.pollIntervalSeconds,
    });
  } catch (error) {
    const message = `Heartbeat failed: ${describeError(error)}`;
    result.errors.push({ stage: 'heartbeat', message });
    logger.warn(message, log);
  }

  if (pool.is_paused) {
    result.skipped = 'paused';
    logger.debug('Work pool is paused: no runs claimed', log);
  } else {
    await claimScheduledRuns(pool, deps, result);
  }

  if (options.sweeps ?? true) {
    await sweepCancellations(poolName, deps, result);
    await sweepOrphans(poolName, deps, result);
  }
  return result;
};
