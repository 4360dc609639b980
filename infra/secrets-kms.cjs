/**
 * `kms:Decrypt` for the secrets, emitted only when they are encrypted with a customer-managed key
 * (`secretsKmsKeyArn`). With the AWS-managed keys (the default) Secrets Manager and Parameter Store
 * need no KMS permission from the caller, and the template holds no such policy at all: a resource
 * gated by a condition would still carry an empty `Resource` that cfn-lint (E3510) and IAM reject.
 *
 * Attached only to the roles that read a secret:
 * - the webhook reads the webhook secret (always);
 * - the four functions read the Prefect secret unless prefectAuth=none;
 * - the execution role the stack creates reads the Prefect secret to inject it into flow-run
 *   containers (task-definition `secrets`), unless prefectAuth=none.
 *
 * Secrets Manager and Parameter Store (SecureString) decrypt with the caller's permissions on its
 * behalf, so the statement holds only through the services that store the secrets read
 * (`kms:ViaService`): https://docs.aws.amazon.com/secretsmanager/latest/userguide/security-encryption.html,
 * https://docs.aws.amazon.com/systems-manager/latest/userguide/security_iam_id-based-policy-examples.html
 */
'use strict';

const resolveParameters = require('./parameters.cjs');

/** `ssm` for an SSM parameter (an ARN or an `Fn::Sub` of one), `secretsmanager` otherwise. */
const storeOf = (arn) => (JSON.stringify(arn).includes(':ssm:') ? 'ssm' : 'secretsmanager');

/** The `kms:ViaService` values of the services holding the secrets the functions read. */
const viaServices = ({ conditions, prefectSecretArn, webhookSecretArn }) => {
  const read = [
    webhookSecretArn,
    ...(conditions.readsPrefectSecret === 'true' ? [prefectSecretArn] : []),
  ];
  return [...new Set(read.map(storeOf))]
    .sort()
    .map((service) => ({ 'Fn::Sub': `${service}.\${AWS::Region}.\${AWS::URLSuffix}` }));
};

const ref = (id) => ({ Ref: id });

/** The roles that read a secret encrypted with the key (see the header). */
const decryptingRoles = ({ conditions }) => {
  const readsPrefectSecret = conditions.readsPrefectSecret === 'true';
  return [
    ...(readsPrefectSecret ? ['PollerRole', 'LauncherRole', 'ReporterRole'] : []),
    'WebhookRole',
    ...(readsPrefectSecret && conditions.createExecutionRole === 'true'
      ? ['FlowRunExecutionRole']
      : []),
  ];
};

const secretsKmsResources = async (context) => {
  const parameters = await resolveParameters(context);
  if (parameters.secretsKmsKeyArn === '') return {};
  return {
    Resources: {
      SecretsKmsDecryptPolicy: {
        Type: 'AWS::IAM::Policy',
        Properties: {
          PolicyName: 'decrypt-secrets',
          Roles: decryptingRoles(parameters).map(ref),
          PolicyDocument: {
            Version: '2012-10-17',
            Statement: [
              {
                Sid: 'DecryptSecretsThroughTheirService',
                Effect: 'Allow',
                Action: 'kms:Decrypt',
                Resource: parameters.secretsKmsKeyArn,
                Condition: {
                  StringEquals: {
                    'kms:ViaService': viaServices(parameters),
                  },
                },
              },
            ],
          },
        },
      },
    },
  };
};

module.exports = secretsKmsResources;
