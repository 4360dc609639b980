/**
 * STS AssumeRole on the AWS stand-in's port, through the real `@aws-sdk/client-sts` client: the
 * credentials it issues, who they say the caller is, each way AWS refuses a request, and what the
 * stand-in records (never the issued secret key or session token).
 */
import {
  AssumeRoleCommand,
  type AssumeRoleCommandInput,
  GetCallerIdentityCommand,
  STSClient,
} from '@aws-sdk/client-sts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAwsStandin } from '../ecs/server.ts';
import type { AwsStandin } from '../ecs/types.ts';

const HOME = '111111111111';
const MEMBER = '222222222222';
const REGION = 'eu-west-1';
const ROLE = `arn:aws:iam::${MEMBER}:role/prefect/prefect-launcher`;
const STRICT_ROLE = `arn:aws:iam::${MEMBER}:role/third-party`;
const LONG_ROLE = `arn:aws:iam::${MEMBER}:role/long-sessions`;
const OTHER_TRUST_ROLE = `arn:aws:iam::${MEMBER}:role/trusts-someone-else`;
const START = new Date('2026-03-01T12:00:00.000Z');
const home = { accessKeyId: 'AKIAHOMEKEY', secretAccessKey: 'home-secret' };

let aws: AwsStandin;
let clock = START;
const clients: STSClient[] = [];

const stsClient = (
  credentials: { accessKeyId: string; secretAccessKey: string; sessionToken?: string } = home,
  region = REGION
): STSClient => {
  const client = new STSClient({ region, endpoint: aws.url, credentials, maxAttempts: 1 });
  clients.push(client);
  return client;
};

/** What `promise` rejected with (settled at once, so no rejection goes unhandled). */
const rejection = (promise: Promise<unknown>): Promise<unknown> =>
  promise.then(
    () => {
      throw new Error('expected a rejection');
    },
    (error: unknown) => error
  );

const assume = (input: Partial<AssumeRoleCommandInput>, client = stsClient()) =>
  client.send(new AssumeRoleCommand({ RoleArn: ROLE, RoleSessionName: 'flow-run-1', ...input }));

beforeAll(async () => {
  aws = await startAwsStandin({ region: REGION, accountId: HOME, now: () => clock });
  aws.sts.addRole({ arn: ROLE });
  aws.sts.addRole({ arn: STRICT_ROLE, externalId: 'prefect-pool-7' });
  aws.sts.addRole({ arn: LONG_ROLE, maxSessionDurationSeconds: 43_200 });
  aws.sts.addRole({ arn: OTHER_TRUST_ROLE, trustedAccounts: ['333333333333'] });
});

afterAll(async () => {
  for (const client of clients) client.destroy();
  await aws?.close();
});

