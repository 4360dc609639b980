/**
 * The packaged template against the CloudFormation specification (spec-check.ts) and the project's
 * cfn-guard rules (infra/guard), then mutation tests: each breaks the template the way a careless
 * change would, and the checks must catch it.
 */
// biome-ignore-all lint/suspicious/noTemplateCurlyInString: CloudFormation Fn::Sub strings
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type GuardResult, runGuard, runGuardOnEach } from './cfn-guard.ts';
import { type CfnTemplate, cloneTemplate, type IamStatement, resourceOf } from './cfn-template.ts';
import { effectiveTemplate } from './effective-template.ts';
import { type PackagedService, packageService } from './osls-package.ts';
import { checkTemplateAgainstSpec, specResourceTypeCount } from './spec-check.ts';

let packaged: PackagedService;
let template: CfnTemplate;

beforeAll(async () => {
  // Prepare: package once, as CI does
  packaged = await packageService();
  template = packaged.template;
}, 180_000);

afterAll(async () => {
  await packaged?.dispose();
});

/** The properties of `id` in a copy, for mutating. */
const props = (copy: CfnTemplate, id: string) =>
  // biome-ignore lint/suspicious/noExplicitAny: mutations poke into arbitrary template JSON
  resourceOf(copy, id).Properties as Record<string, any>;

/** A statement of a role's first inline policy, found by Sid. */
const statement = (copy: CfnTemplate, role: string, sid: string): IamStatement => {
  const found = (props(copy, role).Policies[0].PolicyDocument.Statement as IamStatement[]).find(
    (item) => item.Sid === sid
  );
  if (found === undefined) throw new Error(`${role} has no statement ${sid}`);
  return found;
};

describe('the packaged template', () => {
  it('is valid against the CloudFormation resource specification', () => {
    // Assess
    expect(specResourceTypeCount()).toBeGreaterThan(1000);
    expect(checkTemplateAgainstSpec(template)).toEqual([]);
    expect(checkTemplateAgainstSpec(effectiveTemplate(template))).toEqual([]);
  });

  it('passes every project rule, as packaged and as it would deploy', async () => {
    // Act
    const packagedResult = await runGuard(template);
    const deployedResult = await runGuard(effectiveTemplate(template));
    // Assess
    expect(packagedResult).toEqual({ exitCode: 0, failures: [] });
    expect(deployedResult).toEqual({ exitCode: 0, failures: [] });
  });
});

interface Mutation {
  name: string;
  mutate: (copy: CfnTemplate) => void;
  /** Rules (cfn-guard) expected to fail. */
  rules?: string[];
  /** Findings (spec checker) expected, matched as substrings. */
  findings?: string[];
}

