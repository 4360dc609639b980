/**
 * The ECS builders against the ECS + EC2 stand-in through the real SDK clients: every request we
 * build is accepted (RegisterTaskDefinition, RunTask), network discovery uses the default VPC, the
 * register → describe → hash round trip holds, and configuration errors name what to fix.
 */
import type { EC2Client } from '@aws-sdk/client-ec2';
import {
  CreateClusterCommand,
  DescribeTaskDefinitionCommand,
  type ECSClient,
  RegisterTaskDefinitionCommand,
  type RegisterTaskDefinitionCommandInput,
  RunTaskCommand,
  type Task,
} from '@aws-sdk/client-ecs';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createEc2Api } from '../../shared/ecs/ec2-client.ts';
import { EcsConfigurationError } from '../../shared/ecs/ecs-configuration-error.ts';
import { DEREGISTER_TAG_KEY } from '../../shared/ecs/ecs-tags.ts';
import { infrastructurePid } from '../../shared/ecs/infrastructure-pid.ts';
import {
  type NetworkCache,
  needsNetworkConfiguration,
  resolveNetworkConfiguration,
} from '../../shared/ecs/network-configuration.ts';
import { buildRunTaskInput, type RunTaskBuild } from '../../shared/ecs/run-task-input.ts';
import { flowRunIdFromStartedBy } from '../../shared/ecs/started-by.ts';
import { buildTaskDefinition } from '../../shared/ecs/task-definition.ts';
import {
  contentHashFromTags,
  contentHashTag,
  hashTaskDefinition,
} from '../../shared/ecs/task-definition-hash.ts';
import { validateTaskDefinitionForLaunch } from '../../shared/ecs/validate-task-definition.ts';
import type {
  EcsJobConfiguration,
  FlowRunContext,
} from '../../shared/jobs/ecs-job-configuration.ts';
import { ec2Client, ecsClient, fargateTaskDefinition } from '../standins/ecs/fixtures.ts';
import { startAwsStandin } from '../standins/ecs/server.ts';
import type { AwsStandin } from '../standins/ecs/types.ts';
import {
  API_KEY_SECRET,
  AUTH_STRING_SECRET,
  EXECUTION_ROLE,
  flowRunContext,
  IDS,
  jobConfiguration,
  prefectLabels,
  preparedEnv,
  withRunRequest,
} from '../unit/shared/ecs/job-configuration-factory.ts';

const CLUSTER = 'prefect';

let standin: AwsStandin;
let ecs: ECSClient;
let ec2: EC2Client;
let cache: NetworkCache;

beforeAll(async () => {
  standin = await startAwsStandin();
  ecs = ecsClient(standin);
  ec2 = ec2Client(standin);
  await ecs.send(
    new CreateClusterCommand({
      clusterName: CLUSTER,
      capacityProviders: ['FARGATE', 'FARGATE_SPOT'],
    })
  );
  standin.ecs.setContainerInstances(CLUSTER, 2);
});

afterAll(async () => {
  ecs?.destroy();
  ec2?.destroy();
  await standin?.close();
});

beforeEach(() => {
  cache = new Map();
});

interface Launched {
  definition: RegisterTaskDefinitionCommandInput;
  arn: string;
  run: RunTaskBuild;
  task: Task;
}

let runCounter = 0;

/** A context with a fresh flow run id, so each launch has its own clientToken. */
const freshContext = (overrides: Partial<FlowRunContext> = {}): FlowRunContext => {
  runCounter += 1;
  return flowRunContext({
    flowRunId: `${IDS.flowRun.slice(0, -4)}${String(runCounter).padStart(4, '0')}`,
    ...overrides,
  });
};

/** What the launcher does: build, register with the hash tag, resolve the network, RunTask. */
const launch = async (
  configuration: EcsJobConfiguration,
  context: FlowRunContext = freshContext()
): Promise<Launched> => {
  const definition = buildTaskDefinition(configuration, context, {
    region: standin.region,
    executionRoleArn: EXECUTION_ROLE,
    apiKeySecretArn: API_KEY_SECRET,
  });
  const hash = hashTaskDefinition(definition);
  const registered = await ecs.send(
    new RegisterTaskDefinitionCommand({ ...definition, tags: [contentHashTag(hash)] })
  );
  const arn = registered.taskDefinition?.taskDefinitionArn ?? '';
  const network = needsNetworkConfiguration(configuration, definition)
    ? await resolveNetworkConfiguration(configuration, createEc2Api(ec2), cache)
    : undefined;
  const run = buildRunTaskInput(configuration, context, {
    taskDefinitionArn: arn,
    taskDefinition: definition,
    registered: true,
    networkConfiguration: network?.networkConfiguration,
  });
  const answer = await ecs.send(new RunTaskCommand(run.input));
  expect(answer.failures).toEqual([]);
  const task = answer.tasks?.[0];
  if (!task) throw new Error('RunTask returned no task');
  return { definition, arn, run, task };
};

