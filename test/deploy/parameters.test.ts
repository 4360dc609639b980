/**
 * Stack parameters: a "bring your own everything" deploy (existing secrets, roles, topic, KMS key,
 * named clusters, no network discovery) packaged offline, and the parameters osls refuses.
 */
// biome-ignore-all lint/suspicious/noTemplateCurlyInString: CloudFormation Fn::Sub strings
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../shared/config.ts';
import { FLOW_RUN_ID_TAG_KEY } from '../../shared/ecs/ecs-tags.ts';
import { loadPollerConfig } from '../../shared/poll/poller-config.ts';
import { loadWebhookConfig } from '../../shared/webhook/webhook-config.ts';
import { runGuard, runGuardOnEach } from './cfn-guard.ts';
import {
  actionsOf,
  type CfnTemplate,
  cloneTemplate,
  idsOfType,
  resourceOf,
  resourcesOf,
  statementsOfRole,
} from './cfn-template.ts';
import { effectiveTemplate } from './effective-template.ts';
import { functionEnvironment } from './function-environment.ts';
import { type PackagedService, packageService, runOsls } from './osls-package.ts';
import { checkTemplateAgainstSpec } from './spec-check.ts';

const ACCOUNT = '123456789012';
const REGION = 'eu-west-1';
const PREFECT_SECRET = `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:prefect/api-key-AbCdEf`;
const WEBHOOK_SECRET = `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:prefect/webhook-GhIjKl`;
const EXECUTION_ROLE = `arn:aws:iam::${ACCOUNT}:role/prefect-execution`;
const TASK_ROLE = `arn:aws:iam::${ACCOUNT}:role/etl-task`;
const GPU_CLUSTER = `arn:aws:ecs:${REGION}:${ACCOUNT}:cluster/gpu`;
const TOPIC = `arn:aws:sns:${REGION}:${ACCOUNT}:platform-alarms`;
const KMS_KEY = `arn:aws:kms:${REGION}:${ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab`;
const SUBNETS = ['subnet-0123456789abcdef0', 'subnet-89abcdef'];
const SECURITY_GROUPS = ['sg-0123456789abcdef0'];
/** A work pool's role in another account (docs/deploy.md, "Pools in other accounts and regions"). */
const MEMBER = '210987654321';
const MEMBER_ROLE = `arn:aws:iam::${MEMBER}:role/prefect-ecs-serverless-pools`;

const PARAMS = {
  prefectApiUrl: 'https://api.prefect.cloud/api/accounts/a1/workspaces/w1',
  prefectApiSecretArn: PREFECT_SECRET,
  workPools: 'etl,ml',
  workQueues: 'default,urgent',
  ecsClusters: `prefect,${GPU_CLUSTER}`,
  taskEventClusters: 'prefect',
  ecsExecutionRoleArn: EXECUTION_ROLE,
  ecsTaskRoleArns: TASK_ROLE,
  ec2NetworkDiscovery: 'false',
  taskLogGroups: 'prefect,etl-logs',
  webhookSecretArn: WEBHOOK_SECRET,
  alarmTopicArn: TOPIC,
  secretsKmsKeyArn: KMS_KEY,
  launchLatencyAlarmSeconds: '30',
  detailedAlarms: 'true', // LaunchLatencyAlarm and the poller/function alarms (opt-in, +$0.50/month)
  launchRetryDeadlineSeconds: '3600',
  orphanAfterSeconds: '1200',
  cancelLookbackSeconds: '7200',
  vpcSubnetIds: SUBNETS.join(', '),
  vpcSecurityGroupIds: SECURITY_GROUPS.join(','),
  templateEnvAllowlist: 'AWS_REGION, PREFECT_WORKER_NAME',
  assumeRoleArns: MEMBER_ROLE, // eventSourceAccounts: its account, the default
};

