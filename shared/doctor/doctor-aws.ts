/**
 * The AWS reads the doctor makes, as a port (checks take it; tests may pass a fake) and its adapter
 * over the SDK clients this project depends on (ECS, EC2, Secrets Manager) and the small signed
 * query client for STS and IAM. Every call is a read; nothing is created or changed.
 */
import { DescribeSecurityGroupsCommand, EC2Client } from '@aws-sdk/client-ec2';
import { DescribeClustersCommand, ECSClient } from '@aws-sdk/client-ecs';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { Ec2Api } from '../ecs/ec2-api.ts';
import { createEc2Api } from '../ecs/ec2-client.ts';
import type { SecretReader } from '../secrets/secret-reader.ts';
import { createSecretsManagerReader } from '../secrets/secrets-manager-reader.ts';
import { type AwsCredentials, AwsQueryError, createAwsQueryClient } from './aws-query-client.ts';
import { xmlText } from './xml-text.ts';

export interface CallerIdentity {
  account: string;
  arn: string;
  userId: string;
}

export interface RoleFacts {
  arn: string;
  roleName: string;
  /** The trust policy as JSON text (decoded). */
  trustPolicy: string;
}

export interface ClusterFacts {
  arn: string;
  /** `ACTIVE`, `PROVISIONING`, `DEPROVISIONING`, `FAILED`, `INACTIVE`. */
  status: string;
}

export interface SecurityGroupFacts {
  groupId: string;
  vpcId: string | undefined;
}

/** The AWS reads of the doctor. */
export interface DoctorAwsApi {
  /** STS GetCallerIdentity. */
  getCallerIdentity(): Promise<CallerIdentity>;
  /** IAM GetRole; `undefined` when there is no such role (`NoSuchEntity`). */
  getRole(roleName: string): Promise<RoleFacts | undefined>;
  /** ECS DescribeClusters for one name or ARN; `undefined` when ECS reports it `MISSING`. */
  describeCluster(cluster: string): Promise<ClusterFacts | undefined>;
  /** EC2 DescribeSecurityGroups for one id; `undefined` when it does not exist. */
  describeSecurityGroup(groupId: string): Promise<SecurityGroupFacts | undefined>;
  /** VPC and subnet discovery, as the launcher does it. */
  ec2: Ec2Api;
  secrets: SecretReader;
}

/** SDK attempts per call: a doctor should answer quickly. */
const MAX_ATTEMPTS = 2;

/**
 * The adapter, with the SDK's default credential chain and endpoint settings (`AWS_ENDPOINT_URL`,
 * …) for `region`. Call `destroy()` when done.
 *
 * @example
 * const aws = createDoctorAwsApi({ region: 'eu-west-1', env: process.env });
 * await aws.getCallerIdentity(); // { account: '123456789012', arn: 'arn:aws:iam::…', … }
 */
export const createDoctorAwsApi = (options: {
  region: string;
  env: Readonly<Record<string, string | undefined>>;
}): DoctorAwsApi & { destroy(): void } => {
  const { region } = options;
  const ecs = new ECSClient({ region, maxAttempts: MAX_ATTEMPTS });
  const ec2 = new EC2Client({ region, maxAttempts: MAX_ATTEMPTS });
  const secretsManager = new SecretsManagerClient({ region, maxAttempts: MAX_ATTEMPTS });
  const credentials = () => ec2.config.credentials() as Promise<AwsCredentials>;
  const sts = createAwsQueryClient({ service: 'sts', region, credentials, env: options.env });
  const iam = createAwsQueryClient({ service: 'iam', region, credentials, env: options.env });

  return {
    async getCallerIdentity() {
      const xml = await sts.call('GetCallerIdentity');
      return {
        account: xmlText(xml, 'Account') ?? '',
        arn: xmlText(xml, 'Arn') ?? '',
        userId: xmlText(xml, 'UserId') ?? '',
      };
    },

    async getRole(roleName) {
      let xml: string;
      try {
        xml = await iam.call('GetRole', { RoleName: roleName });
      } catch (error) {
        if (error instanceof AwsQueryError && error.code === 'NoSuchEntity') return undefined;
        throw error;
      }
      const document = xmlText(xml, 'AssumeRolePolicyDocument') ?? '';
      let trustPolicy = document;
      try {
        trustPolicy = decodeURIComponent(document);
      } catch {
        // Already plain JSON.
      }
      return {
        arn: xmlText(xml, 'Arn') ?? '',
        roleName: xmlText(xml, 'RoleName') ?? roleName,
        trustPolicy,
      };
    },

    async describeCluster(cluster) {
      const answer = await ecs.send(new DescribeClustersCommand({ clusters: [cluster] }));
      const found = answer.clusters?.[0];
      if (found?.clusterArn === undefined) return undefined;
      return { arn: found.clusterArn, status: found.status ?? 'UNKNOWN' };
    },

    async describeSecurityGroup(groupId) {
      try {
        const answer = await ec2.send(new DescribeSecurityGroupsCommand({ GroupIds: [groupId] }));
        const group = answer.SecurityGroups?.[0];
        return group ? { groupId, vpcId: group.VpcId } : undefined;
      } catch (error) {
        if (
          error instanceof Error &&
          (error.name === 'InvalidGroup.NotFound' || error.name === 'InvalidGroupId.Malformed')
        ) {
          return undefined;
        }
        throw error;
      }
    },

    ec2: createEc2Api(ec2),
    secrets: createSecretsManagerReader(secretsManager),

    destroy() {
      ecs.destroy();
      ec2.destroy();
      secretsManager.destroy();
    },
  };
};
