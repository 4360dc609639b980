/**
 * `osls package` with the default parameters, offline (no AWS credentials, empty HOME), then the
 * shape of what would be deployed: functions, queues, events, API, IAM per function, secrets,
 * alarms, and the bundles themselves (ESM, SDK inside, the AWS calls each role allows).
 */
// biome-ignore-all lint/suspicious/noTemplateCurlyInString: CloudFormation Fn::Sub strings
import { execFile } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../shared/config.ts';
import { FLOW_RUN_ID_TAG_KEY } from '../../shared/ecs/ecs-tags.ts';
import { loadPollerConfig } from '../../shared/poll/poller-config.ts';
import { loadReporterConfig } from '../../shared/report/reporter-config.ts';
import { loadWebhookConfig } from '../../shared/webhook/webhook-config.ts';
import { awsOperationsInBundle } from './bundle-operations.ts';
import {
  actionsOf,
  type CfnTemplate,
  type IamStatement,
  idsOfType,
  resourceOf,
  resourcesOf,
  roleOfFunction,
  statementsOfRole,
} from './cfn-template.ts';
import { effectiveTemplate } from './effective-template.ts';
import { functionEnvironment } from './function-environment.ts';
import { type PackagedService, packageService } from './osls-package.ts';
import { readZip } from './read-zip.ts';

const run = promisify(execFile);

const FUNCTIONS = {
  poller: 'PollerLambdaFunction',
  launcher: 'LauncherLambdaFunction',
  reporter: 'ReporterLambdaFunction',
  webhook: 'WebhookLambdaFunction',
} as const;
type FunctionName = keyof typeof FUNCTIONS;
const NAMES = Object.keys(FUNCTIONS) as FunctionName[];

/** What each role may do: the least-privilege contract of infra/iam.yml, reviewed here. */
const EXPECTED_ACTIONS: Readonly<Record<FunctionName, readonly string[]>> = {
  poller: [
    'ecs:DescribeTasks',
    'ecs:ListTasks',
    'ecs:StopTask',
    'logs:CreateLogStream',
    'logs:PutLogEvents',
    'sqs:DeleteMessage',
    'sqs:GetQueueAttributes',
    'sqs:ReceiveMessage',
    'sqs:SendMessage',
    'ssm:GetParameter',
  ],
  launcher: [
    'ec2:DescribeSubnets',
    'ec2:DescribeVpcs',
    'ecs:DescribeTaskDefinition',
    'ecs:DescribeTasks',
    'ecs:ListTasks',
    'ecs:RegisterTaskDefinition',
    'ecs:RunTask',
    'ecs:StopTask',
    'ecs:TagResource',
    'iam:PassRole',
    'logs:CreateLogStream',
    'logs:PutLogEvents',
    'sqs:ChangeMessageVisibility',
    'sqs:DeleteMessage',
    'sqs:GetQueueAttributes',
    'sqs:ReceiveMessage',
    'ssm:GetParameter',
  ],
  reporter: [
    'ecs:DeregisterTaskDefinition',
    'ecs:DescribeTaskDefinition',
    'ecs:DescribeTasks',
    'ecs:StopTask',
    'logs:CreateLogStream',
    'logs:GetLogEvents',
    'logs:PutLogEvents',
    'sqs:SendMessage',
    'ssm:GetParameter',
  ],
  webhook: ['logs:CreateLogStream', 'logs:PutLogEvents', 'sqs:SendMessage', 'ssm:GetParameter'],
};

/**
 * SDK operations a bundle contains but the function never calls, so its role does not allow them:
 * shared/ecs/ecs-client.ts wraps every ECS call we use, and a bundle that imports it keeps them all.
 * A new entry here needs a reason; a new call needs its permission in infra/iam.yml.
 * secretsmanager:GetSecretValue: the secret reader reads a Secrets Manager ARN when one is given
 * (prefectApiSecretArn, secretStore=secretsmanager); the default SSM parameters need ssm:GetParameter.
 * sts:AssumeRole: for pools whose aws_credentials assume a role, granted only on the roles of the
 * assumeRoleArns parameter (none by default).
 */
