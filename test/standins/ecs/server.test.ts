import {
  CloudWatchLogsClient,
  GetLogEventsCommand,
  ResourceNotFoundException as LogsResourceNotFound,
} from '@aws-sdk/client-cloudwatch-logs';
import { DescribeVpcsCommand } from '@aws-sdk/client-ec2';
import {
  CreateServiceCommand,
  DescribeClustersCommand,
  ECSClient,
  ListClustersCommand,
} from '@aws-sdk/client-ecs';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { authorization, credentials, ec2Client, ecsClient, rawEcsRequest } from './fixtures.ts';
import { startAwsStandin } from './server.ts';
import type { AwsStandin } from './types.ts';

interface ErrorBody {
  __type?: string;
  message?: string;
}

describe('AWS stand-in server', () => {
  let standin: AwsStandin;

  beforeAll(async () => {
    standin = await startAwsStandin({ region: 'eu-west-1', accountId: '111122223333' });
  });

  afterAll(async () => {
    await standin.close();
  });

  describe('ECS wire protocol', () => {
    it('answers a body that is not JSON with SerializationException and keeps serving', async () => {
      // Prepare
      const body = '{"cluster": "prefect", ';
      // Act
      const response = await rawEcsRequest(standin, 'RunTask', body);
      const answer = (await response.json()) as ErrorBody;
      const after = await rawEcsRequest(standin, 'ListClusters', '{}');
      // Assess
      expect(response.status).toBe(400);
      expect(response.headers.get('x-amzn-errortype')).toBe('SerializationException');
      expect(answer.__type).toBe('SerializationException');
      expect(after.status).toBe(200);
      expect(standin.callsTo('RunTask').at(-1)).toMatchObject({
        service: 'ecs',
        input: body,
        error: { code: 'SerializationException' },
      });
    });

    it('answers wrong JSON types with SerializationException, never a crash', async () => {
      // Prepare
      const bodies = [
        '[]',
        '"RunTask"',
        '{"taskDefinition": 42}',
        '{"taskDefinition": "td", "count": "2"}',
        '{"taskDefinition": "td", "overrides": {"containerOverrides": {"name": "x"}}}',
        '{"taskDefinition": "td", "tags": [{"key": ["k"]}]}',
        `{"taskDefinition": "td", "overrides": ${'['.repeat(5000)}${']'.repeat(5000)}}`,
      ];
      // Act
      const responses = await Promise.all(
        bodies.map((body) => rawEcsRequest(standin, 'RunTask', body))
      );
      const answers = (await Promise.all(responses.map((r) => r.json()))) as ErrorBody[];
      // Assess
      expect(responses.map((response) => response.status)).toEqual(bodies.map(() => 400));
      expect(answers.map((answer) => answer.__type)).toEqual(
        bodies.map(() => 'SerializationException')
      );
      expect(answers[2]?.message).toBe(
        "VALUE_NUMBER_INT at 'taskDefinition' can not be converted to a String"
      );
    });

    it('treats an empty body as an empty input', async () => {
      // Prepare / Act
      const response = await rawEcsRequest(standin, 'ListClusters', '');
      // Assess
      expect(response.status).toBe(200);
      expect(await response.json()).toEqual({ clusterArns: [] });
    });

    it('answers UnknownOperationException for an operation ECS does not have', async () => {
      // Prepare / Act
      const response = await rawEcsRequest(standin, 'LaunchRocket', '{}');
      const answer = (await response.json()) as ErrorBody;
      // Assess
      expect(response.status).toBe(400);
      expect(answer.__type).toBe('UnknownOperationException');
    });

    it('says so, without retries, when an ECS operation is not implemented by the stand-in', async () => {
      // Prepare
      const ecs = ecsClient(standin);
      // Act
      const error = await ecs
        .send(new CreateServiceCommand({ serviceName: 'svc', taskDefinition: 'td' }))
        .catch((caught: unknown) => caught);
      ecs.destroy();
      // Assess
      expect((error as Error).name).toBe('NotImplementedByStandin');
      expect((error as { $metadata: { attempts: number } }).$metadata.attempts).toBe(1);
    });

    it('refuses unsigned requests and credentials scoped to another region or service', async () => {
      // Prepare
      const other = new ECSClient({ endpoint: standin.url, region: 'us-east-1', credentials });
      // Act
      const unsigned = await rawEcsRequest(standin, 'ListClusters', '{}', { authorization: '' });
      const wrongService = await rawEcsRequest(standin, 'ListClusters', '{}', {
        authorization: authorization('eu-west-1', 'ec2'),
      });
      const wrongRegion = await other
        .send(new ListClustersCommand({}))
        .catch((caught: unknown) => caught);
      other.destroy();
      // Assess
      expect(unsigned.status).toBe(403);
      expect(((await unsigned.json()) as ErrorBody).__type).toBe(
        'MissingAuthenticationTokenException'
      );
      expect(((await wrongService.json()) as ErrorBody).message).toBe(
        "Credential should be scoped to correct service: 'ecs'."
      );
      expect((wrongRegion as Error).name).toBe('InvalidSignatureException');
    });

    it('is reachable through AWS_ENDPOINT_URL_ECS with no endpoint in the client', async () => {
      // Prepare
      vi.stubEnv('AWS_ENDPOINT_URL_ECS', standin.url);
      const ecs = new ECSClient({ region: 'eu-west-1', credentials });
      // Act
      const { failures } = await ecs.send(new DescribeClustersCommand({ clusters: ['nope'] }));
      ecs.destroy();
      vi.unstubAllEnvs();
      // Assess
      expect(failures).toEqual([
        { arn: 'arn:aws:ecs:eu-west-1:111122223333:cluster/nope', reason: 'MISSING' },
      ]);
    });
  });

  describe('dispatch to the other services', () => {
    it('routes a form-encoded Action to EC2 and records it', async () => {
      // Prepare
      const ec2 = ec2Client(standin);
      // Act
      const { Vpcs } = await ec2.send(
        new DescribeVpcsCommand({ Filters: [{ Name: 'isDefault', Values: ['true'] }] })
      );
      ec2.destroy();
      // Assess
      expect(Vpcs?.map((vpc) => vpc.VpcId)).toEqual([standin.ec2.defaultVpcId]);
      expect(standin.callsTo('DescribeVpcs').at(-1)).toMatchObject({
        service: 'ec2',
        input: expect.objectContaining({ Action: 'DescribeVpcs' }),
        output: expect.stringContaining('<DescribeVpcsResponse'),
      });
    });

    it('routes secretsmanager.* to Secrets Manager', async () => {
      // Prepare
      const arn = standin.secrets.putSecret('prefect/api-key', 'pnu_secret');
      const client = new SecretsManagerClient({
        endpoint: standin.url,
        region: 'eu-west-1',
        credentials,
      });
      // Act
      const { SecretString, ARN } = await client.send(
        new GetSecretValueCommand({ SecretId: 'prefect/api-key' })
      );
      client.destroy();
      // Assess
      expect([SecretString, ARN]).toEqual(['pnu_secret', arn]);
      expect(standin.callsTo('GetSecretValue').at(-1)?.service).toBe('secretsmanager');
    });

    it('routes Logs_20140328.* to CloudWatch Logs, errors included', async () => {
      // Prepare
      standin.logs.putLogEvents('prefect', 'prefect-logs/prefect/abc', [
        { timestamp: Date.parse('2026-01-15T10:00:00Z'), message: 'hello' },
      ]);
      const client = new CloudWatchLogsClient({
        endpoint: standin.url,
        region: 'eu-west-1',
        credentials,
      });
      // Act
      const { events } = await client.send(
        new GetLogEventsCommand({
          logGroupName: 'prefect',
          logStreamName: 'prefect-logs/prefect/abc',
          startFromHead: true,
        })
      );
      const missing = await client
        .send(new GetLogEventsCommand({ logGroupName: 'prefect', logStreamName: 'nope' }))
        .catch((caught: unknown) => caught);
      client.destroy();
      // Assess
      expect(events?.map((event) => event.message)).toEqual(['hello']);
      expect(missing).toBeInstanceOf(LogsResourceNotFound);
      expect(standin.callsTo('GetLogEvents').map((call) => call.service)).toEqual(['logs', 'logs']);
    });

    it('answers 500 InternalFailure when a service crashes, and keeps serving', async () => {
      // Prepare
      const spy = vi.spyOn(standin.secrets, 'handle').mockImplementationOnce(() => {
        throw new Error('boom');
      });
      const body = JSON.stringify({ SecretId: 'prefect/api-key' });
      const request = () =>
        fetch(standin.url, {
          method: 'POST',
          headers: {
            'content-type': 'application/x-amz-json-1.1',
            'x-amz-target': 'secretsmanager.GetSecretValue',
            authorization: authorization('eu-west-1', 'secretsmanager'),
          },
          body,
        });
      // Act
      const crashed = await request();
      const next = await request();
      spy.mockRestore();
      // Assess
      expect(crashed.status).toBe(500);
      expect(((await crashed.json()) as ErrorBody).__type).toBe('InternalFailure');
      expect(next.status).toBe(200);
    });

    it('answers a request that is neither JSON-RPC nor a form with UnknownOperationException', async () => {
      // Prepare / Act
      const response = await fetch(standin.url, { method: 'GET' });
      // Assess
      expect(response.status).toBe(400);
      expect(((await response.json()) as ErrorBody).__type).toBe('UnknownOperationException');
    });
  });
});
