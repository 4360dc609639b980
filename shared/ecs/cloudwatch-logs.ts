import type { LogConfiguration } from '@aws-sdk/client-ecs';
import type { EcsJobConfiguration, FlowRunContext } from '../jobs/ecs-job-configuration.ts';

/** The log group prefect-aws sends task logs to. */
export const DEFAULT_LOG_GROUP = 'prefect';

/**
 * The `awslogs-stream-prefix` prefect-aws uses when `cloudwatch_logs_prefix` is not set:
 * `prefect-logs_<work pool>_<deployment id, or flow id>`. Streams are then
 * `<prefix>/<container>/<task id>`.
 *
 * @example
 * ```ts
 * defaultLogStreamPrefix({ workPoolName: 'ecs', deploymentId: 'a1…', flowId: 'f…' }); // 'prefect-logs_ecs_a1…'
 * ```
 */
export const defaultLogStreamPrefix = (
  context: Pick<FlowRunContext, 'workPoolName' | 'deploymentId' | 'flowId'>
): string => `prefect-logs_${context.workPoolName}_${context.deploymentId ?? context.flowId}`;

/**
 * The orchestration container's `logConfiguration` when `configure_cloudwatch_logs` is true:
 * the `awslogs` driver creating group `prefect` in `region`, stream prefix from
 * `cloudwatch_logs_prefix` or {@link defaultLogStreamPrefix}, then `cloudwatch_logs_options` on top
 * (their keys win). It replaces any `logConfiguration` the template gave that container, as in
 * prefect-aws. The task definition then needs an execution role.
 *
 * @example
 * ```ts
 * awsLogsConfiguration({ ...configuration, cloudwatch_logs_options: { 'awslogs-group': 'etl' } }, context, 'eu-west-1');
 * // { logDriver: 'awslogs', options: { 'awslogs-create-group': 'true', 'awslogs-group': 'etl',
 * //   'awslogs-region': 'eu-west-1', 'awslogs-stream-prefix': 'prefect-logs_pool_<deployment id>' } }
 * ```
 */
export const awsLogsConfiguration = (
  configuration: Pick<EcsJobConfiguration, 'cloudwatch_logs_prefix' | 'cloudwatch_logs_options'>,
  context: Pick<FlowRunContext, 'workPoolName' | 'deploymentId' | 'flowId'>,
  region: string
): LogConfiguration => ({
  logDriver: 'awslogs',
  options: {
    'awslogs-create-group': 'true',
    'awslogs-group': DEFAULT_LOG_GROUP,
    'awslogs-region': region,
    'awslogs-stream-prefix':
      configuration.cloudwatch_logs_prefix || defaultLogStreamPrefix(context),
    // ECS takes strings only; a template may render numbers or booleans here.
    ...Object.fromEntries(
      Object.entries(configuration.cloudwatch_logs_options).map(([key, value]) => [
        key,
        String(value),
      ])
    ),
  },
});
