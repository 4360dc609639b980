/**
 * The monthly bill of a stack that runs no flow at all (the README's "idle bill"), computed from the
 * packaged template and from what one idle poll of the real poller handler was measured to do.
 *
 * Prices are us-east-1 list prices, **without any free tier** (the always-free tiers are listed in
 * {@link ALWAYS_FREE} and docs/deploy.md says what they change). A month is 730 hours, as AWS bills.
 * Every price is in {@link PRICES}, with the page it comes from.
 */
import { type CfnResource, type CfnTemplate, idsOfType } from './cfn-template.ts';

/** us-east-1 list prices, USD. */
export const PRICES = {
  /** https://aws.amazon.com/lambda/pricing/ (Arm, first 7.5 billion GB-s tier). */
  lambdaRequest: 0.2 / 1_000_000,
  lambdaArmGbSecond: 0.0000133334,
  /** https://aws.amazon.com/sqs/pricing/ (standard queue, first 100 billion requests a month). */
  sqsRequest: 0.4 / 1_000_000,
  /** https://aws.amazon.com/cloudwatch/pricing/ : first 10,000 metrics; a metric is billed for each hour it is published in. */
  customMetricMonth: 0.3,
  /** https://aws.amazon.com/cloudwatch/pricing/ : standard-resolution alarm, per metric it evaluates. */
  alarmMetricMonth: 0.1,
  /** https://aws.amazon.com/cloudwatch/pricing/ : composite alarm. */
  compositeAlarmMonth: 0.5,
  /** https://aws.amazon.com/cloudwatch/pricing/ : per dashboard. */
  dashboardMonth: 3.0,
  /** https://aws.amazon.com/cloudwatch/pricing/ : Logs ingestion (Standard class; Lambda logs' first tier). */
  logsIngestedGb: 0.5,
  /** https://aws.amazon.com/cloudwatch/pricing/ : Logs storage (archived), per GB-month. */
  logsStoredGbMonth: 0.03,
  /** https://aws.amazon.com/secrets-manager/pricing/ : per secret per month. */
  secretMonth: 0.4,
  /** https://aws.amazon.com/systems-manager/pricing/ : standard parameters (SecureString too): no charge, nor for standard-throughput API calls. */
  ssmStandardParameterMonth: 0,
  /**
   * https://aws.amazon.com/eventbridge/pricing/ : events of AWS services on the default bus, which
   * includes a rule's `Scheduled Event`s, are not charged (Scheduler, not used here, is $1/M after 14M).
   */
  scheduledRuleEvent: 0,
  /** https://aws.amazon.com/sns/pricing/ : a topic costs nothing; publishes are $0.50/M and an idle stack publishes none. */
  snsTopicMonth: 0,
  /** https://aws.amazon.com/api-gateway/pricing/ : HTTP API, per request (none when idle). */
  httpApiRequest: 1.0 / 1_000_000,
} as const;

/** The always-free tiers (not applied to the bill: stated in docs/deploy.md). */
export const ALWAYS_FREE = {
  lambdaRequests: 1_000_000,
  lambdaGbSeconds: 400_000,
  sqsRequests: 1_000_000,
  customMetrics: 10,
  alarmMetrics: 10,
  dashboards: 3,
  logsGb: 5,
} as const;

/** Hours in the month AWS bills by. */
export const HOURS_PER_MONTH = 730;
export const MINUTES_PER_MONTH = HOURS_PER_MONTH * 60;

/**
 * An idle standard-queue event source mapping keeps **5 parallel long polls** open
 * ("the Lambda service will begin polling the SQS queue using five parallel long-polling
 * connections", https://aws.amazon.com/blogs/aws/aws-lambda-adds-amazon-simple-queue-service-to-supported-event-sources/;
 * "Lambda starts processing five batches at a time", https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-scaling.html),
 * each a `ReceiveMessage` with the 20 s maximum wait (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-short-and-long-polling.html),
 * and every empty receive is billed (https://repost.aws/knowledge-center/sqs-high-charges). That is
 * 5 × 3 = 15 requests a minute per mapping, whatever the traffic.
 */
export const ESM_IDLE_POLLERS = 5;
export const ESM_RECEIVE_WAIT_SECONDS = 20;

/**
 * What an idle poll of the real poller handler did, measured through the stand-ins
 * (test/deploy/idle-cost.test.ts).
 */
export interface IdlePollMeasurement {
  /** Bytes and lines the handler wrote to stdout (its JSON logs and any EMF document). */
  logBytes: number;
  logLines: number;
  /** The custom metrics it published: `namespace/name/dimension=value,…`, once each. */
  metricKeys: string[];
  /** Prefect API requests (they dominate its duration: each waits a round trip). */
  prefectRequests: number;
  /** SQS requests the handler itself made. */
  sqsRequests: number;
}

