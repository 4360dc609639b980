/**
 * The sweeps' DescribeTasks batching: runs' recorded tasks grouped by the ECS client of each run's
 * credentials (`PollDeps.ecsForRun`: its pool's `aws_credentials`, else the poller's own), then by
 * cluster, so one call asks one account and region about one cluster's tasks.
 */
import type { FlowRun } from '../prefect/schemas.ts';
import type { PollEcs, ResolvedPollDeps } from './poll-deps.ts';

/** A run's recorded task. */
export interface RecordedTask {
  runId: string;
  taskArn: string;
}

/**
 * Groups `items` (a run and its pid's cluster and task); a run whose client cannot be had goes to
 * `onError` and is left out (the caller treats it as not looked at).
 *
 * @example
 * for (const [ecs, byCluster] of await tasksByScope(items, deps, onError)) …
 */
export const tasksByScope = async (
  items: readonly { run: FlowRun; cluster: string; taskArn: string }[],
  deps: Pick<ResolvedPollDeps, 'ecsForRun'>,
  onError: (run: FlowRun, error: unknown) => void
): Promise<Map<PollEcs, Map<string, RecordedTask[]>>> => {
  const byScope = new Map<PollEcs, Map<string, RecordedTask[]>>();
  for (const { run, cluster, taskArn } of items) {
    let ecs: PollEcs;
    try {
      ecs = await deps.ecsForRun(run);
    } catch (error) {
      onError(run, error);
      continue;
    }
    const byCluster = byScope.get(ecs) ?? new Map<string, RecordedTask[]>();
    byScope.set(ecs, byCluster);
    const group = byCluster.get(cluster) ?? [];
    group.push({ runId: run.id, taskArn });
    byCluster.set(cluster, group);
  }
  return byScope;
};