describe('AssumeRole', () => {
  it('issues session credentials for the role, expiring on the stand-in clock', async () => {
    // Act
    const answer = await assume({ DurationSeconds: 1800, SourceIdentity: 'prefect-worker' });
    // Assess
    const roleId = aws.sts.role(ROLE)?.roleId;
    expect(roleId).toMatch(/^AROA[0-9A-F]{17}$/);
    expect(answer.Credentials).toEqual({
      AccessKeyId: expect.stringMatching(/^ASIA[A-Z2-7]{16}$/),
      SecretAccessKey: expect.stringMatching(/^\S{40}$/),
      SessionToken: expect.stringMatching(/^\S{100,}$/),
      Expiration: new Date(START.getTime() + 1800 * 1000),
    });
    expect(answer.AssumedRoleUser).toEqual({
      AssumedRoleId: `${roleId}:flow-run-1`,
      Arn: `arn:aws:sts::${MEMBER}:assumed-role/prefect-launcher/flow-run-1`,
    });
    expect(answer.SourceIdentity).toBe('prefect-worker');
    expect(answer.PackedPolicySize).toBeUndefined();
    expect(aws.sts.session(answer.Credentials?.AccessKeyId ?? '')).toMatchObject({
      accountId: MEMBER,
      roleArn: ROLE,
      sessionName: 'flow-run-1',
      issuedTo: home.accessKeyId,
      expiration: new Date(START.getTime() + 1800 * 1000),
    });
  });

  it('defaults to one hour, and says how much packed space a session policy and tags use', async () => {
    // Act
    const answer = await assume({
      RoleSessionName: 'with-policy',
      Policy: JSON.stringify({
        Version: '2012-10-17',
        Statement: [{ Effect: 'Allow', Action: 'ecs:RunTask', Resource: '*' }],
      }),
      PolicyArns: [{ arn: 'arn:aws:iam::aws:policy/ReadOnlyAccess' }],
      Tags: [{ Key: 'pool', Value: 'member' }],
      TransitiveTagKeys: ['pool'],
    });
    // Assess
    expect(answer.Credentials?.Expiration).toEqual(new Date(START.getTime() + 3600 * 1000));
    expect(answer.PackedPolicySize).toBeGreaterThan(0);
    expect(answer.PackedPolicySize).toBeLessThanOrEqual(100);
  });

  it('says who the issued credentials are, and counts the calls in `calls` without secrets', async () => {
    // Prepare
    const before = aws.callsTo('AssumeRole').length;
    const { Credentials } = await assume({ RoleSessionName: 'whoami' });
    const assumed = stsClient({
      accessKeyId: Credentials?.AccessKeyId ?? '',
      secretAccessKey: Credentials?.SecretAccessKey ?? '',
      sessionToken: Credentials?.SessionToken ?? '',
    });
    // Act
    const identity = await assumed.send(new GetCallerIdentityCommand({}));
    const homeIdentity = await stsClient().send(new GetCallerIdentityCommand({}));
    // Assess
    expect(identity).toMatchObject({
      Account: MEMBER,
      Arn: `arn:aws:sts::${MEMBER}:assumed-role/prefect-launcher/whoami`,
      UserId: `${aws.sts.role(ROLE)?.roleId}:whoami`,
    });
    expect(homeIdentity.Account).toBe(HOME);
    const calls = aws.callsTo('AssumeRole');
    expect(calls).toHaveLength(before + 1);
    expect(calls.at(-1)).toMatchObject({
      service: 'sts',
      accessKeyId: home.accessKeyId,
      accountId: HOME,
      region: REGION,
      input: { Action: 'AssumeRole', RoleArn: ROLE, RoleSessionName: 'whoami' },
    });
    const recorded = JSON.stringify(aws.allCalls);
    expect(recorded).toContain(Credentials?.AccessKeyId);
    expect(recorded).not.toContain(Credentials?.SecretAccessKey);
    expect(recorded).not.toContain(Credentials?.SessionToken);
    expect(calls.at(-1)?.output).toContain('<SecretAccessKey>REDACTED</SecretAccessKey>');
    // The member's GetCallerIdentity is its tenant's call, not the home's.
    expect(aws.tenant(MEMBER).callsTo('GetCallerIdentity')).toHaveLength(1);
    expect(aws.tenant(MEMBER).callsTo('GetCallerIdentity')[0]?.accessKeyId).toBe(
      Credentials?.AccessKeyId
    );
  });

  it('refuses a role that is not registered, not trusting the caller, or without its ExternalId', async () => {
    // Act
    const unknown = await rejection(assume({ RoleArn: `arn:aws:iam::${MEMBER}:role/nope` }));
    const untrusted = await rejection(assume({ RoleArn: OTHER_TRUST_ROLE }));
    const noExternalId = await rejection(assume({ RoleArn: STRICT_ROLE }));
    const wrongExternalId = await rejection(
      assume({ RoleArn: STRICT_ROLE, ExternalId: 'prefect-pool-8' })
    );
    const rightExternalId = await assume({ RoleArn: STRICT_ROLE, ExternalId: 'prefect-pool-7' });
    // Assess
    const denied = (role: string) => ({
      name: 'AccessDenied',
      message: `User: arn:aws:iam::${HOME}:user/standin is not authorized to perform: sts:AssumeRole on resource: ${role}`,
      $fault: 'client',
      $metadata: { httpStatusCode: 403 },
    });
    expect(unknown).toMatchObject(denied(`arn:aws:iam::${MEMBER}:role/nope`));
    expect(untrusted).toMatchObject(denied(OTHER_TRUST_ROLE));
    expect(noExternalId).toMatchObject(denied(STRICT_ROLE));
    expect(wrongExternalId).toMatchObject(denied(STRICT_ROLE));
    expect(rightExternalId.AssumedRoleUser?.Arn).toBe(
      `arn:aws:sts::${MEMBER}:assumed-role/third-party/flow-run-1`
    );
  });

  it('validates the parameters as STS does', async () => {
    // Act
    const results = await Promise.all([
      rejection(assume({ RoleSessionName: 'a' })),
      rejection(assume({ RoleSessionName: 'has space' })),
      rejection(assume({ DurationSeconds: 899 })),
      rejection(assume({ DurationSeconds: 43_201 })),
      rejection(assume({ ExternalId: 'x' })),
      rejection(assume({ RoleArn: 'arn:aws:iam::1:r' })),
      rejection(assume({ TokenCode: '12345', SerialNumber: 'arn:aws:iam::1:mfa/a' })),
      rejection(assume({ Tags: [{ Key: 'bad key!', Value: 'v' }] })),
      rejection(assume({ SourceIdentity: 'aws:me' })),
      rejection(assume({ Policy: '{not json' })),
      rejection(assume({ RoleSessionName: undefined as unknown as string })),
    ]);
    // Assess
    const [
      short,
      pattern,
      tooShort,
      tooLong,
      externalId,
      roleArn,
      tokenCode,
      tag,
      source,
      policy,
      missing,
    ] = results as { name: string; message: string; $metadata: { httpStatusCode: number } }[];
    expect(short).toMatchObject({
      name: 'ValidationError',
      message:
        "1 validation error detected: Value 'a' at 'roleSessionName' failed to satisfy constraint: Member must have length greater than or equal to 2",
      $metadata: { httpStatusCode: 400 },
    });
    expect(pattern?.message).toBe(
      "1 validation error detected: Value 'has space' at 'roleSessionName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]*"
    );
    expect(tooShort?.message).toContain(
      "at 'durationSeconds' failed to satisfy constraint: Member must have value greater than or equal to 900"
    );
    expect(tooLong?.message).toContain('Member must have value less than or equal to 43200');
    expect(externalId?.message).toContain("at 'externalId'");
    expect(roleArn?.message).toContain(
      "at 'roleArn' failed to satisfy constraint: Member must have length greater than or equal to 20"
    );
    expect(tokenCode?.message).toContain(
      "at 'tokenCode' failed to satisfy constraint: Member must have length greater than or equal to 6"
    );
    expect(tag?.message).toContain("at 'tags.1.member.key'");
    expect(source?.name).toBe('ValidationError');
    expect(policy).toMatchObject({
      name: 'MalformedPolicyDocumentException',
      Code: 'MalformedPolicyDocument',
    });
    expect(missing?.message).toBe(
      "1 validation error detected: Value null at 'roleSessionName' failed to satisfy constraint: Member must not be null"
    );
  });

  it("refuses more than the role's maximum session, and role chaining beyond an hour", async () => {
    // Prepare
    const { Credentials } = await assume({ RoleArn: LONG_ROLE, DurationSeconds: 43_200 });
    const chained = stsClient({
      accessKeyId: Credentials?.AccessKeyId ?? '',
      secretAccessKey: Credentials?.SecretAccessKey ?? '',
      sessionToken: Credentials?.SessionToken ?? '',
    });
    aws.sts.addRole({
      arn: `arn:aws:iam::${MEMBER}:role/chained`,
      trustedAccounts: [MEMBER],
      maxSessionDurationSeconds: 43_200,
    });
    // Act
    const overRoleMax = await rejection(assume({ DurationSeconds: 7200 }));
    const chainedLong = await rejection(
      assume({ RoleArn: `arn:aws:iam::${MEMBER}:role/chained`, DurationSeconds: 7200 }, chained)
    );
    const chainedHour = await assume(
      { RoleArn: `arn:aws:iam::${MEMBER}:role/chained`, RoleSessionName: 'chained' },
      chained
    );
    // Assess
    expect(Credentials?.Expiration).toEqual(new Date(START.getTime() + 43_200 * 1000));
    expect(overRoleMax).toMatchObject({
      name: 'ValidationError',
      message: 'The requested DurationSeconds exceeds the MaxSessionDuration set for this role.',
    });
    expect(chainedLong).toMatchObject({
      name: 'ValidationError',
      message:
        'The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining.',
    });
    expect(chainedHour.AssumedRoleUser?.Arn).toBe(
      `arn:aws:sts::${MEMBER}:assumed-role/chained/chained`
    );
    expect(aws.sts.session(chainedHour.Credentials?.AccessKeyId ?? '')?.issuedTo).toBe(
      Credentials?.AccessKeyId
    );
  });

  it('refuses unknown parameters', async () => {
    // Prepare
    const client = stsClient();
    client.middlewareStack.add(
      (next) => (args) => {
        const request = args.request as { body?: unknown; headers: Record<string, string> };
        request.body = `${String(request.body)}&Foo=1`;
        request.headers['content-length'] = String(Buffer.byteLength(request.body as string));
        return next(args);
      },
      { step: 'build', priority: 'low' }
    );
    // Act
    const error = await rejection(assume({}, client));
    // Assess
    expect(error).toMatchObject({
      name: 'UnknownParameter',
      message: 'The parameter Foo is not recognized',
    });
  });
});

