import {
  ClusterNotFoundException,
  ConflictException,
  CreateClusterCommand,
  DescribeClustersCommand,
  DescribeTasksCommand,
  type ECSClient,
  ECSServiceException,
  InvalidParameterException,
  ListTasksCommand,
  RegisterTaskDefinitionCommand,
  RunTaskCommand,
  type RunTaskCommandInput,
  TagResourceCommand,
} from '@aws-sdk/client-ecs';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ecsClient, type FargateSetup, fargateTaskDefinition, setUpFargate } from './fixtures.ts';
import { startAwsStandin } from './server.ts';
import type { AwsStandin } from './types.ts';

const FLOW_RUN_ID = '7a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d';

describe('ECS stand-in: RunTask', () => {
  let standin: AwsStandin;
  let ecs: ECSClient;
  let fargate: FargateSetup;

  beforeAll(async () => {
    standin = await startAwsStandin();
    ecs = ecsClient(standin);
    fargate = await setUpFargate(standin, ecs);
  });

  afterAll(async () => {
    ecs.destroy();
    await standin.close();
  });

  const rejection = (input: RunTaskCommandInput, client = ecs): Promise<unknown> =>
    client.send(new RunTaskCommand(input)).then(
      () => undefined,
      (error: unknown) => error
    );

  describe('happy path', () => {
    it('starts a PROVISIONING Fargate task that carries what the launcher sent', async () => {
      // Prepare
      const input = fargate.runInput({
        startedBy: `prefect-${FLOW_RUN_ID}`,
        clientToken: FLOW_RUN_ID,
        overrides: {
          containerOverrides: [
            {
              name: 'prefect',
              command: ['prefect', 'flow-run', 'execute'],
              environment: [{ name: 'PREFECT__FLOW_RUN_ID', value: FLOW_RUN_ID }],
            },
          ],
        },
        tags: [{ key: 'prefect.io/flow-run-id', value: FLOW_RUN_ID }],
      });
      // Act
      const { tasks, failures } = await ecs.send(new RunTaskCommand(input));
      // Assess
      expect(failures).toEqual([]);
      expect(tasks).toHaveLength(1);
      const [task] = tasks ?? [];
      expect(task?.taskArn).toMatch(
        /^arn:aws:ecs:us-east-1:123456789012:task\/prefect\/[0-9a-f]{32}$/
      );
      expect(task).toMatchObject({
        clusterArn: 'arn:aws:ecs:us-east-1:123456789012:cluster/prefect',
        taskDefinitionArn: fargate.taskDefinitionArn,
        lastStatus: 'PROVISIONING',
        desiredStatus: 'RUNNING',
        launchType: 'FARGATE',
        platformVersion: '1.4.0',
        group: 'family:prefect-flow-run',
        startedBy: `prefect-${FLOW_RUN_ID}`,
        cpu: '1024',
        memory: '2048',
        version: 1,
        containers: [
          expect.objectContaining({
            name: 'prefect',
            lastStatus: 'PENDING',
            taskArn: task?.taskArn,
          }),
        ],
        overrides: {
          containerOverrides: [
            expect.objectContaining({
              name: 'prefect',
              environment: [{ name: 'PREFECT__FLOW_RUN_ID', value: FLOW_RUN_ID }],
            }),
          ],
        },
        attachments: [
          expect.objectContaining({ type: 'ElasticNetworkInterface', status: 'PRECREATED' }),
        ],
        tags: [{ key: 'prefect.io/flow-run-id', value: FLOW_RUN_ID }],
      });
      expect(task?.createdAt).toBeInstanceOf(Date);
    });

    it('runs on FARGATE_SPOT through a capacity provider strategy', async () => {
      // Prepare
      const input = fargate.runInput({
        launchType: undefined,
        capacityProviderStrategy: [{ capacityProvider: 'FARGATE_SPOT', weight: 1 }],
      });
      // Act
      const { tasks } = await ecs.send(new RunTaskCommand(input));
      // Assess
      expect(tasks?.[0]).toMatchObject({
        launchType: 'FARGATE',
        capacityProviderName: 'FARGATE_SPOT',
      });
    });

    it('starts up to 10 tasks in one call', async () => {
      // Prepare / Act
      const { tasks } = await ecs.send(new RunTaskCommand(fargate.runInput({ count: 3 })));
      // Assess
      expect(new Set(tasks?.map((task) => task.taskArn)).size).toBe(3);
    });
  });

  describe('rejections', () => {
    it('rejects RunTask without taskDefinition as ECS does', async () => {
      // Prepare
      const input = fargate.runInput({ taskDefinition: undefined });
      // Act
      const error = await rejection(input);
      // Assess
      expect(error).toBeInstanceOf(InvalidParameterException);
      expect(error).toBeInstanceOf(ECSServiceException);
      expect((error as Error).message).toBe('TaskDefinition can not be blank.');
      expect(standin.callsTo('RunTask').at(-1)?.error?.code).toBe('InvalidParameterException');
    });

    it('rejects launchType together with capacityProviderStrategy', async () => {
      // Prepare
      const input = fargate.runInput({
        capacityProviderStrategy: [{ capacityProvider: 'FARGATE', weight: 1 }],
      });
      // Act
      const error = await rejection(input);
      // Assess
      expect(error).toBeInstanceOf(InvalidParameterException);
      expect((error as Error).message).toBe(
        'Specifying both a launch type and capacity provider strategy is not supported. Remove one and try again.'
      );
    });

    it('answers ClusterNotFoundException for a missing cluster, and for the default one until created', async () => {
      // Prepare
      const named = fargate.runInput({ cluster: 'nope' });
      const byDefault = fargate.runInput({ cluster: undefined });
      // Act
      const missing = await rejection(named);
      const noDefault = await rejection(byDefault);
      await ecs.send(new CreateClusterCommand({}));
      const described = await ecs.send(
        new DescribeClustersCommand({ clusters: ['default', 'nope'] })
      );
      // Assess
      expect(missing).toBeInstanceOf(ClusterNotFoundException);
      expect((missing as Error).message).toBe('Cluster not found.');
      expect(noDefault).toBeInstanceOf(ClusterNotFoundException);
      expect(described.clusters?.map((cluster) => cluster.clusterName)).toEqual(['default']);
      expect(described.failures).toEqual([
        { arn: 'arn:aws:ecs:us-east-1:123456789012:cluster/nope', reason: 'MISSING' },
      ]);
    });

    it('rejects an unknown or inactive task definition', async () => {
      // Prepare
      const unknown = fargate.runInput({ taskDefinition: 'no-such-family' });
      // Act
      const error = await rejection(unknown);
      // Assess
      expect(error).toBeInstanceOf(InvalidParameterException);
      expect((error as Error).message).toBe('TaskDefinition not found.');
    });

    it('needs awsvpc subnets, real ones, for an awsvpc task definition', async () => {
      // Prepare
      const none = fargate.runInput({ networkConfiguration: undefined });
      const empty = fargate.runInput({
        networkConfiguration: { awsvpcConfiguration: { subnets: [] } },
      });
      const ghost = fargate.runInput({
        networkConfiguration: { awsvpcConfiguration: { subnets: ['subnet-0123456789abcdef0'] } },
      });
      // Act
      const errors = await Promise.all([rejection(none), rejection(empty), rejection(ghost)]);
      // Assess
      expect(errors.map((error) => (error as Error).name)).toEqual([
        'InvalidParameterException',
        'InvalidParameterException',
        'InvalidParameterException',
      ]);
      expect((errors[0] as Error).message).toBe(
        "Network Configuration must be provided when networkMode 'awsvpc' is specified."
      );
      expect((errors[2] as Error).message).toMatch(/InvalidSubnetID\.NotFound/);
    });

    it('runs Fargate only with a Fargate-compatible (awsvpc) task definition', async () => {
      // Prepare
      await ecs.send(
        new RegisterTaskDefinitionCommand({
          family: 'bridge-only',
          networkMode: 'bridge',
          containerDefinitions: [{ name: 'app', image: 'busybox', memory: 128 }],
        })
      );
      // Act
      const error = await rejection(
        fargate.runInput({ taskDefinition: 'bridge-only', networkConfiguration: undefined })
      );
      const onEc2 = await rejection(
        fargate.runInput({
          taskDefinition: 'bridge-only',
          launchType: 'EC2',
          networkConfiguration: undefined,
        })
      );
      // Assess
      expect(error).toBeInstanceOf(InvalidParameterException);
      expect((error as Error).message).toBe(
        'Task definition does not support launch_type FARGATE.'
      );
      expect((onEc2 as Error).message).toBe('No Container Instances were found in your cluster.');
    });

    it('rejects capacity providers the cluster does not have', async () => {
      // Prepare
      await ecs.send(new CreateClusterCommand({ clusterName: 'plain' }));
      const input = fargate.runInput({
        cluster: 'plain',
        launchType: undefined,
        capacityProviderStrategy: [{ capacityProvider: 'FARGATE_SPOT', weight: 1 }],
      });
      // Act
      const error = await rejection(input);
      // Assess
      expect(error).toBeInstanceOf(InvalidParameterException);
      expect((error as Error).message).toMatch(/not associated with the cluster/);
    });

    it('checks capacity provider base (0–100000) and weight (0–1000) as the model does', async () => {
      // Prepare
      const strategy = (item: { base?: number; weight?: number }) =>
        fargate.runInput({
          launchType: undefined,
          capacityProviderStrategy: [{ capacityProvider: 'FARGATE_SPOT', ...item }],
        });
      // Act
      const errors = await Promise.all(
        [{ weight: 1001 }, { weight: -1 }, { base: 100_001, weight: 1 }, { base: -1, weight: 1 }]
          .map(strategy)
          .map((input) => rejection(input))
      );
      const fractional = await rejection(strategy({ weight: 1.5 }));
      const edges = await ecs.send(new RunTaskCommand(strategy({ base: 100_000, weight: 1000 })));
      // Assess
      for (const error of errors) expect(error).toBeInstanceOf(InvalidParameterException);
      expect((errors[0] as Error).message).toBe(
        "1 validation error detected: Value '1001' at 'capacityProviderStrategy.1.member.weight' failed to satisfy constraint: Member must have value less than or equal to 1000"
      );
      expect((errors[2] as Error).message).toMatch(
        /'capacityProviderStrategy\.1\.member\.base' failed to satisfy constraint: Member must have value less than or equal to 100000/
      );
      expect((fractional as Error).name).toBe('SerializationException');
      expect(edges.tasks).toHaveLength(1);
    });

    it('checks clientToken, startedBy and count limits', async () => {
      // Prepare
      const cases = [
        fargate.runInput({ clientToken: 'x'.repeat(65) }),
        fargate.runInput({ clientToken: 'has space' }),
        fargate.runInput({ startedBy: 's'.repeat(129) }),
        fargate.runInput({ startedBy: 'prefect flow' }),
        fargate.runInput({ count: 11 }),
        fargate.runInput({ count: 0 }),
      ];
      // Act
      const errors = await Promise.all(cases.map((input) => rejection(input)));
      // Assess
      for (const error of errors) expect(error).toBeInstanceOf(InvalidParameterException);
      expect((errors[0] as Error).message).toMatch(/clientToken/);
      expect((errors[2] as Error).message).toBe('startedBy longer than 128.');
    });

    it('checks overrides against the task definition', async () => {
      // Prepare
      const stranger = fargate.runInput({
        overrides: { containerOverrides: [{ name: 'sidecar', command: ['x'] }] },
      });
      const huge = fargate.runInput({
        overrides: {
          containerOverrides: [
            { name: 'prefect', environment: [{ name: 'BIG', value: 'x'.repeat(9000) }] },
          ],
        },
      });
      const badSize = fargate.runInput({ overrides: { cpu: '256', memory: '4096' } });
      // Act
      const errors = await Promise.all([rejection(stranger), rejection(huge), rejection(badSize)]);
      // Assess
      expect((errors[0] as Error).message).toBe(
        'Override for container named sidecar is not a container in the TaskDefinition.'
      );
      expect((errors[1] as Error).message).toBe('Container Overrides length must be at most 8192');
      expect((errors[2] as Error).message).toMatch(/No Fargate configuration exists/);
    });

    it('rejects tags with characters ECS refuses, as it did for prefect-aws #223', async () => {
      // Prepare
      const input = fargate.runInput({
        tags: [{ key: 'prefect.io/flow-name', value: "Hello World: ' " }],
      });
      // Act
      const error = await rejection(input);
      // Assess
      expect(error).toBeInstanceOf(InvalidParameterException);
      expect((error as Error).message).toMatch(/^Some tags contain invalid characters/);
    });
  });

  describe('clientToken idempotency', () => {
    it('answers a repeat with the same task and starts nothing new', async () => {
      // Prepare
      const token = 'flow-run-idempotent-1';
      const before = standin.ecs.tasks().length;
      const eventsBefore = standin.events.length;
      // Act
      const first = await ecs.send(new RunTaskCommand(fargate.runInput({ clientToken: token })));
      const second = await ecs.send(new RunTaskCommand(fargate.runInput({ clientToken: token })));
      await standin.ecs.settled();
      // Assess
      expect(second.tasks?.[0]?.taskArn).toBe(first.tasks?.[0]?.taskArn);
      expect(standin.ecs.tasks()).toHaveLength(before + 1);
      expect(standin.events.length - eventsBefore).toBe(1);
      expect(
        standin
          .callsTo('RunTask')
          .slice(-2)
          .map((call) => call.error)
      ).toEqual([undefined, undefined]);
    });

    it('answers ConflictException when the token comes back with other parameters', async () => {
      // Prepare
      const token = 'flow-run-idempotent-2';
      const { tasks } = await ecs.send(
        new RunTaskCommand(fargate.runInput({ clientToken: token }))
      );
      // Act
      const error = await rejection(fargate.runInput({ clientToken: token, startedBy: 'other' }));
      // Assess
      expect(error).toBeInstanceOf(ConflictException);
      expect((error as ConflictException).resourceIds).toEqual([tasks?.[0]?.taskArn]);
    });

    it('scopes the token to the cluster', async () => {
      // Prepare
      await ecs.send(
        new CreateClusterCommand({ clusterName: 'second', capacityProviders: ['FARGATE'] })
      );
      const token = 'flow-run-idempotent-3';
      // Act
      const here = await ecs.send(new RunTaskCommand(fargate.runInput({ clientToken: token })));
      const there = await ecs.send(
        new RunTaskCommand(fargate.runInput({ clientToken: token, cluster: 'second' }))
      );
      // Assess
      expect(there.tasks?.[0]?.taskArn).not.toBe(here.tasks?.[0]?.taskArn);
    });
  });

  describe('programmed failures', () => {
    it('answers RESOURCE:MEMORY as a failure with no task', async () => {
      // Prepare
      standin.ecs.failNextRunTask('RESOURCE:MEMORY');
      const before = standin.ecs.tasks().length;
      // Act
      const failed = await ecs.send(new RunTaskCommand(fargate.runInput()));
      const next = await ecs.send(new RunTaskCommand(fargate.runInput()));
      // Assess
      expect(failed.tasks).toEqual([]);
      expect(failed.failures).toEqual([
        { arn: 'arn:aws:ecs:us-east-1:123456789012:cluster/prefect', reason: 'RESOURCE:MEMORY' },
      ]);
      expect(next.tasks).toHaveLength(1);
      expect(standin.ecs.tasks()).toHaveLength(before + 1);
    });

    it('throttles: ThrottlingException when the SDK does not retry', async () => {
      // Prepare
      const noRetry = ecsClient(standin, { maxAttempts: 1 });
      standin.ecs.throttle('RunTask');
      // Act
      const error = await rejection(fargate.runInput(), noRetry);
      noRetry.destroy();
      // Assess
      expect(error).toBeInstanceOf(ECSServiceException);
      expect((error as Error).name).toBe('ThrottlingException');
      expect((error as Error).message).toBe('Rate exceeded');
    });

    it('throttles once: the SDK retries by itself and the record shows both calls', async () => {
      // Prepare
      standin.ecs.throttle('RunTask', 1);
      const before = standin.callsTo('RunTask').length;
      // Act
      const { tasks, $metadata } = await ecs.send(new RunTaskCommand(fargate.runInput()));
      // Assess
      expect(tasks).toHaveLength(1);
      expect($metadata.attempts).toBe(2);
      const calls = standin.callsTo('RunTask').slice(before);
      expect(calls.map((call) => call.error?.code)).toEqual(['ThrottlingException', undefined]);
    });
  });

  describe('DescribeTasks, ListTasks, TagResource', () => {
    it('describes known tasks (with tags on request) and reports unknown ones as MISSING', async () => {
      // Prepare
      const { tasks } = await ecs.send(
        new RunTaskCommand(fargate.runInput({ tags: [{ key: 'team', value: 'data' }] }))
      );
      const arn = tasks?.[0]?.taskArn ?? '';
      const unknownId = '0123456789abcdef0123456789abcdef';
      // Act
      const answer = await ecs.send(
        new DescribeTasksCommand({
          cluster: 'prefect',
          tasks: [arn, unknownId],
          include: ['TAGS'],
        })
      );
      const plain = await ecs.send(new DescribeTasksCommand({ cluster: 'prefect', tasks: [arn] }));
      // Assess
      expect(answer.tasks?.map((task) => task.taskArn)).toEqual([arn]);
      expect(answer.tasks?.[0]?.tags).toEqual([{ key: 'team', value: 'data' }]);
      expect(plain.tasks?.[0]?.tags).toBeUndefined();
      expect(answer.failures).toEqual([
        {
          arn: `arn:aws:ecs:us-east-1:123456789012:task/prefect/${unknownId}`,
          reason: 'MISSING',
        },
      ]);
    });

    it('refuses a task ARN from another cluster and an empty task list', async () => {
      // Prepare
      const { tasks } = await ecs.send(new RunTaskCommand(fargate.runInput()));
      // Act
      const wrongCluster = await ecs
        .send(new DescribeTasksCommand({ cluster: 'second', tasks: [tasks?.[0]?.taskArn ?? ''] }))
        .catch((error: unknown) => error);
      const empty = await ecs
        .send(new DescribeTasksCommand({ cluster: 'prefect', tasks: [] }))
        .catch((error: unknown) => error);
      // Assess
      expect(wrongCluster).toBeInstanceOf(InvalidParameterException);
      expect((wrongCluster as Error).message).toMatch(
        /^Invalid identifier: Identifier is for cluster prefect/
      );
      expect((empty as Error).message).toBe('Tasks cannot be empty.');
    });

    it('lists running tasks by startedBy and tags a task afterwards', async () => {
      // Prepare
      const { tasks } = await ecs.send(
        new RunTaskCommand(fargate.runInput({ startedBy: 'prefect-listed' }))
      );
      const arn = tasks?.[0]?.taskArn ?? '';
      // Act
      const listed = await ecs.send(
        new ListTasksCommand({ cluster: 'prefect', startedBy: 'prefect-listed' })
      );
      const mixed = await ecs
        .send(new ListTasksCommand({ cluster: 'prefect', startedBy: 'x', family: 'y' }))
        .catch((error: unknown) => error);
      await ecs.send(
        new TagResourceCommand({ resourceArn: arn, tags: [{ key: 'k', value: 'v' }] })
      );
      // Assess
      expect(listed.taskArns).toEqual([arn]);
      expect(mixed).toBeInstanceOf(InvalidParameterException);
      expect(standin.ecs.task(arn)?.tags).toEqual([{ key: 'k', value: 'v' }]);
    });
  });

  describe('EC2 launch type', () => {
    beforeEach(() => {
      standin.ecs.setContainerInstances('prefect', 1);
    });

    it('runs a bridge task once the cluster has container instances', async () => {
      // Prepare
      await ecs.send(
        new RegisterTaskDefinitionCommand(
          fargateTaskDefinition('on-ec2', {
            networkMode: 'bridge',
            requiresCompatibilities: ['EC2'],
            cpu: undefined,
            memory: undefined,
            containerDefinitions: [{ name: 'app', image: 'busybox', memory: 256 }],
          })
        )
      );
      // Act
      const { tasks } = await ecs.send(
        new RunTaskCommand({ cluster: 'prefect', taskDefinition: 'on-ec2', launchType: 'EC2' })
      );
      // Assess
      expect(tasks?.[0]).toMatchObject({ launchType: 'EC2', lastStatus: 'PENDING' });
      expect(tasks?.[0]?.containerInstanceArn).toMatch(/:container-instance\/prefect\//);
    });
  });
});
