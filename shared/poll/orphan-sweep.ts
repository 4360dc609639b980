/**
 * The orphan sweep of one pool: PENDING runs we claimed whose current attempt never got a task
 * (`orphan-decision.ts`; a pid left by an earlier attempt is checked with one DescribeTasks per
 * cluster). A claim whose launch message was lost (SQS refused it, the poller died
 * before sending, the message ended in the dead-letter queue) is re-enqueued, at most
 * `maxRequeues` times, then CRASHED with what was tried.
 *
 * The re-enqueue count lives in the run's labels and is written *before* the message is sent, so a
 * failure between the two can only use up an attempt, never loop. On Prefect servers without
 * flow-run labels (before 3.2) nothing can be counted, so an orphan is CRASHED at once instead.
 */
import { EcsApiError } from '../errors/ecs-api-error.ts';
import { endedSinceClaim, restoring } from '../launch/current-claim.ts';
import { CrashCause, recordRunCrashed } from '../observability.ts';
import type { FlowRun } from '../prefect/schemas.ts';
import { scrubEventText } from '../report/scrub-event-text.ts';
import { type Claim, enqueueLaunches } from './enqueue-launches.ts';
import { listPoolRuns } from './list-pool-runs.ts';
import { mapWithConcurrency } from './map-with-concurrency.ts';
import { classifyOrphan, type OrphanDecision, type PidTask } from './orphan-decision.ts';
import { describeError, type ResolvedPollDeps } from './poll-deps.ts';
import type { PoolPollResult } from './poll-result.ts';
import { requeueLabels } from './run-labels.ts';
import { tasksByScope } from './tasks-by-scope.ts';

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
    current.infrastructure_pid !== run.infrastructure_pid
  ) {
    deps.logger.debug('Orphan moved on since the sweep read it', log);
    return false;
  }
  const answer = await deps.prefect.setFlowRunState(
    run.id,
    { type: 'CRASHED', message },
    { replay: false } // decided from the read above; the next sweep decides again on failure
  );
  if (answer.status !== 'ACCEPT') {
    deps.logger.debug('CRASHED not accepted for orphan', { ...log, status: answer.status });
    return false;
  }
  deps.logger.error('Orphan given up: launch never completed', { ...log, message });
  if (deps.metrics) recordRunCrashed(deps.metrics, CrashCause.LaunchNeverCompleted);
  return true;
};

/**
 * A run whose attempt's task has stopped but which stayed PENDING. When the history shows the run
 * reached a final state after its claim (a PENDING proposal landed after it: Prefect accepts
 * PENDING after final states), that final state is written again, forced, with its own name,
 * message and data (the result reference); otherwise (the STOPPED event was never reported)
 * CRASHED with what ECS says. Only if the run is still the PENDING state the sweep judged.
 */
const settleStuckRun = async (
  run: FlowRun,
  message: string,
  poolName: string,
  deps: ResolvedPollDeps
): Promise<'restored' | 'crashed' | 'moved-on'> => {
  const log = { pool: poolName, flow_run_id: run.id };
  const current = await deps.prefect.readFlowRun(run.id);
  if (current.state?.type !== 'PENDING' || current.state.id !== run.state?.id) {
    deps.logger.debug('Stuck run moved on since the sweep read it', log);
    return 'moved-on';
  }
  const ended = endedSinceClaim(await deps.prefect.readFlowRunStates(run.id));
  if (ended) {
    await deps.prefect.setFlowRunState(run.id, restoring(ended), { force: true, replay: false });
    deps.logger.warn('A run that had ended was PENDING again; its final state was restored', {
      ...log,
      restored: `${ended.type} (${ended.name ?? ended.type})`,
    });
    return 'restored';
  }
  const answer = await deps.prefect.setFlowRunState(
    run.id,
    { type: 'CRASHED', name: 'Crashed', message: scrubEventText(message) },
    { replay: false }
  );
  if (answer.status !== 'ACCEPT') return 'moved-on';
  deps.logger.error('Stuck run settled: its task stopped while it stayed PENDING', {
    ...log,
    message,
  });
  if (deps.metrics) recordRunCrashed(deps.metrics, CrashCause.LaunchNeverCompleted);
  return 'crashed';
};