const sub = (text: string) => ({ 'Fn::Sub': text });
const PREFECT_CLUSTER = sub(
  'arn:${AWS::Partition}:ecs:${AWS::Region}:${AWS::AccountId}:cluster/prefect'
);

let packaged: PackagedService;
let deployed: CfnTemplate;

beforeAll(async () => {
  // Prepare: package once with every parameter set
  packaged = await packageService({ stage: 'prod', region: REGION, params: PARAMS });
  deployed = effectiveTemplate(packaged.template);
}, 180_000);

afterAll(async () => {
  await packaged?.dispose();
});

const propertiesOf = (id: string) => resourceOf(deployed, id).Properties as Record<string, unknown>;

describe('bring your own secrets, roles, clusters and topic', () => {
  it('creates no secret, execution role, topic or discovery permission of its own', () => {
    // Assess
    for (const id of [
      'PrefectApiSecret',
      'WebhookSecret',
      'FlowRunExecutionRole',
      'FlowRunExecutionSecretPolicy',
      'AlarmTopic',
      'AlarmEmailSubscription',
      'LauncherNetworkDiscoveryPolicy',
    ]) {
      expect(deployed.Resources[id]).toBeUndefined();
    }
  });

  it('is valid against the specification and passes every project rule', async () => {
    // Act
    const result = await runGuard(deployed);
    // Assess
    expect(checkTemplateAgainstSpec(deployed)).toEqual([]);
    expect(result).toEqual({ exitCode: 0, failures: [] });
  });

  it('hands the functions the given ARNs, pools and queues', () => {
    // Arrange
    const environment = functionEnvironment(deployed, 'LauncherLambdaFunction', REGION);
    // Act
    const config = loadConfig(environment, { role: 'launcher' });
    const webhook = loadWebhookConfig(
      functionEnvironment(deployed, 'WebhookLambdaFunction', REGION)
    );
    // Assess
    expect(config).toMatchObject({
      prefectApiUrl: PARAMS.prefectApiUrl,
      prefectCredentials: { kind: 'apiKeySecret', secretArn: PREFECT_SECRET },
      workPools: ['etl', 'ml'],
      ecsExecutionRoleArn: EXECUTION_ROLE,
      launchRetryDeadlineSeconds: 3600,
    });
    expect(webhook.webhook.secret).toEqual({ kind: 'secretArn', secretArn: WEBHOOK_SECRET });
    expect(
      loadPollerConfig(functionEnvironment(deployed, 'PollerLambdaFunction', REGION)).poll
    ).toMatchObject({ orphanAfterSeconds: 1200, cancelLookbackSeconds: 7200 });
    expect(webhook.workQueues).toEqual(['default', 'urgent']);
    expect(environment.POWERTOOLS_SERVICE_NAME).toBe('prefect-ecs-serverless-prod');
  });

  it('scopes ECS task actions to the named and the ARN-given cluster', () => {
    // Assess
    const statements = ['PollerRole', 'LauncherRole', 'ReporterRole'].flatMap((role) =>
      statementsOfRole(deployed, role)
    );
    const scoped = statements.filter((statement) =>
      actionsOf(statement).some((action) =>
        /^ecs:(RunTask|StopTask|DescribeTasks|ListTasks)$/.test(action)
      )
    );
    expect(scoped.length).toBeGreaterThanOrEqual(4);
    for (const statement of scoped) {
      expect(statement.Condition).toEqual({
        ArnEquals: { 'ecs:cluster': [PREFECT_CLUSTER, GPU_CLUSTER] },
        ...(actionsOf(statement).includes('ecs:StopTask')
          ? { Null: { [`aws:ResourceTag/${FLOW_RUN_ID_TAG_KEY}`]: 'false' } }
          : {}),
      });
    }
  });

  it('passes exactly the given execution and task roles, to ECS tasks only', () => {
    // Assess
    const passRole = statementsOfRole(deployed, 'LauncherRole').filter((s) =>
      actionsOf(s).includes('iam:PassRole')
    );
    expect(passRole.flatMap(resourcesOf)).toEqual([EXECUTION_ROLE, TASK_ROLE]);
    // No network discovery (ec2:DescribeSubnets is there for the VPC placement, infra/vpc.cjs)
    expect(statementsOfRole(deployed, 'LauncherRole').flatMap(actionsOf)).not.toContain(
      'ec2:DescribeVpcs'
    );
  });

  it('reads the given secrets, decrypting through Secrets Manager with the given key only', () => {
    // Assess
    const reporter = statementsOfRole(deployed, 'ReporterRole');
    expect(
      reporter
        .filter((s) => actionsOf(s).includes('secretsmanager:GetSecretValue'))
        .flatMap(resourcesOf)
    ).toEqual([PREFECT_SECRET]);
    expect(reporter.find((s) => actionsOf(s).includes('kms:Decrypt'))).toEqual({
      Sid: 'DecryptSecretsThroughTheirService',
      Effect: 'Allow',
      Action: 'kms:Decrypt',
      Resource: KMS_KEY,
      Condition: {
        StringEquals: {
          'kms:ViaService': [sub('secretsmanager.${AWS::Region}.${AWS::URLSuffix}')],
        },
      },
    });
    const webhook = statementsOfRole(deployed, 'WebhookRole');
    expect(
      webhook
        .filter((s) => actionsOf(s).includes('secretsmanager:GetSecretValue'))
        .flatMap(resourcesOf)
    ).toEqual([WEBHOOK_SECRET, PREFECT_SECRET]);
  });

  it('places every function in the given subnets, its role allowed to attach it first', () => {
    // Assess
    for (const [functionId, roleId] of [
      ['PollerLambdaFunction', 'PollerRole'],
      ['LauncherLambdaFunction', 'LauncherRole'],
      ['ReporterLambdaFunction', 'ReporterRole'],
      ['WebhookLambdaFunction', 'WebhookRole'],
    ] as const) {
      expect(propertiesOf(functionId).VpcConfig).toEqual({
        SubnetIds: SUBNETS,
        SecurityGroupIds: SECURITY_GROUPS,
      });
      expect(resourceOf(deployed, functionId).DependsOn).toContain(
        'FunctionsVpcNetworkInterfacePolicy'
      );
      expect(statementsOfRole(deployed, roleId).flatMap(actionsOf)).toEqual(
        expect.arrayContaining([
          'ec2:CreateNetworkInterface',
          'ec2:DescribeNetworkInterfaces',
          'ec2:DeleteNetworkInterface',
          'ec2:AssignPrivateIpAddresses',
          'ec2:UnassignPrivateIpAddresses',
        ])
      );
    }
  });

  it('lets job templates read the allow-listed launcher variables', () => {
    // Act
    const config = loadConfig(functionEnvironment(deployed, 'LauncherLambdaFunction', REGION), {
      role: 'launcher',
    });
    // Assess
    expect(config.templateEnvAllowlist).toEqual(['AWS_REGION', 'PREFECT_WORKER_NAME']);
    expect(config.templateEnvironment).toEqual({
      AWS_REGION: REGION,
      PREFECT_WORKER_NAME: 'prefect-ecs-serverless',
    });
  });

  it('narrows the task-state rule to the given cluster', () => {
    // Assess
    expect(propertiesOf('TaskStateChangeRule').EventPattern).toEqual({
      source: ['aws.ecs'],
      'detail-type': ['ECS Task State Change'],
      detail: {
        startedBy: [{ prefix: 'prefect/' }],
        lastStatus: ['PROVISIONING', 'PENDING', 'ACTIVATING', 'RUNNING', 'STOPPED'],
        clusterArn: [PREFECT_CLUSTER],
      },
    });
  });

  it('reads the tails of every given task log group', () => {
    // Assess
    const reads = statementsOfRole(deployed, 'ReporterRole').find((s) =>
      actionsOf(s).includes('logs:GetLogEvents')
    );
    expect(reads?.Resource).toEqual([
      sub(
        'arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:log-group:prefect:log-stream:*'
      ),
      sub(
        'arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:log-group:etl-logs:log-stream:*'
      ),
    ]);
  });

  it('notifies the given topic, with the given latency threshold', () => {
    // Assess
    for (const id of idsOfType(deployed, 'AWS::CloudWatch::Alarm')) {
      expect(propertiesOf(id).AlarmActions).toEqual([TOPIC]);
      expect(propertiesOf(id).OKActions).toEqual([TOPIC]);
    }
    expect(propertiesOf('LaunchLatencyAlarm').Threshold).toBe(30_000);
  });

  it('lets the poller, launcher and reporter assume the pool role, and the webhook nothing', () => {
    // Assess
    for (const [functionId, roleId] of [
      ['PollerLambdaFunction', 'PollerRole'],
      ['LauncherLambdaFunction', 'LauncherRole'],
      ['ReporterLambdaFunction', 'ReporterRole'],
    ] as const) {
      expect(functionEnvironment(deployed, functionId, REGION).ASSUME_ROLE_ARNS).toBe(MEMBER_ROLE);
      expect(
        statementsOfRole(deployed, roleId).filter((s) => actionsOf(s).includes('sts:AssumeRole'))
      ).toEqual([
        {
          Sid: 'AssumeListedPoolRoles',
          Effect: 'Allow',
          Action: ['sts:AssumeRole', 'sts:TagSession', 'sts:SetSourceIdentity'],
          Resource: [MEMBER_ROLE],
        },
      ]);
    }
    const webhook = functionEnvironment(deployed, 'WebhookLambdaFunction', REGION);
    expect(webhook).not.toHaveProperty('ASSUME_ROLE_ARNS');
    expect(statementsOfRole(deployed, 'WebhookRole').flatMap(actionsOf)).not.toContain(
      'sts:AssumeRole'
    );
  });

  it("lets the pool role's account put its task events on the default bus", () => {
    // Assess
    expect(propertiesOf('TaskStateEventsFromOtherAccountsPolicy')).toMatchObject({
      EventBusName: 'default',
      StatementId: 'prefect-ecs-serverless-prod-ecs-task-events',
      Statement: {
        Principal: { AWS: [sub(`arn:\${AWS::Partition}:iam::${MEMBER}:root`)] },
        Action: 'events:PutEvents',
      },
    });
  });

  it('fails the project rules for an STS wildcard or a bus policy open to every event', async () => {
    // Arrange
    const wildcard = cloneTemplate(deployed);
    const stsPolicy = resourceOf(wildcard, 'FunctionsAssumePoolRolesPolicy').Properties as {
      PolicyDocument: { Statement: { Resource: unknown }[] };
    };
    (stsPolicy.PolicyDocument.Statement[0] as { Resource: unknown }).Resource = [
      `arn:aws:iam::${MEMBER}:role/*`,
    ];
    const anyEvent = cloneTemplate(deployed);
    const busStatement = (
      resourceOf(anyEvent, 'TaskStateEventsFromOtherAccountsPolicy').Properties as {
        Statement: Record<string, unknown>;
      }
    ).Statement;
    delete busStatement.Condition;
    // Act
    const results = await runGuardOnEach({ wildcard, anyEvent });
    // Assess
    expect(results.get('wildcard')?.failures.map((failure) => failure.rule)).toEqual([
      'iam_policy_least_privilege',
    ]);
    expect(results.get('anyEvent')?.failures.map((failure) => failure.rule)).toEqual([
      'event_bus_policy_task_events_only',
    ]);
  });

  it('covers a longer retry deadline with more deliveries before the DLQ', () => {
    // Assess: 3600 s of backoff capped at 900 s per retry, plus margin
    expect(propertiesOf('LaunchQueue').RedrivePolicy).toMatchObject({ maxReceiveCount: 14 });
  });
});

