/**
 * Check: the security groups of `network_configuration` exist and belong to `vpc_id` (RunTask
 * refuses a group of another VPC). Without `network_configuration` the task gets the VPC's default
 * group and there is nothing to check.
 */
import { accessDeniedFix } from './access-denied.ts';
import { type CheckResult, describeFailure, fail, pass } from './check-result.ts';
import type { DoctorAwsApi, SecurityGroupFacts } from './doctor-aws.ts';

export const securityGroupsCheckName = (vpcId: string): string => `Security groups in ${vpcId}`;

export type SecurityGroupsOutcome =
  | { ok: true; groups: { groupId: string; found: SecurityGroupFacts | undefined }[] }
  | { ok: false; error: unknown };

/** Describes each group. */
export const probeSecurityGroups = async (
  aws: Pick<DoctorAwsApi, 'describeSecurityGroup'>,
  groupIds: readonly string[]
): Promise<SecurityGroupsOutcome> => {
  try {
    const groups = [];
    for (const groupId of groupIds) {
      groups.push({ groupId, found: await aws.describeSecurityGroup(groupId) });
    }
    return { ok: true, groups };
  } catch (error) {
    return { ok: false, error };
  }
};

/** The verdict (pure). */
export const decideSecurityGroups = (
  vpcId: string,
  usedBy: readonly string[],
  outcome: SecurityGroupsOutcome
): CheckResult => {
  const name = securityGroupsCheckName(vpcId);
  const users = `used by ${usedBy.join(', ')}`;
  if (!outcome.ok) {
    return fail(
      name,
      describeFailure(outcome.error),
      accessDeniedFix(outcome.error) ?? 'Allow ec2:DescribeSecurityGroups to these credentials.'
    );
  }
  const problems = outcome.groups.flatMap(({ groupId, found }) => {
    if (found === undefined) return [`${groupId} does not exist in this region`];
    if (found.vpcId !== vpcId) return [`${groupId} is in ${found.vpcId ?? 'no VPC'}, not ${vpcId}`];
    return [];
  });
  if (problems.length > 0) {
    return fail(
      name,
      `${problems.join('; ')} (${users})`,
      `Set network_configuration.securityGroups to groups of ${vpcId} (\`aws ec2 describe-security-groups --filters Name=vpc-id,Values=${vpcId}\`) in the job variables of ${usedBy.join(', ')} or the pool's base job template, or set vpc_id to their VPC.`
    );
  }
  return pass(
    name,
    `${outcome.groups.map(({ groupId }) => groupId).join(', ')} ${outcome.groups.length === 1 ? 'is' : 'are'} in ${vpcId} (${users})`
  );
};
