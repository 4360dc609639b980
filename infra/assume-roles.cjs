/**
 * `sts:AssumeRole` for work pools in other accounts and regions (docs/deploy.md, "Pools in other
 * accounts and regions"), emitted only when `assumeRoleArns` lists roles. Without them the template
 * holds no STS permission at all (a conditional resource would keep an empty `Resource` that
 * cfn-lint and IAM reject).
 *
 * A pool's `aws_credentials` block may name `assume_role_arn`: the poller (cancels), the launcher
 * (task definitions, RunTask) and the reporter (task tags, log tail, deregistration) then call STS
 * AssumeRole with their own role and act in the role's account and the block's region
 * (shared/aws/assume-role.ts). The webhook only claims runs: it never touches ECS.
 *
 * - sts:AssumeRole on exactly the listed role ARNs (infra/parameters.cjs refuses wildcards).
 * - sts:TagSession on the same roles: `assume_role_kwargs` may pass `Tags` (session tags, as
 *   prefect-aws forwards any AssumeRole argument), and "in addition to the action that matches the
 *   API operation, you must have the following permissions-only action in your policy:
 *   sts:TagSession" (https://docs.aws.amazon.com/IAM/latest/UserGuide/id_session-tags.html#id_session-tags_permissions-required).
 *   The role's trust policy must allow it too (infra/member-account/functions-role.yml does).
 * - sts:SetSourceIdentity on the same roles: `assume_role_kwargs` may pass `SourceIdentity`, which
 *   needs it in the caller's policy and the role's trust policy
 *   (https://docs.aws.amazon.com/IAM/latest/UserGuide/id_credentials_temp_control-access_monitor.html).
 * Other AssumeRole arguments need nothing more.
 */
'use strict';

const resolveParameters = require('./parameters.cjs');

/** The functions that act in a pool's account (serverless.yml `functions`, infra/iam.yml). */
const ASSUMING_ROLES = ['PollerRole', 'LauncherRole', 'ReporterRole'];

const assumeRolesResources = async (context) => {
  const { assumeRoleArnList } = await resolveParameters(context);
  if (assumeRoleArnList.length === 0) return {};
  return {
    Resources: {
      FunctionsAssumePoolRolesPolicy: {
        Type: 'AWS::IAM::Policy',
        Properties: {
          PolicyName: 'assume-pool-roles',
          Roles: ASSUMING_ROLES.map((role) => ({ Ref: role })),
          PolicyDocument: {
            Version: '2012-10-17',
            Statement: [
              {
                Sid: 'AssumeListedPoolRoles',
                Effect: 'Allow',
                Action: ['sts:AssumeRole', 'sts:TagSession', 'sts:SetSourceIdentity'],
                Resource: assumeRoleArnList,
              },
            ],
          },
        },
      },
    },
  };
};

module.exports = assumeRolesResources;
