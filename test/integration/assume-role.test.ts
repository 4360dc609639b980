/**
 * The hand-signed STS AssumeRole (shared/aws/assume-role.ts) against the STS stand-in, which checks
 * every parameter against STS's model and the role's trust as IAM words it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AssumeRoleError, createAssumeRole } from '../../shared/aws/assume-role.ts';
import { startAwsStandin } from '../standins/ecs/server.ts';
import type { AwsStandin } from '../standins/ecs/types.ts';

const ROLE = 'arn:aws:iam::210987654321:role/prefect-member';
const HOME = async () => ({ accessKeyId: 'AKIDHOMEKEY', secretAccessKey: 'home-secret' });

let aws: AwsStandin;
beforeAll(async () => {
  aws = await startAwsStandin();
  aws.sts.addRole({ arn: ROLE, externalId: 'pool-42', maxSessionDurationSeconds: 7200 });
});
afterAll(async () => {
  await aws?.close();
});

const assumeRole = () =>
  createAssumeRole({ region: aws.region, env: { AWS_ENDPOINT_URL_STS: aws.url } });

describe('createAssumeRole', () => {
  it('sends every assume_role_kwargs member STS knows, and reads the credentials and their expiry', async () => {
    // Prepare
    const started = Date.now();
    // Act
    const credentials = await assumeRole()(
      {
        RoleArn: ROLE,
        RoleSessionName: 'prefect-session-1a2b3c4d',
        DurationSeconds: 7200,
        ExternalId: 'pool-42',
        Policy: JSON.stringify({
          Version: '2012-10-17',
          Statement: [{ Effect: 'Allow', Action: 'ecs:*', Resource: '*' }],
        }),
        PolicyArns: [{ arn: 'arn:aws:iam::aws:policy/ReadOnlyAccess' }],
        Tags: [{ Key: 'team', Value: 'data+ml/a=b' }],
        TransitiveTagKeys: ['team'],
        SourceIdentity: 'prefect-ecs-serverless',
      },
      HOME
    );
    // Assess
    expect(credentials.accessKeyId).toMatch(/^ASIA/);
    expect(credentials.secretAccessKey.length).toBeGreaterThan(10);
    expect(credentials.sessionToken.length).toBeGreaterThan(10);
    expect(credentials.expiration.getTime() - started).toBeGreaterThan(7_100_000);
    const session = aws.sts.session(credentials.accessKeyId);
    expect(session).toMatchObject({ roleArn: ROLE, accountId: '210987654321' });
    const [call] = aws.callsTo('AssumeRole').slice(-1);
    expect(call?.input).toMatchObject({
      'Tags.member.1.Key': 'team',
      'Tags.member.1.Value': 'data+ml/a=b',
      'PolicyArns.member.1.arn': 'arn:aws:iam::aws:policy/ReadOnlyAccess',
      'TransitiveTagKeys.member.1': 'team',
    });
    expect(call?.accessKeyId).toBe('AKIDHOMEKEY');
  });

  it.each([
    [
      { ExternalId: 'wrong' },
      'AccessDenied',
      false,
      /not authorized to perform: sts:AssumeRole.*trust policy/s,
    ],
    [
      { ExternalId: 'pool-42', DurationSeconds: 43_200 },
      'ValidationError',
      false,
      /DurationSeconds/,
    ],
    [
      { ExternalId: 'pool-42', RoleSessionName: 'has spaces' },
      'ValidationError',
      false,
      /roleSessionName/,
    ],
  ])('%j → %s', async (kwargs, code, retryable, message) => {
    // Act
    const act = assumeRole()(
      { RoleArn: ROLE, RoleSessionName: 'prefect-session-1a2b3c4d', ...kwargs },
      HOME
    );
    // Assess
    await expect(act).rejects.toBeInstanceOf(AssumeRoleError);
    await expect(act).rejects.toMatchObject({ code, retryable });
    await expect(act).rejects.toThrow(message);
  });

  it('a network failure is retryable and names the role', async () => {
    // Prepare
    const unreachable = createAssumeRole({
      region: 'us-east-1',
      env: { AWS_ENDPOINT_URL_STS: 'http://127.0.0.1:9' },
    });
    // Act
    const act = unreachable({ RoleArn: ROLE, RoleSessionName: 'prefect-session-1' }, HOME);
    // Assess
    await expect(act).rejects.toMatchObject({ code: 'NetworkError', retryable: true });
    await expect(act).rejects.toThrow(ROLE);
  });

  it('never puts the base secret or the issued credentials in an error', async () => {
    // Act
    const error: unknown = await assumeRole()(
      { RoleArn: ROLE, RoleSessionName: 'prefect-session-1', ExternalId: 'wrong' },
      HOME
    ).catch((caught: unknown) => caught);
    // Assess
    expect(error).toBeInstanceOf(AssumeRoleError);
    expect(
      JSON.stringify({ ...(error as object), message: (error as Error).message })
    ).not.toContain('home-secret');
  });
});
