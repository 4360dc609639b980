import { describe, expect, it } from 'vitest';
import type { EcsJobConfiguration } from '../../../../shared/jobs/ecs-job-configuration.ts';
import { JobConfigurationError } from '../../../../shared/jobs/job-configuration-error.ts';
import {
  type ResolveJobConfigurationInput,
  resolveJobConfiguration,
} from '../../../../shared/jobs/resolve-job-configuration.ts';
import { TemplateError } from '../../../../shared/jobs/template-error.ts';
import {
  currentTemplate,
  deployment,
  fakeLookups,
  flow,
  flowRun,
  IDS,
  type LookupData,
  v04Template,
  workPool,
} from './fixtures.ts';

const API_URL = 'https://api.prefect.cloud/api/accounts/acc/workspaces/ws';
const ACCOUNT = '123456789012';
const IMAGE = `${ACCOUNT}.dkr.ecr.eu-west-1.amazonaws.com/etl:2026.08.21`;
const EXEC_ROLE = `arn:aws:iam::${ACCOUNT}:role/prefect-exec`;
const TASK_ROLE = `arn:aws:iam::${ACCOUNT}:role/etl-task`;
const KEY_SECRET = `arn:aws:secretsmanager:eu-west-1:${ACCOUNT}:secret:prefect-api-key`;
const TASK_DEFINITION_ARN = `arn:aws:ecs:eu-west-1:${ACCOUNT}:task-definition/etl:7`;

const input = (
  overrides: Partial<ResolveJobConfigurationInput> = {}
): ResolveJobConfigurationInput => ({
  workPool: workPool(),
  deployment: deployment(),
  flow: flow(),
  flowRun: flowRun(),
  workerName: 'ecs-serverless-lambda',
  prefectEnvironment: { PREFECT_API_URL: API_URL },
  ...overrides,
});

const resolve = (overrides: Partial<ResolveJobConfigurationInput> = {}, data: LookupData = {}) =>
  resolveJobConfiguration(input(overrides), { lookups: fakeLookups(data) });

const baseLabels = {
  'prefect.io/flow-run-id': IDS.run,
  'prefect.io/flow-run-name': 'crimson-otter',
  'prefect.io/version': '3.8.3',
  'prefect.io/work-pool-name': 'ecs-serverless',
  'prefect.io/work-pool-id': IDS.pool,
  'prefect.io/worker-name': 'ecs-serverless-lambda',
  'prefect.io/flow-id': IDS.flow,
  'prefect.io/flow-name': 'etl',
};
const deploymentLabels = {
  'prefect.io/deployment-id': IDS.deployment,
  'prefect.io/deployment-name': 'etl-prod',
  'prefect.io/deployment-updated': '2026-08-20T09:15:30.123456+00:00',
};
const baseEnv = {
  PREFECT_API_URL: API_URL,
  PREFECT__FLOW_RUN_ID: IDS.run,
  PREFECT__WORKER_NAME: 'ecs-serverless-lambda',
  PREFECT__FLOW_ID: IDS.flow,
  PREFECT__FLOW_NAME: 'etl',
};

