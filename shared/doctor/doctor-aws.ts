/**
 * The AWS reads the doctor makes, as a port (checks take it; tests may pass a fake) and its adapter
 * over the SDK clients (STS, IAM, ECS, EC2, Secrets Manager). Every call is a read; nothing is
 * created or changed. {@link doctorAwsApiFor} builds one for a pool's `aws_credentials` scope, with
 * the clients configured as the launcher configures its own for that scope.
 */
import { DescribeSecurityGroupsCommand, EC2Client } from '@aws-sdk/client-ec2';
import { DescribeClustersCommand, ECSClient } from '@aws-sdk/client-ecs';
import { GetRoleCommand, IAMClient, NoSuchEntityException } from '@aws-sdk/client-iam';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import type { AwsScope } from '../aws/aws-scopes.ts';
import { type SdkClientOptions, sdkClientOptionsOf } from '../aws/sdk-client-options.ts';
import type { AwsCredentials } from '../aws/signed-aws-request.ts';
import type { Ec2Api } from '../ecs/ec2-api.ts';
import { createEc2Api } from '../ecs/ec2-client.ts';
import type { SecretReader } from '../secrets/secret-reader.ts';
import { createSecretsManagerReader } from '../secrets/secrets-manager-reader.ts';

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
  /** The credentials the clients sign with: the base of AssumeRole. Never shown. */
  credentials(): Promise<AwsCredentials>;
}

/** SDK attempts per call: a doctor should answer quickly. */
const MAX_ATTEMPTS = 2;

/** Per attempt, for STS and IAM (the first calls the doctor makes to AWS). */
const REQUEST_TIMEOUT_MS = 10_000;

/** An SDK error with no HTTP answer behind it (connection refused or reset, DNS, timeout). */
const isNetworkError = (error: unknown): error is Error => {
  if (!(error instanceof Error)) return false;
  const shape = error as Error & { $metadata?: { httpStatusCode?: number }; code?: unknown };
  return (
    shape.$metadata?.httpStatusCode === undefined &&
    (error.name === 'Error' || error.name === 'TimeoutError' || typeof shape.code === 'string')
  );
};

/** Names the service that could not be reached; service errors pass through as the SDK threw them. */
const unreachable = (service: 'STS' | 'IAM', error: unknown): unknown => {
  if (!isNetworkError(error)) return error;
  const wrapped = new Error(`could not reach ${service} (${error.message})`, { cause: error });
  wrapped.name = 'NetworkError';
  return wrapped;
};

/** IAM answers the trust policy URL-encoded (RFC 3986); the SDK hands it on as it came. */
const decodePolicy = (document: string): string => {
  try {
    return decodeURIComponent(document);
  } catch {
    return document; // Already plain JSON.
  }
};

/** What {@link createDoctorAwsApi} builds its clients with. */
export interface DoctorAwsOptions {
  region: string;
  /** Default: the SDK's credential chain (this shell's credentials). */
  credentials?: SdkClientOptions['credentials'];
  /** The ECS and EC2 clients' options, when they differ (a scope's endpoint, retries, timeouts). */
  ecsAndEc2?: SdkClientOptions;
}

/**
 * The adapter, with the SDK's default credential chain and endpoint settings (`AWS_ENDPOINT_URL`,
 * `AWS_ENDPOINT_URL_STS`, `AWS_ENDPOINT_URL_IAM`, …) for `region`. Call `destroy()` when done.
 *
 * @example
 * const aws = createDoctorAwsApi({ region: 'eu-west-1' });
 * await aws.getCallerIdentity(); // { account: '123456789012', arn: 'arn:aws:iam::…', … }
 */
export const createDoctorAwsApi = (
  options: DoctorAwsOptions
): DoctorAwsApi & { destroy(): void } => {
  const { region } = options;
  const signing = {
    region,
    maxAttempts: MAX_ATTEMPTS,
    ...(options.credentials ? { credentials: options.credentials } : {}),
  };
  const ecsAndEc2 = options.ecsAndEc2 ?? signing;
  const ecs = new ECSClient(ecsAndEc2);
  const ec2 = new EC2Client(ecsAndEc2);
  const secretsManager = new SecretsManagerClient(signing);
  const requestHandler = { requestTimeout: REQUEST_TIMEOUT_MS };
  const sts = new STSClient({ ...signing, requestHandler });
  // IAM is global: on its default endpoint the SDK signs for the partition's region (us-east-1).
  const iam = new IAMClient({ ...signing, requestHandler });

  return {
    async getCallerIdentity() {
      try {
        const answer = await sts.send(new GetCallerIdentityCommand({}));
        return {
          account: answer.Account ?? '',
          arn: answer.Arn ?? '',
          userId: answer.UserId ?? '',
        };
      } catch (error) {
        throw unreachable('STS', error);
      }
    },

    async getRole(roleName) {
      try {
        const answer = await iam.send(new GetRoleCommand({ RoleName: roleName }));
        const role = answer.Role;
        return {
          arn: role?.Arn ?? '',
          roleName: role?.RoleName ?? roleName,
          trustPolicy: decodePolicy(role?.AssumeRolePolicyDocument ?? ''),
        };
      } catch (error) {
        if (
          error instanceof NoSuchEntityException ||
          (error instanceof Error && error.name === 'NoSuchEntity')
        ) {
          return undefined;
        }
        throw unreachable('IAM', error);
      }
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

    credentials: () => sts.config.credentials(),

    destroy() {
      sts.destroy();
      iam.destroy();
      ecs.destroy();
      ec2.destroy();
      secretsManager.destroy();
    },
  };
};

/**
 * The adapter for a pool's `aws_credentials` scope (`shared/aws/aws-scopes.ts`): its region and
 * credentials (assumed, or the block's keys), and for ECS and EC2 its endpoint, retries and
 * timeouts, as the launcher builds its clients (`sdkClientOptionsOf`). STS and IAM keep their own
 * endpoints: `aws_client_parameters.endpoint_url` names the ECS endpoint.
 *
 * @example
 * const scopes = createAwsScopes({ …, build: doctorAwsApiFor });
 */
export const doctorAwsApiFor = (scope: AwsScope): DoctorAwsApi & { destroy(): void } =>
  createDoctorAwsApi({
    region: scope.region,
    ...(scope.credentials ? { credentials: scope.credentials } : {}),
    ecsAndEc2: sdkClientOptionsOf(scope, { maxAttempts: MAX_ATTEMPTS }),
  });
