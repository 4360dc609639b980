/**
 * The CloudWatch dashboard body (infra/dashboard.yml): the flow-run metrics the functions publish in
 * embedded metric format (shared/observability.ts), the alarms, the queues, the functions and the
 * webhook API. Returned as `Fn::Sub` so that queue names, function names and alarm ARNs are filled in
 * at deploy time.
 */
// biome-ignore-all lint/suspicious/noTemplateCurlyInString: the body is a CloudFormation Fn::Sub string
'use strict';

const NAMESPACE = 'PrefectEcsServerless';
const FUNCTIONS = [
  ['poller', 'PollerLambdaFunction'],
  ['launcher', 'LauncherLambdaFunction'],
  ['reporter', 'ReporterLambdaFunction'],
  ['webhook', 'WebhookLambdaFunction'],
];
/** The alarms infra/alarms.yml always creates. */
const ALARMS = ['LaunchDeadLetterQueueAlarm', 'EventsDeadLetterQueueAlarm'];
/** And those it creates with detailedAlarms=true. */
const DETAILED_ALARMS = [
  'PollerNotRunningAlarm',
  'PollerFailingAlarm',
  'LauncherErrorsAlarm',
  'ReporterErrorsAlarm',
  'LaunchLatencyAlarm',
];
const WIDTH = 24;

/** Lays widgets out in rows of `perRow`. */
const layout = (rows) => {
  const widgets = [];
  let y = 0;
  for (const { height, items } of rows) {
    const width = WIDTH / items.length;
    items.forEach((item, index) => {
      widgets.push({ ...item, x: index * width, y, width, height });
    });
    y += height;
  }
  return widgets;
};

const metricWidget = (title, metrics, extra = {}) => ({
  type: 'metric',
  properties: {
    title,
    region: '${AWS::Region}',
    view: 'timeSeries',
    stacked: false,
    period: 300,
    metrics,
    ...extra,
  },
});