/** What both kinds of idle poll did: the schedule's (which also enqueues the ticks) and a tick's. */
export interface IdleMeasurements {
  schedule: IdlePollMeasurement;
  tick: IdlePollMeasurement;
  /** Tick messages one scheduled poll enqueued. */
  ticksPerSchedule: number;
}

/**
 * What is not measured, stated: Lambda's own lines for each invocation (text format, as deployed;
 * https://docs.aws.amazon.com/lambda/latest/dg/monitoring-cloudwatchlogs.html) and the time of one
 * Prefect request from AWS (a Prefect Cloud round trip plus its API's work).
 */
export const ASSUMPTIONS = {
  platformLines: [
    'START RequestId: 6bc28136-xmpl-4365-b021-0ce6b2e64ab0 Version: $LATEST',
    'END RequestId: 6bc28136-xmpl-4365-b021-0ce6b2e64ab0',
    'REPORT RequestId: 6bc28136-xmpl-4365-b021-0ce6b2e64ab0\tDuration: 312.45 ms\tBilled Duration: 313 ms\tMemory Size: 256 MB\tMax Memory Used: 98 MB\t',
  ],
  /**
   * CloudWatch Logs counts 26 bytes of overhead per event on top of the message
   * (https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_PutLogEvents.html).
   */
  logEventOverheadBytes: 26,
  /** One Prefect API request, end to end, seen from the Lambda (billed while it waits). */
  prefectRequestMs: 50,
  /** The handler's own work around the requests (parse, log, SDK). */
  handlerOverheadMs: 20,
} as const;

/** One line of the bill. */
export interface BillLine {
  /** The row's name, as docs/deploy.md's table names it. */
  item: string;
  /** How much of it a month, and of what. */
  quantity: number;
  unit: string;
  monthlyUsd: number;
}

const propertiesOf = (resource: CfnResource | undefined): Record<string, unknown> =>
  (resource?.Properties ?? {}) as Record<string, unknown>;

/** The metrics one alarm evaluates: 1, or each `MetricStat` of a metric-math alarm. */
export const alarmMetricCount = (alarm: CfnResource): number => {
  const metrics = propertiesOf(alarm).Metrics as { MetricStat?: unknown }[] | undefined;
  if (metrics === undefined) return 1;
  return metrics.filter((metric) => metric.MetricStat !== undefined).length;
};

/** Invocations a month of an EventBridge `rate(n minute[s]|hour[s]|day[s])` rule. */
export const scheduleInvocationsPerMonth = (expression: string): number => {
  const match = /^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$/.exec(expression);
  if (!match) throw new Error(`Unsupported schedule ${expression}`);
  const minutes = { minute: 1, hour: 60, day: 1440 }[
    (match[2] as string).replace(/s$/, '') as 'minute' | 'hour' | 'day'
  ];
  return MINUTES_PER_MONTH / (Number(match[1]) * minutes);
};

const functionIdOfTarget = (target: unknown): string | undefined => {
  const arn = (target as { Arn?: { 'Fn::GetAtt'?: [string, string] } }).Arn;
  return arn?.['Fn::GetAtt']?.[0];
};

/** The poller's settings the bill depends on, read from the template. */
const pollerOf = (template: CfnTemplate) => {
  const properties = propertiesOf(template.Resources.PollerLambdaFunction);
  const variables = (properties.Environment as { Variables?: Record<string, unknown> } | undefined)
    ?.Variables;
  const logGroup = propertiesOf(template.Resources.PollerLogGroup);
  return {
    memoryGb: Number(properties.MemorySize ?? 128) / 1024,
    pollIntervalSeconds: Number(variables?.POLL_INTERVAL_SECONDS ?? 60),
    retentionDays: Number(logGroup.RetentionInDays ?? 3653),
  };
};

/** Billed milliseconds of one idle poll: its Prefect requests in sequence, plus the handler's own work. */
export const idlePollMs = (measurement: IdlePollMeasurement): number =>
  measurement.prefectRequests * ASSUMPTIONS.prefectRequestMs + ASSUMPTIONS.handlerOverheadMs;

/** Bytes CloudWatch Logs ingests for one invocation: the handler's lines and Lambda's three. */
export const idleLogBytes = (measurement: IdlePollMeasurement): number => {
  const platform = ASSUMPTIONS.platformLines.reduce(
    (sum, line) => sum + Buffer.byteLength(line) + 1,
    0
  );
  const events = measurement.logLines + ASSUMPTIONS.platformLines.length;
  return measurement.logBytes + platform + events * ASSUMPTIONS.logEventOverheadBytes;
};

