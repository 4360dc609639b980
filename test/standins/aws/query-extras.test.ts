/**
 * STS GetCallerIdentity, IAM GetRole and EC2 DescribeSecurityGroups on the AWS stand-in's port,
 * reached the way real callers reach them: the real STS, IAM and EC2 SDK clients, configured with
 * the stand-in as their endpoint (which is also how the SDK signs: IAM for the configured region).
 */
import { DescribeSecurityGroupsCommand, EC2Client } from '@aws-sdk/client-ec2';
import {
  GetRoleCommand,
  type GetRoleCommandInput,
  IAMClient,
  NoSuchEntityException,
} from '@aws-sdk/client-iam';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAwsStandin } from '../ecs/server.ts';
import type { AwsStandin } from '../ecs/types.ts';
import { awsQueryExtras } from './query-extras.ts';

const REGION = 'eu-west-1';
const credentials = { accessKeyId: 'AKIDTEST', secretAccessKey: 'test' };

let aws: AwsStandin;
let ec2: EC2Client;
let sts: STSClient;
let iam: IAMClient;
const clients: { destroy(): void }[] = [];

/** A client of the stand-in, as the doctor configures one (endpoint from the environment aside). */
const client = <T extends { destroy(): void }>(
  Client: new (config: {
    region: string;
    endpoint: string;
    credentials: typeof credentials;
    maxAttempts: number;
  }) => T,
  region = REGION
): T => {
  const made = new Client({ region, endpoint: aws.url, credentials, maxAttempts: 1 });
  clients.push(made);
  return made;
};

/** Appends `extra` to the form body the SDK built, to send what no command can. */
const appendToBody = (sts: STSClient, extra: string): void => {
  sts.middlewareStack.add(
    (next) => (args) => {
      const request = args.request as { body?: unknown; headers: Record<string, string> };
      request.body = `${String(request.body)}&${extra}`;
      request.headers['content-length'] = String(Buffer.byteLength(request.body as string));
      return next(args);
    },
    { step: 'build', priority: 'low' }
  );
};

/** What `promise` rejected with (settled at once, so no rejection goes unhandled). */
const rejection = (promise: Promise<unknown>): Promise<unknown> =>
  promise.then(
    () => {
      throw new Error('expected a rejection');
    },
    (error: unknown) => error
  );

beforeAll(async () => {
  aws = await startAwsStandin({ region: REGION });
  ec2 = client(EC2Client);
  sts = client(STSClient);
  iam = client(IAMClient);
});

afterAll(async () => {
  for (const made of clients) made.destroy();
  await aws?.close();
});

