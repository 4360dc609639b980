import type { ContainerDefinition } from '@aws-sdk/client-ecs';
import type { EcsJobConfiguration } from '../jobs/ecs-job-configuration.ts';
import { EcsConfigurationError } from './ecs-configuration-error.ts';
import { compatibilitiesOf, requestedLaunch } from './launch-type.ts';

/**
 * What the launch checks read from a task definition: satisfied by the RegisterTaskDefinition input
 * we built and by the `taskDefinition` DescribeTaskDefinition returns for a given ARN.
 */
export interface TaskDefinitionFacts {
  networkMode?: string | undefined;
  requiresCompatibilities?: string[] | undefined;
  executionRoleArn?: string | undefined;
  containerDefinitions?: ContainerDefinition[] | undefined;
}

const FARGATE_PROVIDERS: ReadonlySet<string> = new Set(['FARGATE', 'FARGATE_SPOT']);
const LAUNCH_TYPES: ReadonlySet<string> = new Set(['FARGATE', 'FARGATE_SPOT', 'EC2', 'EXTERNAL']);

const fail = (message: string, variable: string): never => {
  throw new EcsConfigurationError(message, { variable });
};

/**
 * Checks that the task definition (built, or described for a given ARN) can run the way the job
 * configuration launches it, as prefect-aws does before RunTask, throwing an
 * {@link EcsConfigurationError} that names the variable to change:
 *
 * - `configure_cloudwatch_logs` and container `secrets` need an `executionRoleArn`;
 * - at least one container must be essential;
 * - no launch type and no capacity provider strategy means FARGATE, unless the definition requires
 *   EC2 (then the cluster's default capacity provider runs it);
 * - FARGATE / FARGATE_SPOT (or a strategy of only those providers) need `FARGATE` in
 *   `requiresCompatibilities` (when it is given) and the `awsvpc` network mode (when it is given);
 *   another strategy is left to ECS;
 * - EXTERNAL needs `EXTERNAL` in `requiresCompatibilities` (when given) and a mode other than `awsvpc`
 *   (prefect-aws asks for FARGATE here, which cannot run on ECS Anywhere; we check what ECS checks).
 *
 * @example
 * ```ts
 * validateTaskDefinitionForLaunch({ networkMode: 'bridge' }, fargateConfiguration);
 * // throws EcsConfigurationError: Network mode 'bridge' cannot run with launch type 'FARGATE' …
 * ```
 */
export const validateTaskDefinitionForLaunch = (
  taskDefinition: TaskDefinitionFacts,
  configuration: EcsJobConfiguration
): void => {
  const containers = taskDefinition.containerDefinitions ?? [];
  if (configuration.configure_cloudwatch_logs && !taskDefinition.executionRoleArn) {
    fail(
      'execution_role_arn is required when configure_cloudwatch_logs is true: the awslogs driver writes with the task execution role. Set execution_role_arn to a role allowed logs:CreateLogGroup, logs:CreateLogStream and logs:PutLogEvents, or set configure_cloudwatch_logs to false.',
      'execution_role_arn'
    );
  }
  const withSecrets = containers.find((container) => (container.secrets ?? []).length > 0);
  if (withSecrets && !taskDefinition.executionRoleArn) {
    fail(
      `execution_role_arn is required: container '${withSecrets.name}' has secrets (${(withSecrets.secrets ?? []).map((secret) => secret.name).join(', ')}), which ECS fetches with the task execution role. Set execution_role_arn to a role allowed secretsmanager:GetSecretValue on them.`,
      'execution_role_arn'
    );
  }
  if (containers.length > 0 && containers.every((container) => container.essential === false)) {
    fail(
      'At least one container in the task definition must be essential: set "essential": true (or remove "essential": false) on the container that runs the flow.',
      'task_definition'
    );
  }
  checkLaunchType(taskDefinition, configuration);
};

const checkLaunchType = (
  taskDefinition: TaskDefinitionFacts,
  configuration: EcsJobConfiguration
): void => {
  const launch = requestedLaunch(configuration);
  const compatibilities = compatibilitiesOf(taskDefinition);
  let launchType = launch.launchType;
  if (launch.capacityProviders.length > 0) {
    if (!launch.capacityProviders.every((provider) => FARGATE_PROVIDERS.has(provider))) return;
    launchType = 'FARGATE';
  } else if (launchType === undefined) {
    if (compatibilities.includes('EC2')) return;
    launchType = 'FARGATE';
  }
  if (!LAUNCH_TYPES.has(launchType)) {
    fail(
      `launch_type '${launchType}' is not one of FARGATE, FARGATE_SPOT, EC2, EXTERNAL.`,
      'launch_type'
    );
  }
  if (launchType === 'EC2') return;
  const networkMode = taskDefinition.networkMode;
  if (launchType === 'EXTERNAL') {
    if (compatibilities.length > 0 && !compatibilities.includes('EXTERNAL')) {
      fail(
        `The task definition does not have 'EXTERNAL' in requiresCompatibilities (${compatibilities.join(', ')}), so it cannot run with launch type 'EXTERNAL'. Add 'EXTERNAL' to requiresCompatibilities or change launch_type.`,
        'launch_type'
      );
    }
    if (networkMode === 'awsvpc') {
      fail(
        "Network mode 'awsvpc' cannot run with launch type 'EXTERNAL'. Use the 'bridge', 'host' or 'none' network mode, or another launch_type.",
        'launch_type'
      );
    }
    return;
  }
  if (compatibilities.length > 0 && !compatibilities.includes('FARGATE')) {
    fail(
      `The task definition does not have 'FARGATE' in requiresCompatibilities (${compatibilities.join(', ')}) and cannot be used with launch type '${launchType}'. Add 'FARGATE' to requiresCompatibilities or use launch_type EC2.`,
      'launch_type'
    );
  }
  if (networkMode !== undefined && networkMode !== 'awsvpc') {
    fail(
      `Network mode '${networkMode}' cannot run with launch type '${launchType}': Fargate supports only 'awsvpc'. Use the 'awsvpc' network mode or launch_type EC2.`,
      'launch_type'
    );
  }
};