describe('resolveJobConfiguration with the current prefect-aws default template', () => {
  it('turns realistic deployment and flow-run variables into the full configuration', async () => {
    // Prepare
    const deploymentVariables = {
      image: IMAGE,
      cpu: 1024,
      memory: 4096,
      env: { LOG_LEVEL: 'INFO', LEGACY_FLAG: null, BATCH_SIZE: 500 },
      labels: { team: 'data', 'cost-center': 'cc-42' },
      launch_type: 'FARGATE_SPOT',
      capacity_provider_strategy: [{ capacityProvider: 'FARGATE_SPOT', weight: 1, base: 0 }],
      network_configuration: {
        subnets: ['subnet-0a1'],
        securityGroups: ['sg-0b2'],
        assignPublicIp: 'DISABLED',
      },
      vpc_id: 'vpc-0c3',
      configure_cloudwatch_logs: true,
      cloudwatch_logs_options: { 'awslogs-group': '/prefect/etl', 'awslogs-region': 'eu-west-1' },
      cloudwatch_logs_prefix: 'etl',
      execution_role_arn: EXEC_ROLE,
      task_role_arn: TASK_ROLE,
      cluster: 'prefect-cluster',
      prefect_api_key_secret_arn: KEY_SECRET,
      auto_deregister_task_definition: true,
    };
    const flowRunVariables = { env: { LOG_LEVEL: 'DEBUG' }, memory: 8192 };
    // Act
    const { configuration, warnings } = await resolve({
      deployment: deployment({ job_variables: deploymentVariables }),
      flowRun: flowRun({ job_variables: flowRunVariables }),
    });
    // Assess
    const expected: EcsJobConfiguration = {
      command: 'prefect flow-run execute',
      env: {
        ...baseEnv,
        PREFECT__DEPLOYMENT_ID: IDS.deployment,
        PREFECT__DEPLOYMENT_NAME: 'etl-prod',
        LOG_LEVEL: 'DEBUG',
        LEGACY_FLAG: null,
        BATCH_SIZE: '500',
      },
      labels: { ...baseLabels, ...deploymentLabels, team: 'data', 'cost-center': 'cc-42' },
      name: 'crimson-otter',
      task_definition: {
        containerDefinitions: [{ image: IMAGE }],
        cpu: 1024,
        executionRoleArn: EXEC_ROLE,
        memory: 8192,
      },
      task_run_request: {
        capacityProviderStrategy: [{ capacityProvider: 'FARGATE_SPOT', weight: 1, base: 0 }],
        cluster: 'prefect-cluster',
        launchType: 'FARGATE_SPOT',
        overrides: {
          containerOverrides: [
            {
              cpu: 1024,
              environment: { LOG_LEVEL: 'DEBUG', LEGACY_FLAG: null, BATCH_SIZE: 500 },
              memory: 8192,
            },
          ],
          cpu: 1024,
          memory: 8192,
          taskRoleArn: TASK_ROLE,
        },
        tags: { team: 'data', 'cost-center': 'cc-42' },
      },
      configure_cloudwatch_logs: true,
      cloudwatch_logs_options: { 'awslogs-group': '/prefect/etl', 'awslogs-region': 'eu-west-1' },
      cloudwatch_logs_prefix: 'etl',
      network_configuration: {
        subnets: ['subnet-0a1'],
        securityGroups: ['sg-0b2'],
        assignPublicIp: 'DISABLED',
      },
      auto_deregister_task_definition: true,
      vpc_id: 'vpc-0c3',
      container_name: null,
      cluster: 'prefect-cluster',
      match_latest_revision_in_family: false,
      prefect_api_key_secret_arn: KEY_SECRET,
      prefect_api_auth_string_secret_arn: null,
      execution_role_arn: EXEC_ROLE,
      extra: { stream_output: false, task_start_timeout_seconds: 0, task_watch_poll_interval: 0 },
    };
    expect(configuration).toStrictEqual(expected);
    expect(warnings).toEqual([]);
  });

  it('with no job variables: only defaults, unset placeholders removed', async () => {
    // Act
    const { configuration } = await resolve({
      deployment: null,
      flowRun: flowRun({ deployment_id: null }),
    });
    // Assess
    expect(configuration).toStrictEqual({
      command: 'prefect flow-run execute',
      env: baseEnv,
      labels: baseLabels,
      name: 'crimson-otter',
      task_definition: { containerDefinitions: [{}] },
      task_run_request: { launchType: 'FARGATE', overrides: { containerOverrides: [{}] } },
      configure_cloudwatch_logs: false,
      cloudwatch_logs_options: {},
      cloudwatch_logs_prefix: null,
      network_configuration: null,
      auto_deregister_task_definition: false,
      vpc_id: null,
      container_name: null,
      cluster: null,
      match_latest_revision_in_family: false,
      prefect_api_key_secret_arn: null,
      prefect_api_auth_string_secret_arn: null,
      execution_role_arn: null,
      extra: { stream_output: false, task_start_timeout_seconds: 0, task_watch_poll_interval: 0 },
    } satisfies EcsJobConfiguration);
  });
});