module.exports = async ({ resolveVariable }) => {
  const service = await resolveVariable('self:service');
  const stage = await resolveVariable('sls:stage');
  const serviceName = `${service}-${stage}`;
  const thresholdSeconds = Number(await resolveVariable("param:launchLatencyAlarmSeconds, '60'"));
  // The alarm widget may name only alarms that exist (Fn::Sub fails on a missing resource).
  const detailedAlarms =
    String(await resolveVariable("param:detailedAlarms, 'false'"))
      .trim()
      .toLowerCase() === 'true';
  const alarms = detailedAlarms ? [...DETAILED_ALARMS, ...ALARMS] : ALARMS;
  const own = (metricName, stat, label) => [
    NAMESPACE,
    metricName,
    'service',
    serviceName,
    { stat, label: label ?? metricName },
  ];

  const body = {
    widgets: layout([
      {
        height: 2,
        items: [
          {
            type: 'text',
            properties: {
              markdown: `## ${serviceName}: Prefect flow runs on ECS without a worker\nRuns claimed by the poller, launched on ECS, crashed (by cause) and cancelled, and the still-running tasks of Cancelled runs the poller stopped. Alarms notify the stack's SNS topic; docs/deploy.md explains each one.`,
            },
          },
        ],
      },
      {
        height: 6,
        items: [
          metricWidget('Flow runs (per 5 min)', [
            own('RunsClaimed', 'Sum'),
            own('RunsLaunched', 'Sum'),
            own('RunsCancelled', 'Sum'),
            own('TasksStopped', 'Sum', 'TasksStopped (of Cancelled runs)'),
            [
              {
                expression: `SEARCH('{${NAMESPACE},Cause,service} MetricName="RunsCrashed" service="${serviceName}"', 'Sum', 300)`,
                id: 'crashed',
                label: 'RunsCrashed',
              },
            ],
          ]),
          metricWidget(
            'Launch latency: scheduled time → RunTask (ms)',
            [
              own('LaunchLatency', 'p50', 'p50'),
              own('LaunchLatency', 'p95', 'p95'),
              own('LaunchLatency', 'Maximum', 'max'),
            ],
            {
              annotations: {
                horizontal: [{ label: 'alarm threshold (p95)', value: thresholdSeconds * 1000 }],
              },
            }
          ),
          metricWidget('Poll duration (ms)', [
            own('PollDuration', 'p50', 'p50'),
            own('PollDuration', 'p95', 'p95'),
            own('PollDuration', 'Maximum', 'max'),
          ]),
        ],
      },
      {
        height: 6,
        items: [
          {
            type: 'alarm',
            properties: {
              title: 'Alarms',
              alarms: alarms.map((alarm) => `\${${alarm}.Arn}`),
            },
          },
          metricWidget(
            'Dead-letter queues (messages visible)',
            [
              [
                'AWS/SQS',
                'ApproximateNumberOfMessagesVisible',
                'QueueName',
                '${LaunchDeadLetterQueue.QueueName}',
                { stat: 'Maximum', label: 'launch DLQ' },
              ],
              [
                'AWS/SQS',
                'ApproximateNumberOfMessagesVisible',
                'QueueName',
                '${EventsDeadLetterQueue.QueueName}',
                { stat: 'Maximum', label: 'events DLQ' },
              ],
            ],
            { period: 60 }
          ),
          metricWidget(
            'Launch queue',
            [
              [
                'AWS/SQS',
                'ApproximateNumberOfMessagesVisible',
                'QueueName',
                '${LaunchQueue.QueueName}',
                { stat: 'Maximum', label: 'visible' },
              ],
              [
                'AWS/SQS',
                'ApproximateNumberOfMessagesNotVisible',
                'QueueName',
                '${LaunchQueue.QueueName}',
                { stat: 'Maximum', label: 'in flight / delayed' },
              ],
              [
                'AWS/SQS',
                'ApproximateAgeOfOldestMessage',
                'QueueName',
                '${LaunchQueue.QueueName}',
                { stat: 'Maximum', label: 'age of oldest (s)', yAxis: 'right' },
              ],
            ],
            { period: 60 }
          ),
        ],
      },
      {
        height: 6,
        items: [
          metricWidget(
            'Invocations',
            FUNCTIONS.map(([name, id]) => [
              'AWS/Lambda',
              'Invocations',
              'FunctionName',
              `\${${id}}`,
              { stat: 'Sum', label: name },
            ]),
            { period: 60 }
          ),
          metricWidget(
            'Errors and throttles',
            FUNCTIONS.flatMap(([name, id]) => [
              [
                'AWS/Lambda',
                'Errors',
                'FunctionName',
                `\${${id}}`,
                { stat: 'Sum', label: `${name} errors` },
              ],
              [
                'AWS/Lambda',
                'Throttles',
                'FunctionName',
                `\${${id}}`,
                { stat: 'Sum', label: `${name} throttles` },
              ],
            ]),
            { period: 60 }
          ),
          metricWidget(
            'Duration p95 (ms)',
            FUNCTIONS.map(([name, id]) => [
              'AWS/Lambda',
              'Duration',
              'FunctionName',
              `\${${id}}`,
              { stat: 'p95', label: name },
            ])
          ),
          metricWidget('Webhook (POST /trigger)', [
            ['AWS/ApiGateway', 'Count', 'ApiId', '${HttpApi}', { stat: 'Sum', label: 'requests' }],
            [
              'AWS/ApiGateway',
              '4xx',
              'ApiId',
              '${HttpApi}',
              { stat: 'Sum', label: '4xx (401, 429…)' },
            ],
            ['AWS/ApiGateway', '5xx', 'ApiId', '${HttpApi}', { stat: 'Sum', label: '5xx' }],
          ]),
        ],
      },
    ]),
  };

  return { serviceName, body: { 'Fn::Sub': JSON.stringify(body) } };
};
