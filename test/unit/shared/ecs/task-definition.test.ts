import type { RegisterTaskDefinitionCommandInput } from '@aws-sdk/client-ecs';
import { describe, expect, it } from 'vitest';
import { EcsConfigurationError } from '../../../../shared/ecs/ecs-configuration-error.ts';
import {
  buildTaskDefinition,
  DEFAULT_PREFECT_IMAGE,
  type TaskDefinitionOptions,
} from '../../../../shared/ecs/task-definition.ts';
import type { EcsJobConfiguration } from '../../../../shared/jobs/ecs-job-configuration.ts';
import {
  API_KEY_SECRET,
  AUTH_STRING_SECRET,
  EXECUTION_ROLE,
  flowRunContext,
  IDS,
  jobConfiguration,
  LAUNCHER_KEY_SECRET,
  REGION,
  withRunRequest,
} from './job-configuration-factory.ts';

const FAMILY = `prefect_ecs-pool_${IDS.deployment}`;
const OPTIONS: TaskDefinitionOptions = {
  region: REGION,
  apiKeySecretArn: LAUNCHER_KEY_SECRET,
  executionRoleArn: EXECUTION_ROLE,
};
const LAUNCHER_SECRET = [{ name: 'PREFECT_API_KEY', valueFrom: LAUNCHER_KEY_SECRET }];

const build = (
  configuration: EcsJobConfiguration,
  options: TaskDefinitionOptions = OPTIONS
): RegisterTaskDefinitionCommandInput =>
  buildTaskDefinition(configuration, flowRunContext(), options);

const fargate = (
  containers: RegisterTaskDefinitionCommandInput['containerDefinitions']
): RegisterTaskDefinitionCommandInput => ({
  containerDefinitions: containers,
  family: FAMILY,
  cpu: '1024',
  memory: '2048',
  requiresCompatibilities: ['FARGATE'],
  networkMode: 'awsvpc',
  executionRoleArn: EXECUTION_ROLE,
});

describe('buildTaskDefinition: launch types, field by field', () => {
  it.each([
    ['FARGATE (the default template)', jobConfiguration()],
    ['FARGATE_SPOT', withRunRequest({ launchType: 'FARGATE_SPOT' })],
    [
      'a FARGATE_SPOT capacity provider strategy without launch type',
      withRunRequest({
        launchType: undefined,
        capacityProviderStrategy: [{ capacityProvider: 'FARGATE_SPOT', weight: 1, base: 0 }],
      }),
    ],
    [
      'no launch type and no strategy (RunTask will default to FARGATE)',
      withRunRequest({ launchType: undefined }),
    ],
  ])('%s: task-level cpu/memory strings, FARGATE compatibility, awsvpc', (_name, configuration) => {
    // Act
    const definition = build(configuration);
    // Assess
    expect(definition).toEqual(
      fargate([{ name: 'prefect', image: DEFAULT_PREFECT_IMAGE, secrets: LAUNCHER_SECRET }])
    );
  });

  it.each([
    ['EC2', withRunRequest({ launchType: 'EC2' })],
    ['EXTERNAL', withRunRequest({ launchType: 'EXTERNAL' })],
    [
      'a custom (EC2 Auto Scaling) capacity provider strategy',
      withRunRequest({
        launchType: undefined,
        capacityProviderStrategy: [{ capacityProvider: 'gpu-asg', weight: 1, base: 1 }],
      }),
    ],
    [
      'no launch type and an EC2 task definition',
      withRunRequest(
        { launchType: undefined },
        { task_definition: { containerDefinitions: [{}], requiresCompatibilities: ['EC2'] } }
      ),
    ],
  ])('%s: container-level integer cpu/memory, no Fargate fields', (_name, configuration) => {
    // Act
    const definition = build(configuration);
    // Assess
    expect(definition.cpu).toBeUndefined();
    expect(definition.memory).toBeUndefined();
    expect(definition.networkMode).toBeUndefined();
    expect(definition.requiresCompatibilities ?? []).not.toContain('FARGATE');
    expect(definition.containerDefinitions).toEqual([
      {
        name: 'prefect',
        image: DEFAULT_PREFECT_IMAGE,
        cpu: 1024,
        memory: 2048,
        secrets: LAUNCHER_SECRET,
      },
    ]);
  });

  it('EC2 with templated sizes keeps task-level strings and copies them to the container', () => {
    // Prepare
    const configuration = withRunRequest(
      { launchType: 'EC2' },
      { task_definition: { containerDefinitions: [{ image: 'etl:1' }], cpu: 512, memory: '1 GB' } }
    );
    // Act
    const definition = build(configuration);
    // Assess
    expect(definition).toMatchObject({ cpu: '512', memory: '1 GB' });
    expect(definition.containerDefinitions?.[0]).toMatchObject({ cpu: 512, memory: 1024 });
  });

  it('Fargate with templated sizes uses them as strings', () => {
    // Act
    const definition = build(
      jobConfiguration({
        task_definition: { containerDefinitions: [{ image: 'etl:1' }], cpu: 2048, memory: 4096 },
      })
    );
    // Assess
    expect(definition).toMatchObject({ cpu: '2048', memory: '4096' });
  });
});

