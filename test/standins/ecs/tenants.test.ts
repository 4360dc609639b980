/**
 * The AWS stand-in's accounts and regions: a request lands in the tenant of the account whose
 * credentials signed it (a role's account for credentials STS AssumeRole issued, the home account
 * for any other key) and of the region it was signed for. Driven through the real SDK clients over
 * HTTP, as a launcher that assumes a role in a member account and launches in its region would.
 */
import { DescribeSubnetsCommand, DescribeVpcsCommand, EC2Client } from '@aws-sdk/client-ec2';
import {
  AccessDeniedException,
  CreateClusterCommand,
  DescribeTasksCommand,
  ECSClient,
  InvalidParameterException,
  ListClustersCommand,
  RegisterTaskDefinitionCommand,
  RunTaskCommand,
} from '@aws-sdk/client-ecs';
import { GetParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import { fromTemporaryCredentials } from '@aws-sdk/credential-providers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fargateTaskDefinition } from './fixtures.ts';
import { startAwsStandin } from './server.ts';
import type { AwsStandin, EcsTaskStateChangeEvent } from './types.ts';

const HOME = '111111111111';
const MEMBER = '222222222222';
const HOME_REGION = 'us-east-1';
const MEMBER_REGION = 'eu-west-1';
const ROLE = `arn:aws:iam::${MEMBER}:role/prefect-launch`;
const EXTERNAL_ID = 'prefect-pool-member';
const START = new Date('2026-03-01T12:00:00.000Z');
const home = { accessKeyId: 'AKIAHOMEKEY', secretAccessKey: 'home-secret' };

interface Keys {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

let aws: AwsStandin;
let clock = START;
const clients: { destroy(): void }[] = [];

const client = <T extends { destroy(): void }>(
  Client: new (config: {
    region: string;
    endpoint: string;
    credentials: Keys;
    maxAttempts: number;
  }) => T,
  credentials: Keys,
  region: string
): T => {
  const made = new Client({ region, endpoint: aws.url, credentials, maxAttempts: 1 });
  clients.push(made);
  return made;
};

/** What `promise` rejected with (settled at once, so no rejection goes unhandled). */
const rejection = (promise: Promise<unknown>): Promise<unknown> =>
  promise.then(
    () => {
      throw new Error('expected a rejection');
    },
    (error: unknown) => error
  );

/** Assumes the member role from the home account, as the launcher does, with STS in its own region. */
const assumeMemberRole = async (session = 'flow-run'): Promise<Required<Keys>> => {
  const sts = client(STSClient, home, HOME_REGION);
  const { Credentials } = await sts.send(
    new AssumeRoleCommand({ RoleArn: ROLE, RoleSessionName: session, ExternalId: EXTERNAL_ID })
  );
  return {
    accessKeyId: Credentials?.AccessKeyId ?? '',
    secretAccessKey: Credentials?.SecretAccessKey ?? '',
    sessionToken: Credentials?.SessionToken ?? '',
  };
};

/** A Fargate cluster and task definition in the caller's tenant; returns a RunTask input. */
const setUpFargate = async (ecs: ECSClient, ec2: EC2Client, cluster: string) => {
  await ecs.send(
    new CreateClusterCommand({ clusterName: cluster, capacityProviders: ['FARGATE'] })
  );
  const { taskDefinition } = await ecs.send(
    new RegisterTaskDefinitionCommand(fargateTaskDefinition('prefect-flow-run'))
  );
  const { Subnets } = await ec2.send(
    new DescribeSubnetsCommand({ Filters: [{ Name: 'default-for-az', Values: ['true'] }] })
  );
  return new RunTaskCommand({
    cluster,
    taskDefinition: taskDefinition?.taskDefinitionArn,
    launchType: 'FARGATE',
    startedBy: 'prefect/flow-run',
    networkConfiguration: {
      awsvpcConfiguration: {
        subnets: (Subnets ?? []).slice(0, 1).map((subnet) => subnet.SubnetId ?? ''),
      },
    },
  });
};

beforeAll(async () => {
  aws = await startAwsStandin({
    region: HOME_REGION,
    regions: [MEMBER_REGION],
    accountId: HOME,
    now: () => clock,
  });
  aws.sts.addRole({ arn: ROLE, externalId: EXTERNAL_ID });
});

afterAll(async () => {
  for (const made of clients) made.destroy();
  await aws?.close();
});

describe('a member account reached through AssumeRole', () => {
  it('runs the task in the member tenant, with its ARNs and events, and the home sees nothing', async () => {
    // Prepare
    const keys = await assumeMemberRole();
    const ecs = client(ECSClient, keys, MEMBER_REGION);
    const runTask = await setUpFargate(ecs, client(EC2Client, keys, MEMBER_REGION), 'prefect');
    const member = aws.tenant(MEMBER, MEMBER_REGION);
    const delivered: EcsTaskStateChangeEvent[] = [];
    member.subscribe((event) => {
      delivered.push(event);
    });
    // Act
    const { tasks } = await ecs.send(runTask);
    const taskArn = tasks?.[0]?.taskArn ?? '';
    await member.ecs.runToCompletion(taskArn, { exitCode: 0 });
    // Assess
    expect(taskArn).toMatch(
      new RegExp(`^arn:aws:ecs:${MEMBER_REGION}:${MEMBER}:task/prefect/[0-9a-f]{32}$`)
    );
    expect(tasks?.[0]?.clusterArn).toBe(`arn:aws:ecs:${MEMBER_REGION}:${MEMBER}:cluster/prefect`);
    expect(tasks?.[0]?.taskDefinitionArn).toBe(
      `arn:aws:ecs:${MEMBER_REGION}:${MEMBER}:task-definition/prefect-flow-run:1`
    );
    expect(member.ecs.task(taskArn)?.lastStatus).toBe('STOPPED');
    expect(member.callsTo('RunTask')).toEqual([
      expect.objectContaining({
        service: 'ecs',
        accessKeyId: keys.accessKeyId,
        accountId: MEMBER,
        region: MEMBER_REGION,
      }),
    ]);
    expect(member.callsTo('DescribeSubnets')[0]).toMatchObject({ accountId: MEMBER });
    // ECS may report a status more than once (a container change); the order is what matters.
    expect([...new Set(delivered.map((event) => event.detail.lastStatus))]).toEqual([
      'PROVISIONING',
      'PENDING',
      'RUNNING',
      'STOPPED',
    ]);
    expect(delivered).toEqual(member.events);
    for (const event of member.events) {
      expect(event).toMatchObject({
        account: MEMBER,
        region: MEMBER_REGION,
        resources: [taskArn],
        detail: { clusterArn: `arn:aws:ecs:${MEMBER_REGION}:${MEMBER}:cluster/prefect` },
      });
    }
    expect(aws.ecs.tasks()).toEqual([]);
    expect(aws.events).toEqual([]);
    expect(aws.callsTo('RunTask')).toEqual([]);
    expect(aws.allCalls.filter((call) => call.operation === 'RunTask')).toHaveLength(1);
    // The AssumeRole itself is the home account's call, in the region STS was reached in.
    expect(aws.callsTo('AssumeRole').at(-1)).toMatchObject({
      accountId: HOME,
      region: HOME_REGION,
      accessKeyId: home.accessKeyId,
    });
  });

  it('works with the SDK credential provider that assumes the role (fromTemporaryCredentials)', async () => {
    // Prepare
    const before = aws.sts.sessions().length;
    const ecs = new ECSClient({
      region: MEMBER_REGION,
      endpoint: aws.url,
      maxAttempts: 1,
      credentials: fromTemporaryCredentials({
        masterCredentials: home,
        params: { RoleArn: ROLE, RoleSessionName: 'sdk-provider', ExternalId: EXTERNAL_ID },
        clientConfig: { region: HOME_REGION, endpoint: aws.url },
      }),
    });
    clients.push(ecs);
    // Act
    const { clusterArns } = await ecs.send(new ListClustersCommand({}));
    // Assess
    expect(clusterArns).toEqual([`arn:aws:ecs:${MEMBER_REGION}:${MEMBER}:cluster/prefect`]);
    // The stand-in's clock is months behind the SDK's, so the provider finds the credentials it got
    // already expired and assumes the role again before each use: every session is its own.
    const sessions = aws.sts.sessions().slice(before);
    expect(sessions.length).toBeGreaterThanOrEqual(1);
    expect(new Set(sessions.map((session) => session.sessionName))).toEqual(
      new Set(['sdk-provider'])
    );
    const listed = aws.tenant(MEMBER, MEMBER_REGION).callsTo('ListClusters').at(-1);
    expect(sessions.map((session) => session.accessKeyId)).toContain(listed?.accessKeyId);
  });

  it('keeps every service apart per tenant: SSM parameters, VPCs', async () => {
    // Prepare
    const keys = await assumeMemberRole('ssm');
    const member = aws.tenant(MEMBER, MEMBER_REGION);
    member.parameters.putSecureString('/prefect/api-key', 'member-value');
    aws.parameters.putSecureString('/prefect/api-key', 'home-value');
    const memberVpc = member.ec2.defaultVpcId;
    // Act
    const memberRead = await client(SSMClient, keys, MEMBER_REGION).send(
      new GetParameterCommand({ Name: '/prefect/api-key', WithDecryption: true })
    );
    const homeRead = await client(SSMClient, home, HOME_REGION).send(
      new GetParameterCommand({ Name: '/prefect/api-key', WithDecryption: true })
    );
    const memberVpcs = await client(EC2Client, keys, MEMBER_REGION).send(
      new DescribeVpcsCommand({})
    );
    // Assess
    expect(memberRead.Parameter?.Value).toBe('member-value');
    expect(memberRead.Parameter?.ARN).toBe(
      `arn:aws:ssm:${MEMBER_REGION}:${MEMBER}:parameter/prefect/api-key`
    );
    expect(homeRead.Parameter?.Value).toBe('home-value');
    expect(memberVpcs.Vpcs?.map((vpc) => [vpc.VpcId, vpc.OwnerId])).toEqual([[memberVpc, MEMBER]]);
    expect(memberVpc).not.toBe(aws.ec2.defaultVpcId);
  });
});

describe('crossing tenants', () => {
  it("refuses home credentials on the member's resources, in its region and in another", async () => {
    // Prepare
    const taskArn = aws.tenant(MEMBER, MEMBER_REGION).ecs.tasks()[0]?.taskArn ?? '';
    const homeInMemberRegion = client(ECSClient, home, MEMBER_REGION);
    const homeInHomeRegion = client(ECSClient, home, HOME_REGION);
    // Act
    const listed = await homeInMemberRegion.send(new ListClustersCommand({}));
    const sameRegion = await rejection(
      homeInMemberRegion.send(new DescribeTasksCommand({ cluster: 'prefect', tasks: [taskArn] }))
    );
    const otherRegion = await rejection(
      homeInHomeRegion.send(new DescribeTasksCommand({ cluster: 'prefect', tasks: [taskArn] }))
    );
    // Assess
    expect(taskArn).toContain(`:${MEMBER}:task/`);
    expect(listed.clusterArns).toEqual([]);
    expect(sameRegion).toBeInstanceOf(AccessDeniedException);
    expect((sameRegion as Error).message).toBe(
      `User: arn:aws:iam::${HOME}:user/standin is not authorized to perform: ecs:DescribeTasks on resource: ${taskArn} because no resource-based policy allows the ecs:DescribeTasks action`
    );
    expect(otherRegion).toBeInstanceOf(InvalidParameterException);
    expect((otherRegion as Error).message).toBe('Invalid Region in ARN');
  });

  it("refuses member credentials on the home account's cluster ARN (a launcher mixing accounts)", async () => {
    // Prepare
    const homeEcs = client(ECSClient, home, MEMBER_REGION);
    const { cluster } = await homeEcs.send(new CreateClusterCommand({ clusterName: 'home-pool' }));
    const keys = await assumeMemberRole('mixed');
    const memberEcs = client(ECSClient, keys, MEMBER_REGION);
    // Act
    const error = await rejection(
      memberEcs.send(
        new RunTaskCommand({ cluster: cluster?.clusterArn, taskDefinition: 'prefect-flow-run' })
      )
    );
    // Assess
    expect(cluster?.clusterArn).toBe(`arn:aws:ecs:${MEMBER_REGION}:${HOME}:cluster/home-pool`);
    expect(error).toBeInstanceOf(AccessDeniedException);
    expect((error as Error).message).toBe(
      `User: arn:aws:sts::${MEMBER}:assumed-role/prefect-launch/mixed is not authorized to perform: ecs:RunTask on resource: ${cluster?.clusterArn} because no resource-based policy allows the ecs:RunTask action`
    );
    expect(aws.tenant(MEMBER, MEMBER_REGION).callsTo('RunTask').at(-1)).toMatchObject({
      accountId: MEMBER,
      error: { code: 'AccessDeniedException' },
    });
  });
});

describe('refusals', () => {
  it('refuses a region the stand-in does not serve, with member and home keys', async () => {
    // Prepare
    const keys = await assumeMemberRole('elsewhere');
    // Act
    const ecs = await rejection(
      client(ECSClient, keys, 'ap-south-1').send(new ListClustersCommand({}))
    );
    const ec2 = await rejection(
      client(EC2Client, home, 'ap-south-1').send(new DescribeVpcsCommand({}))
    );
    // Assess
    expect(ecs).toMatchObject({
      name: 'InvalidSignatureException',
      message: `Credential should be scoped to a valid region, not 'ap-south-1'. This stand-in serves '${HOME_REGION}' or '${MEMBER_REGION}'.`,
      $metadata: { httpStatusCode: 403 },
    });
    expect(ec2).toMatchObject({ name: 'AuthFailure', $metadata: { httpStatusCode: 401 } });
    expect(() => aws.tenant(MEMBER, 'ap-south-1')).toThrow(/does not serve ap-south-1/);
    expect(() => aws.tenant('999999999999')).toThrow(/neither the home account/);
  });

  it('refuses expired credentials and credentials without their session token', async () => {
    // Prepare
    const keys = await assumeMemberRole('short');
    const { sessionToken: _token, ...withoutToken } = keys;
    const ecs = client(ECSClient, keys, MEMBER_REGION);
    const ec2 = client(EC2Client, keys, MEMBER_REGION);
    const fresh = await ecs.send(new ListClustersCommand({}));
    // Act
    const noToken = await rejection(
      client(ECSClient, withoutToken, MEMBER_REGION).send(new ListClustersCommand({}))
    );
    clock = new Date(START.getTime() + 3600 * 1000);
    const expiredEcs = await rejection(ecs.send(new ListClustersCommand({})));
    const expiredEc2 = await rejection(ec2.send(new DescribeVpcsCommand({})));
    clock = START;
    // Assess
    expect(fresh.clusterArns).toContain(`arn:aws:ecs:${MEMBER_REGION}:${MEMBER}:cluster/prefect`);
    expect(noToken).toMatchObject({
      name: 'UnrecognizedClientException',
      message: 'The security token included in the request is invalid.',
      $metadata: { httpStatusCode: 400 },
    });
    expect(expiredEcs).toMatchObject({
      name: 'ExpiredTokenException',
      message: 'The security token included in the request is expired',
      $metadata: { httpStatusCode: 400 },
    });
    expect(expiredEc2).toMatchObject({
      name: 'RequestExpired',
      message: 'Request has expired.',
      $metadata: { httpStatusCode: 400 },
    });
  });

  it('ends a session early with sts.expire', async () => {
    // Prepare
    const keys = await assumeMemberRole('revoked');
    const ecs = client(ECSClient, keys, MEMBER_REGION);
    // Act
    aws.sts.expire(keys.accessKeyId);
    const error = await rejection(ecs.send(new ListClustersCommand({})));
    // Assess
    expect(error).toMatchObject({ name: 'ExpiredTokenException' });
  });
});

describe('the home tenant', () => {
  it('is the stand-in itself, and a key STS did not issue is always the home account', async () => {
    // Prepare
    const asiaLookalike = { accessKeyId: 'ASIAFROMELSEWHERE123', secretAccessKey: 'x' };
    // Act
    await client(ECSClient, asiaLookalike, HOME_REGION).send(new ListClustersCommand({}));
    // Assess
    const homeTenant = aws.tenant(HOME);
    expect(homeTenant.ecs).toBe(aws.ecs);
    expect(homeTenant.calls).toBe(aws.calls);
    expect(homeTenant.ec2).toBe(aws.ec2);
    expect(aws.calls.at(-1)).toMatchObject({
      accessKeyId: 'ASIAFROMELSEWHERE123',
      accountId: HOME,
      region: HOME_REGION,
    });
    expect(aws.tenants().map((tenant) => `${tenant.accountId}/${tenant.region}`)).toEqual([
      `${HOME}/${HOME_REGION}`,
      `${MEMBER}/${MEMBER_REGION}`,
      `${HOME}/${MEMBER_REGION}`,
    ]);
  });
});