const clustered = (configuration: EcsJobConfiguration): EcsJobConfiguration => ({
  ...configuration,
  cluster: CLUSTER,
});

describe('the stand-in accepts what we build', () => {
  it('Fargate: registers, runs on a default-VPC subnet, tagged and attributed to the flow run', async () => {
    // Act
    const { definition, task, run } = await launch(clustered(jobConfiguration()));
    // Assess
    expect(definition).toMatchObject({ cpu: '1024', memory: '2048', networkMode: 'awsvpc' });
    expect(task.launchType).toBe('FARGATE');
    expect(flowRunIdFromStartedBy(task.startedBy)).toBe(run.input.clientToken);
    expect(task.tags).toEqual(
      expect.arrayContaining([{ key: 'prefect.io/flow-run-id', value: IDS.flowRun }])
    );
    const subnet = task.attachments?.[0]?.details?.find(
      (detail) => detail.name === 'subnetId'
    )?.value;
    expect(run.input.networkConfiguration?.awsvpcConfiguration?.subnets).toContain(subnet);
    expect(
      infrastructurePid(CLUSTER, { clusterArn: task.clusterArn ?? '', taskArn: task.taskArn ?? '' })
    ).toBe(`${CLUSTER}::${task.taskArn}`);
  });

  it('FARGATE_SPOT: runs on the FARGATE_SPOT provider with SIGTERM → reschedule', async () => {
    // Act
    const { task } = await launch(clustered(withRunRequest({ launchType: 'FARGATE_SPOT' })));
    // Assess
    expect(task.capacityProviderName).toBe('FARGATE_SPOT');
    expect(
      task.overrides?.containerOverrides?.find((o) => o.name === 'prefect')?.environment
    ).toContainEqual({
      name: 'PREFECT_FLOW_RUN_EXECUTE_SIGTERM_BEHAVIOR',
      value: 'reschedule',
    });
  });

  it('a custom capacity provider strategy (FARGATE base 1, FARGATE_SPOT weight 3)', async () => {
    // Act
    const { task, run } = await launch(
      clustered(
        withRunRequest({
          capacityProviderStrategy: [
            { capacityProvider: 'FARGATE', weight: 0, base: 1 },
            { capacityProvider: 'FARGATE_SPOT', weight: 3, base: 0 },
          ],
        })
      )
    );
    // Assess
    expect(run.input).not.toHaveProperty('launchType');
    expect(task.capacityProviderName).toBe('FARGATE');
  });

  it.each([
    ['EC2 launch type', withRunRequest({ launchType: 'EC2' }), 'EC2'],
    [
      'an EC2 task definition without launch type (cluster default)',
      withRunRequest(
        { launchType: undefined },
        { task_definition: { containerDefinitions: [{}], requiresCompatibilities: ['EC2'] } }
      ),
      'EC2',
    ],
    ['EXTERNAL launch type', withRunRequest({ launchType: 'EXTERNAL' }), 'EXTERNAL'],
  ])(
    '%s: container-level sizes, no network configuration',
    async (_name, configuration, launchType) => {
      // Act
      const { definition, run, task } = await launch(clustered(configuration));
      // Assess
      expect(definition.containerDefinitions?.[0]).toMatchObject({ cpu: 1024, memory: 2048 });
      expect(run.input).not.toHaveProperty('networkConfiguration');
      expect(task.launchType).toBe(launchType);
    }
  );

  it('a given task definition ARN: nothing registered, validated, run as is', async () => {
    // Prepare
    const registered = await ecs.send(
      new RegisterTaskDefinitionCommand(fargateTaskDefinition('byo-etl'))
    );
    const arn = registered.taskDefinition?.taskDefinitionArn ?? '';
    const configuration = clustered(
      withRunRequest({ taskDefinition: arn }, { auto_deregister_task_definition: true })
    );
    const { taskDefinition } = await ecs.send(
      new DescribeTaskDefinitionCommand({ taskDefinition: arn })
    );
    if (!taskDefinition) throw new Error('no task definition');
    validateTaskDefinitionForLaunch(taskDefinition, configuration);
    const network = await resolveNetworkConfiguration(configuration, createEc2Api(ec2), cache);
    const context = freshContext();
    // Act
    const run = buildRunTaskInput(configuration, context, {
      taskDefinitionArn: arn,
      taskDefinition,
      registered: false,
      networkConfiguration: network.networkConfiguration,
    });
    const answer = await ecs.send(new RunTaskCommand(run.input));
    // Assess
    expect(answer.failures).toEqual([]);
    expect(answer.tasks?.[0]?.taskDefinitionArn).toBe(arn);
    expect(run.input.tags?.map((tag) => tag.key)).not.toContain(DEREGISTER_TAG_KEY);
  });

  it('awslogs, with and without options', async () => {
    const variants: Record<string, string>[] = [
      {},
      { 'awslogs-group': 'etl', 'awslogs-stream-prefix': 'etl' },
    ];
    for (const options of variants) {
      // Act
      const { definition } = await launch(
        clustered(
          jobConfiguration({
            configure_cloudwatch_logs: true,
            cloudwatch_logs_options: options,
            execution_role_arn: EXECUTION_ROLE,
          })
        )
      );
      // Assess
      expect(definition.containerDefinitions?.[0]?.logConfiguration?.options).toMatchObject({
        'awslogs-region': standin.region,
        ...options,
      });
    }
  });

  it('secrets: API key and auth string as task-definition secrets, never in overrides', async () => {
    // Act
    const { definition, task } = await launch(
      clustered(
        jobConfiguration({
          prefect_api_key_secret_arn: API_KEY_SECRET,
          prefect_api_auth_string_secret_arn: AUTH_STRING_SECRET,
          env: { ...preparedEnv(), PREFECT_API_KEY: 'pnu_must_not_leak' },
        })
      )
    );
    // Assess
    expect(definition.containerDefinitions?.[0]?.secrets).toEqual([
      { name: 'PREFECT_API_KEY', valueFrom: API_KEY_SECRET },
      { name: 'PREFECT_API_AUTH_STRING', valueFrom: AUTH_STRING_SECRET },
    ]);
    expect(JSON.stringify(task.overrides)).not.toContain('PREFECT_API_KEY');
    expect(JSON.stringify(standin.callsTo('RunTask').map((call) => call.input))).not.toContain(
      'pnu_must_not_leak'
    );
  });

  it('env with a null: removed from the task definition and from the overrides', async () => {
    // Act
    const { definition, task } = await launch(
      clustered(
        withRunRequest(
          { overrides: { containerOverrides: [{ environment: { DEBUG: '1', KEEP: 'k' } }] } },
          {
            env: { ...preparedEnv(), DEBUG: null },
            task_definition: {
              containerDefinitions: [
                {
                  environment: [
                    { name: 'DEBUG', value: 'td' },
                    { name: 'TD', value: 't' },
                  ],
                },
              ],
            },
          }
        )
      )
    );
    // Assess
    expect(definition.containerDefinitions?.[0]?.environment).toEqual([{ name: 'TD', value: 't' }]);
    const environment = task.overrides?.containerOverrides?.[0]?.environment ?? [];
    expect(environment.map((item) => item.name)).not.toContain('DEBUG');
    expect(environment).toContainEqual({ name: 'KEEP', value: 'k' });
  });

  it('labels needing slugs, beyond 50 tags and the 128/256 limits', async () => {
    // Prepare
    const labels = {
      ...Object.fromEntries(
        Array.from({ length: 55 }, (_, i) => [`Team Label #${i}`, `Data & ML ${i}`])
      ),
      ['k'.repeat(140)]: 'v'.repeat(300),
      ...prefectLabels(),
    };
    // Act
    const { task, run } = await launch(
      clustered(jobConfiguration({ labels, auto_deregister_task_definition: true }))
    );
    // Assess
    expect(task.tags).toHaveLength(50);
    expect(task.tags).toContainEqual({ key: DEREGISTER_TAG_KEY, value: 'true' });
    expect(task.tags).toContainEqual({ key: 'Team-Label-0', value: 'Data-ML-0' });
    expect(run.warnings.length).toBeGreaterThan(0);
  });

  it("a pool named 'My Pool.v2' registers (prefect-aws would send an invalid family)", async () => {
    // Act
    const { definition } = await launch(
      clustered(jobConfiguration()),
      freshContext({ workPoolName: 'My Pool.v2' })
    );
    // Assess
    expect(definition.family).toBe(`prefect_My-Pool-v2_${IDS.deployment}`);
  });

  it('a command with quotes reaches the container as argv', async () => {
    // Act
    const { task } = await launch(
      clustered(jobConfiguration({ command: `prefect flow-run execute --note "it's fine"` }))
    );
    // Assess
    expect(task.overrides?.containerOverrides?.[0]?.command).toEqual([
      'prefect',
      'flow-run',
      'execute',
      '--note',
      "it's fine",
    ]);
  });

  it('the same request twice (clientToken = flow run id) returns the same task', async () => {
    // Prepare
    const context = freshContext();
    const first = await launch(clustered(jobConfiguration()), context);
    // Act
    const again = await ecs.send(new RunTaskCommand(first.run.input));
    // Assess
    expect(again.tasks?.[0]?.taskArn).toBe(first.task.taskArn);
  });
});