const BUNDLED_BUT_NOT_CALLED: Readonly<Record<FunctionName, readonly string[]>> = {
  poller: [
    'ecs:DeregisterTaskDefinition',
    'ecs:DescribeTaskDefinition',
    'ecs:RegisterTaskDefinition',
    'ecs:RunTask',
    'secretsmanager:GetSecretValue',
    'sts:AssumeRole',
  ],
  launcher: ['ecs:DeregisterTaskDefinition', 'secretsmanager:GetSecretValue', 'sts:AssumeRole'],
  reporter: [
    'ecs:ListTasks',
    'ecs:RegisterTaskDefinition',
    'ecs:RunTask',
    'secretsmanager:GetSecretValue',
    'sts:AssumeRole',
  ],
  webhook: ['secretsmanager:GetSecretValue'],
};

let packaged: PackagedService;
let template: CfnTemplate;
let deployed: CfnTemplate;
const bundles = new Map<FunctionName, Map<string, Buffer>>();

beforeAll(async () => {
  // Prepare: package once, as CI does (no AWS variables, empty HOME)
  packaged = await packageService();
  template = packaged.template;
  deployed = effectiveTemplate(template);
  for (const name of NAMES) bundles.set(name, await readZip(join(packaged.outDir, `${name}.zip`)));
}, 180_000);

afterAll(async () => {
  await packaged?.dispose();
});

const propertiesOf = (id: string) => resourceOf(deployed, id).Properties as Record<string, unknown>;
const uniqueActions = (statements: IamStatement[]) =>
  [...new Set(statements.flatMap(actionsOf))].sort();

describe('functions', () => {
  it('runs four functions on nodejs24.x arm64, each with its own role', () => {
    // Assess
    expect(idsOfType(deployed, 'AWS::Lambda::Function').sort()).toEqual(
      Object.values(FUNCTIONS).sort()
    );
    const roles = NAMES.map((name) => roleOfFunction(deployed, FUNCTIONS[name]));
    expect(new Set(roles).size).toBe(4);
    for (const name of NAMES) {
      const properties = propertiesOf(FUNCTIONS[name]);
      expect(properties.Runtime).toBe('nodejs24.x');
      expect(properties.Architectures).toEqual(['arm64']);
      expect(properties.Handler).toBe(`functions/${name}/handler.handler`);
    }
    expect(deployed.Resources.IamRoleLambdaExecution).toBeUndefined();
  });

  it('gives each function the memory and timeout chosen for it', () => {
    // Assess
    const sizing = Object.fromEntries(
      NAMES.map((name) => {
        const { MemorySize, Timeout } = propertiesOf(FUNCTIONS[name]);
        return [name, { MemorySize, Timeout }];
      })
    );
    expect(sizing).toEqual({
      poller: { MemorySize: 128, Timeout: 30 }, // pollerMemorySize: it runs even idle
      launcher: { MemorySize: 256, Timeout: 60 },
      reporter: { MemorySize: 256, Timeout: 30 },
      webhook: { MemorySize: 256, Timeout: 25 },
    });
  });

  it('keeps each queue invisible long enough for the function consuming it', () => {
    // Assess: AWS advises visibility ≥ 6 × timeout for the launcher; ≥ timeout is required
    const launcherTimeout = propertiesOf(FUNCTIONS.launcher).Timeout as number;
    expect(propertiesOf('LaunchQueue').VisibilityTimeout).toBeGreaterThanOrEqual(
      6 * launcherTimeout
    );
    expect(propertiesOf('TickQueue').VisibilityTimeout).toBeGreaterThanOrEqual(
      propertiesOf(FUNCTIONS.poller).Timeout as number
    );
  });

  it('enables source maps and never lets the webhook outlive API Gateway (30 s)', () => {
    // Assess
    for (const name of NAMES) {
      const environment = propertiesOf(FUNCTIONS[name]).Environment as {
        Variables: Record<string, unknown>;
      };
      expect(environment.Variables.NODE_OPTIONS).toBe('--enable-source-maps');
    }
    expect(propertiesOf(FUNCTIONS.webhook).Timeout).toBeLessThan(30);
  });

  it.each(NAMES)('gives the %s an environment its configuration accepts', (name) => {
    // Arrange
    const environment = functionEnvironment(deployed, FUNCTIONS[name]);
    // Act
    const load = {
      poller: () => loadPollerConfig(environment),
      launcher: () => loadConfig(environment, { role: 'launcher' }),
      reporter: () => [
        loadConfig(environment, { role: 'reporter' }),
        loadReporterConfig(environment),
      ],
      webhook: () => loadWebhookConfig(environment),
    }[name];
    // Assess
    expect(load).not.toThrow();
  });

  it('passes the Prefect credential to every function as a secret ARN only', () => {
    // Assess
    for (const name of NAMES) {
      const config = loadConfig(functionEnvironment(deployed, FUNCTIONS[name]), {
        role: 'reporter',
      });
      expect(config.prefectCredentials.kind).toBe('apiKeySecret');
    }
  });
});