describe('buildTaskDefinition: the orchestration container', () => {
  it.each([
    [
      'the prefect container among several',
      {
        containerDefinitions: [
          { name: 'proxy', image: 'envoy' },
          { name: 'prefect', image: 'etl:1' },
        ],
      },
      null,
      ['proxy', 'prefect'],
      1,
    ],
    [
      'the first container when none is named prefect',
      {
        containerDefinitions: [
          { name: 'app', image: 'etl:1' },
          { name: 'proxy', image: 'envoy' },
        ],
      },
      null,
      ['app', 'proxy'],
      0,
    ],
    [
      'the configured name',
      {
        containerDefinitions: [
          { name: 'app', image: 'etl:1' },
          { name: 'worker', image: 'etl:1' },
        ],
      },
      'worker',
      ['app', 'worker'],
      1,
    ],
    [
      "the first unnamed container, named 'prefect'",
      { containerDefinitions: [{ name: 'proxy', image: 'envoy' }, { image: 'etl:1' }] },
      'prefect',
      ['proxy', 'prefect'],
      1,
    ],
    [
      "an appended {name: 'prefect'} when every container has another name",
      { containerDefinitions: [{ name: 'proxy', image: 'envoy' }] },
      'prefect',
      ['proxy', 'prefect'],
      1,
    ],
    ['an appended container when the template has none', {}, null, ['prefect'], 0],
  ])('%s', (_name, taskDefinition, containerName, names, index) => {
    // Act
    const definition = build(
      jobConfiguration({ task_definition: taskDefinition, container_name: containerName })
    );
    // Assess
    const containers = definition.containerDefinitions ?? [];
    expect(containers.map((container) => container.name)).toEqual(names);
    expect(containers[index]?.secrets).toEqual(LAUNCHER_SECRET);
  });

  it('refuses a configured container name the task definition does not have', () => {
    // Act / Assess
    expect(() =>
      build(
        jobConfiguration({
          task_definition: { containerDefinitions: [{ name: 'app', image: 'etl:1' }] },
          container_name: 'flow',
        })
      )
    ).toThrow(
      expect.objectContaining({
        name: 'EcsConfigurationError',
        variable: 'container_name',
        retryable: false,
        message: expect.stringContaining(
          "Container 'flow' is not in the task definition (containers: app)"
        ),
      })
    );
  });

  it.each([
    [
      'the template image',
      { image: 'acct.dkr.ecr.us-east-1.amazonaws.com/etl:1' },
      {},
      'acct.dkr.ecr.us-east-1.amazonaws.com/etl:1',
    ],
    ['the default image', {}, {}, DEFAULT_PREFECT_IMAGE],
    ['the default image for an empty one', { image: '' }, {}, DEFAULT_PREFECT_IMAGE],
    [
      "the launcher's default image",
      {},
      { defaultImage: 'prefecthq/prefect:3.9.1-python3.13' },
      'prefecthq/prefect:3.9.1-python3.13',
    ],
  ])('uses %s', (_name, container, options, image) => {
    // Act
    const definition = build(
      jobConfiguration({ task_definition: { containerDefinitions: [container] } }),
      {
        ...OPTIONS,
        ...options,
      }
    );
    // Assess
    expect(definition.containerDefinitions?.[0]?.image).toBe(image);
  });

  it('removes environment entries env unsets (null) and null values; keeps false and drops empties', () => {
    // Prepare
    const configuration = jobConfiguration({
      env: { KEEP: 'from-overrides', DROP: null },
      task_definition: {
        containerDefinitions: [
          {
            name: 'prefect',
            image: 'etl:1',
            environment: [
              { name: 'KEEP', value: 'td' },
              { name: 'DROP', value: 'td' },
              { name: 'NULL', value: null },
            ],
            readonlyRootFilesystem: false,
            workingDirectory: '',
            mountPoints: [],
          },
          {
            name: 'sidecar',
            image: 'envoy',
            essential: false,
            environment: [{ name: 'DROP', value: 'sidecar' }],
          },
        ],
        ephemeralStorage: { sizeInGiB: 50 },
        volumes: [],
      },
    });
    // Act
    const definition = build(configuration);
    // Assess
    expect(definition.containerDefinitions).toEqual([
      {
        name: 'prefect',
        image: 'etl:1',
        environment: [{ name: 'KEEP', value: 'td' }],
        readonlyRootFilesystem: false,
        secrets: LAUNCHER_SECRET,
      },
      {
        name: 'sidecar',
        image: 'envoy',
        essential: false,
        environment: [{ name: 'DROP', value: 'sidecar' }],
      },
    ]);
    expect(definition.ephemeralStorage).toEqual({ sizeInGiB: 50 });
    expect(definition).not.toHaveProperty('volumes');
  });

  it('uses a templated family, and the execution_role_arn variable', () => {
    // Act
    const definition = build(
      jobConfiguration({
        task_definition: { containerDefinitions: [{}], family: 'etl' },
        execution_role_arn: 'arn:aws:iam::123456789012:role/etl-exec',
      })
    );
    // Assess
    expect(definition).toMatchObject({
      family: 'etl',
      executionRoleArn: 'arn:aws:iam::123456789012:role/etl-exec',
    });
  });

  it('refuses a task definition without an essential container', () => {
    expect(() =>
      build(
        jobConfiguration({
          task_definition: { containerDefinitions: [{ name: 'prefect', essential: false }] },
        })
      )
    ).toThrow(EcsConfigurationError);
  });
});

