import { describe, expect, it } from 'vitest';
import { EcsConfigurationError } from '../../../../shared/ecs/ecs-configuration-error.ts';
import {
  type TaskDefinitionFacts,
  validateTaskDefinitionForLaunch,
} from '../../../../shared/ecs/validate-task-definition.ts';
import type { EcsJobConfiguration } from '../../../../shared/jobs/ecs-job-configuration.ts';
import { jobConfiguration, withRunRequest } from './job-configuration-factory.ts';

const FARGATE_TD: TaskDefinitionFacts = {
  networkMode: 'awsvpc',
  requiresCompatibilities: ['FARGATE'],
  containerDefinitions: [{ name: 'prefect' }],
};
const EC2_TD: TaskDefinitionFacts = {
  networkMode: 'bridge',
  requiresCompatibilities: ['EC2'],
  containerDefinitions: [{ name: 'prefect' }],
};
const PLAIN_TD: TaskDefinitionFacts = { containerDefinitions: [{ name: 'prefect' }] };

const strategy = (...providers: string[]) =>
  withRunRequest({
    launchType: undefined,
    capacityProviderStrategy: providers.map((capacityProvider) => ({
      capacityProvider,
      weight: 1,
    })),
  });

describe('validateTaskDefinitionForLaunch', () => {
  it.each<[string, TaskDefinitionFacts, EcsJobConfiguration]>([
    ['FARGATE on a Fargate definition', FARGATE_TD, jobConfiguration()],
    [
      'FARGATE_SPOT on a Fargate definition',
      FARGATE_TD,
      withRunRequest({ launchType: 'FARGATE_SPOT' }),
    ],
    ['FARGATE on a definition without compatibilities or mode', PLAIN_TD, jobConfiguration()],
    [
      'EC2 on anything',
      { ...FARGATE_TD, networkMode: 'bridge' },
      withRunRequest({ launchType: 'EC2' }),
    ],
    [
      'no launch type on an EC2 definition (cluster default provider)',
      EC2_TD,
      withRunRequest({ launchType: undefined }),
    ],
    ['a custom capacity provider strategy on an EC2 definition', EC2_TD, strategy('gpu-asg')],
    ['a Fargate strategy on a Fargate definition', FARGATE_TD, strategy('FARGATE', 'FARGATE_SPOT')],
    [
      'EXTERNAL on a bridge definition',
      { ...PLAIN_TD, networkMode: 'bridge' },
      withRunRequest({ launchType: 'EXTERNAL' }),
    ],
    [
      'awslogs with an execution role',
      { ...FARGATE_TD, executionRoleArn: 'arn:role' },
      jobConfiguration({ configure_cloudwatch_logs: true }),
    ],
  ])('accepts %s', (_name, definition, configuration) => {
    expect(() => validateTaskDefinitionForLaunch(definition, configuration)).not.toThrow();
  });

  it.each<[string, TaskDefinitionFacts, EcsJobConfiguration, string, RegExp]>([
    [
      'awslogs without an execution role',
      FARGATE_TD,
      jobConfiguration({ configure_cloudwatch_logs: true }),
      'execution_role_arn',
      /^execution_role_arn is required when configure_cloudwatch_logs is true/,
    ],
    [
      'secrets without an execution role',
      {
        ...FARGATE_TD,
        containerDefinitions: [{ name: 'prefect', secrets: [{ name: 'X', valueFrom: 'arn:x' }] }],
      },
      jobConfiguration(),
      'execution_role_arn',
      /container 'prefect' has secrets \(X\)/,
    ],
    [
      'FARGATE on an EC2-only definition',
      EC2_TD,
      jobConfiguration(),
      'launch_type',
      /does not have 'FARGATE' in requiresCompatibilities \(EC2\) and cannot be used with launch type 'FARGATE'/,
    ],
    [
      'FARGATE_SPOT on a bridge definition',
      { ...FARGATE_TD, networkMode: 'bridge' },
      withRunRequest({ launchType: 'FARGATE_SPOT' }),
      'launch_type',
      /Network mode 'bridge' cannot run with launch type 'FARGATE_SPOT'/,
    ],
    [
      'a Fargate strategy on an EC2-only definition',
      EC2_TD,
      strategy('FARGATE_SPOT'),
      'launch_type',
      /'FARGATE' in requiresCompatibilities/,
    ],
    [
      'EXTERNAL on an awsvpc definition',
      { ...PLAIN_TD, networkMode: 'awsvpc' },
      withRunRequest({ launchType: 'EXTERNAL' }),
      'launch_type',
      /awsvpc' cannot run with launch type 'EXTERNAL'/,
    ],
    [
      'an unknown launch type',
      FARGATE_TD,
      withRunRequest({ launchType: 'LAMBDA' }),
      'launch_type',
      /launch_type 'LAMBDA' is not one of/,
    ],
    [
      'no essential container',
      { ...FARGATE_TD, containerDefinitions: [{ name: 'a', essential: false }] },
      jobConfiguration(),
      'task_definition',
      /must be essential/,
    ],
  ])('refuses %s', (_name, definition, configuration, variable, message) => {
    // Act
    let error: unknown;
    try {
      validateTaskDefinitionForLaunch(definition, configuration);
    } catch (caught) {
      error = caught;
    }
    // Assess
    expect(error).toBeInstanceOf(EcsConfigurationError);
    expect(error).toMatchObject({ variable, retryable: false, name: 'EcsConfigurationError' });
    expect((error as Error).message).toMatch(message);
  });
});
