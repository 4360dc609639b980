/**
 * The cancellation sweep of one pool, in two parts:
 *
 * - its CANCELLING runs: ask ECS once per cluster whether their tasks are alive, then stop and
 *   cancel what the engine cannot (`cancel-decision.ts`). Before writing CANCELLED (forced, as
 *   Prefect's worker does) the run is read again: force would overwrite whatever state it reached
 *   meanwhile, so we act only if it is still CANCELLING with the same infrastructure and start time
 *   as when we decided.
 * - its runs that reached CANCELLED in the last `CANCEL_LOOKBACK_SECONDS` (forced by Prefect after
 *   300 s of CANCELLING, or set by hand): ask ECS once per cluster about their tasks, StopTask the
 *   ones still running and say so in the run's Prefect logs (`cancelled-task-decision.ts`). No
 *   re-read: the run is final, and the task its pid names belongs to the cancelled attempt whatever
 *   happens to the run next.
 */

import { EcsApiError } from '../errors/ecs-api-error.ts';
import { engineStartedInCurrentAttempt } from '../launch/current-claim.ts';
import { LOG_LEVEL, PREFECT_LOGGER_NAME } from '../launch/launch-deps.ts';
import type { FlowRun } from '../prefect/schemas.ts';
import {
  CANCEL_MESSAGES,
  type CancelAction,
  decideCancellation,
  livenessOf,
  type TaskSighting,
  taskOf,
} from './cancel-decision.ts';
import { type CancelledTaskAction, decideCancelledTask } from './cancelled-task-decision.ts';
import { listPoolRuns } from './list-pool-runs.ts';
import { liveTasksOfRun } from './live-tasks-of-run.ts';
import { mapWithConcurrency } from './map-with-concurrency.ts';
import { describeError, type ResolvedPollDeps } from './poll-deps.ts';
import type { PoolPollResult } from './poll-result.ts';
import { tasksByScope } from './tasks-by-scope.ts';

/**
 * What ECS says about each run's task, keyed by flow run id: one DescribeTasks per cluster (the
 * client batches 100 tasks a call). Runs without a parsable pid are absent; a failed call leaves
 * its runs `unknown` and is recorded in `result.errors`.
 */
const describeRunTasks = async (
  runs: readonly FlowRun[],
  which: string,
  poolName: string,
  deps: ResolvedPollDeps,
  result: PoolPollResult
): Promise<Map<string, TaskSighting>> => {
  const items = runs.flatMap((run) => {
    const pid = taskOf(run);
    return pid ? [{ run, cluster: pid.cluster, taskArn: pid.taskArn }] : [];
  });
  const byScope = await tasksByScope(items, deps, (run, error) => {
    const message = `Could not reach the AWS account of ${which} run ${run.id}: ${describeError(error)}`;
    result.errors.push({ stage: 'cancel', flowRunId: run.id, message });
    deps.logger.error(message, { pool: poolName, flow_run_id: run.id });
  });
  const sightings = new Map<string, TaskSighting>();
  for (const [ecs, byCluster] of byScope)
    for (const [cluster, group] of byCluster) {
      try {
        const answer = await ecs.describeTasks(
          cluster,
          group.map(({ taskArn }) => taskArn)
        );
        const tasks = new Map(answer.tasks.map((task) => [task.taskArn, task]));
        const failures = new Map(answer.failures.map((failure) => [failure.arn, failure.reason]));
        for (const { runId, taskArn } of group) {
          const task = tasks.get(taskArn);
          if (task) {
            sightings.set(runId, {
              kind: 'found',
              lastStatus: task.lastStatus,
              desiredStatus: task.desiredStatus,
            });
          } else if (failures.get(taskArn) === 'MISSING') sightings.set(runId, { kind: 'missing' });
          else sightings.set(runId, { kind: 'unknown' });
        }
      } catch (error) {
        if (error instanceof EcsApiError && error.code === 'ClusterNotFoundException') {
          // No cluster, no task.
          for (const { runId } of group) sightings.set(runId, { kind: 'missing' });
          continue;
        }
        const message = `Could not describe the tasks of ${which} runs on cluster ${cluster}: ${describeError(error)}`;
        result.errors.push({ stage: 'cancel', message });
        deps.logger.error(message, { pool: poolName, cluster });
      }
    }
  return sightings;
};

