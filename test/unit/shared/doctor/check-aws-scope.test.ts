import { describe, expect, it } from 'vitest';
import { AssumeRoleError } from '../../../../shared/aws/assume-role.ts';
import { parseAwsCredentials } from '../../../../shared/aws/aws-credentials-settings.ts';
import {
  decideRoleAllowed,
  decideScopeAccess,
  isHomeScope,
  probeScopeAccess,
  scopeAccessCheckName,
  scopeWhere,
} from '../../../../shared/doctor/check-aws-scope.ts';
import type { CallerIdentity, DoctorAwsApi } from '../../../../shared/doctor/doctor-aws.ts';

const ROLE = 'arn:aws:iam::210987654321:role/prefect-pools';
const CALLER: CallerIdentity = {
  account: '123456789012',
  arn: 'arn:aws:iam::123456789012:user/alice',
  userId: 'AIDAEXAMPLE',
};
const SECRET = 'unit-ScopeSecretNeverShown-5d2e';
const USERS = ["pool 'ecs' (its default)"];

const assuming = (kwargs: Record<string, unknown> = {}) => {
  const settings = parseAwsCredentials({
    assume_role_arn: ROLE,
    assume_role_kwargs: kwargs,
    region_name: 'eu-west-1',
  });
  if (!settings) throw new Error('expected settings');
  return settings;
};

describe('scopes', () => {
  it("tells the functions' own scope from the others and names them", () => {
    // Prepare
    const onlyIgnored = parseAwsCredentials({ api_version: 'x', aws_client_parameters: {} });
    const keys = parseAwsCredentials({
      aws_access_key_id: 'AKIAUNITSCOPEKEY9876',
      aws_secret_access_key: SECRET,
    });
    // Act / Assess
    expect(isHomeScope(null, 'us-east-1', 'us-east-1')).toBe(true);
    expect(isHomeScope(onlyIgnored, 'us-east-1', 'us-east-1')).toBe(true);
    expect(isHomeScope(null, 'eu-west-1', 'us-east-1')).toBe(false);
    expect(isHomeScope(assuming(), 'eu-west-1', 'us-east-1')).toBe(false);
    expect(scopeAccessCheckName(assuming(), 'eu-west-1')).toBe(
      `AssumeRole ${ROLE} (region eu-west-1)`
    );
    expect(scopeAccessCheckName(keys, 'us-east-1')).toBe(
      'Static access key …9876 (region us-east-1)'
    );
    expect(scopeAccessCheckName(null, 'eu-west-1')).toBeUndefined();
    expect(scopeWhere(assuming(), 'eu-west-1', '210987654321')).toBe(
      'account 210987654321, region eu-west-1'
    );
    expect(scopeWhere(null, 'eu-west-1', '123456789012')).toBe('region eu-west-1');
  });
});

describe('decideRoleAllowed', () => {
  it('passes a listed role and fails another, naming the stack parameter and the list to deploy', () => {
    // Act
    const listed = decideRoleAllowed(ROLE, [ROLE], USERS);
    const missing = decideRoleAllowed(ROLE, ['arn:aws:iam::111122223333:role/other'], USERS);
    // Assess
    expect(listed.ok).toBe(true);
    expect(missing.ok).toBe(false);
    expect(missing.detail).toContain('the stack parameter assumeRoleArns');
    expect(missing.fix).toBe(
      `Add ${ROLE} to the stack parameter assumeRoleArns and deploy again (\`--param assumeRoleArns=arn:aws:iam::111122223333:role/other,${ROLE}\`).`
    );
  });
});

