import type { NetworkConfiguration } from '@aws-sdk/client-ecs';
import { describe, expect, it } from 'vitest';
import { SIGTERM_BEHAVIOR_VARIABLE } from '../../../../shared/ecs/container-overrides.ts';
import { EcsConfigurationError } from '../../../../shared/ecs/ecs-configuration-error.ts';
import { DEREGISTER_TAG_KEY } from '../../../../shared/ecs/ecs-tags.ts';
import {
  buildRunTaskInput,
  type ResolvedTaskDefinition,
} from '../../../../shared/ecs/run-task-input.ts';
import type { TaskDefinitionFacts } from '../../../../shared/ecs/validate-task-definition.ts';
import type { EcsJobConfiguration } from '../../../../shared/jobs/ecs-job-configuration.ts';
import {
  flowRunContext,
  IDS,
  jobConfiguration,
  prefectLabels,
  preparedEnv,
  withRunRequest,
} from './job-configuration-factory.ts';

const ARN = 'arn:aws:ecs:us-east-1:123456789012:task-definition/prefect_ecs-pool_a1b2:1';
const NETWORK: NetworkConfiguration = {
  awsvpcConfiguration: {
    subnets: ['subnet-0a', 'subnet-0b'],
    assignPublicIp: 'ENABLED',
    securityGroups: [],
  },
};
const FARGATE_TD: TaskDefinitionFacts = {
  networkMode: 'awsvpc',
  requiresCompatibilities: ['FARGATE'],
  containerDefinitions: [{ name: 'prefect' }],
};
const EC2_TD: TaskDefinitionFacts = {
  requiresCompatibilities: ['EC2'],
  containerDefinitions: [{ name: 'prefect' }],
};
const BRIDGE_TD: TaskDefinitionFacts = { containerDefinitions: [{ name: 'prefect' }] };

const resolvedFor = (
  taskDefinition: TaskDefinitionFacts,
  extra: Partial<ResolvedTaskDefinition> = {}
): ResolvedTaskDefinition => ({
  taskDefinitionArn: ARN,
  taskDefinition,
  registered: true,
  ...(taskDefinition.networkMode === 'awsvpc' ? { networkConfiguration: NETWORK } : {}),
  ...extra,
});

const build = (configuration: EcsJobConfiguration, resolved = resolvedFor(FARGATE_TD)) =>
  buildRunTaskInput(configuration, flowRunContext(), resolved);

const envList = (env: Record<string, string | null>) =>
  Object.entries(env).flatMap(([name, value]) => (value === null ? [] : [{ name, value }]));
const labelTags = () => Object.entries(prefectLabels()).map(([key, value]) => ({ key, value }));
const orchestration = (configuration: EcsJobConfiguration, resolved?: ResolvedTaskDefinition) =>
  build(configuration, resolved).input.overrides?.containerOverrides?.find(
    (override) => override.name === 'prefect'
  );

