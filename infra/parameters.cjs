/**
 * Stack parameters → the values serverless.yml and infra/*.yml use.
 *
 * Every parameter is a `params:` entry in serverless.yml (documented defaults, overridable per stage)
 * or a `--param name=value` on the command line. This file only reads them, checks them and derives
 * what plain `${param:…}` substitution cannot express: cluster names → cluster ARNs (built with
 * `Fn::Sub`, so the account id is never needed at package time), the secret the stack creates when no
 * ARN is given, and the IAM condition on `ecs:cluster`.
 *
 * It never sees a secret value: parameters are names, ARNs and numbers only.
 *
 * `osls deploy` refuses to run without `prefectApiUrl` and `workPools`; `osls package` (CI, offline)
 * fills them with obviously invalid placeholders so that the template can be built and checked.
 */
'use strict';

/** ECS `startedBy` of every task the launcher starts: `prefect/<flow run id>` (shared/ecs/started-by.ts). */
const STARTED_BY_PREFIX = 'prefect/';

/**
 * The task `lastStatus` values the task-state rule delivers: exactly those the reporter acts on
 * (shared/report/decide-report.ts, `decideWithoutRun`). Every other status (DEACTIVATING, STOPPING,
 * DEPROVISIONING, and any status ECS adds later) makes the reporter return before it reads the run:
 * no Prefect call, no log tail, no deregistration (that runs for STOPPED only), so EventBridge need
 * not invoke it for them. Keep this list and the reporter in step (test/deploy/task-state-rule.test.ts).
 */
const REPORTED_TASK_STATUSES = [
  // ECS is placing the task: the run becomes PENDING `InfrastructurePending` (prefect-aws's sub-state).
  'PROVISIONING',
  // ECS is pulling the image and starting the containers: InfrastructurePending too, or the missing
  // infrastructure_pid recorded once the run is InfrastructurePending.
  'PENDING',
  // After PENDING, when ECS has load balancing or service discovery to set up: read as PENDING.
  'ACTIVATING',
  // The task runs: records the infrastructure_pid if the launcher could not (the engine itself
  // reports Running). A RUNNING event whose desiredStatus is already STOPPED is ignored by the
  // reporter too, but a pattern on lastStatus alone cannot tell it apart.
  'RUNNING',
  // The task ended: Crashed with the diagnosis, Cancelled for a cancelling run, the log tail of a
  // run that never started, and deregistering a tagged task definition.
  'STOPPED',
];

/** Used by `osls package` only, when a required parameter is missing. `.invalid` never resolves (RFC 2606). */
const PLACEHOLDERS = {
  prefectApiUrl: 'https://prefect.invalid/api',
  workPools: 'placeholder-pool',
};

const SECRET_ARN = /^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:.+$/;
const ROLE_ARN = /^arn:aws[a-z-]*:iam::\d{12}:role\/[\w+=,.@/-]+$/;
const CLUSTER_ARN = /^arn:aws[a-z-]*:ecs:[a-z0-9-]+:\d{12}:cluster\/[A-Za-z0-9_-]{1,255}$/;
const CLUSTER_NAME = /^[A-Za-z0-9_-]{1,255}$/;
const TOPIC_ARN = /^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]{1,256}$/;
const KMS_KEY_ARN = /^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key\/[A-Za-z0-9-]+$/;
const LOG_GROUP = /^[A-Za-z0-9_\-/.#]{1,512}$/;
const POOL_NAME = /^[^,]+$/;

const AUTH_KINDS = ['apiKey', 'authString', 'none'];
const LOG_LEVELS = ['DEBUG', 'INFO', 'WARN', 'ERROR'];

const commaList = (value) =>
  String(value)
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item !== '');

/** `osls deploy …` (including `deploy function`), as opposed to package/print/offline. */
const isDeploy = () => process.argv.slice(2).includes('deploy');

