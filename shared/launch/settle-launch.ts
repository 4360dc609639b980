/**
 * Settling a launch: CRASHED or retry for failures before the task starts, CANCELLED for a deleted
 * deployment, and recording a started task on the run.
 */
import { ATTEMPT_LABEL } from '../ecs/attempt-marker.ts';
import { infrastructurePid } from '../ecs/infrastructure-pid.ts';
import { LaunchError } from '../errors/launch-error.ts';
import { workerLabels } from '../poll/run-labels.ts';
import { hasStatus, isNotFound } from '../prefect/prefect-api-error.ts';
import type { Deployment, FlowRun } from '../prefect/schemas.ts';
import { classifyError, describeError } from './classify-error.ts';
import {
  bestEffort,
  type LaunchDeps,
  type LaunchOutcome,
  LOG_LEVEL,
  postFlowRunLogs,
  SUBMISSION_FAILURE_PREFIX,
} from './launch-deps.ts';
import { type LaunchMessage, retryDeadlineMs } from './launch-message.ts';
import type { PreparedLaunch } from './prepare-launch.ts';
import type { StartedLaunch } from './start-launch.ts';

/** Says how long a transient failure was retried, from when (the later of schedule and claim). */
const gaveUpNote = (message: LaunchMessage, deadlineSeconds: number): string => {
  const claimedLater =
    message.claimed_at !== undefined &&
    Date.parse(message.claimed_at) > Date.parse(message.scheduled_time);
  const from = claimedLater
    ? `the run was claimed (${message.claimed_at})`
    : `its scheduled time (${message.scheduled_time})`;
  return `The launcher kept retrying for ${deadlineSeconds} s after ${from} and has given up (LAUNCH_RETRY_DEADLINE_SECONDS).`;
};

/** Settles a failure before the task started: CRASHED (permanent, or past the deadline) or retry. */
export const settleFailure = async (
  error: unknown,
  message: LaunchMessage,
  deps: LaunchDeps,
  nowMs: number
): Promise<LaunchOutcome> => {
  // Our own credentials or permissions at Prefect are not the run's fault: never crash runs for
  // them; the message comes back (and reaches the DLQ) until the configuration is fixed.
  if (hasStatus(error, 401, 403)) throw error;
  const retryable = classifyError(error) === 'retryable';
  const deadlineMs = retryDeadlineMs(message, deps.settings.retryDeadlineSeconds);
  if (retryable && nowMs < deadlineMs) throw error;
  const reason = `${SUBMISSION_FAILURE_PREFIX}${describeError(error)}${
    retryable ? ` ${gaveUpNote(message, deps.settings.retryDeadlineSeconds)}` : ''
  }`;
  deps.logger.error('Launch failed; proposing CRASHED', { reason, retryable });
  const result = await deps.prefect
    // Not resent on failure: the message comes back and the run is read and decided again.
    .setFlowRunState(
      message.flow_run_id,
      { type: 'CRASHED', name: 'Crashed', message: reason },
      { replay: false }
    )
    .catch((proposalError: unknown) => {
      if (isNotFound(proposalError)) return undefined;
      throw proposalError;
    });
  if (result && result.status !== 'ACCEPT') {
    deps.logger.info(`CRASHED answered ${result.status}; leaving the run as it is`, {
      state: result.state?.type,
      details: result.details,
    });
  }
  await bestEffort('post the failure to the flow run logs', deps, () =>
    postFlowRunLogs(deps, message.flow_run_id, [{ level: LOG_LEVEL.ERROR, message: reason }])
  );
  return { status: 'crashed', reason, retryable };
};

/** Reads the deployment; 404 → CANCELLED (forced) as the official worker does. */
export const readDeploymentOrCancel = async (
  run: FlowRun,
  deps: LaunchDeps
): Promise<Deployment | null | { cancelled: string }> => {
  if (run.deployment_id === null) return null;
  try {
    return await deps.prefect.readDeployment(run.deployment_id);
  } catch (error) {
    if (!isNotFound(error)) throw error;
  }
  const reason = `Deployment ${run.deployment_id} no longer exists, cancelled run.`;
  await deps.prefect.setFlowRunState(
    run.id,
    { type: 'CANCELLED', name: 'Cancelled', message: reason },
    // Forced overwrites whatever state the run reached: never resent blindly.
    { force: true, replay: false }
  );
  deps.logger.info(reason);
  return { cancelled: reason };
};

/**
 * Makes sure, before RunTask, that the run's labels name this attempt (`attempt-marker.ts`) and
 * the worker, as the poller writes them after the claim: then whenever a task of an attempt exists,
 * the label names that attempt or a later one, which is what the reporter relies on. Costs nothing
 * when the poller's write landed. A transient failure throws (the launch is retried); a server
 * without labels (before 3.2) or a refused write is logged and the launch goes on (the reporter
 * then reads the run's state history instead).
 */
export const labelAttempt = async (
  run: FlowRun,
  workPool: { name: string; id: string },
  message: LaunchMessage,
  deps: LaunchDeps
): Promise<void> => {
  const labels = {
    ...workerLabels(deps.settings.workerName, workPool),
    [ATTEMPT_LABEL]: message.transition_id,
  };
  if (Object.entries(labels).every(([key, value]) => run.labels[key] === value)) return;
  try {
    const answer = await deps.prefect.updateFlowRunLabels(run.id, labels);
    if (answer === 'unsupported') {
      deps.logger.debug('The Prefect server does not support flow-run labels (before 3.2)');
    }
  } catch (error) {
    if (classifyError(error) === 'retryable') throw error;
    deps.logger.warn('Could not label the flow run with its attempt', {
      error: describeError(error),
    });
  }
};