describe('buildRunTaskInput: launch types, field by field', () => {
  it('FARGATE (default template): the whole request', () => {
    // Act
    const { input, warnings } = build(jobConfiguration({ cluster: 'prefect' }));
    // Assess
    expect(input).toEqual({
      launchType: 'FARGATE',
      cluster: 'prefect',
      taskDefinition: ARN,
      networkConfiguration: NETWORK,
      overrides: {
        containerOverrides: [
          {
            name: 'prefect',
            command: ['prefect', 'flow-run', 'execute'],
            environment: envList(preparedEnv()),
          },
        ],
      },
      tags: labelTags(),
      clientToken: IDS.flowRun,
      startedBy: `prefect/${IDS.flowRun}`,
    });
    expect(warnings).toEqual([]);
  });

  it('FARGATE_SPOT: a FARGATE_SPOT strategy, no launchType, SIGTERM → reschedule', () => {
    // Act
    const { input } = build(withRunRequest({ launchType: 'FARGATE_SPOT' }));
    // Assess
    expect(input.launchType).toBeUndefined();
    expect(input.capacityProviderStrategy).toEqual([
      { capacityProvider: 'FARGATE_SPOT', weight: 1 },
    ]);
    expect(input.overrides?.containerOverrides?.[0]?.environment).toContainEqual({
      name: SIGTERM_BEHAVIOR_VARIABLE,
      value: 'reschedule',
    });
  });

  it('a strategy containing FARGATE_SPOT: launchType removed (warned), strategy kept, SIGTERM → reschedule', () => {
    // Prepare
    const strategy = [
      { capacityProvider: 'FARGATE', weight: 1, base: 1 },
      { capacityProvider: 'FARGATE_SPOT', weight: 4, base: 0 },
    ];
    // Act
    const { input, warnings } = build(withRunRequest({ capacityProviderStrategy: strategy }));
    // Assess
    expect(input).not.toHaveProperty('launchType');
    expect(input.capacityProviderStrategy).toEqual(strategy);
    expect(warnings).toEqual([expect.stringContaining('Removed launchType FARGATE')]);
    expect(input.overrides?.containerOverrides?.[0]?.environment).toContainEqual({
      name: SIGTERM_BEHAVIOR_VARIABLE,
      value: 'reschedule',
    });
  });

  it.each([
    [
      'set by env',
      { [SIGTERM_BEHAVIOR_VARIABLE]: 'relinquish' },
      [{ name: SIGTERM_BEHAVIOR_VARIABLE, value: 'relinquish' }],
    ],
    ['unset by env (null)', { [SIGTERM_BEHAVIOR_VARIABLE]: null }, []],
  ])('FARGATE_SPOT keeps the SIGTERM behaviour the user %s', (_name, env, expected) => {
    // Act
    const override = orchestration(
      withRunRequest({ launchType: 'FARGATE_SPOT' }, { env: { ...preparedEnv(), ...env } })
    );
    // Assess
    expect(
      override?.environment?.filter((item) => item.name === SIGTERM_BEHAVIOR_VARIABLE)
    ).toEqual(expected);
  });

  it('a custom capacity provider strategy: launchType removed, no SIGTERM setting', () => {
    // Prepare
    const strategy = [{ capacityProvider: 'gpu-asg', weight: 1, base: 0 }];
    // Act
    const { input } = build(
      withRunRequest({ capacityProviderStrategy: strategy }),
      resolvedFor(EC2_TD)
    );
    // Assess
    expect(input).not.toHaveProperty('launchType');
    expect(input.capacityProviderStrategy).toEqual(strategy);
    expect(JSON.stringify(input)).not.toContain(SIGTERM_BEHAVIOR_VARIABLE);
  });

  it.each([
    ['EC2 launch type', withRunRequest({ launchType: 'EC2' }), BRIDGE_TD, 'EC2'],
    ['EXTERNAL launch type', withRunRequest({ launchType: 'EXTERNAL' }), BRIDGE_TD, 'EXTERNAL'],
    [
      'no launch type, EC2 task definition: none (cluster default provider)',
      withRunRequest({ launchType: undefined }),
      EC2_TD,
      undefined,
    ],
    [
      'no launch type, other task definition: FARGATE',
      withRunRequest({ launchType: '' }),
      FARGATE_TD,
      'FARGATE',
    ],
  ])('%s', (_name, configuration, taskDefinition, launchType) => {
    // Act
    const { input } = build(configuration, resolvedFor(taskDefinition));
    // Assess
    expect(input.launchType).toBe(launchType);
    expect('launchType' in input).toBe(launchType !== undefined);
    expect(input).not.toHaveProperty('capacityProviderStrategy');
    expect('networkConfiguration' in input).toBe(taskDefinition.networkMode === 'awsvpc');
  });
});

