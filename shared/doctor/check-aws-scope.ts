/**
 * Checks: the AWS credentials a pool's `aws_credentials` stands for work, as the launcher would get
 * them (`shared/aws/aws-scopes.ts`: AssumeRole with the functions' credentials, here this shell's,
 * or the block's static keys, STS in the functions' region), and the role is one the stack may
 * assume (`ASSUME_ROLE_ARNS`, the stack parameter `assumeRoleArns`).
 *
 * A scope is one (settings, region): every pool default and deployment with the same
 * `aws_credentials` and region shares it, and its checks list them as users.
 */
import { AssumeRoleError } from '../aws/assume-role.ts';
import { type AwsCredentialsSettings, assumedAccountOf } from '../aws/aws-credentials-settings.ts';
import type { AwsScopes } from '../aws/aws-scopes.ts';
import { accessDeniedFix } from './access-denied.ts';
import { type CheckResult, describeFailure, fail, pass } from './check-result.ts';
import type { CallerIdentity, DoctorAwsApi } from './doctor-aws.ts';

/** One `aws_credentials` scope and what uses it. */
export interface ScopeUse {
  /** null: the functions' own credentials (in another region than theirs). */
  settings: AwsCredentialsSettings | null;
  region: string;
  usedBy: string[];
}

/** The scope's key, as `createAwsScopes` keys its clients. */
export const scopeKeyOf = (settings: AwsCredentialsSettings | null, region: string): string =>
  `${settings?.key ?? 'home'}@${region}`;

/** Whether the launcher uses its own clients (no `aws_credentials` that changes anything). */
export const isHomeScope = (
  settings: AwsCredentialsSettings | null,
  region: string,
  homeRegion: string
): boolean => region === homeRegion && (settings === null || settings.key === 'home');

/** Whether the scope signs with other credentials than the functions' own. */
export const hasOwnCredentials = (settings: AwsCredentialsSettings | null): boolean =>
  settings?.assumeRole !== undefined || settings?.accessKeys !== undefined;

/** `…<last 4>`: all of a static key id that is ever shown. */
const keyHint = (settings: AwsCredentialsSettings): string =>
  `…${settings.accessKeys?.accessKeyId.slice(-4) ?? ''}`;

/** `account 210987654321, region eu-west-1`, for names of checks made in a scope. */
export const scopeWhere = (
  settings: AwsCredentialsSettings | null,
  region: string,
  account: string | undefined
): string =>
  `${account !== undefined && hasOwnCredentials(settings) ? `account ${account}, ` : ''}region ${region}`;

// --- ASSUME_ROLE_ARNS ------------------------------------------------------------------------

export const roleAllowedCheckName = (roleArn: string): string => `assumeRoleArns lists ${roleArn}`;

/**
 * The verdict on the stack's list (pure). Only made when `ASSUME_ROLE_ARNS` is set in this
 * environment: unset, the doctor cannot know the deployed stack's parameter.
 */
export const decideRoleAllowed = (
  roleArn: string,
  allowed: readonly string[],
  usedBy: readonly string[]
): CheckResult => {
  const name = roleAllowedCheckName(roleArn);
  const users = `used by ${usedBy.join(', ')}`;
  if (allowed.includes(roleArn)) return pass(name, `ASSUME_ROLE_ARNS lists it (${users})`);
  return fail(
    name,
    `ASSUME_ROLE_ARNS (the stack parameter assumeRoleArns) does not list it: the deployed functions may not assume it, and the launcher crashes these runs (${users})`,
    `Add ${roleArn} to the stack parameter assumeRoleArns and deploy again (\`--param assumeRoleArns=${[...allowed, roleArn].join(',')}\`).`
  );
};

// --- Access: AssumeRole or the block's static keys ---------------------------------------------

/** The access check's name; undefined for a scope with the functions' own credentials. */
export const scopeAccessCheckName = (
  settings: AwsCredentialsSettings | null,
  region: string
): string | undefined => {
  if (settings?.assumeRole) return `AssumeRole ${settings.assumeRole.RoleArn} (region ${region})`;
  if (settings?.accessKeys) return `Static access key ${keyHint(settings)} (region ${region})`;
  return undefined;
};