describe('event sources', () => {
  it('reports partial batch failures from both SQS event sources', () => {
    // Assess
    const mappings = idsOfType(deployed, 'AWS::Lambda::EventSourceMapping').map(propertiesOf);
    expect(mappings).toHaveLength(2);
    for (const mapping of mappings)
      expect(mapping.FunctionResponseTypes).toEqual(['ReportBatchItemFailures']);
    const launcher = mappings.find(
      (mapping) =>
        JSON.stringify(mapping.EventSourceArn) ===
        JSON.stringify({ 'Fn::GetAtt': ['LaunchQueue', 'Arn'] })
    );
    expect(launcher).toMatchObject({ BatchSize: 5, ScalingConfig: { MaximumConcurrency: 5 } });
  });

  it('routes launch messages that keep failing to the dead-letter queue', () => {
    // Assess
    expect(propertiesOf('LaunchQueue').RedrivePolicy).toEqual({
      deadLetterTargetArn: { 'Fn::GetAtt': ['LaunchDeadLetterQueue', 'Arn'] },
      maxReceiveCount: 11,
    });
  });

  it('matches exactly the task state changes the reporter acts on, of the tasks we start, on any cluster', () => {
    // Assess
    expect(propertiesOf('TaskStateChangeRule').EventPattern).toEqual({
      source: ['aws.ecs'],
      'detail-type': ['ECS Task State Change'],
      detail: {
        startedBy: [{ prefix: 'prefect/' }],
        lastStatus: ['PROVISIONING', 'PENDING', 'ACTIVATING', 'RUNNING', 'STOPPED'],
      },
    });
  });

  it('retries EventBridge deliveries and dead-letters them to the events queue', () => {
    // Assess
    for (const rule of ['PollScheduleRule', 'TaskStateChangeRule']) {
      const [target] = propertiesOf(rule).Targets as Record<string, unknown>[];
      expect(target?.RetryPolicy).toBeDefined();
      expect(target?.DeadLetterConfig).toEqual({
        Arn: { 'Fn::GetAtt': ['EventsDeadLetterQueue', 'Arn'] },
      });
    }
    expect(propertiesOf('PollScheduleRule').ScheduleExpression).toBe('rate(1 minute)');
    expect(propertiesOf('ReporterLambdaEvConf').DestinationConfig).toEqual({
      OnFailure: { Destination: { 'Fn::GetAtt': ['EventsDeadLetterQueue', 'Arn'] } },
    });
  });

  it('lets only our two rules write to the events dead-letter queue', () => {
    // Assess
    const policy = propertiesOf('EventsDeadLetterQueuePolicy').PolicyDocument as {
      Statement: unknown[];
    };
    expect(policy.Statement).toEqual([
      expect.objectContaining({
        Principal: { Service: 'events.amazonaws.com' },
        Action: 'sqs:SendMessage',
        Condition: {
          ArnEquals: {
            'aws:SourceArn': [
              { 'Fn::GetAtt': ['PollScheduleRule', 'Arn'] },
              { 'Fn::GetAtt': ['TaskStateChangeRule', 'Arn'] },
            ],
          },
        },
      }),
    ]);
  });

  it('exposes only POST /trigger, throttled, with payload format 2.0', () => {
    // Assess
    const routes = idsOfType(deployed, 'AWS::ApiGatewayV2::Route').map(
      (id) => propertiesOf(id).RouteKey
    );
    expect(routes).toEqual(['POST /trigger']);
    expect(propertiesOf('HttpApiStage').DefaultRouteSettings).toMatchObject({
      ThrottlingRateLimit: 5,
      ThrottlingBurstLimit: 10,
    });
    expect(propertiesOf('HttpApiIntegrationWebhook').PayloadFormatVersion).toBe('2.0');
  });
});