/** A pid task ECS could not be asked about: counted as this attempt's, so nothing is done. */
const unknownTask: PidTask = { createdAt: new Date(8.64e15), attempt: undefined };

/**
 * For the runs whose decision is `check-task` (claimed, overdue, with a pid that may be an earlier
 * attempt's): what ECS knows of the pid's task, one DescribeTasks per cluster. A failure leaves the
 * runs out (decided as having a task, so the next sweep asks again).
 */
const describePidTasks = async (
  items: readonly { run: FlowRun; decision: OrphanDecision }[],
  poolName: string,
  deps: ResolvedPollDeps,
  result: PoolPollResult
): Promise<Map<string, PidTask>> => {
  const checks = items.flatMap(({ run, decision }) =>
    decision.kind === 'check-task'
      ? [{ run, cluster: decision.pid.cluster, taskArn: decision.pid.taskArn }]
      : []
  );
  const byScope = await tasksByScope(checks, deps, (run, error) => {
    const message = `Could not reach the AWS account of claimed run ${run.id}: ${describeError(error)}`;
    result.errors.push({ stage: 'orphan', flowRunId: run.id, message });
    deps.logger.error(message, { pool: poolName, flow_run_id: run.id });
  });
  const found = new Map<string, PidTask>();
  for (const [ecs, byCluster] of byScope)
    for (const [cluster, group] of byCluster) {
      try {
        const answer = await ecs.describeTasks(
          cluster,
          group.map(({ taskArn }) => taskArn)
        );
        const tasks = new Map(answer.tasks.map((task) => [task.taskArn, task]));
        const missing = new Set(
          answer.failures.filter((failure) => failure.reason === 'MISSING').map((f) => f.arn)
        );
        for (const { runId, taskArn } of group) {
          const task = tasks.get(taskArn);
          if (task) {
            found.set(runId, {
              createdAt: task.createdAt,
              attempt: task.attempt,
              lastStatus: task.lastStatus,
              stopCode: task.stopCode,
              stoppedReason: task.stoppedReason,
            });
          } else if (missing.has(taskArn)) found.set(runId, 'missing');
        }
      } catch (error) {
        if (error instanceof EcsApiError && error.code === 'ClusterNotFoundException') {
          for (const { runId } of group) found.set(runId, 'missing');
          continue;
        }
        const message = `Could not describe the tasks of claimed runs on cluster ${cluster}: ${describeError(error)}`;
        result.errors.push({ stage: 'orphan', message });
        deps.logger.error(message, { pool: poolName, cluster });
      }
    }
  return found;
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
  const first = runs.map((run) => ({ run, decision: classifyOrphan(run, context) }));
  const pidTasks = await describePidTasks(first, poolName, deps, result);
  await mapWithConcurrency(first, options.claimConcurrency, async (item) => {
    const { run } = item;
    const decision =
      item.decision.kind === 'check-task'
        ? classifyOrphan(run, context, pidTasks.get(run.id) ?? unknownTask)
        : item.decision;
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
            claimedAt: decision.claimedAt,
            attempt: decision.requeue + 1,
          });
          return;
        }
        const message =
          "Launch never completed, and this Prefect server has no flow-run labels (3.2+) to count re-enqueues with, so the run is not re-enqueued. Check the launcher's logs and the launch queue's dead-letter queue.";
        if (await crashOrphan(run, message, poolName, deps)) result.crashed += 1;
      } else if (decision.kind === 'give-up') {
        if (await crashOrphan(run, decision.message, poolName, deps)) result.crashed += 1;
      } else if (decision.kind === 'settle') {
        if ((await settleStuckRun(run, decision.message, poolName, deps)) === 'crashed') {
          result.crashed += 1;
        }
      }
    } catch (error) {
      const message = `Could not recover the orphan: ${describeError(error)}`;
      result.errors.push({ stage: 'orphan', flowRunId: run.id, message });
      logger.error(message, log);
    }
  });
  result.requeued += (await enqueueLaunches(toSend, poolName, deps, result, 'orphan')).sent.length;
};