describe('buildTaskDefinition: CloudWatch logs', () => {
  it.each([
    [
      'defaults: group prefect, region, prefix prefect-logs_<pool>_<deployment id>',
      {},
      null,
      {
        'awslogs-create-group': 'true',
        'awslogs-group': 'prefect',
        'awslogs-region': REGION,
        'awslogs-stream-prefix': `prefect-logs_ecs-pool_${IDS.deployment}`,
      },
    ],
    [
      'cloudwatch_logs_prefix and cloudwatch_logs_options (which win)',
      { 'awslogs-group': 'etl-logs', mode: 'non-blocking' },
      'etl',
      {
        'awslogs-create-group': 'true',
        'awslogs-group': 'etl-logs',
        'awslogs-region': REGION,
        'awslogs-stream-prefix': 'etl',
        mode: 'non-blocking',
      },
    ],
  ])('%s', (_name, options, prefix, expected) => {
    // Act
    const definition = build(
      jobConfiguration({
        configure_cloudwatch_logs: true,
        cloudwatch_logs_options: options,
        cloudwatch_logs_prefix: prefix,
        execution_role_arn: EXECUTION_ROLE,
      }),
      { region: REGION }
    );
    // Assess
    expect(definition.containerDefinitions?.[0]?.logConfiguration).toEqual({
      logDriver: 'awslogs',
      options: expected,
    });
    expect(definition.executionRoleArn).toBe(EXECUTION_ROLE);
  });

  it('uses the flow id in the prefix for a run without deployment', () => {
    // Act
    const definition = buildTaskDefinition(
      jobConfiguration({ configure_cloudwatch_logs: true, execution_role_arn: EXECUTION_ROLE }),
      flowRunContext({ deploymentId: null }),
      { region: REGION }
    );
    // Assess
    expect(definition.family).toBe(`prefect_ecs-pool_${IDS.flow}`);
    expect(definition.containerDefinitions?.[0]?.logConfiguration?.options).toMatchObject({
      'awslogs-stream-prefix': `prefect-logs_ecs-pool_${IDS.flow}`,
    });
  });

  it("takes the launcher's execution role when none is configured", () => {
    // Act
    const definition = build(jobConfiguration({ configure_cloudwatch_logs: true }), {
      region: REGION,
      executionRoleArn: EXECUTION_ROLE,
    });
    // Assess
    expect(definition.executionRoleArn).toBe(EXECUTION_ROLE);
  });

  it('refuses awslogs without any execution role, naming the variable', () => {
    expect(() =>
      build(jobConfiguration({ configure_cloudwatch_logs: true }), { region: REGION })
    ).toThrow(
      expect.objectContaining({
        variable: 'execution_role_arn',
        message: expect.stringMatching(
          /^execution_role_arn is required when configure_cloudwatch_logs is true/
        ),
      })
    );
  });
});