/** Builds the parameter reader; collects every problem before throwing once. */
const createReader = (resolveVariable) => {
  const problems = [];
  const read = async (name) => {
    const value = await resolveVariable(`param:${name}, ''`);
    return value == null ? '' : String(value).trim();
  };
  const required = async (name) => {
    const value = await read(name);
    if (value !== '') return value;
    if (isDeploy()) {
      problems.push(`${name}: required (pass --param ${name}=… or set params.<stage>.${name})`);
    }
    return PLACEHOLDERS[name];
  };
  const check = (name, ok, expected) => {
    if (!ok) problems.push(`${name}: ${expected}`);
  };
  const integer = async (name, min, max) => {
    const text = await read(name);
    const value = Number(text);
    check(
      name,
      text !== '' && Number.isInteger(value) && value >= min && value <= max,
      `must be a whole number from ${min} to ${max}, got "${text}"`
    );
    return value;
  };
  const boolean = async (name) => {
    const text = (await read(name)).toLowerCase();
    check(name, text === 'true' || text === 'false', `must be true or false, got "${text}"`);
    return text === 'true';
  };
  const oneOf = async (name, allowed) => {
    const value = await read(name);
    check(name, allowed.includes(value), `must be one of ${allowed.join(', ')}, got "${value}"`);
    return value;
  };
  const matching = async (name, pattern, expected) => {
    const value = await read(name);
    check(name, value === '' || pattern.test(value), expected);
    return value;
  };
  return { problems, read, required, check, integer, boolean, oneOf, matching };
};

const sub = (text) => ({ 'Fn::Sub': text });
// biome-ignore lint/suspicious/noTemplateCurlyInString: a CloudFormation Fn::Sub string
const LOG_GROUP_ARN = 'arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:log-group';

/** A cluster name or ARN → its ARN (`Fn::Sub` for names: the partition, region and account come at deploy). */
const clusterArn = (cluster) =>
  cluster.startsWith('arn:')
    ? cluster
    : sub(`arn:\${AWS::Partition}:ecs:\${AWS::Region}:\${AWS::AccountId}:cluster/${cluster}`);

const checkClusters = (reader, name, clusters, allowWildcard) => {
  for (const cluster of clusters) {
    const ok =
      CLUSTER_NAME.test(cluster) || CLUSTER_ARN.test(cluster) || (allowWildcard && cluster === '*');
    reader.check(
      name,
      ok,
      `"${cluster}" is not an ECS cluster name or ARN (letters, digits, - and _)${allowWildcard ? ', or *' : ''}`
    );
  }
};

