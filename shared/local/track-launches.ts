/**
 * Which tasks the launcher started: the launcher's ECS port, wrapped to report every task it
 * obtained for a run (a RunTask answer, or the live task it adopted with ListTasks), so the local
 * worker can follow them. Nothing else changes: calls, answers and errors pass through.
 */
import type { EcsApi } from '../ecs/ecs-api.ts';
import { flowRunIdFromStartedBy } from '../ecs/started-by.ts';

/** A task the launcher obtained for a flow run. */
export interface TrackedLaunch {
  taskArn: string;
  /** The cluster the launcher asked (name or ARN; undefined: the default cluster). */
  cluster: string | undefined;
  /** From `startedBy` (`prefect/<id>`); undefined for a task that is not a flow run's. */
  flowRunId: string | undefined;
  at: Date;
}

/**
 * @example
 * const deps = await createLauncherDeps(config, { logger });
 * deps.ecs = trackLaunches(deps.ecs, (launch) => follower.follow(launch.taskArn, launch.cluster));
 */
export const trackLaunches = <T extends EcsApi>(
  ecs: T,
  onLaunch: (launch: TrackedLaunch) => void,
  now: () => Date = () => new Date()
): T => ({
  ...ecs,
  async runTask(input) {
    const result = await ecs.runTask(input);
    for (const task of result.tasks) {
      // A stopped task (answered for a token already used) has nothing left to follow.
      if (task.desiredStatus === 'STOPPED') continue;
      onLaunch({
        taskArn: task.taskArn,
        cluster: input.cluster,
        flowRunId: flowRunIdFromStartedBy(input.startedBy),
        at: now(),
      });
    }
    return result;
  },
  async listLiveTasksStartedBy(cluster, startedBy) {
    const live = await ecs.listLiveTasksStartedBy(cluster, startedBy);
    // The launcher may adopt one of them (the attempt's, after a ConflictException); following an
    // older attempt's too only reports events the reporter ignores.
    for (const task of live) {
      onLaunch({
        taskArn: task.taskArn,
        cluster,
        flowRunId: flowRunIdFromStartedBy(startedBy),
        at: now(),
      });
    }
    return live;
  },
});
