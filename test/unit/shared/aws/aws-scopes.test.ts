import { describe, expect, it } from 'vitest';
import {
  type AssumedCredentials,
  type AssumeRoleCall,
  AssumeRoleError,
} from '../../../../shared/aws/assume-role.ts';
import { parseAwsCredentials } from '../../../../shared/aws/aws-credentials-settings.ts';
import {
  type AwsScope,
  createAwsScopes,
  REFRESH_BEFORE_MS,
} from '../../../../shared/aws/aws-scopes.ts';

const ROLE = 'arn:aws:iam::210987654321:role/prefect-member';
const HOME = { accessKeyId: 'AKIAHOME', secretAccessKey: 'home-secret' };

/** An AssumeRole that counts its calls and hands out credentials valid for `validMs`. */
const fakeAssumeRole = (clock: { now: number }, validMs = 3_600_000) => {
  const calls: { request: Parameters<AssumeRoleCall>[0]; base: unknown }[] = [];
  const call: AssumeRoleCall = async (request, base) => {
    calls.push({ request, base: await base() });
    return {
      accessKeyId: `ASIA${calls.length}`,
      secretAccessKey: 'assumed-secret',
      sessionToken: 'token',
      expiration: new Date(clock.now + validMs),
    } satisfies AssumedCredentials;
  };
  return { call, calls };
};

const setup = (options: { allowed?: string[]; validMs?: number } = {}) => {
  const clock = { now: Date.parse('2026-12-06T12:00:00Z') };
  const sts = fakeAssumeRole(clock, options.validMs);
  const built: AwsScope[] = [];
  const scopes = createAwsScopes({
    homeRegion: 'us-east-1',
    homeCredentials: async () => HOME,
    allowedRoleArns: options.allowed,
    assumeRole: sts.call,
    build: (scope) => {
      built.push(scope);
      return { scope };
    },
    now: () => new Date(clock.now),
  });
  return { clock, sts, built, scopes };
};