const resolveParameters = async ({ resolveVariable }) => {
  const reader = createReader(resolveVariable);
  const service = await resolveVariable('self:service');
  const stage = await resolveVariable('sls:stage');

  // Prefect
  const prefectApiUrl = await reader.required('prefectApiUrl');
  let url;
  try {
    url = new URL(prefectApiUrl);
  } catch {
    url = undefined;
  }
  reader.check(
    'prefectApiUrl',
    url !== undefined && (url.protocol === 'https:' || url.protocol === 'http:'),
    'must be an http(s) URL such as https://api.prefect.cloud/api/accounts/<a>/workspaces/<w>'
  );
  const prefectAuth = await reader.oneOf('prefectAuth', AUTH_KINDS);
  const prefectApiSecretArn = await reader.matching(
    'prefectApiSecretArn',
    SECRET_ARN,
    'must be the full ARN of a Secrets Manager secret (arn:aws:secretsmanager:<region>:<account>:secret:<name>-<6 chars>)'
  );
  reader.check(
    'prefectAuth',
    !(prefectAuth === 'none' && url?.hostname.endsWith('prefect.cloud')),
    'Prefect Cloud needs an API key: use prefectAuth=apiKey'
  );
  const createPrefectApiSecret = prefectAuth !== 'none' && prefectApiSecretArn === '';
  const prefectSecret =
    prefectAuth === 'none'
      ? ''
      : createPrefectApiSecret
        ? { Ref: 'PrefectApiSecret' }
        : prefectApiSecretArn;
  const workPools = commaList(await reader.required('workPools'));
  for (const pool of workPools)
    reader.check('workPools', POOL_NAME.test(pool), 'invalid pool name');
  const workQueues = commaList(await reader.read('workQueues'));
  const workerName = await reader.read('workerName');
  reader.check('workerName', workerName.length <= 100, 'must be at most 100 characters');

  // ECS
  const ecsClusters = commaList(await reader.read('ecsClusters'));
  reader.check('ecsClusters', ecsClusters.length > 0, 'at least one cluster name or ARN');
  checkClusters(reader, 'ecsClusters', ecsClusters, true);
  const taskEventClusters = commaList(await reader.read('taskEventClusters'));
  checkClusters(reader, 'taskEventClusters', taskEventClusters, false);
  const ecsExecutionRoleArn = await reader.matching(
    'ecsExecutionRoleArn',
    ROLE_ARN,
    'must be an IAM role ARN (arn:aws:iam::<account>:role/<name>)'
  );
  const ecsTaskRoleArns = commaList(await reader.read('ecsTaskRoleArns'));
  for (const arn of ecsTaskRoleArns) {
    reader.check('ecsTaskRoleArns', ROLE_ARN.test(arn), `"${arn}" is not an IAM role ARN`);
  }
  const createExecutionRole = ecsExecutionRoleArn === '';
  const executionRole = createExecutionRole
    ? { 'Fn::GetAtt': ['FlowRunExecutionRole', 'Arn'] }
    : ecsExecutionRoleArn;
  const ec2NetworkDiscovery = await reader.boolean('ec2NetworkDiscovery');
  const taskLogGroups = commaList(await reader.read('taskLogGroups'));
  reader.check('taskLogGroups', taskLogGroups.length > 0, 'at least one CloudWatch log group name');
  for (const group of taskLogGroups) {
    reader.check(
      'taskLogGroups',
      LOG_GROUP.test(group),
      `"${group}" is not a CloudWatch log group name`
    );
  }
  const ecsDefaultImage = await reader.read('ecsDefaultImage');

  // Cadence (ranges as shared/poll/poller-config.ts and shared/config.ts accept them)
  const pollIntervalSeconds = await reader.integer('pollIntervalSeconds', 5, 60);
  const pollPrefetchSeconds = await reader.integer('pollPrefetchSeconds', 0, 900);
  const launchLeadSeconds = await reader.integer('launchLeadSeconds', 0, 900);
  reader.check(
    'launchLeadSeconds',
    launchLeadSeconds <= pollPrefetchSeconds,
    'must not exceed pollPrefetchSeconds (a run is claimed at most that early)'
  );
  const orphanAfterSeconds = await reader.integer('orphanAfterSeconds', 60, 86400);
  const orphanMaxRequeues = await reader.integer('orphanMaxRequeues', 0, 20);
  const launchRetryDeadlineSeconds = await reader.integer('launchRetryDeadlineSeconds', 0, 604800);
  reader.check(
    'orphanAfterSeconds',
    orphanAfterSeconds * (orphanMaxRequeues + 1) > launchRetryDeadlineSeconds,
    `× (orphanMaxRequeues + 1) is ${orphanAfterSeconds * (orphanMaxRequeues + 1)} s and must exceed launchRetryDeadlineSeconds (${launchRetryDeadlineSeconds} s): the orphan sweep would crash runs the launcher still retries`
  );
  const cancelLookbackSeconds = await reader.integer('cancelLookbackSeconds', 60, 86400);
  const launcherMaxConcurrency = await reader.integer('launcherMaxConcurrency', 2, 1000);
  const reporterLogTailLines = await reader.integer('reporterLogTailLines', 0, 10000);

  // Webhook
  const webhookSecretArn = await reader.matching(
    'webhookSecretArn',
    SECRET_ARN,
    'must be the full ARN of a Secrets Manager secret'
  );
  const createWebhookSecret = webhookSecretArn === '';
  const webhookSecret = createWebhookSecret ? { Ref: 'WebhookSecret' } : webhookSecretArn;
  const webhookRateLimit = await reader.integer('webhookRateLimit', 1, 10000);
  const webhookBurstLimit = await reader.integer('webhookBurstLimit', 1, 5000);

  // Operations
  const alarmTopicArn = await reader.matching(
    'alarmTopicArn',
    TOPIC_ARN,
    'must be an SNS topic ARN'
  );
  const alarmEmail = await reader.read('alarmEmail');
  reader.check(
    'alarmEmail',
    alarmEmail === '' || /^[^\s@]+@[^\s@]+$/.test(alarmEmail),
    'must be an email address'
  );
  const launchLatencyAlarmSeconds = await reader.integer('launchLatencyAlarmSeconds', 1, 3600);
  const logRetentionDays = await reader.integer('logRetentionDays', 1, 3653);
  const logLevel = await reader.oneOf('logLevel', LOG_LEVELS);
  const secretsKmsKeyArn = await reader.matching(
    'secretsKmsKeyArn',
    KMS_KEY_ARN,
    'must be a KMS key ARN (arn:aws:kms:<region>:<account>:key/<id>)'
  );

  if (reader.problems.length > 0) {
    const error = new Error(`Invalid stack parameters:\n  - ${reader.problems.join('\n  - ')}`);
    error.stack = error.message; // osls prints the stack: the list is all a user needs
    throw error;
  }

  const clusterArns = ecsClusters.map((cluster) => clusterArn(cluster === '*' ? '*' : cluster));
  const wildcard = ecsClusters.includes('*');
  const flag = (value) => (value ? 'true' : 'false');

  return {
    service,
    stage,
    /** `prefect-ecs-serverless-<stage>`: Powertools `service` (log field and metric dimension). */
    serviceName: `${service}-${stage}`,
    prefectApiUrl,
    prefectApiKeySecretArn: prefectAuth === 'apiKey' ? prefectSecret : '',
    prefectApiAuthStringSecretArn: prefectAuth === 'authString' ? prefectSecret : '',
    /** The Prefect secret for IAM (`GetSecretValue`) when there is one. */
    prefectSecretArn: prefectSecret,
    workPools: workPools.join(','),
    workQueues: workQueues.join(','),
    workerName,
    ecsExecutionRoleArn: executionRole,
    ecsDefaultImage,
    /** Roles the launcher may pass to ECS tasks: the execution role and the task roles. */
    passRoleArns: [executionRole, ...ecsTaskRoleArns],
    /** IAM condition limiting ECS task actions to the configured clusters. */
    ecsClusterCondition: wildcard
      ? { ArnLike: { 'ecs:cluster': clusterArns } }
      : { ArnEquals: { 'ecs:cluster': clusterArns } },
    /** The flow-run tasks' log groups (group ARNs, and the ARNs of their streams). */
    taskLogGroupArns: taskLogGroups.map((group) => sub(`${LOG_GROUP_ARN}:${group}`)),
    taskLogStreamArns: taskLogGroups.map((group) => sub(`${LOG_GROUP_ARN}:${group}:log-stream:*`)),
    taskLogGroupAndStreamArns: taskLogGroups.flatMap((group) => [
      sub(`${LOG_GROUP_ARN}:${group}`),
      sub(`${LOG_GROUP_ARN}:${group}:log-stream:*`),
    ]),
    /**
     * The `detail` of the ECS task-state rule: our tasks only, in the statuses the reporter acts on
     * ({@link REPORTED_TASK_STATUSES}), and the listed clusters if any.
     */
    taskStateEventDetail: {
      startedBy: [{ prefix: STARTED_BY_PREFIX }],
      lastStatus: [...REPORTED_TASK_STATUSES],
      ...(taskEventClusters.length > 0 ? { clusterArn: taskEventClusters.map(clusterArn) } : {}),
    },
    pollIntervalSeconds,
    pollPrefetchSeconds,
    launchLeadSeconds,
    orphanAfterSeconds,
    orphanMaxRequeues,
    cancelLookbackSeconds,
    reporterLogTailLines,
    launchRetryDeadlineSeconds,
    /**
     * The launch queue's maxReceiveCount: enough deliveries for the launcher's backoff
     * (15 s doubling to 900 s, shared/launch/redelivery.ts) to reach the retry deadline, where it
     * crashes the run itself, plus margin. Only what still fails after that lands in the DLQ.
     */
    launchMaxReceiveCount: Math.min(1000, Math.ceil(launchRetryDeadlineSeconds / 900) + 10),
    launcherMaxConcurrency,
    webhookSecretArn: webhookSecret,
    webhookRateLimit,
    webhookBurstLimit,
    alarmTopic: alarmTopicArn === '' ? { Ref: 'AlarmTopic' } : alarmTopicArn,
    alarmEmail,
    launchLatencyAlarmMilliseconds: launchLatencyAlarmSeconds * 1000,
    logRetentionDays,
    logLevel,
    secretsKmsKeyArn,
    /** For CloudFormation `Conditions` (strings, compared with Fn::Equals). */
    conditions: {
      createPrefectApiSecret: flag(createPrefectApiSecret),
      readsPrefectSecret: flag(prefectAuth !== 'none'),
      createWebhookSecret: flag(createWebhookSecret),
      createExecutionRole: flag(createExecutionRole),
      ec2NetworkDiscovery: flag(ec2NetworkDiscovery),
      createAlarmTopic: flag(alarmTopicArn === ''),
      subscribeAlarmEmail: flag(alarmTopicArn === '' && alarmEmail !== ''),
      secretsKmsKey: flag(secretsKmsKeyArn !== ''),
    },
  };
};

/**
 * osls calls this once per `${file(infra/parameters.cjs):…}` reference (the work is small). It is not
 * memoized: osls resolves the configuration in phases, and an early call may see `param:` pending.
 */
module.exports = resolveParameters;