const round = (value: number, digits = 4): number => Number(value.toFixed(digits));

/**
 * The idle month of `template` (conditions already applied: `effectiveTemplate`), line by line.
 *
 * @example
 * const bill = idleBill(effectiveTemplate(packaged.template), measurements);
 * totalOf(bill); // ≤ 1.00
 */
export const idleBill = (template: CfnTemplate, measured: IdleMeasurements): BillLine[] => {
  const resources = template.Resources;
  const poller = pollerOf(template);

  // Invocations of the poller: its schedules, and the ticks each scheduled poll enqueues.
  const schedules = idsOfType(template, 'AWS::Events::Rule')
    .map((id) => propertiesOf(resources[id]))
    .filter((rule) => typeof rule.ScheduleExpression === 'string');
  const scheduledPolls = schedules
    .filter((rule) =>
      (rule.Targets as unknown[]).some(
        (target) => functionIdOfTarget(target) === 'PollerLambdaFunction'
      )
    )
    .reduce((sum, rule) => sum + scheduleInvocationsPerMonth(String(rule.ScheduleExpression)), 0);
  const scheduleEvents = schedules.reduce(
    (sum, rule) => sum + scheduleInvocationsPerMonth(String(rule.ScheduleExpression)),
    0
  );
  const tickPolls = scheduledPolls * measured.ticksPerSchedule;
  const invocations = scheduledPolls + tickPolls;
  const gbSeconds =
    ((scheduledPolls * idlePollMs(measured.schedule) + tickPolls * idlePollMs(measured.tick)) /
      1000) *
    poller.memoryGb;

  // SQS: every mapping's idle long polls; the poller's own sends; each tick's receive and delete.
  const sqsMappings = idsOfType(template, 'AWS::Lambda::EventSourceMapping').filter((id) => {
    const source = JSON.stringify(propertiesOf(resources[id]).EventSourceArn ?? '');
    return idsOfType(template, 'AWS::SQS::Queue').some((queue) => source.includes(`"${queue}"`));
  });
  const idleReceives =
    sqsMappings.length * ESM_IDLE_POLLERS * (60 / ESM_RECEIVE_WAIT_SECONDS) * MINUTES_PER_MONTH;
  const pollerSqs =
    scheduledPolls * measured.schedule.sqsRequests + tickPolls * measured.tick.sqsRequests;
  // A receive that returns a tick ends its long poll early (one more receive), then Lambda deletes it.
  const tickTraffic = tickPolls * 2;

  // Logs of the poller (nothing else runs).
  const logGb =
    (scheduledPolls * idleLogBytes(measured.schedule) + tickPolls * idleLogBytes(measured.tick)) /
    1e9;
  const storedGb = (logGb * Math.min(poller.retentionDays, 30.4)) / 30.4;

  // CloudWatch: custom metrics an idle poll publishes are published every hour: billed all month.
  const metricKeys = new Set([...measured.schedule.metricKeys, ...measured.tick.metricKeys]);
  const alarms = idsOfType(template, 'AWS::CloudWatch::Alarm');
  const alarmMetrics = alarms.reduce(
    (sum, id) => sum + alarmMetricCount(resources[id] as CfnResource),
    0
  );
  const composites = idsOfType(template, 'AWS::CloudWatch::CompositeAlarm').length;
  const dashboards = idsOfType(template, 'AWS::CloudWatch::Dashboard').length;
  const secrets = idsOfType(template, 'AWS::SecretsManager::Secret').length;
  const topics = idsOfType(template, 'AWS::SNS::Topic').length;

  const lines: BillLine[] = [
    {
      item: 'Lambda requests (poller)',
      quantity: invocations,
      unit: 'invocations',
      monthlyUsd: invocations * PRICES.lambdaRequest,
    },
    {
      item: 'Lambda compute (poller)',
      quantity: round(gbSeconds, 0),
      unit: 'GB-s',
      monthlyUsd: gbSeconds * PRICES.lambdaArmGbSecond,
    },
    {
      item: 'SQS: event source mappings polling',
      quantity: idleReceives,
      unit: 'requests',
      monthlyUsd: idleReceives * PRICES.sqsRequest,
    },
    {
      item: 'SQS: ticks (send, receive, delete)',
      quantity: pollerSqs + tickTraffic,
      unit: 'requests',
      monthlyUsd: (pollerSqs + tickTraffic) * PRICES.sqsRequest,
    },
    {
      item: 'CloudWatch Logs (poller)',
      quantity: round(logGb, 3),
      unit: 'GB',
      monthlyUsd: logGb * PRICES.logsIngestedGb + storedGb * PRICES.logsStoredGbMonth,
    },
    {
      item: 'CloudWatch custom metrics',
      quantity: metricKeys.size,
      unit: 'metrics',
      monthlyUsd: metricKeys.size * PRICES.customMetricMonth,
    },
    {
      item: 'CloudWatch alarms',
      quantity: alarmMetrics,
      unit: 'alarm metrics',
      monthlyUsd: alarmMetrics * PRICES.alarmMetricMonth + composites * PRICES.compositeAlarmMonth,
    },
    {
      item: 'CloudWatch dashboard',
      quantity: dashboards,
      unit: 'dashboards',
      monthlyUsd: dashboards * PRICES.dashboardMonth,
    },
    {
      item: 'Secrets Manager',
      quantity: secrets,
      unit: 'secrets',
      monthlyUsd: secrets * PRICES.secretMonth,
    },
    {
      item: 'EventBridge schedule',
      quantity: scheduleEvents,
      unit: 'events',
      monthlyUsd: scheduleEvents * PRICES.scheduledRuleEvent,
    },
    {
      item: 'SNS alarm topic',
      quantity: topics,
      unit: 'topics',
      monthlyUsd: topics * PRICES.snsTopicMonth,
    },
    {
      item: 'API Gateway (webhook)',
      quantity: 0,
      unit: 'requests',
      monthlyUsd: 0,
    },
  ];
  return lines.map((line) => ({ ...line, monthlyUsd: round(line.monthlyUsd) }));
};

