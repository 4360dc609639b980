/**
 * A flow run's `infrastructure_pid` as prefect-aws writes it: `<cluster>::<taskArn>`, where
 * `<cluster>` is the `cluster` job variable as configured (a name stays a name) or, when none is
 * configured, the cluster ARN RunTask answered. `::` because ARNs contain `:`. Prefect's own worker
 * parses the same string to StopTask our runs, and we parse its.
 */
export interface InfrastructurePid {
  cluster: string;
  taskArn: string;
}

const SEPARATOR = '::';

/**
 * @example
 * ```ts
 * infrastructurePid('prefect', { clusterArn: 'arn:aws:ecs:…:cluster/prefect', taskArn: 'arn:aws:ecs:…:task/prefect/abc' });
 * // 'prefect::arn:aws:ecs:…:task/prefect/abc'
 * infrastructurePid(null, task); // 'arn:aws:ecs:…:cluster/prefect::arn:aws:ecs:…:task/prefect/abc'
 * ```
 */
export const infrastructurePid = (
  configuredCluster: string | null | undefined,
  task: { clusterArn: string; taskArn: string }
): string => `${configuredCluster || task.clusterArn}${SEPARATOR}${task.taskArn}`;

/**
 * Splits an `infrastructure_pid` at its first `::`; undefined when it is not one of ours or
 * Prefect's (no `::`, or an empty side).
 *
 * @example
 * ```ts
 * parseInfrastructurePid('prefect::arn:aws:ecs:us-east-1:123456789012:task/prefect/abc');
 * // { cluster: 'prefect', taskArn: 'arn:aws:ecs:us-east-1:123456789012:task/prefect/abc' }
 * ```
 */
export const parseInfrastructurePid = (pid: string): InfrastructurePid | undefined => {
  const at = pid.indexOf(SEPARATOR);
  if (at <= 0) return undefined;
  const taskArn = pid.slice(at + SEPARATOR.length);
  return taskArn === '' ? undefined : { cluster: pid.slice(0, at), taskArn };
};
