/**
 * Parameter sets a user would really deploy (docs/deploy.md, Parameters), for the checks that must
 * hold for every one of them (cfn-lint). Each entry changes what it is named after; the last
 * brings everything of its own at once.
 */
import type { MatrixEntry } from './package-matrix.ts';

const ACCOUNT = '123456789012';
const REGION = 'us-east-1';
const arn = (service: string, resource: string, region = REGION) =>
  `arn:aws:${service}:${region}:${ACCOUNT}:${resource}`;

const SELF_HOSTED = 'https://prefect.internal.example.com/api';
const KMS_KEY = arn('kms', 'key/1234abcd-12ab-34cd-56ef-1234567890ab');
const PREFECT_SECRET = arn('secretsmanager', 'secret:prefect/api-key-AbCdEf');
const WEBHOOK_SECRET = arn('secretsmanager', 'secret:prefect/webhook-GhIjKl');
const EXECUTION_ROLE = `arn:aws:iam::${ACCOUNT}:role/prefect-execution`;
const TASK_ROLES = `arn:aws:iam::${ACCOUNT}:role/etl-task,arn:aws:iam::${ACCOUNT}:role/ml-task`;
/** Work pools in two other accounts, one of them also in another region (docs/deploy.md). */
const MEMBER_ROLES =
  'arn:aws:iam::210987654321:role/prefect-ecs-serverless-pools,arn:aws:iam::333344445555:role/ops/prefect-pools';
const VPC = {
  vpcSubnetIds: 'subnet-0123456789abcdef0,subnet-0fedcba9876543210',
  vpcSecurityGroupIds: 'sg-0123456789abcdef0',
};

/** The first entry is the default: it is packaged with a full build (package-matrix.ts). */
export const DEPLOY_MATRIX: readonly MatrixEntry[] = [
  { name: 'default' },
  {
    name: 'existing-execution-role',
    params: { ecsExecutionRoleArn: EXECUTION_ROLE, ecsTaskRoleArns: TASK_ROLES },
  },
  {
    // The stack creates Secrets Manager secrets (KmsKeyId) only with secretStore=secretsmanager.
    name: 'created-secrets-own-kms-key-alarm-email',
    params: {
      secretStore: 'secretsmanager',
      secretsKmsKeyArn: KMS_KEY,
      alarmEmail: 'ops@example.com',
    },
  },
  {
    name: 'existing-secrets',
    params: { prefectApiSecretArn: PREFECT_SECRET, webhookSecretArn: WEBHOOK_SECRET },
  },
  {
    name: 'several-clusters',
    params: {
      ecsClusters: `prefect,etl,${arn('ecs', 'cluster/gpu')}`,
      taskEventClusters: 'prefect,etl',
      taskLogGroups: 'prefect,etl-logs',
    },
  },
  {
    name: 'every-cluster-no-ec2-discovery',
    params: { ecsClusters: '*', ec2NetworkDiscovery: 'false' },
  },
  { name: 'existing-alarm-topic', params: { alarmTopicArn: arn('sns', 'platform-alarms') } },
  { name: 'open-self-hosted', params: { prefectApiUrl: SELF_HOSTED, prefectAuth: 'none' } },
  {
    name: 'self-hosted-auth-string-own-kms-key',
    params: { prefectApiUrl: SELF_HOSTED, prefectAuth: 'authString', secretsKmsKeyArn: KMS_KEY },
  },
  {
    name: 'vpc',
    params: { prefectApiUrl: SELF_HOSTED, prefectAuth: 'authString', ...VPC },
  },
  {
    name: 'vpc-open-self-hosted-own-kms-key',
    params: { prefectApiUrl: SELF_HOSTED, prefectAuth: 'none', secretsKmsKeyArn: KMS_KEY, ...VPC },
  },
  {
    // The bus policy's accounts: those of the roles and one more (a pool with static keys);
    // bring-everything leaves them to their default, the roles' accounts.
    name: 'pools-in-other-accounts',
    params: {
      assumeRoleArns: MEMBER_ROLES,
      eventSourceAccounts: '210987654321,333344445555,444455556666',
    },
  },
  {
    name: 'pool-roles-without-bus-policy',
    params: {
      assumeRoleArns: `arn:aws:iam::${ACCOUNT}:role/prefect-eu-central-1`,
      eventSourceAccounts: 'none',
    },
  },
  {
    name: 'bring-everything',
    stage: 'prod',
    params: {
      prefectApiUrl: 'https://api.prefect.cloud/api/accounts/a1/workspaces/w1',
      workPools: 'etl,ml',
      workQueues: 'default,urgent',
      prefectApiSecretArn: PREFECT_SECRET,
      webhookSecretArn: WEBHOOK_SECRET,
      secretsKmsKeyArn: KMS_KEY,
      ecsExecutionRoleArn: EXECUTION_ROLE,
      ecsTaskRoleArns: TASK_ROLES,
      ecsClusters: `prefect,${arn('ecs', 'cluster/gpu')}`,
      ec2NetworkDiscovery: 'false',
      alarmTopicArn: arn('sns', 'platform-alarms'),
      templateEnvAllowlist: 'AWS_REGION,PREFECT_WORKER_NAME',
      assumeRoleArns: MEMBER_ROLES,
      ...VPC,
    },
  },
];