describe('buildRunTaskInput: task definition, cluster, network', () => {
  it('a given task definition ARN: used, and never tagged for deregistration', () => {
    // Prepare
    const given = 'arn:aws:ecs:us-east-1:123456789012:task-definition/etl:7';
    // Act
    const { input } = build(
      jobConfiguration({ auto_deregister_task_definition: true }),
      resolvedFor(FARGATE_TD, { taskDefinitionArn: given, registered: false })
    );
    // Assess
    expect(input.taskDefinition).toBe(given);
    expect(input.tags?.map((tag) => tag.key)).not.toContain(DEREGISTER_TAG_KEY);
  });

  it('a registered task definition with auto_deregister_task_definition: the deregister tag', () => {
    const { input } = build(jobConfiguration({ auto_deregister_task_definition: true }));
    expect(input.tags).toContainEqual({ key: DEREGISTER_TAG_KEY, value: 'true' });
  });

  it.each([
    ['the configured cluster when the template has none', {}, 'prod', 'prod'],
    ['the templated cluster first', { cluster: 'templated' }, 'prod', 'templated'],
    ['no cluster (the default one) when neither is set', {}, null, undefined],
  ])('uses %s', (_name, request, cluster, expected) => {
    expect(build(withRunRequest(request, { cluster })).input.cluster).toBe(expected);
  });

  it('keeps the templated networkConfiguration when network_configuration is not set', () => {
    // Prepare
    const templated = {
      awsvpcConfiguration: { subnets: ['subnet-tpl'], assignPublicIp: 'DISABLED' },
    };
    // Act
    const { input } = build(
      withRunRequest({ networkConfiguration: templated }),
      resolvedFor(FARGATE_TD, { networkConfiguration: undefined })
    );
    // Assess
    expect(input.networkConfiguration).toEqual(templated);
  });

  it('network_configuration (resolved) wins over the template', () => {
    const { input } = build(
      withRunRequest(
        { networkConfiguration: { awsvpcConfiguration: { subnets: ['subnet-tpl'] } } },
        { network_configuration: { subnets: ['subnet-0a'] }, vpc_id: 'vpc-1' }
      )
    );
    expect(input.networkConfiguration).toEqual(NETWORK);
  });

  it('drops a networkConfiguration the non-awsvpc task definition cannot take, with a warning', () => {
    // Act
    const { input, warnings } = build(
      withRunRequest({
        launchType: 'EC2',
        networkConfiguration: { awsvpcConfiguration: { subnets: ['s'] } },
      }),
      resolvedFor(BRIDGE_TD)
    );
    // Assess
    expect(input).not.toHaveProperty('networkConfiguration');
    expect(warnings).toEqual([expect.stringContaining('not awsvpc')]);
  });

  it('insists on a resolved network for awsvpc', () => {
    expect(() =>
      build(jobConfiguration(), resolvedFor(FARGATE_TD, { networkConfiguration: undefined }))
    ).toThrow(/resolve the network first/);
  });
});

