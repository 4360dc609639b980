/**
 * RunTask exactly once per claim (DESIGN.md invariant 1).
 *
 * RunTask is called with `clientToken` = the flow run id, so a repeat within ECS's 24 h idempotency
 * window (a redelivered message, a second launcher, a launcher that died before recording the pid)
 * gets the same task back instead of a new one.
 *
 * The same token also comes back when the *run* is launched again legitimately: a user retries a
 * crashed run, or a FARGATE_SPOT run reschedules itself, within 24 h. ECS would then hand back the
 * old, stopped task (or refuse with ConflictException when the request changed). So when the token's
 * task has ended, or conflicts, the launcher first looks for a live task started for this run
 * (ListTasks by `startedBy`) and adopts it; only when there is none does it start one with a token
 * scoped to this claim, derived from the flow run id and the claim's transition id, which is again
 * idempotent for every delivery of the claim. Steady state costs one ECS call.
 */
import { createHash } from 'node:crypto';
import type { EcsApi, RunTaskInput, StartedTask } from '../ecs/ecs-api.ts';
import { EcsApiError } from '../errors/ecs-api-error.ts';
import { LaunchError } from '../errors/launch-error.ts';
import { PermanentLaunchError } from '../errors/permanent-launch-error.ts';
import { classifyRunTaskFailure } from './run-task-failures.ts';

/** A task of the run, with its cluster ARN. */
export interface LaunchedTask {
  taskArn: string;
  clusterArn: string;
  /** How it was obtained. */
  via: 'run_task' | 'live_task' | 'claim_token';
}

/** Inputs of {@link startTaskOnce}. */
export interface StartTaskInput {
  /** The built request; its `clientToken` is the flow run id and `startedBy` names the run. */
  runTaskInput: RunTaskInput;
  flowRunId: string;
  /** The claim's transition id (the launch message's). */
  claimTransitionId: string;
}

/**
 * A clientToken for one claim of a run: a UUID-shaped digest of the run id and the claim's
 * transition id (36 characters, within ECS's 64 and its 33–126 character range).
 *
 * @example
 * claimClientToken('0b6c…', '2d9f…'); // 'a3c1…-…' (always the same for the same pair)
 */
export const claimClientToken = (flowRunId: string, transitionId: string): string => {
  const hex = createHash('sha256').update(`${flowRunId}/${transitionId}`).digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
};

/** `arn:aws:ecs:<region>:<account>:task/<cluster>/<id>` → the cluster's ARN. */
export const clusterArnOfTask = (taskArn: string): string | undefined => {
  const match = /^(arn:[^:]+:ecs:[^:]+:\d+):task\/([^/]+)\/[^/]+$/.exec(taskArn);
  return match ? `${match[1]}:cluster/${match[2]}` : undefined;
};

type Attempt = { kind: 'task'; task: StartedTask } | { kind: 'conflict'; error: EcsApiError };

const runOnce = async (ecs: EcsApi, input: RunTaskInput, flowRunId: string): Promise<Attempt> => {
  let result: Awaited<ReturnType<EcsApi['runTask']>>;
  try {
    result = await ecs.runTask(input);
  } catch (error) {
    if (error instanceof EcsApiError && error.code === 'ConflictException') {
      return { kind: 'conflict', error };
    }
    throw error;
  }
  const failure = result.failures[0];
  if (failure) {
    const classified = classifyRunTaskFailure(failure);
    throw classified.retryable
      ? new LaunchError(classified.message, true, { flowRunId })
      : new PermanentLaunchError(classified.message, { flowRunId });
  }
  const task = result.tasks[0];
  if (!task) {
    throw new LaunchError('ECS RunTask answered with neither a task nor a failure.', true, {
      flowRunId,
    });
  }
  return { kind: 'task', task };
};

const launched = (task: StartedTask, via: LaunchedTask['via']): LaunchedTask => ({
  taskArn: task.taskArn,
  clusterArn: task.clusterArn ?? clusterArnOfTask(task.taskArn) ?? '',
  via,
});

/**
 * Starts the run's task, or returns the one already started for it (see the module comment).
 * Throws `LaunchError` (retryable) / `PermanentLaunchError` for RunTask failures, and
 * `EcsApiError` for refused calls.
 *
 * @example
 * const task = await startTaskOnce({ runTaskInput, flowRunId, claimTransitionId }, { ecs });
 */
export const startTaskOnce = async (
  input: StartTaskInput,
  deps: { ecs: EcsApi }
): Promise<LaunchedTask> => {
  const { ecs } = deps;
  const first = await runOnce(ecs, input.runTaskInput, input.flowRunId);
  if (first.kind === 'task' && first.task.desiredStatus !== 'STOPPED') {
    return launched(first.task, 'run_task');
  }
  // The run's token belongs to an earlier launch that has ended (or was used for another request).
  const startedBy = input.runTaskInput.startedBy;
  if (startedBy) {
    const live = await ecs.listLiveTasksStartedBy(input.runTaskInput.cluster, startedBy);
    const taskArn = live[0];
    if (taskArn !== undefined) {
      return { taskArn, clusterArn: clusterArnOfTask(taskArn) ?? '', via: 'live_task' };
    }
  }
  const second = await runOnce(
    ecs,
    {
      ...input.runTaskInput,
      clientToken: claimClientToken(input.flowRunId, input.claimTransitionId),
    },
    input.flowRunId
  );
  if (second.kind === 'task') return launched(second.task, 'claim_token');
  // This claim's own token was used for a different request and no task of the run is alive: the
  // claim's task ran and ended; the reporter settles the run's state. Try again later, by when the
  // run has normally left PENDING and the message is dropped.
  throw new LaunchError(
    `ECS refused to start a task for this claim again: ${second.error.message}`,
    true,
    { flowRunId: input.flowRunId, cause: second.error }
  );
};