describe('IAM', () => {
  it.each(NAMES)('allows the %s exactly its reviewed actions', (name) => {
    // Act
    const statements = statementsOfRole(deployed, roleOfFunction(deployed, FUNCTIONS[name]));
    // Assess
    expect(uniqueActions(statements)).toEqual(EXPECTED_ACTIONS[name]);
  });

  it.each(NAMES)(
    'allows the %s only AWS calls its bundle makes (plus what AWS calls for it)',
    (name) => {
      // Arrange: what Lambda itself does for the function (logs, event source, destination) and
      // what ECS checks on the function's behalf (PassRole, TagResource on RunTask/Register…)
      const code = bundles.get(name)?.get(`functions/${name}/handler.mjs`)?.toString('utf8') ?? '';
      const inBundle = awsOperationsInBundle(code);
      const implied = new Set(['logs:CreateLogStream', 'logs:PutLogEvents']);
      const consumesQueue = idsOfType(deployed, 'AWS::Lambda::EventSourceMapping').some((id) =>
        JSON.stringify(propertiesOf(id).FunctionName).includes(FUNCTIONS[name])
      );
      if (consumesQueue)
        for (const action of ['sqs:ReceiveMessage', 'sqs:DeleteMessage', 'sqs:GetQueueAttributes'])
          implied.add(action);
      if (name === 'reporter') implied.add('sqs:SendMessage'); // on-failure destination
      if (inBundle.includes('ecs:RunTask'))
        for (const action of ['iam:PassRole', 'ecs:TagResource']) implied.add(action);
      // Act
      const granted = uniqueActions(
        statementsOfRole(deployed, roleOfFunction(deployed, FUNCTIONS[name]))
      );
      // Assess
      expect(inBundle.length).toBeGreaterThan(0);
      expect(
        granted.filter((action) => !inBundle.includes(action) && !implied.has(action))
      ).toEqual([]);
      expect(inBundle.filter((action) => !granted.includes(action))).toEqual(
        BUNDLED_BUT_NOT_CALLED[name]
      );
    }
  );

  it('scopes every ECS task action to the configured clusters', () => {
    // Assess
    for (const name of NAMES) {
      const statements = statementsOfRole(deployed, roleOfFunction(deployed, FUNCTIONS[name]));
      for (const statement of statements.filter((s) =>
        actionsOf(s).some((action) =>
          ['ecs:RunTask', 'ecs:StopTask', 'ecs:DescribeTasks', 'ecs:ListTasks'].includes(action)
        )
      )) {
        expect(statement.Condition).toEqual({
          ArnEquals: {
            'ecs:cluster': [
              {
                'Fn::Sub':
                  'arn:${AWS::Partition}:ecs:${AWS::Region}:${AWS::AccountId}:cluster/default',
              },
            ],
          },
          // StopTask: only the tasks the launcher tagged (iam-simulation.test.ts proves it)
          ...(actionsOf(statement).includes('ecs:StopTask')
            ? { Null: { [`aws:ResourceTag/${FLOW_RUN_ID_TAG_KEY}`]: 'false' } }
            : {}),
        });
      }
    }
  });

  it('passes only the flow-run execution role, and only to ECS tasks', () => {
    // Assess
    const passRole = statementsOfRole(deployed, 'LauncherRole').filter((s) =>
      actionsOf(s).includes('iam:PassRole')
    );
    expect(passRole).toEqual([
      expect.objectContaining({
        Resource: [{ 'Fn::GetAtt': ['FlowRunExecutionRole', 'Arn'] }],
        Condition: { StringEquals: { 'iam:PassedToService': 'ecs-tasks.amazonaws.com' } },
      }),
    ]);
  });

  it('uses Resource "*" only for the actions AWS cannot scope', () => {
    // Assess
    const starActions = idsOfType(deployed, 'AWS::IAM::Role')
      .flatMap((id) => statementsOfRole(deployed, id))
      .filter((statement) => resourcesOf(statement).includes('*'))
      .flatMap(actionsOf);
    expect([...new Set(starActions)].sort()).toEqual([
      'ec2:DescribeSubnets',
      'ec2:DescribeVpcs',
      'ecr:GetAuthorizationToken',
      'ecs:DeregisterTaskDefinition',
      'ecs:DescribeTaskDefinition',
      'ecs:ListTasks',
      'ecs:RegisterTaskDefinition',
    ]);
  });

  it('reads only the Prefect parameter, plus the webhook parameter for the webhook', () => {
    // Arrange
    const parameter = (name: string) => ({
      'Fn::Sub': `arn:\${AWS::Partition}:ssm:\${AWS::Region}:\${AWS::AccountId}:parameter/prefect-ecs-serverless/dev/${name}`,
    });
    // Assess
    for (const name of NAMES) {
      const statements = statementsOfRole(deployed, roleOfFunction(deployed, FUNCTIONS[name]));
      const reads = statements
        .filter((s) => actionsOf(s).includes('ssm:GetParameter'))
        .flatMap(resourcesOf);
      const expected =
        name === 'webhook'
          ? [parameter('webhook-secret'), parameter('prefect-api-key')]
          : [parameter('prefect-api-key')];
      expect(reads).toEqual(expected);
      expect(statements.flatMap(actionsOf)).not.toContain('secretsmanager:GetSecretValue');
    }
    expect(
      statementsOfRole(deployed, 'FlowRunExecutionRole')
        .filter((s) => actionsOf(s).includes('ssm:GetParameters'))
        .flatMap(resourcesOf)
    ).toEqual([parameter('prefect-api-key')]);
  });
});

