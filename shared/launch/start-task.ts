/**
 * RunTask exactly once per *attempt* of a flow run (DESIGN.md "Attempts", invariant 1).
 *
 * A flow run keeps its id across attempts (the UI's Retry, a Spot task rescheduling itself, an
 * automation), so the unit of launch is the claim: the accepted PENDING proposal whose
 * `transition_id` the launch message carries. RunTask's `clientToken` is derived from the flow run id
 * *and* that transition id (`claimClientToken`): every delivery of one claim, every launcher that
 * races on it, and a launcher that died after RunTask get the same task back from ECS (its
 * idempotency window is about 24 h), whatever its status, and another attempt of the same run gets a
 * task of its own. Steady state: one ECS call.
 *
 * When ECS answers ConflictException, the attempt's token was already used with a *different*
 * request (two launchers rendered different task-definition revisions): the attempt has a task. It
 * is looked up among the run's live tasks (ListTasks by `startedBy`) and recognised by the attempt
 * marker it carries (`attempt-marker.ts`), never by the run's `infrastructure_pid`, which may still
 * name an older attempt's task. When none is live any more, the attempt's task has ended and
 * nothing is started.
 *
 * Messages of the previous release (no `claimed_at`) were launched with the flow run id as token.
 * For them that token is tried first, as the previous launcher did, so a task it started before
 * dying is found again; its answer is taken only when that task is alive and was created after the
 * claim (an older attempt's task is not this attempt's), and otherwise the attempt token is used.
 */

import { claimClientToken } from '../ecs/client-token.ts';
import type { EcsApi, RunTaskInput, StartedTask } from '../ecs/ecs-api.ts';
import { EcsApiError } from '../errors/ecs-api-error.ts';
import { LaunchError } from '../errors/launch-error.ts';
import { PermanentLaunchError } from '../errors/permanent-launch-error.ts';
import { classifyRunTaskFailure } from './run-task-failures.ts';

export { claimClientToken } from '../ecs/client-token.ts';

/** The attempt's task, with its cluster ARN. */
export interface LaunchedTask {
  taskArn: string;
  clusterArn: string;
  /**
   * How it was obtained: `run_task` (RunTask with the attempt's token: started now, or the one an
   * earlier delivery started), `legacy_token` (the previous release's token, the flow run id),
   * `attempt_task` (found after a ConflictException on the attempt's token).
   */
  via: 'run_task' | 'legacy_token' | 'attempt_task';
}

/** Inputs of {@link startTaskOnce}. */
export interface StartTaskInput {
  /** The built request; `startedBy` names the run. Its `clientToken` is replaced. */
  runTaskInput: RunTaskInput;
  flowRunId: string;
  /** The claim's transition id (the launch message's): identifies the attempt. */
  claimTransitionId: string;
  /** When the claim was accepted: a task created before it belongs to an older attempt. */
  claimedAt: Date | undefined;
  /** The message came from the previous release, whose launcher used the flow run id as token. */
  legacyToken?: boolean;
}

/**
 * The attempt already had a task, which has ended (ECS answered ConflictException for the attempt's
 * token and no task of the attempt is alive): nothing is started. Not retryable.
 */
export class AttemptAlreadyLaunchedError extends Error {
  override readonly name = 'AttemptAlreadyLaunchedError';
}

/** `arn:aws:ecs:<region>:<account>:task/<cluster>/<id>` → the cluster's ARN. */
export const clusterArnOfTask = (taskArn: string): string | undefined => {
  const match = /^(arn:[^:]+:ecs:[^:]+:\d+):task\/([^/]+)\/[^/]+$/.exec(taskArn);
  return match ? `${match[1]}:cluster/${match[2]}` : undefined;
};

/** What identifies an attempt: its claim, and when the claim was accepted (when known). */
export interface AttemptIdentity {
  transitionId: string;
  claimedAt: Date | undefined;
}