describe('resolveJobConfiguration with the prefect-aws 0.4.x template', () => {
  it('uses a task definition ARN, a custom command and name, and keeps old fields in extra', async () => {
    // Prepare
    const deploymentVariables = {
      task_definition_arn: TASK_DEFINITION_ARN,
      launch_type: 'EC2',
      cluster: 'arn:aws:ecs:eu-west-1:123456789012:cluster/batch',
      command: 'python -m etl.main',
      name: '{{ ctx.flow.name }}-{{ ctx.flow_run.name }}',
      env: { FEATURE_X: 'on', OLD: null },
      labels: { team: 'data' },
      container_name: 'app',
      match_latest_revision_in_family: true,
    };
    // Act
    const { configuration, warnings } = await resolve({
      workPool: workPool(v04Template()),
      deployment: deployment({ job_variables: deploymentVariables }),
      flowRun: flowRun({ job_variables: { labels: { team: 'ml' }, cpu: 2048 } }),
    });
    // Assess
    expect(configuration).toStrictEqual({
      command: 'python -m etl.main',
      env: {
        ...baseEnv,
        PREFECT__DEPLOYMENT_ID: IDS.deployment,
        PREFECT__DEPLOYMENT_NAME: 'etl-prod',
        FEATURE_X: 'on',
        OLD: null,
      },
      labels: { ...baseLabels, ...deploymentLabels, team: 'ml' },
      name: 'etl-crimson-otter',
      task_definition: { containerDefinitions: [{ name: 'app' }], cpu: 2048 },
      task_run_request: {
        launchType: 'EC2',
        cluster: 'arn:aws:ecs:eu-west-1:123456789012:cluster/batch',
        overrides: {
          containerOverrides: [
            {
              name: 'app',
              command: 'python -m etl.main',
              environment: { FEATURE_X: 'on', OLD: null },
              cpu: 2048,
            },
          ],
          cpu: 2048,
        },
        tags: { team: 'ml' },
        taskDefinition: TASK_DEFINITION_ARN,
      },
      configure_cloudwatch_logs: false,
      cloudwatch_logs_options: {},
      cloudwatch_logs_prefix: null,
      network_configuration: null,
      auto_deregister_task_definition: false,
      vpc_id: null,
      container_name: 'app',
      cluster: 'arn:aws:ecs:eu-west-1:123456789012:cluster/batch',
      match_latest_revision_in_family: true,
      prefect_api_key_secret_arn: null,
      prefect_api_auth_string_secret_arn: null,
      execution_role_arn: null,
      extra: { task_start_timeout_seconds: 300, task_watch_poll_interval: 5 },
    } satisfies EcsJobConfiguration);
    expect(warnings).toEqual([]);
  });

  it('passes stream_output through extra when a deployment sets it', async () => {
    // Act
    const { configuration } = await resolve({
      workPool: workPool(v04Template()),
      deployment: deployment({
        job_variables: { stream_output: true, task_start_timeout_seconds: 600 },
      }),
    });
    // Assess
    expect(configuration.extra).toEqual({
      stream_output: true,
      task_start_timeout_seconds: 600,
      task_watch_poll_interval: 5,
    });
  });
});

/** A pool template as users customise it in the Advanced tab. */
const customisedTemplate = () => {
  const template = currentTemplate() as {
    job_configuration: Record<string, unknown>;
    variables: Record<string, unknown>;
  };
  const properties = (template.variables as { properties: Record<string, unknown> }).properties;
  properties.aws_credentials = {
    title: 'AWS Credentials',
    default: { $ref: { block_document_id: IDS.block } },
  };
  properties.dd_site = { type: 'string', default: 'datadoghq.eu' };
  template.job_configuration.task_definition = {
    containerDefinitions: [
      {
        name: 'prefect',
        image: '{{ image }}',
        essential: true,
        mountPoints: [{ sourceVolume: 'scratch', containerPath: '/scratch' }],
        secrets: [
          {
            name: 'DB_PASSWORD',
            valueFrom: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:db',
          },
        ],
        dependsOn: [{ containerName: 'datadog', condition: 'START' }],
      },
      {
        name: 'datadog',
        image: '{{ prefect.blocks.json.sidecar.image }}',
        essential: false,
        environment: [
          { name: 'DD_SITE', value: '{{ dd_site }}' },
          { name: 'DD_API_KEY', value: '{{ prefect.blocks.secret.dd-api-key }}' },
        ],
      },
    ],
    cpu: '{{ cpu }}',
    memory: '{{ memory }}',
    family: 'etl-{{ prefect.variables.stage }}',
    executionRoleArn: '{{ execution_role_arn }}',
    volumes: [{ name: 'scratch', host: {} }],
    ephemeralStorage: { sizeInGiB: 50 },
    runtimePlatform: { cpuArchitecture: 'ARM64', operatingSystemFamily: 'LINUX' },
  };
  const run = template.job_configuration.task_run_request as Record<string, unknown>;
  Object.assign(run, {
    enableExecuteCommand: true,
    propagateTags: 'TASK_DEFINITION',
    placementConstraints: [{ type: 'memberOf', expression: 'attribute:ecs.os-type == linux' }],
    platformVersion: '1.4.0',
    group: 'family:etl',
  });
  template.job_configuration.team_slack_channel = '#data-{{ prefect.variables.stage }}';
  return template;
};