describe('task definition content hash', () => {
  it('register → describe → hash: equal; the tag holds it; another image → another hash', async () => {
    // Prepare
    const configuration = jobConfiguration({
      configure_cloudwatch_logs: true,
      execution_role_arn: EXECUTION_ROLE,
      task_definition: {
        containerDefinitions: [
          {
            image: 'etl:1',
            environment: [
              { name: 'Z', value: '1' },
              { name: 'A', value: '2' },
            ],
            portMappings: [{ containerPort: 8080 }],
          },
          { name: 'sidecar', image: 'envoy', essential: false, memoryReservation: 64 },
        ],
        ephemeralStorage: { sizeInGiB: 30 },
      },
    });
    const definition = buildTaskDefinition(configuration, freshContext(), {
      region: standin.region,
      apiKeySecretArn: API_KEY_SECRET,
    });
    const hash = hashTaskDefinition(definition);
    // Act
    const registered = await ecs.send(
      new RegisterTaskDefinitionCommand({ ...definition, tags: [contentHashTag(hash)] })
    );
    const described = await ecs.send(
      new DescribeTaskDefinitionCommand({
        taskDefinition: registered.taskDefinition?.taskDefinitionArn,
        include: ['TAGS'],
      })
    );
    // Assess
    if (!described.taskDefinition) throw new Error('no task definition');
    expect(hashTaskDefinition(described.taskDefinition)).toBe(hash);
    expect(contentHashFromTags(described.tags)).toBe(hash);
    const changed = {
      ...definition,
      containerDefinitions: [{ ...definition.containerDefinitions?.[0], image: 'etl:2' }],
    };
    expect(hashTaskDefinition(changed)).not.toBe(hash);
  });
});