const GUARD_MUTATIONS: Mutation[] = [
  {
    name: 'a wildcard action (ecs:*)',
    mutate: (copy) => {
      statement(copy, 'LauncherRole', 'RunTasksOnConfiguredClusters').Action = [
        'ecs:RunTask',
        'ecs:*',
      ];
    },
    rules: ['iam_least_privilege'],
  },
  {
    name: 'Action "*"',
    mutate: (copy) => {
      statement(copy, 'WebhookRole', 'EnqueueLaunches').Action = '*';
    },
    rules: ['iam_least_privilege'],
  },
  {
    name: 'a prefix wildcard action (secretsmanager:Get*)',
    mutate: (copy) => {
      statement(copy, 'WebhookRole', 'ReadWebhookSecret').Action = 'secretsmanager:Get*';
    },
    rules: ['iam_least_privilege'],
  },
  {
    name: 'Resource "*" on an action that can be scoped (RunTask)',
    mutate: (copy) => {
      statement(copy, 'LauncherRole', 'RunTasksOnConfiguredClusters').Resource = '*';
    },
    rules: ['iam_least_privilege'],
  },
  {
    name: 'Resource "*" on sqs:SendMessage in a separate policy',
    mutate: (copy) => {
      const policy = props(copy, 'PrefectSecretReadPolicy');
      policy.PolicyDocument.Statement.push({
        Effect: 'Allow',
        Action: 'sqs:SendMessage',
        Resource: '*',
      });
    },
    rules: ['iam_policy_least_privilege'],
  },
  {
    name: 'RunTask without the ecs:cluster condition',
    mutate: (copy) => {
      delete statement(copy, 'LauncherRole', 'RunTasksOnConfiguredClusters').Condition;
    },
    rules: ['iam_least_privilege'],
  },
  {
    name: 'iam:PassRole to any service',
    mutate: (copy) => {
      delete statement(copy, 'LauncherRole', 'PassTaskRolesToEcsOnly').Condition;
    },
    rules: ['iam_least_privilege'],
  },
  {
    name: 'iam:PassRole on every role',
    mutate: (copy) => {
      statement(copy, 'LauncherRole', 'PassTaskRolesToEcsOnly').Resource = '*';
    },
    rules: ['iam_least_privilege'],
  },
  {
    name: 'GetSecretValue on every secret',
    mutate: (copy) => {
      statement(copy, 'WebhookRole', 'ReadWebhookSecret').Resource = '*';
    },
    rules: ['iam_least_privilege'],
  },
  {
    name: 'NotAction in a statement',
    mutate: (copy) => {
      const found = statement(copy, 'WebhookRole', 'EnqueueLaunches') as unknown as Record<
        string,
        unknown
      >;
      delete found.Action;
      found.NotAction = 'iam:*';
    },
    rules: ['iam_least_privilege'],
  },
  {
    name: 'a managed policy on a role',
    mutate: (copy) => {
      props(copy, 'PollerRole').ManagedPolicyArns = ['arn:aws:iam::aws:policy/AdministratorAccess'];
    },
    rules: ['no_managed_policies'],
  },
  {
    name: 'no dead-letter queue behind the launch queue',
    mutate: (copy) => {
      delete props(copy, 'LaunchQueue').RedrivePolicy;
    },
    rules: ['launch_queue_has_dlq'],
  },
  {
    name: 'the launch DLQ removed altogether',
    mutate: (copy) => {
      delete copy.Resources.LaunchDeadLetterQueue;
      delete copy.Resources.LaunchDeadLetterQueueAlarm;
    },
    rules: ['launch_queue_has_dlq', 'dead_letter_queues_alarmed'],
    findings: ['GetAtt on unknown resource LaunchDeadLetterQueue'],
  },
  {
    name: 'an EventBridge target without a DLQ',
    mutate: (copy) => {
      delete props(copy, 'TaskStateChangeRule').Targets[0].DeadLetterConfig;
    },
    rules: ['event_targets_retry_and_dead_letter'],
  },
  {
    name: 'an EventBridge target without a retry policy',
    mutate: (copy) => {
      delete props(copy, 'PollScheduleRule').Targets[0].RetryPolicy;
    },
    rules: ['event_targets_retry_and_dead_letter'],
  },
  {
    name: 'the events DLQ open to any rule',
    mutate: (copy) => {
      delete props(copy, 'EventsDeadLetterQueuePolicy').PolicyDocument.Statement[0].Condition;
    },
    rules: ['events_dlq_present'],
  },
  {
    name: 'the startedBy prefix of the design notes (prefect:)',
    mutate: (copy) => {
      props(copy, 'TaskStateChangeRule').EventPattern.detail.startedBy = [{ prefix: 'prefect:' }];
    },
    rules: ['task_state_rule_pattern_exact'],
  },
  {
    name: 'no startedBy filter (every task of the account)',
    mutate: (copy) => {
      props(copy, 'TaskStateChangeRule').EventPattern.detail = {};
    },
    rules: ['task_state_rule_pattern_exact'],
  },
  {
    name: 'no lastStatus filter (every state change of our tasks)',
    mutate: (copy) => {
      delete props(copy, 'TaskStateChangeRule').EventPattern.detail.lastStatus;
    },
    rules: ['task_state_rule_pattern_exact'],
  },
  {
    name: 'a status the reporter ignores (STOPPING) added to lastStatus',
    mutate: (copy) => {
      props(copy, 'TaskStateChangeRule').EventPattern.detail.lastStatus.push('STOPPING');
    },
    rules: ['task_state_rule_pattern_exact'],
  },
  {
    name: 'a status the reporter acts on (STOPPED) dropped from lastStatus',
    mutate: (copy) => {
      const detail = props(copy, 'TaskStateChangeRule').EventPattern.detail;
      detail.lastStatus = detail.lastStatus.filter((status: string) => status !== 'STOPPED');
    },
    rules: ['task_state_rule_pattern_exact'],
  },
  {
    name: 'lastStatus as anything-but (a denylist lets new statuses through)',
    mutate: (copy) => {
      props(copy, 'TaskStateChangeRule').EventPattern.detail.lastStatus = [
        { 'anything-but': ['DEACTIVATING', 'STOPPING', 'DEPROVISIONING'] },
      ];
    },
    rules: ['task_state_rule_pattern_exact'],
  },
  {
    name: 'a different detail-type',
    mutate: (copy) => {
      props(copy, 'TaskStateChangeRule').EventPattern['detail-type'] = [
        'ECS Container Instance State Change',
      ];
    },
    rules: ['task_state_rule_pattern_exact'],
  },
  {
    name: 'an extra pattern field',
    mutate: (copy) => {
      props(copy, 'TaskStateChangeRule').EventPattern.account = ['123456789012'];
    },
    rules: ['task_state_rule_pattern_exact'],
  },
  {
    name: 'runtime nodejs22.x',
    mutate: (copy) => {
      props(copy, 'ReporterLambdaFunction').Runtime = 'nodejs22.x';
    },
    rules: ['lambda_runtime_nodejs24_arm64'],
  },
  {
    name: 'architecture x86_64',
    mutate: (copy) => {
      props(copy, 'LauncherLambdaFunction').Architectures = ['x86_64'];
    },
    rules: ['lambda_runtime_nodejs24_arm64'],
  },
  {
    name: 'an SQS event source without partial batch failures',
    mutate: (copy) => {
      delete props(copy, 'LauncherEventSourceMappingSQSLaunchQueue').FunctionResponseTypes;
    },
    rules: ['sqs_sources_report_batch_item_failures'],
  },
  {
    name: 'a Prefect API key in a function environment',
    mutate: (copy) => {
      props(copy, 'PollerLambdaFunction').Environment.Variables.PREFECT_API_KEY =
        'pnu_0123456789abcdefghij';
    },
    rules: ['no_plaintext_secret_in_environment'],
  },
  {
    name: 'a webhook secret value instead of its ARN',
    mutate: (copy) => {
      props(copy, 'WebhookLambdaFunction').Environment.Variables.WEBHOOK_SECRET =
        '0123456789abcdef0123';
    },
    rules: ['no_plaintext_secret_in_environment'],
  },
  {
    name: 'basic-auth credentials inside the Prefect URL',
    mutate: (copy) => {
      props(copy, 'LauncherLambdaFunction').Environment.Variables.PREFECT_API_URL =
        'https://admin:hunter2@prefect.example.com/api';
    },
    rules: ['no_plaintext_secret_in_environment'],
  },
  {
    name: 'a secret value in the template',
    mutate: (copy) => {
      props(copy, 'PrefectApiSecret').SecretString = 'pnu_0123456789abcdefghij';
    },
    rules: ['no_secret_value_in_template'],
  },
  {
    name: 'an unthrottled webhook API',
    mutate: (copy) => {
      delete props(copy, 'HttpApiStage').DefaultRouteSettings;
    },
    rules: ['webhook_api_throttled'],
  },
  {
    name: 'no alarm on the events DLQ',
    mutate: (copy) => {
      delete copy.Resources.EventsDeadLetterQueueAlarm;
    },
    rules: ['dead_letter_queues_alarmed'],
  },
  {
    name: 'a DLQ alarm watching the wrong queue',
    mutate: (copy) => {
      props(copy, 'LaunchDeadLetterQueueAlarm').Dimensions[0].Value = {
        'Fn::GetAtt': ['LaunchQueue', 'QueueName'],
      };
    },
    rules: ['dead_letter_queues_alarmed'],
  },
  {
    name: 'no alarm on launcher errors',
    mutate: (copy) => {
      delete copy.Resources.LauncherErrorsAlarm;
    },
    rules: ['function_errors_alarmed'],
  },
  {
    name: 'a poller alarm that stays quiet when the poller never runs',
    mutate: (copy) => {
      props(copy, 'PollerNotRunningAlarm').TreatMissingData = 'notBreaching';
    },
    rules: ['poller_not_running_alarmed'],
  },
  {
    name: 'an alarm that notifies nobody',
    mutate: (copy) => {
      props(copy, 'LaunchLatencyAlarm').AlarmActions = [];
    },
    rules: ['every_alarm_notifies'],
  },
  {
    name: 'an unencrypted queue',
    mutate: (copy) => {
      props(copy, 'TickQueue').SqsManagedSseEnabled = false;
    },
    rules: ['sqs_queues_encrypted_and_valid'],
  },
  {
    name: 'a visibility timeout out of range',
    mutate: (copy) => {
      props(copy, 'LaunchQueue').VisibilityTimeout = 50_000;
    },
    rules: ['sqs_queues_encrypted_and_valid'],
  },
];

