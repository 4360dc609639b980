import {
  ClientException,
  DeregisterTaskDefinitionCommand,
  DescribeTaskDefinitionCommand,
  type ECSClient,
  InvalidParameterException,
  ListTaskDefinitionsCommand,
  RegisterTaskDefinitionCommand,
} from '@aws-sdk/client-ecs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ecsClient, fargateTaskDefinition } from './fixtures.ts';
import { startAwsStandin } from './server.ts';
import type { AwsStandin } from './types.ts';

describe('ECS stand-in: task definitions', () => {
  let standin: AwsStandin;
  let ecs: ECSClient;

  beforeAll(async () => {
    standin = await startAwsStandin();
    ecs = ecsClient(standin);
  });

  afterAll(async () => {
    ecs.destroy();
    await standin.close();
  });

  const registerRejection = (input: Parameters<typeof fargateTaskDefinition>[1], family = 'td') =>
    ecs.send(new RegisterTaskDefinitionCommand(fargateTaskDefinition(family, input))).then(
      () => undefined,
      (error: unknown) => error
    );

  describe('RegisterTaskDefinition', () => {
    it('numbers revisions per family from 1 and answers what ECS adds', async () => {
      // Prepare
      const input = fargateTaskDefinition('numbering');
      // Act
      const first = await ecs.send(new RegisterTaskDefinitionCommand(input));
      const second = await ecs.send(new RegisterTaskDefinitionCommand(input));
      // Assess
      expect(first.taskDefinition?.revision).toBe(1);
      expect(second.taskDefinition).toMatchObject({
        taskDefinitionArn: 'arn:aws:ecs:us-east-1:123456789012:task-definition/numbering:2',
        revision: 2,
        status: 'ACTIVE',
        compatibilities: ['EC2', 'FARGATE'],
        requiresCompatibilities: ['FARGATE'],
        cpu: '1024',
        memory: '2048',
        networkMode: 'awsvpc',
        containerDefinitions: [
          expect.objectContaining({ name: 'prefect', cpu: 0, essential: true, environment: [] }),
        ],
      });
      expect(second.taskDefinition?.registeredAt).toBeInstanceOf(Date);
    });

    it('converts "1 vCPU" / "2 GB" to units and MiB', async () => {
      // Prepare
      const input = fargateTaskDefinition('units', { cpu: '1 vCPU', memory: '2 GB' });
      // Act
      const { taskDefinition } = await ecs.send(new RegisterTaskDefinitionCommand(input));
      // Assess
      expect([taskDefinition?.cpu, taskDefinition?.memory]).toEqual(['1024', '2048']);
    });

    it.each([
      ['256', '512'],
      ['256', '2048'],
      ['512', '4096'],
      ['4096', '30720'],
      ['8192', '61440'],
      ['16384', '32768'],
    ])('accepts the Fargate pair %s CPU / %s MiB', async (cpu, memory) => {
      // Prepare / Act
      const error = await registerRejection({ cpu, memory }, `ok-${cpu}-${memory}`);
      // Assess
      expect(error).toBeUndefined();
    });

    it.each([
      ['256', '4096'],
      ['512', '512'],
      ['1024', '9216'],
      ['4096', '31744'],
      ['8192', '18432'],
      ['16384', '36864'],
      ['3072', '8192'],
    ])('rejects the Fargate pair %s CPU / %s MiB with ClientException', async (cpu, memory) => {
      // Prepare / Act
      const error = await registerRejection({ cpu, memory });
      // Assess
      expect(error).toBeInstanceOf(ClientException);
      expect((error as Error).message).toBe(
        `No Fargate configuration exists for given values: ${cpu} CPU, ${memory} memory. See the Amazon ECS documentation for the valid values.`
      );
    });

    it('rejects Fargate without awsvpc, or without task-level cpu or memory', async () => {
      // Prepare / Act
      const bridge = await registerRejection({ networkMode: 'bridge' });
      const noMode = await registerRejection({ networkMode: undefined });
      const noCpu = await registerRejection({ cpu: undefined });
      const noMemory = await registerRejection({ memory: undefined });
      // Assess
      expect(bridge).toBeInstanceOf(ClientException);
      expect((bridge as Error).message).toBe(
        'Fargate only supports network mode \u2018awsvpc\u2019.'
      );
      expect((noMode as Error).message).toBe(
        'Fargate only supports network mode \u2018awsvpc\u2019.'
      );
      expect((noCpu as Error).message).toBe(
        "Fargate requires that 'cpu' be defined at the task level."
      );
      expect((noMemory as Error).message).toBe(
        "Fargate requires that 'memory' be defined at the task level."
      );
    });

    it('rejects a family with spaces or over 255 characters', async () => {
      // Prepare / Act
      const spaces = await registerRejection({}, 'prefect my pool');
      const dots = await registerRejection({}, 'prefect_pool.v1');
      const long = await registerRejection({}, 'f'.repeat(256));
      // Assess
      expect(spaces).toBeInstanceOf(ClientException);
      expect((spaces as Error).message).toBe('Family contains invalid characters.');
      expect((dots as Error).message).toBe('Family contains invalid characters.');
      expect(long).toBeInstanceOf(ClientException);
    });

    it('requires a family and containers with a name and an image, names unique', async () => {
      // Prepare
      const container = { name: 'prefect', image: 'prefecthq/prefect:3' };
      // Act
      const noFamily = await registerRejection({ family: '' });
      const missingFamily = await registerRejection({ family: undefined });
      const noContainers = await registerRejection({ containerDefinitions: [] });
      const noName = await registerRejection({ containerDefinitions: [{ image: 'x' }] });
      const noImage = await registerRejection({ containerDefinitions: [{ name: 'prefect' }] });
      const twice = await registerRejection({ containerDefinitions: [container, container] });
      // Assess
      expect((noFamily as Error).message).toBe('Family can not be blank.');
      expect(missingFamily).toBeInstanceOf(ClientException);
      expect((missingFamily as Error).message).toBe('Family can not be blank.');
      expect((noContainers as Error).message).toBe('Container list cannot be empty.');
      expect((noName as Error).message).toBe('Container.name should not be null or empty.');
      expect((noImage as Error).message).toBe('Container.image should not be null or empty.');
      expect(twice).toBeInstanceOf(ClientException);
      expect((twice as Error).message).toMatch(/Duplicate container name/);
    });

    it('checks the image as the model documents it: characters, 255 characters, a sha256 digest', async () => {
      // Prepare
      const withImage = (image: string) => ({ containerDefinitions: [{ name: 'prefect', image }] });
      const digest = `sha256:${'a1'.repeat(32)}`;
      const longest = `acct.dkr.ecr.us-east-1.amazonaws.com/${'e'.repeat(300)}`.slice(0, 255);
      // Act
      const space = await registerRejection(withImage('prefecthq/prefect:3 latest'));
      const newline = await registerRejection(withImage('prefecthq/prefect:3\n'));
      const tooLong = await registerRejection(withImage(`${longest}x`));
      const shortDigest = await registerRejection(withImage('prefecthq/prefect@sha256:abc'));
      const accepted = await Promise.all(
        [longest, `${longest}@${digest}`, 'prefecthq/prefect:3-python3.12#x', 'Repo/Img:TAG'].map(
          (image) =>
            ecs.send(
              new RegisterTaskDefinitionCommand(fargateTaskDefinition('img', withImage(image)))
            )
        )
      );
      // Assess
      for (const error of [space, newline, tooLong, shortDigest]) {
        expect(error).toBeInstanceOf(ClientException);
      }
      expect((space as Error).message).toBe('Container.image contains invalid characters.');
      expect((newline as Error).message).toBe('Container.image contains invalid characters.');
      expect((tooLong as Error).message).toMatch(/longer than 255 characters/);
      expect((shortDigest as Error).message).toMatch(/sha256: followed by 64 hexadecimal/);
      expect(accepted.map((answer) => answer.taskDefinition?.status)).toEqual([
        'ACTIVE',
        'ACTIVE',
        'ACTIVE',
        'ACTIVE',
      ]);
    });

    it('requires an execution role for awslogs on Fargate and for secrets', async () => {
      // Prepare
      const withSecret = {
        executionRoleArn: undefined,
        containerDefinitions: [
          {
            name: 'prefect',
            image: 'prefecthq/prefect:3',
            secrets: [{ name: 'PREFECT_API_KEY', valueFrom: 'arn:aws:secretsmanager:x' }],
          },
        ],
      };
      // Act
      const logs = await registerRejection({ executionRoleArn: undefined });
      const secrets = await registerRejection(withSecret);
      // Assess
      expect((logs as Error).message).toBe(
        'Fargate requires task definition to have execution role ARN to support log driver awslogs.'
      );
      expect((secrets as Error).message).toMatch(/container secrets.*executionRoleArn/);
    });

    it('needs container memory when the task has none (EC2)', async () => {
      // Prepare
      const ec2Only = {
        requiresCompatibilities: ['EC2' as const],
        networkMode: 'bridge' as const,
        cpu: undefined,
        memory: undefined,
        containerDefinitions: [{ name: 'app', image: 'busybox' }],
      };
      // Act
      const error = await registerRejection(ec2Only);
      // Assess
      expect((error as Error).message).toBe(
        "Invalid setting for container 'app'. At least one of 'memory' or 'memoryReservation' must be specified."
      );
    });

    it('rejects a bad enum value and tags that break the tag rules', async () => {
      // Prepare / Act
      const mode = await registerRejection({ networkMode: 'vpc' as 'awsvpc' });
      const tagChars = await registerRejection({ tags: [{ key: 'flow!', value: 'x' }] });
      const tagCount = await registerRejection({
        tags: Array.from({ length: 51 }, (_, i) => ({ key: `k${i}`, value: 'v' })),
      });
      // Assess
      expect(mode).toBeInstanceOf(ClientException);
      expect((mode as Error).message).toMatch(
        /^1 validation error detected: Value 'vpc' at 'networkMode' failed to satisfy constraint: Member must satisfy enum value set/
      );
      expect(tagChars).toBeInstanceOf(InvalidParameterException);
      expect((tagChars as Error).message).toBe(
        'Some tags contain invalid characters. Valid characters: UTF-8 letters, spaces, numbers and _ . / = + - : @.'
      );
      expect(tagCount).toBeInstanceOf(InvalidParameterException);
    });
  });

  describe('DescribeTaskDefinition', () => {
    it('resolves a bare family to the latest ACTIVE revision and returns tags on request', async () => {
      // Prepare
      const tags = [{ key: 'prefect.io/deployment-id', value: 'abc' }];
      for (let i = 0; i < 3; i++) {
        await ecs.send(
          new RegisterTaskDefinitionCommand(fargateTaskDefinition('latest', { tags }))
        );
      }
      await ecs.send(new DeregisterTaskDefinitionCommand({ taskDefinition: 'latest:3' }));
      // Act
      const withTags = await ecs.send(
        new DescribeTaskDefinitionCommand({ taskDefinition: 'latest', include: ['TAGS'] })
      );
      const withoutTags = await ecs.send(
        new DescribeTaskDefinitionCommand({ taskDefinition: 'latest' })
      );
      const inactive = await ecs.send(
        new DescribeTaskDefinitionCommand({ taskDefinition: 'latest:3' })
      );
      // Assess
      expect(withTags.taskDefinition?.revision).toBe(2);
      expect(withTags.tags).toEqual(tags);
      expect(withoutTags.tags).toBeUndefined();
      expect(inactive.taskDefinition?.status).toBe('INACTIVE');
      expect(inactive.taskDefinition?.deregisteredAt).toBeInstanceOf(Date);
    });

    it('resolves a full ARN and family:revision; missing is ClientException, another region invalid', async () => {
      // Prepare
      const { taskDefinition } = await ecs.send(
        new RegisterTaskDefinitionCommand(fargateTaskDefinition('by-arn'))
      );
      const arn = taskDefinition?.taskDefinitionArn ?? '';
      // Act
      const byArn = await ecs.send(new DescribeTaskDefinitionCommand({ taskDefinition: arn }));
      const missing = await ecs
        .send(new DescribeTaskDefinitionCommand({ taskDefinition: 'by-arn:7' }))
        .catch((error: unknown) => error);
      const otherRegion = await ecs
        .send(
          new DescribeTaskDefinitionCommand({
            taskDefinition: arn.replace('us-east-1', 'eu-west-1'),
          })
        )
        .catch((error: unknown) => error);
      // Assess
      expect(byArn.taskDefinition?.family).toBe('by-arn');
      expect(missing).toBeInstanceOf(ClientException);
      expect((missing as Error).message).toBe('Unable to describe task definition.');
      // ECS refuses another region's ARN before looking it up (amazon-ecs-cli#821: DescribeTaskDefinition
      // of a us-east-2 ARN, sent to another region, answers "InvalidParameterException: Invalid Region in ARN").
      expect(otherRegion).toBeInstanceOf(InvalidParameterException);
      expect((otherRegion as Error).message).toBe('Invalid Region in ARN');
    });
  });

  describe('DeregisterTaskDefinition and ListTaskDefinitions', () => {
    it('marks a revision INACTIVE, needs a revision, and lists by exact family, status and order', async () => {
      // Prepare
      for (let i = 0; i < 3; i++) {
        await ecs.send(new RegisterTaskDefinitionCommand(fargateTaskDefinition('listed')));
      }
      await ecs.send(new RegisterTaskDefinitionCommand(fargateTaskDefinition('listed-other')));
      // Act
      const deregistered = await ecs.send(
        new DeregisterTaskDefinitionCommand({ taskDefinition: 'listed:1' })
      );
      const noRevision = await ecs
        .send(new DeregisterTaskDefinitionCommand({ taskDefinition: 'listed' }))
        .catch((error: unknown) => error);
      const active = await ecs.send(new ListTaskDefinitionsCommand({ familyPrefix: 'listed' }));
      const inactive = await ecs.send(
        new ListTaskDefinitionsCommand({ familyPrefix: 'listed', status: 'INACTIVE' })
      );
      const newestFirst = await ecs.send(
        new ListTaskDefinitionsCommand({ familyPrefix: 'listed', sort: 'DESC', maxResults: 1 })
      );
      const nextPage = await ecs.send(
        new ListTaskDefinitionsCommand({
          familyPrefix: 'listed',
          sort: 'DESC',
          maxResults: 1,
          nextToken: newestFirst.nextToken,
        })
      );
      // Assess
      expect(deregistered.taskDefinition?.status).toBe('INACTIVE');
      expect(noRevision).toBeInstanceOf(ClientException);
      expect(active.taskDefinitionArns?.map((arn) => arn.split('/')[1])).toEqual([
        'listed:2',
        'listed:3',
      ]);
      expect(inactive.taskDefinitionArns?.map((arn) => arn.split('/')[1])).toEqual(['listed:1']);
      expect(newestFirst.taskDefinitionArns?.map((arn) => arn.split('/')[1])).toEqual(['listed:3']);
      expect(nextPage.taskDefinitionArns?.map((arn) => arn.split('/')[1])).toEqual(['listed:2']);
    });
  });
});
