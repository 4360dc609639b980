/**
 * What the cancellation sweep does with one CANCELLING run (prefect-worker-api.md §3): we cancel
 * what the flow engine cannot, i.e. runs whose engine never started, and runs whose task is gone.
 *
 * | engine started? | infrastructure_pid | ECS task    | action                         |
 * |-----------------|--------------------|-------------|--------------------------------|
 * | no              | none               | —           | CANCELLED                      |
 * | no              | ours               | alive       | StopTask, then CANCELLED       |
 * | no              | ours               | gone        | CANCELLED                      |
 * | yes             | ours               | gone        | CANCELLED                      |
 * | yes             | ours               | alive       | leave it to the engine         |
 * | yes             | none               | —           | leave it (nothing to look at)  |
 * | any             | not `cluster::arn` | —           | leave it, with a warning       |
 *
 * "Gone" is DescribeTasks answering MISSING or `lastStatus` STOPPED. A task whose liveness is
 * unknown (DescribeTasks failed) is left for the next sweep.
 */
import { type InfrastructurePid, parseInfrastructurePid } from '../ecs/infrastructure-pid.ts';
import type { FlowRun } from '../prefect/schemas.ts';

/** What ECS says about a run's task. */
export type TaskLiveness = 'alive' | 'gone' | 'unknown';

/**
 * What one DescribeTasks call told the sweep about a run's task: its statuses, `missing` (ECS
 * answered MISSING, or the cluster does not exist), or `unknown` (the call failed, or another
 * failure reason).
 */
export type TaskSighting =
  | { kind: 'found'; lastStatus: string | undefined; desiredStatus: string | undefined }
  | { kind: 'missing' }
  | { kind: 'unknown' };

/**
 * A sighting as the CANCELLING table reads it: gone when MISSING or `lastStatus` STOPPED.
 *
 * @example
 * livenessOf({ kind: 'found', lastStatus: 'RUNNING', desiredStatus: 'RUNNING' }); // 'alive'
 */
export const livenessOf = (sighting: TaskSighting): TaskLiveness => {
  if (sighting.kind === 'unknown') return 'unknown';
  if (sighting.kind === 'missing' || sighting.lastStatus === 'STOPPED') return 'gone';
  return 'alive';
};

/** The sweep's action for one run. */
export type CancelAction =
  | { kind: 'stop-then-cancel'; pid: InfrastructurePid; message: string }
  | { kind: 'cancel'; message: string }
  | { kind: 'leave'; reason: string };

/** The state messages, as Prefect's own worker words them where it has one. */
export const CANCEL_MESSAGES = {
  noInfrastructure: 'Flow run cancelled by worker (no infrastructure found).',
  whilePending: 'Flow run cancelled by worker while pending.',
  taskAlreadyStopped:
    'Flow run cancelled by worker while pending: its ECS task had already stopped.',
  taskGone: (taskArn: string) =>
    `Flow run cancelled by worker: its ECS task ${taskArn} is gone (stopped or no longer known to ECS), so nothing is left to cancel it.`,
} as const;

/** The task a run's `infrastructure_pid` names, if it is in the `cluster::taskArn` form. */
export const taskOf = (run: FlowRun): InfrastructurePid | undefined =>
  run.infrastructure_pid ? parseInfrastructurePid(run.infrastructure_pid) : undefined;

/**
 * Decides for one CANCELLING run, given its task's liveness (ignored when it has no task) and
 * whether the engine started in the run's current attempt (default: `start_time` is set, which
 * Prefect never resets; the sweep passes what the state history says for a retried run).
 *
 * @example
 * decideCancellation(run, 'alive'); // { kind: 'stop-then-cancel', pid, message: '…while pending.' }
 */
export const decideCancellation = (
  run: FlowRun,
  liveness: TaskLiveness,
  started: boolean = run.start_time !== null
): CancelAction => {
  if (!run.infrastructure_pid) {
    return started
      ? { kind: 'leave', reason: 'the engine started it and it has no infrastructure_pid' }
      : { kind: 'cancel', message: CANCEL_MESSAGES.noInfrastructure };
  }
  const pid = taskOf(run);
  if (!pid) {
    return {
      kind: 'leave',
      reason: `infrastructure_pid '${run.infrastructure_pid}' is not <cluster>::<task ARN>`,
    };
  }
  if (liveness === 'unknown') return { kind: 'leave', reason: 'the task could not be described' };
  if (liveness === 'gone') {
    return {
      kind: 'cancel',
      message: started ? CANCEL_MESSAGES.taskGone(pid.taskArn) : CANCEL_MESSAGES.taskAlreadyStopped,
    };
  }
  return started
    ? {
        kind: 'leave',
        reason: 'the engine started it and its task is alive: the engine cancels it',
      }
    : { kind: 'stop-then-cancel', pid, message: CANCEL_MESSAGES.whilePending };
};