const SPEC_MUTATIONS: Mutation[] = [
  {
    name: 'an unknown resource type',
    mutate: (copy) => {
      resourceOf(copy, 'TickQueue').Type = 'AWS::SQS::Queuee';
    },
    findings: ['TickQueue: unknown resource type AWS::SQS::Queuee'],
  },
  {
    name: 'a misspelt property',
    mutate: (copy) => {
      props(copy, 'LaunchQueue').VisibilityTimeOut = 360;
    },
    findings: ['LaunchQueue: unknown property VisibilityTimeOut'],
  },
  {
    name: 'a property of the wrong type',
    mutate: (copy) => {
      props(copy, 'LauncherLambdaFunction').MemorySize = 'large';
    },
    findings: ['LauncherLambdaFunction.MemorySize: expected integer'],
  },
  {
    name: 'a missing required property',
    mutate: (copy) => {
      delete props(copy, 'PollerLambdaFunction').Role;
    },
    findings: ['PollerLambdaFunction: required property Role missing'],
  },
  {
    name: 'an attribute the type does not have',
    mutate: (copy) => {
      props(copy, 'LauncherEventSourceMappingSQSLaunchQueue').EventSourceArn = {
        'Fn::GetAtt': ['LaunchQueue', 'Arnn'],
      };
    },
    findings: ['AWS::SQS::Queue has no attribute Arnn'],
  },
  {
    name: 'a Ref to nothing',
    mutate: (copy) => {
      props(copy, 'LauncherLambdaFunction').Environment.Variables.LAUNCH_QUEUE_URL = {
        Ref: 'LaunchQueu',
      };
    },
    findings: ['Ref to unknown LaunchQueu'],
  },
  {
    name: 'a Fn::Sub variable naming nothing (dashboard)',
    mutate: (copy) => {
      const body = props(copy, 'Dashboard').DashboardBody;
      body['Fn::Sub'] = body['Fn::Sub'].replace(
        '${LaunchQueue.QueueName}',
        '${LaunchQueues.QueueName}'
      );
    },
    findings: ['GetAtt on unknown resource LaunchQueues'],
  },
  {
    name: 'DependsOn a missing resource',
    mutate: (copy) => {
      resourceOf(copy, 'HttpApiStage').DependsOn = 'HttpApiLogGroupp';
    },
    findings: ['HttpApiStage: DependsOn unknown HttpApiLogGroupp'],
  },
  {
    name: 'an unknown condition',
    mutate: (copy) => {
      resourceOf(copy, 'WebhookSecret').Condition = 'CreateWebhookSecrett';
    },
    findings: ['WebhookSecret: unknown condition CreateWebhookSecrett'],
  },
];