describe('secrets', () => {
  it('creates no Secrets Manager secret by default: the credentials are SSM parameters ($0.80 less a month)', () => {
    // Assess
    expect(idsOfType(deployed, 'AWS::SecretsManager::Secret')).toEqual([]);
  });

  it('holds nothing that looks like a credential anywhere in the template', () => {
    // Arrange
    const text = JSON.stringify(template);
    // Assess
    expect(text).not.toMatch(/pnu_[A-Za-z0-9]{8,}/); // Prefect Cloud API key
    expect(text).not.toMatch(/AKIA[0-9A-Z]{16}/); // AWS access key id
    expect(text).not.toMatch(/-----BEGIN/); // private key
    expect(text).not.toMatch(/https?:\/\/[^/\s"@:]+:[^/\s"@]+@/); // user:password@ in a URL
  });
});

describe('alarms and dashboard', () => {
  it('alarms on both dead-letter queues, and has no dashboard (the opt-ins: test/deploy/idle-cost.test.ts)', () => {
    // Assess
    const alarms = idsOfType(deployed, 'AWS::CloudWatch::Alarm').sort();
    expect(alarms).toEqual(['EventsDeadLetterQueueAlarm', 'LaunchDeadLetterQueueAlarm']);
    for (const id of alarms) {
      expect(propertiesOf(id).AlarmActions).toEqual([{ Ref: 'AlarmTopic' }]);
    }
    expect(idsOfType(deployed, 'AWS::CloudWatch::Dashboard')).toEqual([]);
    expect(deployed.Outputs?.DashboardUrl).toBeUndefined();
  });

  it('publishes the metrics of every function under one service name', () => {
    // Assess
    const serviceNames = NAMES.map(
      (name) => functionEnvironment(deployed, FUNCTIONS[name]).POWERTOOLS_SERVICE_NAME
    );
    expect(new Set(serviceNames)).toEqual(new Set(['prefect-ecs-serverless-dev']));
    expect(functionEnvironment(deployed, FUNCTIONS.poller).POLL_DURATION_METRIC).toBe('false');
  });
});

