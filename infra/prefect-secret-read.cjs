/**
 * Who may read the Prefect API key / auth string, emitted only when there is one (prefectAuth is not
 * `none`). A CloudFormation `Condition` would drop the policies at deploy time but keep an empty
 * `Resource` in the template, which cfn-lint (E3510) and IAM reject, so an open server's stack simply
 * has no such policy.
 *
 * - PrefectSecretReadPolicy: every function calls Prefect with the key (read once per cold start):
 *   `ssm:GetParameter` for an SSM SecureString parameter (the default; its aws/ssm key needs no KMS
 *   permission), `secretsmanager:GetSecretValue` for a Secrets Manager secret.
 * - FlowRunExecutionSecretPolicy (only for the execution role the stack creates): the container
 *   receives PREFECT_API_KEY / PREFECT_API_AUTH_STRING as a task-definition secret, which ECS reads with
 *   `ssm:GetParameters` or `secretsmanager:GetSecretValue`.
 */
'use strict';

const resolveParameters = require('./parameters.cjs');

const readPolicy = (name, roles, sid, action, resource) => ({
  Type: 'AWS::IAM::Policy',
  Properties: {
    PolicyName: name,
    Roles: roles.map((id) => ({ Ref: id })),
    PolicyDocument: {
      Version: '2012-10-17',
      Statement: [{ Sid: sid, Effect: 'Allow', Action: action, Resource: resource }],
    },
  },
});

const prefectSecretReadResources = async (context) => {
  const parameters = await resolveParameters(context);
  if (parameters.conditions.readsPrefectSecret !== 'true') return {};
  const secret = parameters.prefectSecretArn;
  return {
    Resources: {
      PrefectSecretReadPolicy: readPolicy(
        'read-prefect-api-secret',
        ['PollerRole', 'LauncherRole', 'ReporterRole', 'WebhookRole'],
        'ReadPrefectApiSecret',
        parameters.prefectSecretReadAction,
        secret
      ),
      ...(parameters.conditions.createExecutionRole === 'true'
        ? {
            FlowRunExecutionSecretPolicy: readPolicy(
              'read-prefect-api-secret',
              ['FlowRunExecutionRole'],
              'InjectPrefectApiSecret',
              parameters.prefectSecretInjectAction,
              secret
            ),
          }
        : {}),
    },
  };
};

module.exports = prefectSecretReadResources;