describe('network resolution against EC2', () => {
  it('discovers the default VPC subnets once; a second resolve makes no EC2 call', async () => {
    // Prepare
    const api = createEc2Api(ec2);
    const before = standin.calls.filter((call) => call.service === 'ec2').length;
    // Act
    const first = await resolveNetworkConfiguration(jobConfiguration(), api, cache);
    const afterFirst = standin.calls.filter((call) => call.service === 'ec2').length;
    const second = await resolveNetworkConfiguration(jobConfiguration(), api, cache);
    const afterSecond = standin.calls.filter((call) => call.service === 'ec2').length;
    // Assess
    const defaultSubnets = standin.ec2.availabilityZones.length;
    expect(first.networkConfiguration.awsvpcConfiguration?.subnets).toHaveLength(defaultSubnets);
    expect(afterFirst - before).toBe(2);
    expect(afterSecond).toBe(afterFirst);
    expect(second).toEqual(first);
  });

  it('a given network configuration is checked against vpc_id and runs', async () => {
    // Prepare
    const vpcId = standin.ec2.defaultVpcId ?? '';
    const subnet =
      (await resolveNetworkConfiguration(jobConfiguration(), createEc2Api(ec2), cache))
        .networkConfiguration.awsvpcConfiguration?.subnets?.[0] ?? '';
    const configuration = clustered(
      jobConfiguration({
        vpc_id: vpcId,
        network_configuration: {
          subnets: [subnet],
          securityGroups: [standin.ec2.defaultSecurityGroupId(vpcId)],
          assignPublicIp: 'DISABLED',
        },
      })
    );
    // Act
    const { run, task } = await launch(configuration);
    // Assess
    expect(run.input.networkConfiguration?.awsvpcConfiguration).toEqual(
      configuration.network_configuration
    );
    expect(task.taskArn).toBeDefined();
  });

  it('a subnet outside vpc_id is refused, naming the subnet and the VPC', async () => {
    // Prepare
    const otherVpc = standin.ec2.addVpc({ cidrBlock: '10.20.0.0/16' });
    const otherSubnet = standin.ec2.addSubnet({
      vpcId: otherVpc,
      availabilityZone: standin.ec2.availabilityZones[0] ?? '',
      cidrBlock: '10.20.1.0/24',
    });
    const vpcId = standin.ec2.defaultVpcId ?? '';
    // Act
    const resolving = resolveNetworkConfiguration(
      jobConfiguration({ vpc_id: vpcId, network_configuration: { subnets: [otherSubnet] } }),
      createEc2Api(ec2),
      cache
    );
    // Assess
    await expect(resolving).rejects.toBeInstanceOf(EcsConfigurationError);
    await expect(resolving).rejects.toThrow(
      `Subnet ${otherSubnet} in network_configuration is not in VPC ${vpcId}`
    );
  });

  it('an unknown vpc_id is a configuration error, not an EC2 exception', async () => {
    await expect(
      resolveNetworkConfiguration(
        jobConfiguration({ vpc_id: 'vpc-0123456789abcdef0' }),
        createEc2Api(ec2),
        cache
      )
    ).rejects.toMatchObject({ name: 'EcsConfigurationError', variable: 'vpc_id' });
  });
});