/**
 * Whether a task belongs to the attempt: by the attempt marker it carries (`attempt-marker.ts`),
 * or, for a task of the previous release without one, by being created after the claim (a task is
 * always created after the claim it was started for). Unknown times give the benefit of the doubt.
 *
 * @example
 * isTaskOfAttempt({ attempt: claim, createdAt }, { transitionId: claim, claimedAt }); // true
 */
export const isTaskOfAttempt = (
  task: { attempt?: string | undefined; createdAt?: Date | undefined },
  attempt: AttemptIdentity
): boolean => {
  if (task.attempt !== undefined) return task.attempt === attempt.transitionId;
  const created = task.createdAt?.getTime();
  const claimed = attempt.claimedAt?.getTime();
  return (
    created === undefined ||
    claimed === undefined ||
    Number.isNaN(created) ||
    Number.isNaN(claimed) ||
    created >= claimed
  );
};

type Answer = { kind: 'task'; task: StartedTask } | { kind: 'conflict'; error: EcsApiError };

const runOnce = async (ecs: EcsApi, input: RunTaskInput, flowRunId: string): Promise<Answer> => {
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

/** After a ConflictException on the attempt's token: the attempt's live task, if any. */
const findAttemptTask = async (
  ecs: EcsApi,
  input: StartTaskInput,
  conflict: EcsApiError
): Promise<LaunchedTask> => {
  const { runTaskInput, flowRunId } = input;
  const attempt = { transitionId: input.claimTransitionId, claimedAt: input.claimedAt };
  const live = runTaskInput.startedBy
    ? await ecs.listLiveTasksStartedBy(runTaskInput.cluster, runTaskInput.startedBy)
    : [];
  // A task is taken only when something positively ties it to this attempt: its marker, or (for
  // a task without one) a creation after a known claim time.
  const mine = live.filter(
    (task) =>
      (task.attempt !== undefined ||
        (attempt.claimedAt !== undefined && task.createdAt !== undefined)) &&
      isTaskOfAttempt(task, attempt)
  );
  const newest = mine.sort(
    (a, b) => (b.createdAt?.getTime() ?? 0) - (a.createdAt?.getTime() ?? 0)
  )[0];
  if (newest) {
    return {
      taskArn: newest.taskArn,
      clusterArn: clusterArnOfTask(newest.taskArn) ?? '',
      via: 'attempt_task',
    };
  }
  throw new AttemptAlreadyLaunchedError(
    `This attempt of flow run ${flowRunId} already had an ECS task (RunTask answered ${conflict.code ?? 'ConflictException'} for the attempt's clientToken) and no task of this attempt is still running, so no other task is started.`
  );
};

/**
 * Starts the attempt's task, or returns the one already started for it (see the module comment).
 * Throws `LaunchError` (retryable) / `PermanentLaunchError` for RunTask failures, `EcsApiError`
 * for refused calls, and `AttemptAlreadyLaunchedError` when the attempt's task has already ended.
 *
 * @example
 * const task = await startTaskOnce({ runTaskInput, flowRunId, claimTransitionId, claimedAt }, { ecs });
 */
export const startTaskOnce = async (
  input: StartTaskInput,
  deps: { ecs: EcsApi }
): Promise<LaunchedTask> => {
  const { ecs } = deps;
  const { runTaskInput, flowRunId, claimTransitionId, claimedAt } = input;
  if (input.legacyToken) {
    const legacy = await runOnce(ecs, { ...runTaskInput, clientToken: flowRunId }, flowRunId);
    if (
      legacy.kind === 'task' &&
      legacy.task.desiredStatus !== 'STOPPED' &&
      isTaskOfAttempt(legacy.task, { transitionId: claimTransitionId, claimedAt })
    ) {
      return launched(legacy.task, 'legacy_token');
    }
  }
  const answer = await runOnce(
    ecs,
    { ...runTaskInput, clientToken: claimClientToken(flowRunId, claimTransitionId) },
    flowRunId
  );
  if (answer.kind === 'task') return launched(answer.task, 'run_task');
  return findAttemptTask(ecs, input, answer.error);
};
