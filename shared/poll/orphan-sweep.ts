/**
 * The orphan sweep of one pool: PENDING runs we claimed that never got infrastructure
 * (`orphan-decision.ts`). A claim whose launch message was lost (SQS refused it, the poller died
 * before sending, the message ended in the dead-letter queue) is re-enqueued, at most
 * `maxRequeues` times, then CRASHED with what was tried.
 *
 * The re-enqueue count lives in the run's labels and is written *before* the message is sent, so a
 * failure between the two can only use up an attempt, never loop. On Prefect servers without
 * flow-run labels (before 3.2) nothing can be counted, so an orphan is CRASHED at once instead.
 */
import { CrashCause, recordRunCrashed } from '../observability.ts';
import type { FlowRun } from '../prefect/schemas.ts';
import { type Claim, enqueueLaunches } from './enqueue-launches.ts';
import { listPoolRuns } from './list-pool-runs.ts';
import { mapWithConcurrency } from './map-with-concurrency.ts';
import { classifyOrphan } from './orphan-decision.ts';
import { describeError, type ResolvedPollDeps } from './poll-deps.ts';
import type { PoolPollResult } from './poll-result.ts';
import { requeueLabels } from './run-labels.ts';

/** Proposes CRASHED if the run is still the orphan we judged; resolves `true` when accepted. */
const crashOrphan = async (
  run: FlowRun,
  message: string,
  poolName: string,
  deps: ResolvedPollDeps
): Promise<boolean> => {
  const log = { pool: poolName, flow_run_id: run.id };
  const current = await deps.prefect.readFlowRun(run.id);
  if (
    current.state?.type !== 'PENDING' ||
    current.state.id !== run.state?.id ||
    current.infrastructure_pid
  ) {
    deps.logger.debug('Orphan moved on since the sweep read it', log);
    return false;
  }
  const answer = await deps.prefect.setFlowRunState(run.id, { type: 'CRASHED', message });
  if (answer.status !== 'ACCEPT') {
    deps.logger.debug('CRASHED not accepted for orphan', { ...log, status: answer.status });
    return false;
  }
  deps.logger.error('Orphan given up: launch never completed', { ...log, message });
  if (deps.metrics) recordRunCrashed(deps.metrics, CrashCause.LaunchNeverCompleted);
  return true;
};

/** Sweeps one pool's orphans. Never throws; problems land in `result.errors`. */
export const sweepOrphans = async (
  poolName: string,
  deps: ResolvedPollDeps,
  result: PoolPollResult
): Promise<void> => {
  const { options, logger } = deps;
  const runs = await listPoolRuns(poolName, 'PENDING', 'orphan', deps, result);
  if (!runs) return;
  const now = deps.now();
  const context = {
    workerName: options.workerName,
    now,
    orphanAfterSeconds: options.orphanAfterSeconds,
    maxRequeues: options.maxRequeues,
    leadSeconds: options.leadSeconds,
  };
  const toSend: Claim[] = [];
  await mapWithConcurrency(runs, options.claimConcurrency, async (run) => {
    const decision = classifyOrphan(run, context);
    const log = { pool: poolName, flow_run_id: run.id };
    try {
      if (decision.kind === 'requeue') {
        const labelled = await deps.prefect.updateFlowRunLabels(
          run.id,
          requeueLabels(decision.requeue, now)
        );
        if (labelled === 'updated') {
          toSend.push({
            flowRunId: run.id,
            transitionId: decision.transitionId,
            scheduledTime: decision.scheduledTime,
            attempt: decision.requeue + 1,
          });
          return;
        }
        const message =
          "Launch never completed, and this Prefect server has no flow-run labels (3.2+) to count re-enqueues with, so the run is not re-enqueued. Check the launcher's logs and the launch queue's dead-letter queue.";
        if (await crashOrphan(run, message, poolName, deps)) result.crashed += 1;
      } else if (decision.kind === 'give-up') {
        if (await crashOrphan(run, decision.message, poolName, deps)) result.crashed += 1;
      }
    } catch (error) {
      const message = `Could not recover the orphan: ${describeError(error)}`;
      result.errors.push({ stage: 'orphan', flowRunId: run.id, message });
      logger.error(message, log);
    }
  });
  result.requeued += (await enqueueLaunches(toSend, poolName, deps, result, 'orphan')).sent.length;
};