const customisedLookups: LookupData = {
  blocksById: { [IDS.block]: { region_name: 'eu-west-1', aws_access_key_id: null } },
  blocksByName: {
    'json/sidecar': { value: { image: 'public.ecr.aws/datadog/agent:7' } },
    'secret/dd-api-key': { value: 'dd-secret' },
  },
  variables: { stage: 'prod' },
};

describe('resolveJobConfiguration with a customised template', () => {
  it('passes sidecars, volumes, secrets and extra RunTask fields through, resolving blocks and variables', async () => {
    // Prepare
    const lookups = fakeLookups(customisedLookups);
    // Act
    const { configuration } = await resolveJobConfiguration(
      input({
        workPool: workPool(customisedTemplate()),
        deployment: deployment({
          job_variables: { image: IMAGE, cpu: 2048, memory: 4096, execution_role_arn: EXEC_ROLE },
        }),
      }),
      { lookups }
    );
    // Assess
    expect(configuration.task_definition).toStrictEqual({
      containerDefinitions: [
        {
          name: 'prefect',
          image: IMAGE,
          essential: true,
          mountPoints: [{ sourceVolume: 'scratch', containerPath: '/scratch' }],
          secrets: [
            {
              name: 'DB_PASSWORD',
              valueFrom: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:db',
            },
          ],
          dependsOn: [{ containerName: 'datadog', condition: 'START' }],
        },
        {
          name: 'datadog',
          image: 'public.ecr.aws/datadog/agent:7',
          essential: false,
          environment: [
            { name: 'DD_SITE', value: 'datadoghq.eu' },
            { name: 'DD_API_KEY', value: 'dd-secret' },
          ],
        },
      ],
      cpu: 2048,
      memory: 4096,
      family: 'etl-prod',
      executionRoleArn: EXEC_ROLE,
      volumes: [{ name: 'scratch', host: {} }],
      ephemeralStorage: { sizeInGiB: 50 },
      runtimePlatform: { cpuArchitecture: 'ARM64', operatingSystemFamily: 'LINUX' },
    });
    expect(configuration.task_run_request).toMatchObject({
      launchType: 'FARGATE',
      enableExecuteCommand: true,
      propagateTags: 'TASK_DEFINITION',
      placementConstraints: [{ type: 'memberOf', expression: 'attribute:ecs.os-type == linux' }],
      platformVersion: '1.4.0',
      group: 'family:etl',
    });
    expect(configuration.extra).toStrictEqual({
      aws_credentials: { region_name: 'eu-west-1', aws_access_key_id: null },
      stream_output: false,
      task_start_timeout_seconds: 0,
      task_watch_poll_interval: 0,
      team_slack_channel: '#data-prod',
    });
    expect(lookups.reads.sort()).toEqual([
      `block-id:${IDS.block}`,
      'block:json/sidecar',
      'block:secret/dd-api-key',
      'variable:stage',
    ]);
  });

  it('reads a block referenced twice only once per resolution, and again on the next one', async () => {
    // Prepare
    const lookups = fakeLookups({ blocksByName: { 'secret/registry': { value: 'acct.dkr.ecr' } } });
    const once = input({
      deployment: deployment({
        job_variables: {
          image: '{{ prefect.blocks.secret.registry }}/etl:1',
          env: { REGISTRY: '{{ prefect.blocks.secret.registry }}' },
        },
      }),
    });
    // Act
    const first = await resolveJobConfiguration(once, { lookups });
    await resolveJobConfiguration(once, { lookups });
    // Assess
    expect(first.configuration.task_definition).toMatchObject({
      containerDefinitions: [{ image: 'acct.dkr.ecr/etl:1' }],
    });
    expect(first.configuration.env.REGISTRY).toBe('acct.dkr.ecr');
    expect(lookups.reads).toEqual(['block:secret/registry', 'block:secret/registry']);
  });
});