describe('buildTaskDefinition: Prefect credentials as secrets', () => {
  const container = (definition: RegisterTaskDefinitionCommandInput) =>
    definition.containerDefinitions?.[0] ?? {};

  it.each([
    [
      'prefect_api_key_secret_arn',
      { prefect_api_key_secret_arn: API_KEY_SECRET },
      {},
      [{ name: 'PREFECT_API_KEY', valueFrom: API_KEY_SECRET }],
    ],
    [
      'prefect_api_auth_string_secret_arn',
      { prefect_api_auth_string_secret_arn: AUTH_STRING_SECRET },
      {},
      [{ name: 'PREFECT_API_AUTH_STRING', valueFrom: AUTH_STRING_SECRET }],
    ],
    [
      "the launcher's API key secret when none is configured",
      {},
      { apiKeySecretArn: LAUNCHER_KEY_SECRET },
      LAUNCHER_SECRET,
    ],
    [
      "the launcher's auth string secret when none is configured",
      {},
      { authStringSecretArn: AUTH_STRING_SECRET },
      [{ name: 'PREFECT_API_AUTH_STRING', valueFrom: AUTH_STRING_SECRET }],
    ],
    [
      'the configured ARN over the launcher one',
      { prefect_api_key_secret_arn: API_KEY_SECRET },
      { apiKeySecretArn: LAUNCHER_KEY_SECRET },
      [{ name: 'PREFECT_API_KEY', valueFrom: API_KEY_SECRET }],
    ],
  ])('from %s', (_name, configured, options, secrets) => {
    // Act
    const definition = build(jobConfiguration(configured), {
      region: REGION,
      executionRoleArn: EXECUTION_ROLE,
      ...options,
    });
    // Assess
    expect(container(definition).secrets).toEqual(secrets);
    expect(container(definition).environment).toBeUndefined();
    expect(definition.executionRoleArn).toBe(EXECUTION_ROLE);
  });

  it('merges with the template secrets: configured ARN wins, the launcher default does not', () => {
    // Prepare
    const templateSecrets = [
      { name: 'DB_PASSWORD', valueFrom: 'arn:aws:ssm:us-east-1:123456789012:parameter/db' },
      { name: 'PREFECT_API_KEY', valueFrom: 'arn:template' },
      { name: 'PREFECT_API_AUTH_STRING', valueFrom: 'arn:template-auth' },
    ];
    const configuration = jobConfiguration({
      task_definition: {
        containerDefinitions: [{ name: 'prefect', image: 'etl:1', secrets: templateSecrets }],
      },
      prefect_api_auth_string_secret_arn: AUTH_STRING_SECRET,
    });
    // Act
    const definition = build(configuration);
    // Assess
    expect(container(definition).secrets).toEqual([
      templateSecrets[0],
      { name: 'PREFECT_API_KEY', valueFrom: 'arn:template' },
      { name: 'PREFECT_API_AUTH_STRING', valueFrom: AUTH_STRING_SECRET },
    ]);
  });

  it('removes a plain PREFECT_API_KEY from the task definition environment when a secret replaces it', () => {
    // Prepare
    const configuration = jobConfiguration({
      task_definition: {
        containerDefinitions: [
          {
            image: 'etl:1',
            environment: [
              { name: 'PREFECT_API_KEY', value: 'pnu_plain' },
              { name: 'A', value: '1' },
            ],
          },
        ],
      },
    });
    // Act
    const definition = build(configuration);
    // Assess
    expect(container(definition).environment).toEqual([{ name: 'A', value: '1' }]);
    expect(JSON.stringify(definition)).not.toContain('pnu_plain');
  });

  it('treats the credentials in any case alike: Prefect reads prefect_api_key as its API key', () => {
    // Prepare
    const withEnvironment = (environment: { name: string; value: string }[]) =>
      jobConfiguration({
        task_definition: { containerDefinitions: [{ image: 'etl:1', environment }] },
      });
    const lower = withEnvironment([
      { name: 'prefect_api_key', value: 'pnu_lower' },
      { name: 'A', value: '1' },
    ]);
    const mixed = withEnvironment([{ name: 'Prefect_Api_Auth_String', value: 'user:mixed-case' }]);
    // Act
    const definition = build(lower);
    let refusal: unknown;
    try {
      build(mixed);
    } catch (caught) {
      refusal = caught;
    }
    // Assess: replaced by the secret when there is one, refused (never quoted) when there is none
    expect(container(definition).environment).toEqual([{ name: 'A', value: '1' }]);
    expect(container(definition).secrets).toEqual(LAUNCHER_SECRET);
    expect(JSON.stringify(definition)).not.toContain('pnu_lower');
    expect(refusal).toBeInstanceOf(EcsConfigurationError);
    expect(refusal).toMatchObject({ variable: 'prefect_api_auth_string_secret_arn' });
    expect(String((refusal as Error).message)).not.toContain('mixed-case');
  });

  it('refuses a plain PREFECT_API_KEY in the template when no secret can replace it', () => {
    // Prepare
    const configuration = jobConfiguration({
      task_definition: {
        containerDefinitions: [
          { image: 'etl:1', environment: [{ name: 'PREFECT_API_KEY', value: 'pnu_plain' }] },
        ],
      },
    });
    // Act / Assess
    let error: unknown;
    try {
      build(configuration, { region: REGION, executionRoleArn: EXECUTION_ROLE });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(EcsConfigurationError);
    expect(error).toMatchObject({ variable: 'prefect_api_key_secret_arn' });
    expect(String((error as Error).message)).not.toContain('pnu_plain');
  });

  it('refuses a secret without any execution role, with the fix', () => {
    expect(() =>
      build(jobConfiguration({ prefect_api_key_secret_arn: API_KEY_SECRET }), { region: REGION })
    ).toThrow(
      expect.objectContaining({
        variable: 'execution_role_arn',
        message: expect.stringContaining("container 'prefect' has secrets (PREFECT_API_KEY)"),
      })
    );
  });

  it('adds no secret and no execution role when there is no credential at all', () => {
    // Act
    const definition = build(jobConfiguration(), {
      region: REGION,
      executionRoleArn: EXECUTION_ROLE,
    });
    // Assess
    expect(container(definition).secrets).toBeUndefined();
    expect(definition.executionRoleArn).toBeUndefined();
  });
});
