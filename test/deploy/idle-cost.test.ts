/**
 * The idle bill the README promises: the default stack, packaged offline, with zero flow runs costs
 * at most $1.00 a month at us-east-1 list prices without free tier (test/deploy/idle-cost.ts has
 * the prices and their sources). The fixed resources are counted from the template; what an idle
 * poll logs, publishes and requests is measured by running the real poller handler against the
 * stand-ins. docs/deploy.md's table must show exactly these numbers, and the opt-in parameters
 * must add what their comments say.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { METRICS_NAMESPACE, MetricName } from '../../shared/observability.ts';
import { type CfnTemplate, idsOfType, resourceOf } from './cfn-template.ts';
import { effectiveTemplate } from './effective-template.ts';
import { functionEnvironment } from './function-environment.ts';
import {
  afterAlwaysFree,
  billRows,
  type IdleMeasurements,
  idleBill,
  PRICES,
  totalOf,
} from './idle-cost.ts';
import { measureIdlePolls } from './idle-cost-poll.ts';
import { type PackagedService, packageService, SERVICE_DIR } from './osls-package.ts';

/** Every opt-in switched on. */
const OPT_INS = { dashboard: 'true', detailedAlarms: 'true' };

let defaults: PackagedService;
let optedIn: PackagedService;
let template: CfnTemplate;
let optedInTemplate: CfnTemplate;
let measured: IdleMeasurements;
let optedInMeasured: IdleMeasurements;

beforeAll(async () => {
  // Prepare: the default stack and the stack with every opt-in, and idle polls of each poller
  [defaults, optedIn] = await Promise.all([packageService(), packageService({ params: OPT_INS })]);
  template = effectiveTemplate(defaults.template);
  optedInTemplate = effectiveTemplate(optedIn.template);
  // The default reads the Prefect API key from its SSM SecureString parameter
  measured = await measureIdlePolls(functionEnvironment(template, 'PollerLambdaFunction'), 'ssm');
  optedInMeasured = await measureIdlePolls(
    functionEnvironment(optedInTemplate, 'PollerLambdaFunction')
  );
}, 300_000);

afterAll(async () => {
  await Promise.all([defaults?.dispose(), optedIn?.dispose()]);
});

const lineOf = (lines: ReturnType<typeof idleBill>, item: string) => {
  const line = lines.find((candidate) => candidate.item === item);
  if (!line) throw new Error(`No bill line ${item}`);
  return line;
};

describe('the default stack, idle', () => {
  it('costs at most $1.00 a month at list prices', () => {
    // Act
    const bill = idleBill(template, measured);
    // Assess
    expect(totalOf(bill)).toBeLessThanOrEqual(1.0);
    expect(totalOf(bill)).toBeGreaterThan(0.5); // the SQS mappings alone are $0.53
  });

  it('polls as deployed: a scheduled poll every minute that enqueues the ticks of the minute', () => {
    // Assess
    expect(measured.ticksPerSchedule).toBe(2); // pollIntervalSeconds 20: +20 s and +40 s
    expect(measured.schedule.prefectRequests).toBeGreaterThan(0);
    expect(measured.schedule.sqsRequests).toBe(1); // one SendMessageBatch
    expect(measured.tick.sqsRequests).toBe(0);
  });

  it('writes nothing of its own on an idle poll at the default log level (only the 3 lines of Lambda)', () => {
    // Assess
    expect([measured.schedule.logLines, measured.tick.logLines]).toEqual([0, 0]);
    expect(optedInMeasured.schedule.logLines).toBe(1); // the PollDuration EMF document
  });

  it('publishes no custom metric on an idle poll (it would be billed all month)', () => {
    // Assess
    expect(measured.schedule.metricKeys).toEqual([]);
    expect(measured.tick.metricKeys).toEqual([]);
  });

  it('creates no dashboard and no Secrets Manager secret, and keeps the dead-letter queue alarms', () => {
    // Assess
    expect(idsOfType(template, 'AWS::CloudWatch::Dashboard')).toEqual([]);
    expect(idsOfType(template, 'AWS::SecretsManager::Secret')).toEqual([]);
    expect(idsOfType(template, 'AWS::CloudWatch::Alarm').sort()).toEqual(DEFAULT_ALARMS);
  });

  it('reads the credentials from the SSM parameters of the naming convention', () => {
    // Assess
    const poller = functionEnvironment(template, 'PollerLambdaFunction');
    const webhook = functionEnvironment(template, 'WebhookLambdaFunction');
    expect(poller.PREFECT_API_KEY_SECRET_ARN).toBe(
      'arn:aws:ssm:us-east-1:123456789012:parameter/prefect-ecs-serverless/dev/prefect-api-key'
    );
    expect(webhook.WEBHOOK_SECRET_ARN).toBe(
      'arn:aws:ssm:us-east-1:123456789012:parameter/prefect-ecs-serverless/dev/webhook-secret'
    );
  });

  it('is what docs/deploy.md says, line by line, and the README says the same total', async () => {
    // Arrange
    const docs = await readFile(join(SERVICE_DIR, 'docs/deploy.md'), 'utf8');
    const readme = await readFile(join(SERVICE_DIR, 'README.md'), 'utf8');
    const rows = billRows(idleBill(template, measured));
    // Assess
    for (const row of rows) expect(docs).toContain(row);
    const total = totalOf(idleBill(template, measured)).toFixed(2);
    const free = totalOf(afterAlwaysFree(idleBill(template, measured))).toFixed(2);
    expect(readme).toContain(`$${total} a month`);
    expect(docs).toContain(`$${total} a month`);
    expect(readme).toContain(`about $${free} with it`);
    expect(docs).toContain(`idles at about\n**$${free} a month**`);
  });
});