describe('resolveJobConfiguration: job variables', () => {
  it('merges env per key (deployment, then flow run, then dotted keys) and replaces other keys', async () => {
    // Act
    const { configuration } = await resolve({
      deployment: deployment({
        job_variables: { env: { A: 'deployment', B: 'deployment' }, labels: { x: '1', y: '2' } },
      }),
      flowRun: flowRun({
        job_variables: { env: { B: 'flow-run' }, 'env.C': 'dotted', labels: { y: 'run' } },
      }),
    });
    // Assess
    expect(configuration.env).toMatchObject({ A: 'deployment', B: 'flow-run', C: 'dotted' });
    expect(configuration.labels).toMatchObject({ y: 'run' });
    expect(configuration.labels).not.toHaveProperty('x');
  });

  it('resolves a variable and a missing variable in job variables', async () => {
    // Act
    const { configuration } = await resolve(
      {
        deployment: deployment({
          job_variables: {
            image: '{{ prefect.variables.registry }}/etl:{{ prefect.variables.tag }}',
            cpu: '{{ prefect.variables.cpu }}',
          },
        }),
      },
      { variables: { registry: 'acct.dkr.ecr', cpu: 512 } }
    );
    // Assess
    expect(configuration.task_definition).toMatchObject({
      containerDefinitions: [{ image: 'acct.dkr.ecr/etl:' }],
      cpu: 512,
    });
  });

  it('substitutes allowed {{ $NAME }} of a pool template and warns about others', async () => {
    // Prepare
    const template = currentTemplate() as { job_configuration: Record<string, unknown> };
    template.job_configuration.cloudwatch_logs_prefix = '{{ $STAGE }}-{{ $AWS_SECRET_ACCESS_KEY }}';
    // Act
    const { configuration, warnings } = await resolve({
      workPool: workPool(template),
      environment: { STAGE: 'prod', AWS_SECRET_ACCESS_KEY: 'wJalr' },
      allowedEnvironment: ['STAGE'],
    });
    // Assess
    expect(configuration.cloudwatch_logs_prefix).toBe('prod-');
    expect(warnings).toEqual([
      expect.stringContaining('AWS_SECRET_ACCESS_KEY is not in the launcher'),
    ]);
    expect(JSON.stringify({ configuration, warnings })).not.toContain('wJalr');
  });

  it('keeps PREFECT_API_KEY out of env and overrides, with a warning', async () => {
    // Act
    const { configuration, warnings } = await resolve({
      prefectEnvironment: { PREFECT_API_URL: API_URL, PREFECT_API_KEY: 'pnu_worker' },
      deployment: deployment({ job_variables: { env: { PREFECT_API_KEY: 'pnu_user', APP: '1' } } }),
    });
    // Assess
    expect(configuration.env).not.toHaveProperty('PREFECT_API_KEY');
    expect(configuration.task_run_request).toMatchObject({
      overrides: { containerOverrides: [{ environment: { APP: '1' } }] },
    });
    expect(JSON.stringify(configuration)).not.toContain('pnu_');
    expect(warnings).toHaveLength(2);
  });
});

describe('resolveJobConfiguration: permanent errors', () => {
  it('a missing block names the placeholder, the template path and the job variable', async () => {
    // Act
    const error = await resolve({
      deployment: deployment({
        job_variables: { image: '{{ prefect.blocks.secret.registry }}/etl:1' },
      }),
    }).catch((caught: unknown) => caught);
    // Assess
    expect(error).toBeInstanceOf(TemplateError);
    expect(error).toMatchObject({
      retryable: false,
      variable: 'image',
      placeholder: '{{ prefect.blocks.secret.registry }}',
      templatePath: 'job_configuration.task_definition.containerDefinitions[0].image',
    });
  });

  it.each([
    [
      'network_configuration without vpc_id',
      { network_configuration: { subnets: ['subnet-a'] } },
      'vpc_id',
    ],
    [
      'cloudwatch options without configure_cloudwatch_logs',
      { cloudwatch_logs_options: { 'awslogs-group': 'x' } },
      'configure_cloudwatch_logs',
    ],
    [
      'CloudWatch logs without an execution role',
      { configure_cloudwatch_logs: true },
      'execution_role_arn',
    ],
    ['a label that is not a string', { labels: { retries: 3 } }, 'labels'],
  ])('%s', async (_case, jobVariables, variable) => {
    // Act
    const act = resolve({ deployment: deployment({ job_variables: jobVariables }) });
    // Assess
    await expect(act).rejects.toThrow(JobConfigurationError);
    await expect(act).rejects.toMatchObject({ variable, retryable: false });
  });

  it('a template whose task definition is empty and no ARN is refused', async () => {
    // Prepare
    const template = currentTemplate() as { job_configuration: Record<string, unknown> };
    template.job_configuration.task_definition = '{{ custom_task_definition }}';
    // Act
    const act = resolve({ workPool: workPool(template) });
    // Assess
    await expect(act).rejects.toMatchObject({
      name: 'JobConfigurationError',
      variable: 'task_definition_arn',
    });
  });

  it('a pool without a base job template is refused', async () => {
    // Act
    const act = resolve({ workPool: workPool({}) });
    // Assess
    await expect(act).rejects.toThrow(/no usable base job template/);
  });
});