describe('createAwsScopes', () => {
  it('answers the home clients for no settings, without calling STS', async () => {
    // Prepare
    const { scopes, sts, built } = setup();
    // Act
    const clients = await scopes.get(null);
    // Assess
    expect(clients).toBe(scopes.home);
    expect(built.map((scope) => scope.key)).toEqual(['home']);
    expect(sts.calls).toHaveLength(0);
  });

  it('assumes the role once with the home credentials, and keeps the clients while warm', async () => {
    // Prepare
    const { scopes, sts, built } = setup({ allowed: [ROLE] });
    const settings = parseAwsCredentials({ assume_role_arn: ROLE, region_name: 'eu-west-1' });
    // Act
    const [first, second] = await Promise.all([scopes.get(settings), scopes.get(settings)]);
    const third = await scopes.get(settings);
    // Assess
    expect(first).toBe(second);
    expect(third).toBe(first);
    expect(sts.calls).toHaveLength(1);
    expect(sts.calls[0]?.base).toEqual(HOME);
    expect(sts.calls[0]?.request.RoleSessionName).toMatch(/^prefect-session-[0-9a-f]{8}$/);
    const scope = built.at(-1);
    expect(scope).toMatchObject({ region: 'eu-west-1', account: '210987654321', home: false });
    expect(await scope?.credentials?.()).toMatchObject({ accessKeyId: 'ASIA1' });
  });

  it('assumes again when the credentials near their expiry, not before', async () => {
    // Prepare
    const { scopes, sts, clock, built } = setup({ validMs: 900_000 });
    const settings = parseAwsCredentials({ assume_role_arn: ROLE });
    await scopes.get(settings);
    // Act
    clock.now += 900_000 - REFRESH_BEFORE_MS - 1_000;
    await scopes.get(settings);
    const before = sts.calls.length;
    clock.now += 2_000;
    await scopes.get(settings);
    // Assess
    expect(before).toBe(1);
    expect(sts.calls).toHaveLength(2);
    expect(await built.at(-1)?.credentials?.()).toMatchObject({ accessKeyId: 'ASIA2' });
  });

  it('uses the block’s static keys as the base of AssumeRole', async () => {
    // Prepare
    const { scopes, sts } = setup();
    const keys = { aws_access_key_id: 'AKIABLOCK', aws_secret_access_key: 'block-secret' };
    // Act
    await scopes.get(parseAwsCredentials({ ...keys, assume_role_arn: ROLE }));
    // Assess
    expect(sts.calls[0]?.base).toEqual({
      accessKeyId: 'AKIABLOCK',
      secretAccessKey: 'block-secret',
    });
  });

  it('gives static keys to the clients directly when no role is assumed', async () => {
    // Prepare
    const { scopes, sts, built } = setup();
    // Act
    await scopes.get(
      parseAwsCredentials({ aws_access_key_id: 'AKIABLOCK', aws_secret_access_key: 's' })
    );
    // Assess
    expect(sts.calls).toHaveLength(0);
    expect(await built.at(-1)?.credentials?.()).toEqual({
      accessKeyId: 'AKIABLOCK',
      secretAccessKey: 's',
    });
    expect(built.at(-1)?.region).toBe('us-east-1');
  });

  it('refuses a role outside ASSUME_ROLE_ARNS before asking STS, naming the parameter', async () => {
    // Prepare
    const { scopes, sts } = setup({ allowed: [] });
    // Act
    const act = scopes.get(parseAwsCredentials({ assume_role_arn: ROLE }));
    // Assess
    await expect(act).rejects.toThrow(AssumeRoleError);
    await expect(act).rejects.toThrow(/assumeRoleArns/);
    await expect(act).rejects.toMatchObject({ retryable: false, code: 'RoleNotAllowed' });
    expect(sts.calls).toHaveLength(0);
  });

  it('tries again after a failed AssumeRole', async () => {
    // Prepare
    const clock = { now: 0 };
    let failures = 1;
    const sts = fakeAssumeRole(clock);
    const scopes = createAwsScopes({
      homeRegion: 'us-east-1',
      homeCredentials: async () => HOME,
      assumeRole: async (request, base) => {
        if (failures-- > 0) throw new AssumeRoleError('throttled', 'Throttling', true);
        return sts.call(request, base);
      },
      build: (scope) => ({ scope }),
      now: () => new Date(clock.now),
    });
    const settings = parseAwsCredentials({ assume_role_arn: ROLE });
    // Act
    const first = scopes.get(settings);
    // Assess
    await expect(first).rejects.toMatchObject({ retryable: true });
    await expect(scopes.get(settings)).resolves.toBeDefined();
    expect(sts.calls).toHaveLength(1);
  });

  it('gives home credentials in another region their own clients', async () => {
    // Prepare
    const { scopes, built } = setup();
    // Act
    const other = await scopes.get(null, 'eu-west-1');
    // Assess
    expect(other).not.toBe(scopes.home);
    expect(built.at(-1)).toMatchObject({ region: 'eu-west-1', credentials: undefined });
  });

  it('drops a refused assumed scope: its age is answered, and the next use builds new clients and assumes again', async () => {
    // Prepare
    const { scopes, sts, clock, built } = setup();
    const settings = parseAwsCredentials({ assume_role_arn: ROLE });
    const first = await scopes.get(settings);
    clock.now += 90_000;
    // Act
    const age = scopes.refused(settings);
    const second = await scopes.get(settings);
    // Assess
    expect(age).toBe(90_000);
    expect(second).not.toBe(first);
    expect(sts.calls).toHaveLength(2);
    expect(built.filter((scope) => scope.key !== 'home')).toHaveLength(2);
  });

  it('keeps home and static-key scopes when they are refused (nothing to renew)', async () => {
    // Prepare
    const { scopes } = setup();
    const keys = parseAwsCredentials({
      aws_access_key_id: 'AKIABLOCK',
      aws_secret_access_key: 's',
    });
    const staticClients = await scopes.get(keys);
    // Act / Assess
    expect(scopes.refused(null)).toBeUndefined();
    expect(scopes.refused(keys)).toBeUndefined();
    expect(await scopes.get(keys)).toBe(staticClients);
  });
});
