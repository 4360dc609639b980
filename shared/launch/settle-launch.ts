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
    .setFlowRunState(message.flow_run_id, { type: 'CRASHED', name: 'Crashed', message: reason })
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
    { force: true }
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

/** Records the task on the run: `infrastructure_pid` (required) and a log line (best effort). */
export const recordLaunch = async (
  run: FlowRun,
  prepared: PreparedLaunch,
  started: StartedLaunch,
  deps: LaunchDeps
): Promise<LaunchOutcome> => {
  const { task, taskDefinitionArn, registered } = started;
  const pid = infrastructurePid(prepared.configuration.cluster, {
    clusterArn: task.clusterArn,
    taskArn: task.taskArn,
  });
  if (run.infrastructure_pid === pid) {
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
  ];
  await bestEffort('post the launch to the flow run logs', deps, () =>
    postFlowRunLogs(deps, run.id, lines)
  );
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
