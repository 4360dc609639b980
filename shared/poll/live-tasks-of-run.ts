/**
 * The run's live ECS tasks, found through ECS rather than the run's `infrastructure_pid`: the pid
 * may be missing (the launcher's PATCH failed, or the launch is still in flight) or name an older
 * attempt's task. ListTasks by `startedBy` = `prefect/<flow run id>` (which ECS allows only on its
 * own, per cluster) on each cluster the run may use: its pid's, its own `cluster` job variable, its
 * deployment's (read only when needed), else the account's default cluster.
 */
import type { EcsApi } from '../ecs/ecs-api.ts';
import { startedByForFlowRun } from '../ecs/started-by.ts';
import { EcsApiError } from '../errors/ecs-api-error.ts';
import { isNotFound } from '../prefect/prefect-api-error.ts';
import type { FlowRun } from '../prefect/schemas.ts';
import { taskOf } from './cancel-decision.ts';
import type { ResolvedPollDeps } from './poll-deps.ts';

const clusterOf = (variables: Readonly<Record<string, unknown>>): string | undefined => {
  const cluster = variables.cluster;
  return typeof cluster === 'string' && cluster !== '' ? cluster : undefined;
};

/** The clusters to ask, most likely first; `undefined` is the account's default cluster. */
const clustersOf = async (
  run: FlowRun,
  deps: Pick<ResolvedPollDeps, 'prefect'>
): Promise<(string | undefined)[]> => {
  const known = [taskOf(run)?.cluster, clusterOf(run.job_variables)].filter(
    (cluster): cluster is string => cluster !== undefined
  );
  if (known.length === 0 && run.deployment_id) {
    try {
      const deployment = await deps.prefect.readDeployment(run.deployment_id);
      const cluster = clusterOf(deployment.job_variables);
      if (cluster) known.push(cluster);
    } catch (error) {
      if (!isNotFound(error)) throw error;
    }
  }
  return known.length === 0 ? [undefined] : [...new Set(known)];
};

/** A live task of the run, on its cluster. */
export interface RunTask {
  cluster: string | undefined;
  taskArn: string;
}

/**
 * @example
 * await liveTasksOfRun(run, deps); // [{ cluster: 'prefect', taskArn: 'arn:aws:ecs:…:task/prefect/…' }]
 */
export const liveTasksOfRun = async (
  run: FlowRun,
  deps: Pick<ResolvedPollDeps, 'prefect'> & {
    ecs: Pick<EcsApi, 'listLiveTasksStartedBy'>;
    ecsForRun?: (run: FlowRun) => Promise<Pick<EcsApi, 'listLiveTasksStartedBy'>>;
  }
): Promise<RunTask[]> => {
  const found: RunTask[] = [];
  const ecs = deps.ecsForRun ? await deps.ecsForRun(run) : deps.ecs;
  for (const cluster of await clustersOf(run, deps)) {
    try {
      const live = await ecs.listLiveTasksStartedBy(cluster, startedByForFlowRun(run.id));
      for (const task of live) found.push({ cluster, taskArn: task.taskArn });
    } catch (error) {
      // No cluster, no task.
      if (!(error instanceof EcsApiError && error.code === 'ClusterNotFoundException')) throw error;
    }
  }
  return found;
};
