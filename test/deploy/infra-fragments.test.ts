/**
 * The template fragments emitted only for some parameters (serverless.yml `resources`), called as
 * osls calls them: infra/secrets-kms.cjs (kms:Decrypt, only with secretsKmsKeyArn, only for the
 * roles that read a secret), infra/prefect-secret-read.cjs (who reads the Prefect key, only when there
 * is one) and infra/vpc.cjs (the network-interface permissions of functions in a
 * VPC). cfn-lint.test.ts lints the templates they end up in; this checks what they contain.
 */
// biome-ignore-all lint/suspicious/noTemplateCurlyInString: CloudFormation Fn::Sub strings
import { describe, expect, it } from 'vitest';
import type { CfnResource, IamStatement } from './cfn-template.ts';
import { infraModule, oslsFileContext } from './stack-parameters.ts';

interface Fragment {
  Resources?: Record<string, CfnResource>;
  extensions?: Record<string, { DependsOn?: string[] }>;
}

const secretsKms = infraModule<Fragment>('secrets-kms.cjs');
const vpc = infraModule<Fragment>('vpc.cjs');
const prefectSecretRead = infraModule<Fragment>('prefect-secret-read.cjs');
const parameters = infraModule<{ vpc: unknown }>('parameters.cjs');

const KMS_KEY = 'arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab';
const SELF_HOSTED = 'http://prefect.internal:4200/api';
const SECRET = (name: string) =>
  `arn:aws:secretsmanager:us-east-1:123456789012:secret:${name}-AbCdEf`;
const VIA = (service: string) => ({ 'Fn::Sub': `${service}.\${AWS::Region}.\${AWS::URLSuffix}` });

const kmsPolicy = async (params: Record<string, string>) => {
  const fragment = await secretsKms(await oslsFileContext(params));
  const policy = fragment.Resources?.SecretsKmsDecryptPolicy;
  const properties = policy?.Properties as
    | { Roles: { Ref: string }[]; PolicyDocument: { Statement: IamStatement[] } }
    | undefined;
  return {
    fragment,
    roles: properties?.Roles.map((role) => role.Ref),
    statements: properties?.PolicyDocument.Statement,
  };
};

describe('kms:Decrypt for the secrets (infra/secrets-kms.cjs)', () => {
  it('is not in the template at all without a customer-managed key', async () => {
    // Act
    const { fragment } = await kmsPolicy({});
    // Assess
    expect(fragment).toEqual({});
  });

  it('goes to the four functions and the created execution role when they read the Prefect secret', async () => {
    // Act
    const { roles, statements } = await kmsPolicy({ secretsKmsKeyArn: KMS_KEY });
    // Assess: the default secrets are SSM SecureString parameters
    expect(roles).toEqual([
      'PollerRole',
      'LauncherRole',
      'ReporterRole',
      'WebhookRole',
      'FlowRunExecutionRole',
    ]);
    expect(statements).toEqual([
      {
        Sid: 'DecryptSecretsThroughTheirService',
        Effect: 'Allow',
        Action: 'kms:Decrypt',
        Resource: KMS_KEY,
        Condition: { StringEquals: { 'kms:ViaService': [VIA('ssm')] } },
      },
    ]);
  });

  it('goes to the webhook alone when nothing else reads a secret (prefectAuth=none)', async () => {
    // Act
    const { roles } = await kmsPolicy({
      secretsKmsKeyArn: KMS_KEY,
      prefectAuth: 'none',
      prefectApiUrl: SELF_HOSTED,
    });
    // Assess
    expect(roles).toEqual(['WebhookRole']);
  });

  it('leaves a brought execution role to its owner', async () => {
    // Act
    const { roles } = await kmsPolicy({
      secretsKmsKeyArn: KMS_KEY,
      ecsExecutionRoleArn: 'arn:aws:iam::123456789012:role/prefect-execution',
    });
    // Assess
    expect(roles).not.toContain('FlowRunExecutionRole');
    expect(roles).toHaveLength(4);
  });

  it('decrypts only through the services that hold the secrets read', async () => {
    // Act
    const secretsManager = await kmsPolicy({
      secretsKmsKeyArn: KMS_KEY,
      prefectApiSecretArn: SECRET('prefect'),
      webhookSecretArn: SECRET('webhook'),
    });
    const mixed = await kmsPolicy({
      secretsKmsKeyArn: KMS_KEY,
      prefectApiSecretArn: SECRET('prefect'),
    });
    // Assess
    expect(secretsManager.statements?.[0]?.Condition).toEqual({
      StringEquals: { 'kms:ViaService': [VIA('secretsmanager')] },
    });
    expect(mixed.statements?.[0]?.Condition).toEqual({
      StringEquals: { 'kms:ViaService': [VIA('secretsmanager'), VIA('ssm')] },
    });
  });
});