describe('buildRunTaskInput: container overrides', () => {
  it('env: template env minus names env sets or unsets, then env without nulls', () => {
    // Prepare
    const configuration = withRunRequest(
      {
        overrides: {
          containerOverrides: [
            { environment: { TEMPLATE: 't', DROP: 'x', SHARED: 'template', NULL: null } },
          ],
        },
      },
      { env: { SHARED: 'env', DROP: null, NEW: 'n' } }
    );
    // Act
    const override = orchestration(configuration);
    // Assess
    expect(override?.environment).toEqual([
      { name: 'TEMPLATE', value: 't' },
      { name: 'SHARED', value: 'env' },
      { name: 'NEW', value: 'n' },
    ]);
  });

  it('never sends Prefect credentials in overrides: stripped with a warning that holds no value', () => {
    // Prepare
    const configuration = withRunRequest(
      {
        overrides: {
          containerOverrides: [
            { name: 'prefect', environment: { PREFECT_API_AUTH_STRING: 'admin:pass' } },
            { name: 'sidecar', environment: [{ name: 'PREFECT_API_KEY', value: 'pnu_sidecar' }] },
          ],
        },
      },
      { env: { ...preparedEnv(), PREFECT_API_KEY: 'pnu_secret' } }
    );
    // Act
    const { input, warnings } = build(configuration);
    // Assess
    const text = JSON.stringify(input);
    for (const name of ['PREFECT_API_KEY', 'PREFECT_API_AUTH_STRING'])
      expect(text).not.toContain(name);
    for (const value of ['pnu_secret', 'pnu_sidecar', 'admin:pass']) {
      expect(text).not.toContain(value);
      expect(warnings.join('\n')).not.toContain(value);
    }
    expect(warnings).toHaveLength(3);
  });

  it.each([
    ['the default command', 'prefect flow-run execute', ['prefect', 'flow-run', 'execute']],
    [
      'quotes and escapes',
      `python -m etl --name "nightly run" --where 'a = "b"' \\$HOME`,
      ['python', '-m', 'etl', '--name', 'nightly run', '--where', 'a = "b"', '$HOME'],
    ],
  ])('command: %s, split like shlex', (_name, command, argv) => {
    expect(orchestration(jobConfiguration({ command }))?.command).toEqual(argv);
  });

  it('refuses an unbalanced command, naming the variable', () => {
    expect(() => build(jobConfiguration({ command: "python -c 'print(1)" }))).toThrow(
      expect.objectContaining({ name: 'EcsConfigurationError', variable: 'command' })
    );
    expect(() => build(jobConfiguration({ command: "python -c 'print(1)" }))).toThrow(
      EcsConfigurationError
    );
  });

  it('sizes: overrides cpu/memory as strings, container overrides as integers', () => {
    // Prepare
    const configuration = withRunRequest({
      overrides: {
        containerOverrides: [{ environment: {}, cpu: '512', memory: 1024 }],
        cpu: 512,
        memory: 1024,
        taskRoleArn: 'arn:aws:iam::123456789012:role/task',
      },
    });
    // Act
    const { input } = build(configuration);
    // Assess
    expect(input.overrides).toMatchObject({
      cpu: '512',
      memory: '1024',
      taskRoleArn: 'arn:aws:iam::123456789012:role/task',
    });
    expect(input.overrides?.containerOverrides?.[0]).toMatchObject({ cpu: 512, memory: 1024 });
  });

  it('names the first unnamed override after the orchestration container', () => {
    const { input } = build(
      jobConfiguration({ container_name: 'app' }),
      resolvedFor({ ...FARGATE_TD, containerDefinitions: [{ name: 'app' }] })
    );
    expect(input.overrides?.containerOverrides?.map((override) => override.name)).toEqual(['app']);
  });

  it.each([
    ['no containerOverrides in the template', { overrides: {} }, ['prefect']],
    ['no overrides at all', { overrides: undefined }, ['prefect']],
    [
      'only a sidecar override',
      {
        overrides: {
          containerOverrides: [{ name: 'sidecar', command: 'envoy -c /etc/envoy.yaml' }],
        },
      },
      ['sidecar', 'prefect'],
    ],
  ])('adds the orchestration override when the template has %s', (_name, request, names) => {
    // Act
    const { input } = build(withRunRequest(request));
    // Assess
    expect(input.overrides?.containerOverrides?.map((override) => override.name)).toEqual(names);
    expect(orchestration(withRunRequest(request))?.environment).toEqual(envList(preparedEnv()));
  });

  it('splits string commands of other containers too, and drops overrides left with only a name', () => {
    // Prepare
    const configuration = withRunRequest({
      overrides: {
        containerOverrides: [
          { name: 'prefect', environment: {} },
          { name: 'sidecar', command: 'envoy -c "/etc/envoy.yaml"' },
          { name: 'idle', environment: {}, command: null },
        ],
      },
    });
    // Act
    const overrides = build(configuration).input.overrides?.containerOverrides;
    // Assess
    expect(overrides?.map((override) => override.name)).toEqual(['prefect', 'sidecar']);
    expect(overrides?.[1]).toEqual({
      name: 'sidecar',
      command: ['envoy', '-c', '/etc/envoy.yaml'],
    });
  });
});

describe('buildRunTaskInput: idempotency and identification', () => {
  it('clientToken is the flow run id; startedBy prefect/<id>; a templated count or token is replaced with warnings', () => {
    // Act
    const { input, warnings } = build(
      withRunRequest({
        clientToken: 'mine',
        startedBy: 'me',
        count: 3,
        enableExecuteCommand: false,
        group: '',
      })
    );
    // Assess
    expect(input).toMatchObject({
      clientToken: IDS.flowRun,
      startedBy: `prefect/${IDS.flowRun}`,
      enableExecuteCommand: false,
    });
    expect(input).not.toHaveProperty('count');
    expect(input).not.toHaveProperty('group');
    expect(IDS.flowRun.length).toBeLessThanOrEqual(64);
    expect(warnings).toHaveLength(3);
  });

  it('tags: template tags and labels slugified, cut to 50 with prefect.io first', () => {
    // Prepare
    const labels = {
      ...Object.fromEntries(
        Array.from({ length: 45 }, (_, i) => [`team label ${i}`, `value ${i}`])
      ),
      ...prefectLabels(),
    };
    // Act
    const { input, warnings } = build(
      withRunRequest({ tags: { 'cost center': 'R&D' } }, { labels })
    );
    // Assess
    expect(input.tags).toHaveLength(50);
    expect(input.tags?.[0]).toEqual({ key: 'cost-center', value: 'R-D' });
    expect(input.tags).toContainEqual({ key: 'team-label-0', value: 'value-0' });
    expect(input.tags).toContainEqual({ key: 'prefect.io/flow-run-id', value: IDS.flowRun });
    expect(warnings).toEqual([expect.stringContaining('dropped 7 label(s)')]);
  });
});