describe('STS', () => {
  it('answers GetCallerIdentity with the identity set, to the real client', async () => {
    // Prepare
    awsQueryExtras(aws.ec2).sts.setIdentity({
      arn: 'arn:aws:sts::123456789012:assumed-role/deployer/alice',
      userId: 'AROAEXAMPLE:alice',
    });
    // Act
    const answer = await sts.send(new GetCallerIdentityCommand({}));
    // Assess
    expect(answer).toMatchObject({
      Arn: 'arn:aws:sts::123456789012:assumed-role/deployer/alice',
      UserId: 'AROAEXAMPLE:alice',
      Account: '123456789012',
      $metadata: { httpStatusCode: 200 },
    });
    expect(answer.$metadata.requestId).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('refuses a request signed for another region, and unknown parameters', async () => {
    // Prepare
    const elsewhere = client(STSClient, 'us-west-2');
    const extra = client(STSClient);
    appendToBody(extra, 'Foo=1');
    // Act
    const wrongRegion = await rejection(elsewhere.send(new GetCallerIdentityCommand({})));
    const unknown = await rejection(extra.send(new GetCallerIdentityCommand({})));
    // Assess
    expect(wrongRegion).toMatchObject({
      name: 'SignatureDoesNotMatch',
      $fault: 'client',
      $metadata: { httpStatusCode: 403 },
    });
    expect(unknown).toMatchObject({
      name: 'UnknownParameter',
      message: 'The parameter Foo is not recognized',
      $metadata: { httpStatusCode: 400 },
    });
  });
});

describe('IAM', () => {
  it('answers GetRole with its URL-encoded trust policy, as IAM does', async () => {
    // Prepare
    const arn = awsQueryExtras(aws.ec2).iam.addRole({ roleName: 'exec', path: '/ecs/' });
    // Act
    const answer = await iam.send(new GetRoleCommand({ RoleName: 'exec' }));
    // Assess
    expect(arn).toBe('arn:aws:iam::123456789012:role/ecs/exec');
    expect(answer.Role).toMatchObject({
      Arn: arn,
      RoleName: 'exec',
      Path: '/ecs/',
      RoleId: expect.stringMatching(/^AROA[0-9A-F]{17}$/),
      CreateDate: expect.any(Date),
      MaxSessionDuration: 3600,
    });
    const document = answer.Role?.AssumeRolePolicyDocument ?? '';
    expect(document).toMatch(/^%7B%22Version%22/);
    expect(JSON.parse(decodeURIComponent(document)).Statement[0].Principal.Service).toBe(
      'ecs-tasks.amazonaws.com'
    );
  });

  it('answers a missing role with NoSuchEntityException', async () => {
    // Act
    const missing = await rejection(iam.send(new GetRoleCommand({ RoleName: 'nope' })));
    // Assess
    expect(missing).toBeInstanceOf(NoSuchEntityException);
    expect(missing).toMatchObject({
      name: 'NoSuchEntityException',
      Code: 'NoSuchEntity',
      message: 'The role with name nope cannot be found.',
      $fault: 'client',
      $metadata: { httpStatusCode: 404 },
    });
  });

  it('accepts IAM signed for us-east-1 (its default endpoint) and refuses other regions', async () => {
    // Prepare
    awsQueryExtras(aws.ec2).iam.addRole({ roleName: 'global' });
    // Act
    const global = await client(IAMClient, 'us-east-1').send(
      new GetRoleCommand({ RoleName: 'global' })
    );
    const elsewhere = await rejection(
      client(IAMClient, 'ap-south-1').send(new GetRoleCommand({ RoleName: 'global' }))
    );
    // Assess
    expect(global.Role?.RoleName).toBe('global');
    expect(elsewhere).toMatchObject({
      name: 'SignatureDoesNotMatch',
      $metadata: { httpStatusCode: 403 },
    });
  });

  it('validates RoleName', async () => {
    // Act
    const invalid = await rejection(iam.send(new GetRoleCommand({ RoleName: 'a b' })));
    const absent = await rejection(iam.send(new GetRoleCommand({} as GetRoleCommandInput)));
    // Assess
    expect(invalid).toMatchObject({ name: 'ValidationError' });
    expect(absent).toMatchObject({
      name: 'ValidationError',
      message: expect.stringContaining("Value null at 'roleName'"),
    });
  });
});

describe('EC2 DescribeSecurityGroups', () => {
  it('answers by GroupId through the SDK; unknown and malformed ids fail as EC2 fails', async () => {
    // Prepare
    const vpcId = aws.ec2.addVpc({ cidrBlock: '10.9.0.0/16' });
    const groupId = aws.ec2.addSecurityGroup({ vpcId, groupName: 'tasks' });
    // Act
    const found = await ec2.send(new DescribeSecurityGroupsCommand({ GroupIds: [groupId] }));
    const missing = ec2.send(
      new DescribeSecurityGroupsCommand({ GroupIds: ['sg-0123456789abcdef0'] })
    );
    const malformed = ec2.send(new DescribeSecurityGroupsCommand({ GroupIds: ['web'] }));
    const listing = ec2.send(new DescribeSecurityGroupsCommand({}));
    // Assess
    expect(found.SecurityGroups?.map((group) => [group.GroupId, group.VpcId])).toEqual([
      [groupId, vpcId],
    ]);
    await expect(missing).rejects.toMatchObject({
      name: 'InvalidGroup.NotFound',
      message: "The security group 'sg-0123456789abcdef0' does not exist",
    });
    await expect(malformed).rejects.toMatchObject({ name: 'InvalidGroupId.Malformed' });
    await expect(listing).rejects.toMatchObject({ $metadata: { httpStatusCode: 501 } });
  });
});