/** What getting the scope's clients and asking STS who they are gave. */
export type ScopeAccessOutcome =
  | { ok: true; aws: DoctorAwsApi; identity: CallerIdentity }
  | { ok: false; error: unknown };

/**
 * Gets the scope's clients (AssumeRole, when the settings name a role) and asks STS who they are
 * (GetCallerIdentity in the scope's region), which also proves the credentials sign requests.
 */
export const probeScopeAccess = async (
  scopes: Pick<AwsScopes<DoctorAwsApi>, 'get'>,
  settings: AwsCredentialsSettings | null,
  region: string
): Promise<ScopeAccessOutcome> => {
  try {
    const aws = await scopes.get(settings, region);
    return { ok: true, aws, identity: await aws.getCallerIdentity() };
  } catch (error) {
    return { ok: false, error };
  }
};

/** Who asked STS: the block's static key, else this shell's identity. */
const askedAs = (settings: AwsCredentialsSettings, caller: CallerIdentity): string =>
  settings.accessKeys ? `the block's static access key ${keyHint(settings)}` : caller.arn;

/**
 * AccessDenied on AssumeRole: the role's trust policy does not admit the caller. The deployed
 * functions ask as their own roles (the stack output `FunctionRoleArns`), which is what the trust
 * policy must admit; the doctor asks as this shell's principal (infra/member-account/functions-role.yml).
 */
const trustFix = (settings: AwsCredentialsSettings, caller: CallerIdentity): string => {
  const request = settings.assumeRole;
  const arn = request?.RoleArn ?? '';
  const account = assumedAccountOf(settings) ?? '<its account>';
  const externalId = request?.ExternalId
    ? ' on condition that sts:ExternalId equals assume_role_kwargs.ExternalId'
    : '';
  const tags = request?.Tags ? ', and sts:TagSession (assume_role_kwargs.Tags)' : '';
  return `Let the trust policy of ${arn} allow sts:AssumeRole${tags} to the stack's poller, launcher and reporter roles (the stack output FunctionRoleArns)${externalId}: deploy infra/member-account/functions-role.yml in account ${account} with TrustedRoleArns=<FunctionRoleArns> (docs/deploy.md, "Pools in other accounts and regions"). This check asked as ${askedAs(settings, caller)}: to check from this shell, let the trust policy admit it too, or run the doctor with the credentials of the launcher's role.`;
};

/**
 * The verdict (pure). `caller` is this shell's identity (the AWS identity check), the base of
 * AssumeRole unless the block has static keys. Never shows a secret: AssumeRole errors name codes
 * and ARNs only.
 */
export const decideScopeAccess = (
  settings: AwsCredentialsSettings,
  region: string,
  usedBy: readonly string[],
  caller: CallerIdentity,
  outcome: ScopeAccessOutcome
): CheckResult => {
  const name = scopeAccessCheckName(settings, region) ?? `AWS access (region ${region})`;
  const users = `used by ${usedBy.join(', ')}`;
  if (outcome.ok) {
    const { identity } = outcome;
    const how = settings.assumeRole
      ? `assumed as ${askedAs(settings, caller)}: ${identity.arn}`
      : identity.arn;
    return pass(
      name,
      `${how}, account ${identity.account}, region ${region}; execution and task roles and security groups there are not checked (the credentials need not read IAM nor security groups) (${users})`
    );
  }
  const { error } = outcome;
  if (error instanceof AssumeRoleError) {
    const fix =
      error.code === 'AccessDenied'
        ? trustFix(settings, caller)
        : error.retryable
          ? 'STS did not answer (throttled, unavailable or unreachable): run the doctor again; if it persists, check AWS_ENDPOINT_URL_STS / the network.'
          : 'Change the AWS Credentials block as the message says.';
    return fail(name, `${error.message} (${users})`, fix);
  }
  return fail(
    name,
    `${describeFailure(error)} (${users})`,
    accessDeniedFix(error) ??
      (settings.assumeRole
        ? 'The assumed credentials could not call STS GetCallerIdentity in this region: check that STS is enabled in the region (IAM console, Account settings).'
        : "Check the block's aws_access_key_id and aws_secret_access_key (an active key of the account the pool runs in).")
  );
};