/** The bill's total, USD. */
export const totalOf = (lines: readonly BillLine[]): number =>
  round(lines.reduce((sum, line) => sum + line.monthlyUsd, 0));

const QUANTITY = new Intl.NumberFormat('en-US', { maximumFractionDigits: 3 });

/** `$0.263`: three decimals, so that a line of a tenth of a cent still shows. */
export const formatUsd = (usd: number): string => `$${usd.toFixed(3)}`;

/**
 * The bill as the markdown rows of docs/deploy.md's idle-cost table (`| item | quantity unit | $ |`),
 * the total last.
 *
 * @example
 * billRows(idleBill(template, measured)); // ['| Lambda requests (poller) | 131,400 invocations | $0.026 |', …]
 */
export const billRows = (lines: readonly BillLine[]): string[] => [
  ...lines.map(
    (line) =>
      `| ${line.item} | ${QUANTITY.format(line.quantity)} ${line.quantity === 1 ? line.unit.replace(/s$/, '') : line.unit} | ${formatUsd(line.monthlyUsd)} |`
  ),
  `| **Total** | | **${formatUsd(totalOf(lines))}** |`,
];

/**
 * The same month after the always-free tiers ({@link ALWAYS_FREE}), for an account with nothing else
 * in them: what docs/deploy.md and the README quote next to the list-price total.
 *
 * @example
 * totalOf(afterAlwaysFree(idleBill(template, measured))); // 0.21
 */
export const afterAlwaysFree = (lines: readonly BillLine[]): BillLine[] => {
  const quantity = (item: string) => lines.find((line) => line.item === item)?.quantity ?? 0;
  const sqs =
    quantity('SQS: event source mappings polling') + quantity('SQS: ticks (send, receive, delete)');
  const free: Record<string, (line: BillLine) => number> = {
    'Lambda requests (poller)': (line) =>
      Math.max(0, line.quantity - ALWAYS_FREE.lambdaRequests) * PRICES.lambdaRequest,
    'Lambda compute (poller)': (line) =>
      Math.max(0, line.quantity - ALWAYS_FREE.lambdaGbSeconds) * PRICES.lambdaArmGbSecond,
    'SQS: event source mappings polling': () =>
      Math.max(0, sqs - ALWAYS_FREE.sqsRequests) * PRICES.sqsRequest,
    'SQS: ticks (send, receive, delete)': () => 0,
    'CloudWatch Logs (poller)': (line) =>
      line.quantity <= ALWAYS_FREE.logsGb ? 0 : line.monthlyUsd,
    'CloudWatch custom metrics': (line) =>
      Math.max(0, line.quantity - ALWAYS_FREE.customMetrics) * PRICES.customMetricMonth,
    'CloudWatch alarms': (line) =>
      Math.max(0, line.quantity - ALWAYS_FREE.alarmMetrics) * PRICES.alarmMetricMonth,
    'CloudWatch dashboard': (line) =>
      Math.max(0, line.quantity - ALWAYS_FREE.dashboards) * PRICES.dashboardMonth,
  };
  return lines.map((line) => {
    const rule = free[line.item];
    return rule ? { ...line, monthlyUsd: round(rule(line)) } : line;
  });
};