describe('issued credentials', () => {
  it('are refused once expired, and without their session token', async () => {
    // Prepare
    const { Credentials } = await assume({ RoleSessionName: 'expiring', DurationSeconds: 900 });
    const keys = {
      accessKeyId: Credentials?.AccessKeyId ?? '',
      secretAccessKey: Credentials?.SecretAccessKey ?? '',
    };
    const withToken = stsClient({ ...keys, sessionToken: Credentials?.SessionToken ?? '' });
    const withoutToken = stsClient(keys);
    const wrongToken = stsClient({ ...keys, sessionToken: 'IQoJb3JpZ2luX2VjEFAKE' });
    // Act
    const fresh = await withToken.send(new GetCallerIdentityCommand({}));
    const noToken = await rejection(withoutToken.send(new GetCallerIdentityCommand({})));
    const otherToken = await rejection(wrongToken.send(new GetCallerIdentityCommand({})));
    clock = new Date(START.getTime() + 900 * 1000);
    const expired = await rejection(withToken.send(new GetCallerIdentityCommand({})));
    clock = START;
    // Assess
    expect(fresh.Account).toBe(MEMBER);
    const invalid = {
      name: 'InvalidClientTokenId',
      message: 'The security token included in the request is invalid.',
      $metadata: { httpStatusCode: 403 },
    };
    expect(noToken).toMatchObject(invalid);
    expect(otherToken).toMatchObject(invalid);
    expect(expired).toMatchObject({
      name: 'ExpiredToken',
      message: 'The security token included in the request is expired',
      $metadata: { httpStatusCode: 403 },
    });
  });

  it('STS refuses a region the stand-in does not serve', async () => {
    // Act
    const error = await rejection(assume({}, stsClient(home, 'ap-south-1')));
    // Assess
    expect(error).toMatchObject({
      name: 'SignatureDoesNotMatch',
      message: expect.stringContaining("not 'ap-south-1'"),
      $metadata: { httpStatusCode: 403 },
    });
  });
});