/** Run states in which a task just started for the run must not run: stop it at once. */
const STOP_IF: ReadonlySet<string> = new Set([
  'CANCELLING',
  'CANCELLED',
  'COMPLETED',
  'FAILED',
  'CRASHED',
  'SCHEDULED',
]);

/**
 * Reads the run again right after RunTask, and stops the task at once when the run left PENDING
 * meanwhile: the user cancelled it (the cancel sweep may already have written CANCELLED, seeing no
 * task), the orphan sweep crashed it, it finished or was rescheduled elsewhere. Prefect would let
 * the task's engine move a CANCELLED or COMPLETED run back to RUNNING, so only this read, made
 * after the task exists, closes the race with a cancel (the sweep's ListTasks covers the other
 * order). RUNNING and PAUSED runs are left alone: their flow may be running in this very task (a
 * repeated delivery gets the attempt's task back). The pid is recorded either way. A failed read is
 * logged and the launch goes on (the cancel sweeps ask ECS for the run's tasks).
 */
export const stopIfRunLeftPending = async (
  run: FlowRun,
  prepared: PreparedLaunch,
  started: StartedLaunch,
  deps: LaunchDeps
): Promise<{ stopped: string } | undefined> => {
  let current: FlowRun;
  try {
    current = await deps.prefect.readFlowRun(run.id);
  } catch (error) {
    deps.logger.warn('Could not read the run again after RunTask', { error: describeError(error) });
    return undefined;
  }
  const type = current.state?.type;
  if (type === undefined || !STOP_IF.has(type)) return undefined;
  const { task } = started;
  const reason = `Prefect flow run ${run.id} became ${type} while its ECS task was being started (prefect-ecs-serverless)`;
  try {
    await deps.ecs.stopTask(
      task.clusterArn || prepared.configuration.cluster || undefined,
      task.taskArn,
      reason
    );
  } catch (error) {
    if (classifyError(error) === 'retryable') {
      throw new LaunchError(
        `Could not stop ECS task ${task.taskArn}: ${describeError(error)}`,
        true,
        {
          flowRunId: run.id,
          taskArn: task.taskArn,
          cause: error,
        }
      );
    }
    deps.logger.error('Could not stop the task of a run that left PENDING', {
      error: describeError(error),
    });
  }
  deps.logger.warn('Stopped the task at once: the run left PENDING while it was started', {
    run_state: type,
    task_arn: task.taskArn,
  });
  return { stopped: `the run became ${type} while its task was started; the task was stopped` };
};

/** Records the task on the run: `infrastructure_pid` (required) and a log line (best effort). */
export const recordLaunch = async (
  run: FlowRun,
  prepared: PreparedLaunch,
  started: StartedLaunch,
  deps: LaunchDeps,
  stopped?: { stopped: string }
): Promise<LaunchOutcome> => {
  const { task, taskDefinitionArn, registered } = started;
  const pid = infrastructurePid(prepared.configuration.cluster, {
    clusterArn: task.clusterArn,
    taskArn: task.taskArn,
  });
  if (run.infrastructure_pid === pid && !stopped) {
    // A repeated delivery of this attempt: RunTask gave back the task recorded already.
    const reason = `this attempt already has its task (infrastructure_pid ${pid})`;
    deps.logger.info('Not launching', { reason });
    return { status: 'skipped', reason };
  }
  let pidRecorded = true;
  try {
    await deps.prefect.updateFlowRun(run.id, { infrastructurePid: pid });
  } catch (error) {
    if (classifyError(error) === 'retryable') {
      throw new LaunchError(
        `Started ECS task ${task.taskArn} but could not record it on flow run ${run.id}: ${describeError(error)}`,
        true,
        { flowRunId: run.id, taskArn: task.taskArn, cause: error }
      );
    }
    pidRecorded = false;
    deps.logger.error('Could not record infrastructure_pid; the flow run will not be cancellable', {
      infrastructure_pid: pid,
      error: describeError(error),
    });
  }

  const lines = [
    ...prepared.warnings.map((warning) => ({ level: LOG_LEVEL.WARNING, message: warning })),
    {
      level: LOG_LEVEL.INFO,
      message: `Created ECS task '${task.taskArn}' from task definition '${taskDefinitionArn}'${registered ? ' (registered for this run)' : ''}; infrastructure_pid '${pid}'.`,
    },
    ...(stopped
      ? [
          {
            level: LOG_LEVEL.WARNING,
            message: `Stopped ECS task '${task.taskArn}' at once: ${stopped.stopped}.`,
          },
        ]
      : []),
  ];
  await bestEffort('post the launch to the flow run logs', deps, () =>
    postFlowRunLogs(deps, run.id, lines)
  );
  if (stopped) {
    return {
      status: 'stopped',
      reason: stopped.stopped,
      taskArn: task.taskArn,
      infrastructurePid: pid,
    };
  }
  return {
    status: 'launched',
    taskArn: task.taskArn,
    taskDefinitionArn,
    infrastructurePid: pid,
    registered,
    via: task.via,
    pidRecorded,
  };
};