describe('mutations the project rules catch', () => {
  const mutated = new Map<string, CfnTemplate>();
  let results: Map<string, GuardResult>;

  beforeAll(async () => {
    // Prepare: every mutation of the template, validated in one cfn-guard run
    for (const { name, mutate } of GUARD_MUTATIONS) {
      const copy = cloneTemplate(template);
      mutate(copy);
      mutated.set(name, copy);
    }
    results = await runGuardOnEach(Object.fromEntries(mutated));
  }, 60_000);

  it.each(GUARD_MUTATIONS)('fails on $name', ({ name, rules = [], findings = [] }) => {
    // Arrange
    const copy = mutated.get(name) as CfnTemplate;
    const result = results.get(name) as GuardResult;
    // Assess
    expect(result.exitCode).toBe(19);
    expect(result.failures.map((failure) => failure.rule)).toEqual(expect.arrayContaining(rules));
    const specFindings = checkTemplateAgainstSpec(copy);
    for (const finding of findings) {
      expect(specFindings.some((line) => line.includes(finding))).toBe(true);
    }
  });
});

describe('mutations the spec checker catches', () => {
  it.each(SPEC_MUTATIONS)('reports $name', ({ mutate, findings = [] }) => {
    // Arrange
    const copy = cloneTemplate(template);
    mutate(copy);
    // Act
    const specFindings = checkTemplateAgainstSpec(copy);
    // Assess
    for (const finding of findings) {
      expect(specFindings).toEqual(expect.arrayContaining([expect.stringContaining(finding)]));
    }
  });
});
