/**
 * STS GetCallerIdentity, IAM GetRole and EC2 DescribeSecurityGroups on the AWS stand-in's port,
 * reached the way real callers reach them: the doctor's signed query client for STS and IAM, the
 * real EC2 SDK client for security groups.
 */
import { DescribeSecurityGroupsCommand, EC2Client } from '@aws-sdk/client-ec2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AwsQueryError, createAwsQueryClient } from '../../../shared/doctor/aws-query-client.ts';
import { startAwsStandin } from '../ecs/server.ts';
import type { AwsStandin } from '../ecs/types.ts';
import { awsQueryExtras } from './query-extras.ts';

const REGION = 'eu-west-1';
const credentials = { accessKeyId: 'AKIDTEST', secretAccessKey: 'test' };

let aws: AwsStandin;
let ec2: EC2Client;

const queryClient = (service: 'sts' | 'iam', region = REGION) =>
  createAwsQueryClient({
    service,
    region,
    credentials: () => Promise.resolve(credentials),
    env: { AWS_ENDPOINT_URL: aws.url },
    maxAttempts: 1,
  });

const rejection = async (promise: Promise<unknown>): Promise<AwsQueryError> => {
  try {
    await promise;
  } catch (error) {
    if (error instanceof AwsQueryError) return error;
    throw error;
  }
  throw new Error('expected a rejection');
};

beforeAll(async () => {
  aws = await startAwsStandin({ region: REGION });
  ec2 = new EC2Client({ region: REGION, endpoint: aws.url, credentials, maxAttempts: 1 });
});

afterAll(async () => {
  ec2?.destroy();
  await aws?.close();
});

describe('STS', () => {
  it('answers GetCallerIdentity with the identity set, signed for the region', async () => {
    // Prepare
    awsQueryExtras(aws.ec2).sts.setIdentity({
      arn: 'arn:aws:sts::123456789012:assumed-role/deployer/alice',
    });
    // Act
    const xml = await queryClient('sts').call('GetCallerIdentity');
    // Assess
    expect(xml).toContain('<Arn>arn:aws:sts::123456789012:assumed-role/deployer/alice</Arn>');
    expect(xml).toContain('<Account>123456789012</Account>');
  });

  it('refuses a request signed for another region, and unknown parameters', async () => {
    // Act
    const wrongRegion = await rejection(queryClient('sts', 'us-west-2').call('GetCallerIdentity'));
    const unknown = await rejection(queryClient('sts').call('GetCallerIdentity', { Foo: '1' }));
    // Assess
    expect(wrongRegion.code).toBe('SignatureDoesNotMatch');
    expect(wrongRegion.status).toBe(403);
    expect(unknown.code).toBe('UnknownParameter');
  });
});

describe('IAM', () => {
  it('answers GetRole with the URL-encoded trust policy; a missing role is NoSuchEntity', async () => {
    // Prepare
    const arn = awsQueryExtras(aws.ec2).iam.addRole({ roleName: 'exec', path: '/ecs/' });
    // Act
    const xml = await queryClient('iam').call('GetRole', { RoleName: 'exec' });
    const missing = await rejection(queryClient('iam').call('GetRole', { RoleName: 'nope' }));
    // Assess
    expect(arn).toBe('arn:aws:iam::123456789012:role/ecs/exec');
    expect(xml).toContain(`<Arn>${arn}</Arn>`);
    const encoded = /<AssumeRolePolicyDocument>([^<]+)</.exec(xml)?.[1] ?? '';
    expect(JSON.parse(decodeURIComponent(encoded)).Statement[0].Principal.Service).toBe(
      'ecs-tasks.amazonaws.com'
    );
    expect(missing.code).toBe('NoSuchEntity');
    expect(missing.status).toBe(404);
    expect(missing.message).toContain('The role with name nope cannot be found.');
  });

  it('validates RoleName', async () => {
    // Act
    const invalid = await rejection(queryClient('iam').call('GetRole', { RoleName: 'a b' }));
    const absent = await rejection(queryClient('iam').call('GetRole'));
    // Assess
    expect(invalid.code).toBe('ValidationError');
    expect(absent.code).toBe('ValidationError');
    expect(absent.message).toContain("Value null at 'roleName'");
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
