/**
 * What the cancellation sweep does with one run that reached CANCELLED recently
 * (`CANCEL_LOOKBACK_SECONDS`) while its ECS task may still run. Prefect 3.8 forces a run that stays
 * CANCELLING for 300 s to CANCELLED and leaves the teardown to workers listening on a websocket,
 * which a Lambda cannot hold; a person may also set CANCELLED by hand. Either way the flow engine
 * is not told, so the task would run (and bill) until it ends by itself.
 *
 * | infrastructure_pid | DescribeTasks says                      | action                 |
 * |--------------------|-----------------------------------------|------------------------|
 * | none               | —                                       | leave it               |
 * | not `cluster::arn` | —                                       | leave it               |
 * | ours               | nothing (the call failed)               | leave it for next time |
 * | ours               | MISSING, or `lastStatus` STOPPED        | leave it (gone)        |
 * | ours               | `desiredStatus` STOPPED                 | leave it (stopping)    |
 * | ours               | anything else                           | StopTask, log on run   |
 *
 * StopTask sets `desiredStatus` STOPPED at once, so the next sweep finds the task stopping (or
 * gone) and leaves it: each task is stopped once, however often the sweep runs.
 */
import type { InfrastructurePid } from '../ecs/infrastructure-pid.ts';
import type { FlowRun } from '../prefect/schemas.ts';
import { type TaskSighting, taskOf } from './cancel-decision.ts';

/** ECS keeps at most this many characters of a StopTask `reason`. */
export const STOP_REASON_MAX_LENGTH = 255;

/** The sweep's action for one CANCELLED run. */
export type CancelledTaskAction =
  | {
      kind: 'stop';
      pid: InfrastructurePid;
      /** The StopTask `reason` (ECS shows it as `stoppedReason`), at most 255 characters. */
      reason: string;
      /** The line posted to the run's Prefect logs once the task is stopped. */
      logMessage: string;
    }
  | { kind: 'leave'; reason: string };

/** The StopTask reason: names the run by id, and by name while it fits in 255 characters. */
const stopReason = (run: FlowRun): string => {
  const start = `Prefect flow run ${run.id}`;
  const end = ' is Cancelled but its task was still running (prefect-ecs-serverless)';
  const room = STOP_REASON_MAX_LENGTH - start.length - end.length - ' ()'.length;
  if (run.name === '' || room <= 0) return `${start}${end}`.slice(0, STOP_REASON_MAX_LENGTH);
  const name = run.name.length <= room ? run.name : `${run.name.slice(0, room - 1)}…`;
  return `${start} (${name})${end}`;
};

/**
 * Decides for one CANCELLED run, given what DescribeTasks said about its task (ignored when it has
 * no task).
 *
 * @example
 * decideCancelledTask(run, { kind: 'found', lastStatus: 'RUNNING', desiredStatus: 'RUNNING' });
 * // { kind: 'stop', pid, reason: 'Prefect flow run … is Cancelled but its task was still running …', logMessage }
 */
export const decideCancelledTask = (run: FlowRun, sighting: TaskSighting): CancelledTaskAction => {
  if (run.state?.type !== 'CANCELLED') {
    return { kind: 'leave', reason: `the run is ${run.state?.type ?? 'without state'}` };
  }
  if (!run.infrastructure_pid) return { kind: 'leave', reason: 'it has no infrastructure_pid' };
  const pid = taskOf(run);
  if (!pid) {
    return {
      kind: 'leave',
      reason: `infrastructure_pid '${run.infrastructure_pid}' is not <cluster>::<task ARN>`,
    };
  }
  if (sighting.kind === 'unknown') {
    return { kind: 'leave', reason: 'the task could not be described (next sweep)' };
  }
  if (sighting.kind === 'missing') return { kind: 'leave', reason: 'ECS no longer knows the task' };
  if (sighting.lastStatus === 'STOPPED') return { kind: 'leave', reason: 'the task has stopped' };
  if (sighting.desiredStatus === 'STOPPED') {
    return { kind: 'leave', reason: 'the task was already asked to stop' };
  }
  return {
    kind: 'stop',
    pid,
    reason: stopReason(run),
    logMessage: `Stopped ECS task ${pid.taskArn}: the flow run is Cancelled but its task was still running (last status ${sighting.lastStatus ?? 'unknown'}).`,
  };
};