describe('reading the Prefect secret (infra/prefect-secret-read.cjs)', () => {
  const policyOf = (fragment: Fragment, id: string) =>
    fragment.Resources?.[id]?.Properties as
      | { Roles: { Ref: string }[]; PolicyDocument: { Statement: IamStatement[] } }
      | undefined;

  it('lets the four functions read the SSM parameter and the created execution role inject it', async () => {
    // Act
    const fragment = await prefectSecretRead(await oslsFileContext({}));
    // Assess
    const read = policyOf(fragment, 'PrefectSecretReadPolicy');
    const inject = policyOf(fragment, 'FlowRunExecutionSecretPolicy');
    expect(read?.Roles.map((role) => role.Ref)).toEqual([
      'PollerRole',
      'LauncherRole',
      'ReporterRole',
      'WebhookRole',
    ]);
    expect(read?.PolicyDocument.Statement[0]?.Action).toBe('ssm:GetParameter');
    expect(inject?.Roles.map((role) => role.Ref)).toEqual(['FlowRunExecutionRole']);
    expect(inject?.PolicyDocument.Statement[0]?.Action).toBe('ssm:GetParameters');
  });

  it('reads a Secrets Manager secret with GetSecretValue, and leaves a brought execution role alone', async () => {
    // Act
    const fragment = await prefectSecretRead(
      await oslsFileContext({
        prefectApiSecretArn: SECRET('prefect'),
        ecsExecutionRoleArn: 'arn:aws:iam::123456789012:role/prefect-execution',
      })
    );
    // Assess
    const read = policyOf(fragment, 'PrefectSecretReadPolicy');
    expect(read?.PolicyDocument.Statement[0]).toMatchObject({
      Action: 'secretsmanager:GetSecretValue',
      Resource: SECRET('prefect'),
    });
    expect(fragment.Resources?.FlowRunExecutionSecretPolicy).toBeUndefined();
  });

  it('is not in the template at all for an open server (prefectAuth=none)', async () => {
    // Act
    const fragment = await prefectSecretRead(
      await oslsFileContext({ prefectAuth: 'none', prefectApiUrl: SELF_HOSTED })
    );
    // Assess: no policy with an empty Resource that cfn-lint and IAM would refuse
    expect(fragment).toEqual({});
  });
});

describe('functions in a VPC (infra/vpc.cjs)', () => {
  const NETWORK = {
    vpcSubnetIds: 'subnet-0123456789abcdef0, subnet-89abcdef',
    vpcSecurityGroupIds: 'sg-0123456789abcdef0',
  };

  it('adds nothing, and no VpcConfig, without subnets', async () => {
    // Act
    const context = await oslsFileContext();
    // Assess
    expect(await vpc(context)).toEqual({});
    expect((await parameters(context)).vpc).toBe(false);
  });

  it('gives each function its subnets and security groups', async () => {
    // Act
    const resolved = await parameters(await oslsFileContext(NETWORK));
    // Assess
    expect(resolved.vpc).toEqual({
      subnetIds: ['subnet-0123456789abcdef0', 'subnet-89abcdef'],
      securityGroupIds: ['sg-0123456789abcdef0'],
    });
  });

  it('lets the four roles manage network interfaces in this account and region, created first', async () => {
    // Act
    const fragment = await vpc(await oslsFileContext(NETWORK));
    // Assess
    const policy = fragment.Resources?.FunctionsVpcNetworkInterfacePolicy?.Properties as {
      Roles: { Ref: string }[];
      PolicyDocument: { Statement: IamStatement[] };
    };
    expect(policy.Roles.map((role) => role.Ref)).toEqual([
      'PollerRole',
      'LauncherRole',
      'ReporterRole',
      'WebhookRole',
    ]);
    expect(policy.PolicyDocument.Statement).toEqual([
      {
        Sid: 'DescribeNetworkInterfaces',
        Effect: 'Allow',
        Action: ['ec2:DescribeNetworkInterfaces', 'ec2:DescribeSubnets'],
        Resource: '*',
      },
      {
        Sid: 'ManageFunctionNetworkInterfaces',
        Effect: 'Allow',
        Action: [
          'ec2:CreateNetworkInterface',
          'ec2:DeleteNetworkInterface',
          'ec2:AssignPrivateIpAddresses',
          'ec2:UnassignPrivateIpAddresses',
        ],
        Resource: ['network-interface', 'subnet', 'security-group'].map((type) => ({
          'Fn::Sub': `arn:\${AWS::Partition}:ec2:\${AWS::Region}:\${AWS::AccountId}:${type}/*`,
        })),
      },
    ]);
    expect(fragment.extensions).toEqual({
      PollerLambdaFunction: { DependsOn: ['FunctionsVpcNetworkInterfacePolicy'] },
      LauncherLambdaFunction: { DependsOn: ['FunctionsVpcNetworkInterfacePolicy'] },
      ReporterLambdaFunction: { DependsOn: ['FunctionsVpcNetworkInterfacePolicy'] },
      WebhookLambdaFunction: { DependsOn: ['FunctionsVpcNetworkInterfacePolicy'] },
    });
  });

  it('refuses one list without the other', async () => {
    // Act
    const refused = parameters(await oslsFileContext({ vpcSecurityGroupIds: 'sg-01234567' }));
    // Assess
    await expect(refused).rejects.toThrow(
      'vpcSubnetIds: set vpcSubnetIds and vpcSecurityGroupIds together, or neither'
    );
  });
});