const UNKNOWN: TaskSighting = { kind: 'unknown' };

/** Carries out one decision; resolves `true` when the run was set CANCELLED. */
const carryOut = async (
  run: FlowRun,
  action: Exclude<CancelAction, { kind: 'leave' }>,
  poolName: string,
  deps: ResolvedPollDeps
): Promise<boolean> => {
  const log = { pool: poolName, flow_run_id: run.id };
  const current = await deps.prefect.readFlowRun(run.id);
  const state = current.state;
  if (
    state?.type !== 'CANCELLING' ||
    current.infrastructure_pid !== run.infrastructure_pid ||
    (current.start_time === null) !== (run.start_time === null)
  ) {
    deps.logger.debug('Cancelling run changed since the sweep read it; left for the next sweep', {
      ...log,
      state: state?.type ?? null,
    });
    return false;
  }
  if (action.kind === 'stop-then-cancel') {
    const stopped = await (await deps.ecsForRun(current)).stopTask(
      action.pid.cluster,
      action.pid.taskArn,
      `Prefect flow run ${run.id} was cancelled before it started (prefect-ecs-serverless)`
    );
    deps.logger.info(stopped ? 'Stopped the task of a cancelled run' : 'Task already gone', {
      ...log,
      task_arn: action.pid.taskArn,
    });
  }
  let message = action.message;
  if (action.kind === 'cancel') {
    // "No infrastructure" is not decided from the pid alone: a task started while the launch was in
    // flight, or whose pid write failed, is found through ECS and stopped before CANCELLED.
    const live = await liveTasksOfRun(current, deps);
    for (const task of live) {
      await (await deps.ecsForRun(current)).stopTask(
        task.cluster,
        task.taskArn,
        `Prefect flow run ${run.id} was cancelled (prefect-ecs-serverless)`
      );
      deps.logger.info('Stopped a task of a cancelled run found through ECS', {
        ...log,
        task_arn: task.taskArn,
      });
    }
    if (live.length > 0) message = CANCEL_MESSAGES.whilePending;
  }
  const details = state.state_details;
  await deps.prefect.setFlowRunState(
    run.id,
    {
      type: 'CANCELLED',
      name: 'Cancelled',
      message,
      // As Prefect's worker: keep the details of the Cancelling state (the lease id releases the
      // deployment concurrency slot).
      stateDetails: {
        deploymentConcurrencyLeaseId: details.deployment_concurrency_lease_id,
        scheduledTime: details.scheduled_time,
        pauseKey: details.pause_key,
      },
    },
    // Forced overwrites whatever the run reached since the read above: never resent blindly (a
    // failure is recorded, and the next sweep reads and decides again).
    { force: true, replay: false }
  );
  deps.logger.info('Flow run cancelled', { ...log, message });
  return true;
};

/** Sweeps one pool's CANCELLING runs. */
const sweepCancellingRuns = async (
  poolName: string,
  deps: ResolvedPollDeps,
  result: PoolPollResult
): Promise<void> => {
  const { options, logger } = deps;
  const runs = await listPoolRuns(poolName, 'CANCELLING', 'cancel', deps, result);
  if (!runs || runs.length === 0) return;
  const sightings = await describeRunTasks(runs, 'cancelling', poolName, deps, result);
  await mapWithConcurrency(runs, options.claimConcurrency, async (run) => {
    let started = false;
    try {
      // start_time survives retries: for a run that has one, did the engine start in *this* attempt?
      started =
        run.start_time !== null &&
        engineStartedInCurrentAttempt(await deps.prefect.readFlowRunStates(run.id));
    } catch (error) {
      const message = `Could not read the state history: ${describeError(error)}`;
      result.errors.push({ stage: 'cancel', flowRunId: run.id, message });
      logger.error(message, { pool: poolName, flow_run_id: run.id });
      return;
    }
    const action = decideCancellation(run, livenessOf(sightings.get(run.id) ?? UNKNOWN), started);
    if (action.kind === 'leave') {
      logger.debug('Cancelling run left alone', {
        pool: poolName,
        flow_run_id: run.id,
        reason: action.reason,
      });
      return;
    }
    try {
      if (await carryOut(run, action, poolName, deps)) result.cancelled += 1;
    } catch (error) {
      const message = `Could not cancel: ${describeError(error)}`;
      result.errors.push({ stage: 'cancel', flowRunId: run.id, message });
      logger.error(message, { pool: poolName, flow_run_id: run.id });
    }
  });
};