describe('bundles', () => {
  it.each(NAMES)('ships the %s as one ESM file with its source map', (name) => {
    // Assess
    const entries = bundles.get(name);
    expect([...(entries?.keys() ?? [])].sort()).toEqual([
      `functions/${name}/handler.mjs`,
      `functions/${name}/handler.mjs.map`,
    ]);
    const code = entries?.get(`functions/${name}/handler.mjs`)?.toString('utf8') ?? '';
    expect(code).toMatch(
      /export\s*\{[^}]*\bas handler\b[^}]*\}|export\s+(const|function|async function)\s+handler\b/
    );
    expect(code.trimEnd().endsWith('//# sourceMappingURL=handler.mjs.map')).toBe(true);
  });

  it.each(NAMES)(
    'maps only our own code in the %s source map (infra/esbuild-plugins.cjs)',
    (name) => {
      // Arrange
      const map = JSON.parse(
        bundles.get(name)?.get(`functions/${name}/handler.mjs.map`)?.toString('utf8') ?? '{}'
      ) as { sources?: string[] };
      // Assess: our handler and shared code are there; no dependency is (Node decodes less at init)
      expect(map.sources?.some((source) => source.endsWith(`/functions/${name}/handler.ts`))).toBe(
        true
      );
      expect(map.sources?.some((source) => source.includes('/shared/'))).toBe(true);
      expect(map.sources?.filter((source) => source.includes('node_modules'))).toEqual([]);
    }
  );

  it.each(NAMES)('bundles the AWS SDK into the %s: only node: built-ins stay imports', (name) => {
    // Arrange
    const code = bundles.get(name)?.get(`functions/${name}/handler.mjs`)?.toString('utf8') ?? '';
    const imported = [
      ...code.matchAll(/(?:\bfrom\s*|\bimport\s*\(\s*|\bimport\s*)["']([^"']+)["']/g),
      ...code.matchAll(/\brequire\(\s*["']([^"']+)["']\s*\)/g),
    ].map((match) => match[1] as string);
    // Assess
    expect(imported.length).toBeGreaterThan(0);
    expect(imported.filter((specifier) => !specifier.startsWith('node:'))).toEqual([]);
  });

  it('maps stack traces back to the TypeScript sources (NODE_OPTIONS=--enable-source-maps)', async () => {
    // Arrange: the poller parses its configuration while it is imported; give it none
    const dir = join(packaged.outDir, 'extracted');
    for (const [entry, content] of bundles.get('poller') ?? []) {
      await mkdir(dirname(join(dir, entry)), { recursive: true });
      await writeFile(join(dir, entry), content);
    }
    // Act
    const failure = await run(process.execPath, [join(dir, 'functions/poller/handler.mjs')], {
      env: { PATH: process.env.PATH, NODE_OPTIONS: '--enable-source-maps' },
    }).then(
      () => undefined,
      (error: { stderr: string }) => error
    );
    // Assess
    expect(failure?.stderr).toContain('PREFECT_API_URL: required');
    expect(failure?.stderr).toMatch(/shared\/(poll\/poller-config|config)\.ts:\d+:\d+/);
  });
});
