/**
 * The cancellation sweep of one pool: find its CANCELLING runs, ask ECS once per cluster whether
 * their tasks are alive, then stop and cancel what the engine cannot (`cancel-decision.ts`).
 * Before writing CANCELLED (forced, as Prefect's worker does) the run is read again: force would
 * overwrite whatever state it reached meanwhile, so we act only if it is still CANCELLING with the
 * same infrastructure and start time as when we decided.
 */
import { EcsApiError } from '../errors/ecs-api-error.ts';
import type { FlowRun } from '../prefect/schemas.ts';
import {
  type CancelAction,
  decideCancellation,
  type TaskLiveness,
  taskOf,
} from './cancel-decision.ts';
import { listPoolRuns } from './list-pool-runs.ts';
import { mapWithConcurrency } from './map-with-concurrency.ts';
import { describeError, type ResolvedPollDeps } from './poll-deps.ts';
import type { PoolPollResult } from './poll-result.ts';

/** Liveness of each run's task, keyed by flow run id; runs without a parsable pid are absent. */
const describeLiveness = async (
  runs: readonly FlowRun[],
  poolName: string,
  deps: ResolvedPollDeps,
  result: PoolPollResult
): Promise<Map<string, TaskLiveness>> => {
  const byCluster = new Map<string, { runId: string; taskArn: string }[]>();
  for (const run of runs) {
    const pid = taskOf(run);
    if (!pid) continue;
    const group = byCluster.get(pid.cluster) ?? [];
    group.push({ runId: run.id, taskArn: pid.taskArn });
    byCluster.set(pid.cluster, group);
  }
  const liveness = new Map<string, TaskLiveness>();
  for (const [cluster, group] of byCluster) {
    try {
      const answer = await deps.ecs.describeTasks(
        cluster,
        group.map(({ taskArn }) => taskArn)
      );
      const tasks = new Map(answer.tasks.map((task) => [task.taskArn, task]));
      const failures = new Map(answer.failures.map((failure) => [failure.arn, failure.reason]));
      for (const { runId, taskArn } of group) {
        const task = tasks.get(taskArn);
        if (task) liveness.set(runId, task.lastStatus === 'STOPPED' ? 'gone' : 'alive');
        else if (failures.get(taskArn) === 'MISSING') liveness.set(runId, 'gone');
        else liveness.set(runId, 'unknown');
      }
    } catch (error) {
      if (error instanceof EcsApiError && error.code === 'ClusterNotFoundException') {
        // No cluster, no task.
        for (const { runId } of group) liveness.set(runId, 'gone');
        continue;
      }
      const message = `Could not describe the tasks of cancelling runs on cluster ${cluster}: ${describeError(error)}`;
      result.errors.push({ stage: 'cancel', message });
      deps.logger.error(message, { pool: poolName, cluster });
    }
  }
  return liveness;
};

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
    const stopped = await deps.ecs.stopTask(
      action.pid.cluster,
      action.pid.taskArn,
      `Prefect flow run ${run.id} was cancelled before it started (prefect-ecs-serverless)`
    );
    deps.logger.info(stopped ? 'Stopped the task of a cancelled run' : 'Task already gone', {
      ...log,
      task_arn: action.pid.taskArn,
    });
  }
  const details = state.state_details;
  await deps.prefect.setFlowRunState(
    run.id,
    {
      type: 'CANCELLED',
      name: 'Cancelled',
      message: action.message,
      // As Prefect's worker: keep the details of the Cancelling state (the lease id releases the
      // deployment concurrency slot).
      stateDetails: {
        deploymentConcurrencyLeaseId: details.deployment_concurrency_lease_id,
        scheduledTime: details.scheduled_time,
        pauseKey: details.pause_key,
      },
    },
    { force: true }
  );
  deps.logger.info('Flow run cancelled', { ...log, message: action.message });
  return true;
};

/** Sweeps one pool's CANCELLING runs. Never throws; problems land in `result.errors`. */
export const sweepCancellations = async (
  poolName: string,
  deps: ResolvedPollDeps,
  result: PoolPollResult
): Promise<void> => {
  const { options, logger } = deps;
  const runs = await listPoolRuns(poolName, 'CANCELLING', 'cancel', deps, result);
  if (!runs) return;
  if (runs.length === 0) return;
  const liveness = await describeLiveness(runs, poolName, deps, result);
  await mapWithConcurrency(runs, options.claimConcurrency, async (run) => {
    const action = decideCancellation(run, liveness.get(run.id) ?? 'unknown');
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