describe('probeScopeAccess', () => {
  it('answers the clients and their identity, or the error of getting them', async () => {
    // Prepare
    const identity = { account: '210987654321', arn: 'arn:aws:sts::…', userId: 'AROA:s' };
    const api = { getCallerIdentity: async () => identity } as unknown as DoctorAwsApi;
    const refused = new AssumeRoleError('Could not assume …: AccessDenied', 'AccessDenied', false);
    // Act
    const ok = await probeScopeAccess({ get: async () => api }, assuming(), 'eu-west-1');
    const failed = await probeScopeAccess(
      { get: () => Promise.reject(refused) },
      assuming(),
      'eu-west-1'
    );
    // Assess
    expect(ok).toEqual({ ok: true, aws: api, identity });
    expect(failed).toEqual({ ok: false, error: refused });
  });
});

describe('decideScopeAccess', () => {
  it('passes with the assumed identity and account', () => {
    // Act
    const result = decideScopeAccess(assuming(), 'eu-west-1', USERS, CALLER, {
      ok: true,
      aws: {} as DoctorAwsApi,
      identity: {
        account: '210987654321',
        arn: 'arn:aws:sts::210987654321:assumed-role/prefect-pools/prefect-session-1a2b3c4d',
        userId: 'AROA:prefect-session-1a2b3c4d',
      },
    });
    // Assess
    expect(result.ok).toBe(true);
    expect(result.detail).toMatch(
      /^assumed as arn:aws:iam::123456789012:user\/alice: arn:aws:sts::210987654321:assumed-role\/prefect-pools\/prefect-session-1a2b3c4d, account 210987654321, region eu-west-1;/
    );
  });

  it('fails AccessDenied with the trust-policy fix, mentioning the ExternalId condition when the block sends one', () => {
    // Prepare
    const error = new AssumeRoleError(
      `Could not assume ${ROLE}: AccessDenied: User: ${CALLER.arn} is not authorized to perform: sts:AssumeRole on resource: ${ROLE}`,
      'AccessDenied',
      false
    );
    // Act
    const result = decideScopeAccess(
      assuming({ ExternalId: 'prefect-7' }),
      'eu-west-1',
      USERS,
      CALLER,
      { ok: false, error }
    );
    // Assess
    expect(result.ok).toBe(false);
    expect(result.detail).toContain(error.message);
    expect(result.fix).toContain(
      `Let the trust policy of ${ROLE} allow sts:AssumeRole to the stack's poller, launcher and reporter roles (the stack output FunctionRoleArns) on condition that sts:ExternalId equals assume_role_kwargs.ExternalId`
    );
    expect(result.fix).toContain('in account 210987654321 with TrustedRoleArns=<FunctionRoleArns>');
    expect(result.fix).toContain(`This check asked as ${CALLER.arn}`);
    expect(result.fix).not.toContain('prefect-7');
  });

  it('says to try again when STS failed in a way that may pass', () => {
    // Prepare
    const error = new AssumeRoleError(`Could not assume ${ROLE}: Throttling`, 'Throttling', true);
    // Act
    const result = decideScopeAccess(assuming(), 'eu-west-1', USERS, CALLER, { ok: false, error });
    // Assess
    expect(result.fix).toMatch(/^STS did not answer .*: run the doctor again/);
  });

  it('fails static keys STS refuses, naming the key only by its last 4 characters', () => {
    // Prepare
    const keys = parseAwsCredentials({
      aws_access_key_id: 'AKIAUNITSCOPEKEY9876',
      aws_secret_access_key: SECRET,
    });
    if (!keys) throw new Error('expected settings');
    const error = Object.assign(
      new Error('The security token included in the request is invalid.'),
      {
        name: 'InvalidClientTokenId',
      }
    );
    // Act
    const result = decideScopeAccess(keys, 'us-east-1', USERS, CALLER, { ok: false, error });
    // Assess
    expect(result.name).toBe('Static access key …9876 (region us-east-1)');
    expect(result.detail).toContain('InvalidClientTokenId');
    expect(result.fix).toContain("Check the block's aws_access_key_id and aws_secret_access_key");
    expect(JSON.stringify(result)).not.toContain(SECRET);
    expect(JSON.stringify(result)).not.toContain('AKIAUNITSCOPEKEY9876');
  });
});
