/**
 * Check: each execution and task role the rendered launches use exists (IAM GetRole) and trusts
 * `ecs-tasks.amazonaws.com`, so ECS can assume it. As far as an offline check goes: whether the
 * launcher's own role may `iam:PassRole` it is a permission of another principal, which only
 * `iam:SimulatePrincipalPolicy` on that role could tell, and is not checked.
 */
import { accessDeniedFix } from './access-denied.ts';
import { type CheckResult, describeFailure, fail, pass } from './check-result.ts';
import type { DoctorAwsApi, RoleFacts } from './doctor-aws.ts';
import { ECS_TASKS_PRINCIPAL, trustsEcsTasks } from './trust-policy.ts';

export type RoleKind = 'execution' | 'task';

export const roleCheckName = (kind: RoleKind, role: string): string =>
  `${kind === 'execution' ? 'Execution' : 'Task'} role ${role}`;

/** An IAM role ARN's parts, or a bare role name's (pure). */
export const parseRoleReference = (
  reference: string
): { account: string | undefined; roleName: string } | undefined => {
  const arn = /^arn:aws[a-z-]*:iam::(\d{12}):role\/(?:[\u0021-\u007e]*\/)?([\w+=,.@-]{1,64})$/.exec(
    reference
  );
  if (arn?.[1] && arn[2]) return { account: arn[1], roleName: arn[2] };
  if (/^[\w+=,.@-]{1,64}$/.test(reference)) return { account: undefined, roleName: reference };
  return undefined;
};

export type RoleOutcome =
  | { kind: 'read'; role: RoleFacts | undefined }
  | { kind: 'other-account'; account: string }
  | { kind: 'malformed' }
  | { kind: 'error'; error: unknown };

/** Reads the role when it is in the caller's account. */
export const probeRole = async (
  aws: Pick<DoctorAwsApi, 'getRole'>,
  reference: string,
  callerAccount: string
): Promise<RoleOutcome> => {
  const parsed = parseRoleReference(reference);
  if (!parsed) return { kind: 'malformed' };
  if (parsed.account !== undefined && parsed.account !== callerAccount) {
    return { kind: 'other-account', account: parsed.account };
  }
  try {
    return { kind: 'read', role: await aws.getRole(parsed.roleName) };
  } catch (error) {
    return { kind: 'error', error };
  }
};

const settingOf = (kind: RoleKind): string =>
  kind === 'execution'
    ? 'the job variable "execution_role_arn" (or ECS_EXECUTION_ROLE_ARN)'
    : 'the job variable "task_role_arn"';

const trustDocument = JSON.stringify({
  Version: '2012-10-17',
  Statement: [
    { Effect: 'Allow', Principal: { Service: ECS_TASKS_PRINCIPAL }, Action: 'sts:AssumeRole' },
  ],
});

/** The verdict (pure). */
export const decideRole = (
  kind: RoleKind,
  reference: string,
  callerAccount: string,
  usedBy: readonly string[],
  outcome: RoleOutcome
): CheckResult => {
  const name = roleCheckName(kind, reference);
  const users = `used by ${usedBy.join(', ')}`;
  const roleName = parseRoleReference(reference)?.roleName ?? reference;
  switch (outcome.kind) {
    case 'malformed':
      return fail(
        name,
        `is not an IAM role ARN or name (${users})`,
        `Set ${settingOf(kind)} to arn:aws:iam::<account>:role/<name>.`
      );
    case 'other-account':
      return pass(
        name,
        `in account ${outcome.account}, not ${callerAccount}: not checked from here (${users})`
      );
    case 'error':
      return fail(
        name,
        describeFailure(outcome.error),
        accessDeniedFix(outcome.error) ??
          'Allow iam:GetRole to these credentials, or check the role in the IAM console.'
      );
    case 'read':
      break;
  }
  const role = outcome.role;
  if (role === undefined) {
    return fail(
      name,
      `does not exist in account ${callerAccount} (${users})`,
      `Create it: \`aws iam create-role --role-name ${roleName} --assume-role-policy-document '${trustDocument}'\`${kind === 'execution' ? ' and attach AmazonECSTaskExecutionRolePolicy' : ''}, or set ${settingOf(kind)} to an existing role.`
    );
  }
  if (reference.startsWith('arn:') && role.arn !== reference) {
    return fail(
      name,
      `a role named ${role.roleName} exists, but its ARN is ${role.arn} (${users})`,
      `Set ${settingOf(kind)} to ${role.arn}.`
    );
  }
  const trust = trustsEcsTasks(role.trustPolicy);
  if (!trust.trusted) {
    return fail(
      name,
      `exists, but ${trust.reason}, so ECS cannot use it (${users})`,
      `\`aws iam update-assume-role-policy --role-name ${role.roleName} --policy-document '${trustDocument}'\``
    );
  }
  return pass(
    name,
    `exists and trusts ${ECS_TASKS_PRINCIPAL}${trust.conditional ? ' (with conditions, not evaluated)' : ''}; iam:PassRole by the launcher's role is not checked (${users})`
  );
};