/** The alarms a user cannot do without (docs/deploy.md, "Alarms"). */
const DEFAULT_ALARMS = ['EventsDeadLetterQueueAlarm', 'LaunchDeadLetterQueueAlarm'];
const DETAILED_ALARMS = [
  'LaunchLatencyAlarm',
  'LauncherErrorsAlarm',
  'PollerFailingAlarm',
  'PollerNotRunningAlarm',
  'ReporterErrorsAlarm',
];

describe('the opt-ins, priced as their parameters say', () => {
  it('dashboard=true adds the $3.00 dashboard and the PollDuration metric ($0.30)', () => {
    // Act
    const bill = idleBill(optedInTemplate, optedInMeasured);
    // Assess
    expect(lineOf(bill, 'CloudWatch dashboard').monthlyUsd).toBe(PRICES.dashboardMonth);
    expect(optedInMeasured.schedule.metricKeys).toEqual([
      'PrefectEcsServerless/PollDuration/service=prefect-ecs-serverless-dev',
    ]);
    expect(lineOf(bill, 'CloudWatch custom metrics').monthlyUsd).toBe(PRICES.customMetricMonth);
  });

  it('detailedAlarms=true adds the poller, error and latency alarms at $0.10 each ($0.50)', () => {
    // Act
    const base = lineOf(idleBill(template, measured), 'CloudWatch alarms');
    const full = lineOf(idleBill(optedInTemplate, optedInMeasured), 'CloudWatch alarms');
    // Assess
    expect(idsOfType(optedInTemplate, 'AWS::CloudWatch::Alarm').sort()).toEqual(
      [...DEFAULT_ALARMS, ...DETAILED_ALARMS].sort()
    );
    expect(full.quantity - base.quantity).toBe(5);
    expect(full.monthlyUsd - base.monthlyUsd).toBeCloseTo(0.5, 6);
  });

  it('detailedAlarms=true alarms on a silent poller and on late launches where the metrics are', () => {
    // Arrange
    const propertiesOf = (id: string) =>
      resourceOf(optedInTemplate, id).Properties as Record<string, unknown>;
    // Assess
    for (const id of idsOfType(optedInTemplate, 'AWS::CloudWatch::Alarm')) {
      expect(propertiesOf(id).AlarmActions).toEqual([{ Ref: 'AlarmTopic' }]);
    }
    expect(propertiesOf('PollerNotRunningAlarm')).toMatchObject({
      MetricName: 'Invocations',
      Statistic: 'Sum',
      Period: 60,
      EvaluationPeriods: 3,
      DatapointsToAlarm: 3,
      Threshold: 1,
      ComparisonOperator: 'LessThanThreshold',
      TreatMissingData: 'breaching',
    });
    expect(propertiesOf('LaunchLatencyAlarm')).toMatchObject({
      Namespace: METRICS_NAMESPACE,
      MetricName: MetricName.LaunchLatency,
      Dimensions: [{ Name: 'service', Value: 'prefect-ecs-serverless-dev' }],
      ExtendedStatistic: 'p95',
      Threshold: 60_000,
    });
  });

  it('dashboard=true charts every published metric and every alarm there is', () => {
    // Arrange
    const body = (
      (resourceOf(optedInTemplate, 'Dashboard').Properties as Record<string, unknown>)
        .DashboardBody as { 'Fn::Sub': string }
    )['Fn::Sub'];
    // Assess
    for (const metric of Object.values(MetricName)) expect(body).toContain(`"${metric}"`);
    for (const alarm of idsOfType(optedInTemplate, 'AWS::CloudWatch::Alarm'))
      expect(body).toContain(`\${${alarm}.Arn}`);
    expect(() => JSON.parse(body)).not.toThrow();
    expect(optedInTemplate.Outputs?.DashboardUrl).toBeDefined();
  });

  it('pollerMemorySize=256 doubles the poller compute line', async () => {
    // Prepare
    const doubled = await packageService({ params: { pollerMemorySize: '256' } });
    try {
      // Act
      const bill = idleBill(effectiveTemplate(doubled.template), measured);
      // Assess
      expect(lineOf(bill, 'Lambda compute (poller)').quantity).toBe(
        2 * lineOf(idleBill(template, measured), 'Lambda compute (poller)').quantity
      );
    } finally {
      await doubled.dispose();
    }
  }, 180_000);

  it('pools in other accounts (assumeRoleArns, eventSourceAccounts) add nothing: an IAM policy and a bus policy', async () => {
    // Prepare
    const crossAccount = await packageService({
      params: {
        assumeRoleArns: 'arn:aws:iam::210987654321:role/prefect-ecs-serverless-pools',
        eventSourceAccounts: '210987654321,333344445555',
      },
    });
    try {
      // Act
      const deployed = effectiveTemplate(crossAccount.template);
      const added = Object.keys(deployed.Resources).filter((id) => !(id in template.Resources));
      // Assess: the bill is the default's, line by line, and only the two free policies are new
      expect(added.sort()).toEqual([
        'FunctionsAssumePoolRolesPolicy',
        'TaskStateEventsFromOtherAccountsPolicy',
      ]);
      expect(idleBill(deployed, measured)).toEqual(idleBill(template, measured));
    } finally {
      await crossAccount.dispose();
    }
  }, 180_000);
});