/** Stops one CANCELLED run's task and posts the line to its logs; `true` when ECS stopped it. */
const stopTaskOfCancelledRun = async (
  run: FlowRun,
  action: Extract<CancelledTaskAction, { kind: 'stop' }>,
  poolName: string,
  deps: ResolvedPollDeps,
  result: PoolPollResult
): Promise<boolean> => {
  const log = { pool: poolName, flow_run_id: run.id, task_arn: action.pid.taskArn };
  const ecs = await deps.ecsForRun(run);
  const stopped = await ecs.stopTask(action.pid.cluster, action.pid.taskArn, action.reason);
  if (!stopped) {
    deps.logger.info('Task of a cancelled run already gone', log);
    return false;
  }
  deps.logger.info('Stopped the still-running task of a cancelled run', log);
  try {
    await deps.prefect.createLogs([
      {
        name: PREFECT_LOGGER_NAME,
        level: LOG_LEVEL.INFO,
        message: action.logMessage,
        timestamp: deps.now(),
        flowRunId: run.id,
      },
    ]);
  } catch (error) {
    // The task is stopped; only the note in the run's logs is missing.
    const message = `Stopped the task of cancelled run, but could not post it to the run's logs: ${describeError(error)}`;
    result.errors.push({ stage: 'cancel', flowRunId: run.id, message });
    deps.logger.warn(message, log);
  }
  return true;
};

/** Sweeps one pool's recently CANCELLED runs for tasks that still run. */
const sweepCancelledRuns = async (
  poolName: string,
  deps: ResolvedPollDeps,
  result: PoolPollResult
): Promise<void> => {
  const { options, logger } = deps;
  const since = new Date(deps.now().getTime() - options.cancelLookbackSeconds * 1000);
  const runs = await listPoolRuns(poolName, 'CANCELLED', 'cancel', deps, result, since);
  if (!runs || runs.length === 0) return;
  const sightings = await describeRunTasks(runs, 'cancelled', poolName, deps, result);
  await mapWithConcurrency(runs, options.claimConcurrency, async (run) => {
    const action = decideCancelledTask(run, sightings.get(run.id) ?? UNKNOWN);
    if (action.kind === 'leave') {
      logger.debug('Cancelled run left alone', {
        pool: poolName,
        flow_run_id: run.id,
        reason: action.reason,
      });
      return;
    }
    try {
      if (await stopTaskOfCancelledRun(run, action, poolName, deps, result)) result.stopped += 1;
    } catch (error) {
      const message = `Could not stop the task of a cancelled run: ${describeError(error)}`;
      result.errors.push({ stage: 'cancel', flowRunId: run.id, message });
      logger.error(message, { pool: poolName, flow_run_id: run.id });
    }
  });
};

/**
 * Sweeps one pool's CANCELLING runs, then its recently CANCELLED ones. Never throws; problems land
 * in `result.errors`.
 */
export const sweepCancellations = async (
  poolName: string,
  deps: ResolvedPollDeps,
  result: PoolPollResult
): Promise<void> => {
  await sweepCancellingRuns(poolName, deps, result);
  await sweepCancelledRuns(poolName, deps, result);
};