describe('parameters osls refuses', () => {
  it('lists every invalid parameter at once, and stops before building anything', async () => {
    // Act: `print` resolves the configuration like `package` and `deploy`, without bundling
    const outcome = await runOsls([
      'print',
      '--param',
      'ecsClusters=bad name',
      '--param',
      'pollIntervalSeconds=3',
      '--param',
      'prefectApiSecretArn=my-secret',
      '--param',
      'launchLeadSeconds=90',
      '--param',
      'launchRetryDeadlineSeconds=1800',
      '--param',
      'cancelLookbackSeconds=30',
      '--param',
      `assumeRoleArns=arn:aws:iam::${MEMBER}:role/prefect-*`,
    ]);
    // Assess
    expect(outcome.exitCode).not.toBe(0);
    expect(outcome.output).toContain('ecsClusters: "bad name" is not an ECS cluster name or ARN');
    expect(outcome.output).toContain(
      'pollIntervalSeconds: must be a whole number from 5 to 60, got "3"'
    );
    expect(outcome.output).toContain(
      'prefectApiSecretArn: must be the full ARN of a Secrets Manager secret'
    );
    expect(outcome.output).toContain('launchLeadSeconds: must not exceed pollPrefetchSeconds');
    expect(outcome.output).toContain(
      'cancelLookbackSeconds: must be a whole number from 60 to 86400, got "30"'
    );
    expect(outcome.output).toContain(
      'orphanAfterSeconds: × (orphanMaxRequeues + 1) is 1200 s and must exceed'
    );
    expect(outcome.output).toContain(
      `assumeRoleArns: "arn:aws:iam::${MEMBER}:role/prefect-*" has a wildcard`
    );
  }, 60_000);

  it('refuses to deploy without the Prefect URL and the work pools, before calling AWS', async () => {
    // Act: no AWS credentials at all; the parameters fail first
    const outcome = await runOsls(['deploy', '--stage', 'prod']);
    // Assess
    expect(outcome.exitCode).not.toBe(0);
    expect(outcome.output).toContain('prefectApiUrl: required');
    expect(outcome.output).toContain('workPools: required');
    expect(outcome.output).not.toMatch(/credentials/i);
  }, 60_000);

  it('refuses malformed network ids, one list without the other, and credentials in the allow-list', async () => {
    // Act
    const outcome = await runOsls([
      'print',
      '--param',
      'vpcSubnetIds=subnet-0123456789abcdef0,vpc-01234567',
      '--param',
      'templateEnvAllowlist=REGISTRY,PREFECT_API_KEY,AWS_SECRET_ACCESS_KEY,not-a-name',
    ]);
    // Assess
    expect(outcome.exitCode).not.toBe(0);
    expect(outcome.output).toContain('vpcSubnetIds: "vpc-01234567" is not a subnet id');
    expect(outcome.output).toContain(
      'vpcSubnetIds: set vpcSubnetIds and vpcSecurityGroupIds together, or neither'
    );
    expect(outcome.output).toContain('templateEnvAllowlist: may not list PREFECT_API_KEY');
    expect(outcome.output).toContain('templateEnvAllowlist: may not list AWS_SECRET_ACCESS_KEY');
    expect(outcome.output).toContain(
      'templateEnvAllowlist: "not-a-name" is not an environment variable name'
    );
    expect(outcome.output).not.toContain('REGISTRY');
  }, 60_000);

  it('refuses prefectAuth=none for Prefect Cloud', async () => {
    // Act
    const outcome = await runOsls([
      'print',
      '--param',
      'prefectAuth=none',
      '--param',
      'prefectApiUrl=https://api.prefect.cloud/api/accounts/a/workspaces/w',
    ]);
    // Assess
    expect(outcome.exitCode).not.toBe(0);
    expect(outcome.output).toContain('Prefect Cloud needs an API key');
  }, 60_000);
});
