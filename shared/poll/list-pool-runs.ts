import type { FlowRun } from '../prefect/schemas.ts';
import { describeError, type ResolvedPollDeps } from './poll-deps.ts';
import type { PollStage, PoolPollResult } from './poll-result.ts';

/**
 * Every run of `poolName` (and the configured queues) in `stateType`, for a sweep; with
 * `endedAfter`, only those whose `end_time` is at or after it (final states). Never throws: a
 * failure is recorded in `result.errors` under `stage`, logged, and answered with `undefined`
 * (skip the sweep).
 */
export const listPoolRuns = async (
  poolName: string,
  stateType: 'CANCELLING' | 'PENDING' | 'CANCELLED',
  stage: PollStage,
  deps: ResolvedPollDeps,
  result: PoolPollResult,
  endedAfter?: Date
): Promise<FlowRun[] | undefined> => {
  const { options, logger } = deps;
  try {
    return await deps.prefect.filterAllFlowRuns({
      stateTypes: [stateType],
      workPoolNames: [poolName],
      ...(options.workQueues.length > 0 ? { workQueueNames: options.workQueues } : {}),
      ...(endedAfter ? { endTimeAfter: endedAfter } : {}),
    });
  } catch (error) {
    const message = `Could not list ${stateType.toLowerCase()} flow runs: ${describeError(error)}`;
    result.errors.push({ stage, message });
    logger.error(message, { pool: poolName });
    return undefined;
  }
};
