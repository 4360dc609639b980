/**
 * Stack parameters → the values serverless.yml and infra/*.yml use.
 *
 * Every parameter is a `params:` entry in serverless.yml (documented defaults, overridable per stage)
 * or a `--param name=value` on the command line. This file only reads them, checks them and derives
 * what plain `${param:…}` substitution cannot express: cluster names → cluster ARNs (built with
 * `Fn::Sub`, so the account id is never needed at package time), the secret the stack creates when no
 * ARN is given, and the IAM condition on `ecs:cluster`.
 *
 * It never sees a secret value: parameters are names, ARNs, numbers and Prefect settings (whose
 * credentials `prefectSettings` refuses).
 *
 * `osls deploy` refuses to run without `prefectApiUrl` and `workPools`; `osls package` (CI, offline)
 * fills them with obviously invalid placeholders so that the template can be built and checked.
 */
'use strict';

/** ECS `startedBy` of every task the launcher starts: `prefect/<flow run id>` (shared/ecs/started-by.ts). */
const STARTED_BY_PREFIX = 'prefect/';
/** The tag of every task the launcher starts (shared/ecs/ecs-tags.ts, FLOW_RUN_ID_TAG_KEY). */
const FLOW_RUN_ID_TAG_KEY = 'prefect.io/flow-run-id';

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
const SSM_PARAMETER_ARN = /^arn:aws[a-z-]*:ssm:[a-z0-9-]+:\d{12}:parameter\/.+$/;
/** A Secrets Manager secret or an SSM SecureString parameter: the two stores the functions read. */
const CREDENTIAL_ARN = { test: (value) => SECRET_ARN.test(value) || SSM_PARAMETER_ARN.test(value) };
/**
 * Where the credentials live when no ARN is given (docs/deploy.md, "Secrets"):
 * - auto (default): SSM SecureString parameters you create under `/<service>/<stage>/` (free); but
 *   a stack an earlier version deployed with Secrets Manager secrets it created keeps them.
 * - ssm: the SSM parameters, also for such a stack (its secrets are retained, not deleted).
 * - secretsmanager: the stack creates Secrets Manager secrets, $0.40 a month each.
 */
const SECRET_STORES = ['auto', 'ssm', 'secretsmanager'];
const ROLE_ARN = /^arn:aws[a-z-]*:iam::\d{12}:role\/[\w+=,.@/-]+$/;
/** An AWS account id. */
const ACCOUNT_ID = /^\d{12}$/;
/** `eventSourceAccounts=none`: no event bus policy, even with roles in other accounts. */
const NO_EVENT_SOURCE_ACCOUNTS = 'none';
/**
 * `StatementId` of the event bus policy: unique on the account's default bus (one per stage) and
 * at most 64 characters of `[a-zA-Z0-9-_]` (EventBridge PutPermission).
 */
const STATEMENT_ID = /^[a-zA-Z0-9_-]{1,64}$/;
const CLUSTER_ARN = /^arn:aws[a-z-]*:ecs:[a-z0-9-]+:\d{12}:cluster\/[A-Za-z0-9_-]{1,255}$/;
const CLUSTER_NAME = /^[A-Za-z0-9_-]{1,255}$/;
const TOPIC_ARN = /^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]{1,256}$/;
const KMS_KEY_ARN = /^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key\/[A-Za-z0-9-]+$/;
const LOG_GROUP = /^[A-Za-z0-9_\-/.#]{1,512}$/;
const POOL_NAME = /^[^,]+$/;
// VPC resource ids: 8 (older) or 17 hex digits.
const SUBNET_ID = /^subnet-[0-9a-f]{8}(?:[0-9a-f]{9})?$/;
const SECURITY_GROUP_ID = /^sg-[0-9a-f]{8}(?:[0-9a-f]{9})?$/;
// Lambda's VpcConfig accepts at most 16 subnets and 5 security groups (Lambda API reference, VpcConfig).
const MAX_SUBNETS = 16;
const MAX_SECURITY_GROUPS = 5;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
/**
 * Names TEMPLATE_ENV_ALLOWLIST may never hold: the Prefect credentials (shared/config.ts refuses them
 * too) and the temporary AWS credentials Lambda puts into every function's environment, which a job
 * template reading `{{ $NAME }}` would copy into a task definition.
 */
const NEVER_ALLOWLISTED = [
  'PREFECT_API_KEY',
  'PREFECT_API_AUTH_STRING',
  'AWS_ACCESS_KEY_ID',
  'AWS_SECRET_ACCESS_KEY',
  'AWS_SESSION_TOKEN',
];

/**
 * Prefect's settings (canonical name → aliases), from Prefect's settings schema: the names the
 * `prefectSettings` parameter may set (shared/launch/flow-run-prefect-settings.ts checks the same at
 * cold start).
 */
const PREFECT_SETTINGS = require('../shared/launch/prefect-setting-names.json').settings;
const PREFECT_SETTING_BY_NAME = new Map(
  Object.entries(PREFECT_SETTINGS).flatMap(([canonical, aliases]) =>
    [canonical, ...aliases].map((name) => [name, canonical])
  )
);
/** Settings `prefectSettings` may not set, and why. */
const PREFECT_SETTINGS_REFUSED = {
  PREFECT_API_KEY: 'the Prefect credentials reach the task only as a secret (prefectAuth)',
  PREFECT_API_AUTH_STRING: 'the Prefect credentials reach the task only as a secret (prefectAuth)',
  PREFECT_API_URL: 'the containers get prefectApiUrl',
};

/**
 * `prefectSettings`: a JSON object (or, in a params: block, a mapping) of Prefect settings the
 * launcher passes to flow-run containers, as Prefect's worker passes its own. Returns the launcher's
 * FLOW_RUN_PREFECT_SETTINGS: the settings by canonical name as JSON, or '' for none. Values are
 * never quoted in problems.
 */
const readPrefectSettings = async (reader, resolveVariable) => {
  const raw = await resolveVariable(`param:prefectSettings, ''`);
  let settings = raw;
  if (typeof raw === 'string' || raw == null) {
    const text = raw == null ? '' : raw.trim();
    if (text === '') return '';
    try {
      settings = JSON.parse(text);
    } catch {
      settings = undefined;
    }
  }
  if (typeof settings !== 'object' || settings === null || Array.isArray(settings)) {
    reader.check(
      'prefectSettings',
      false,
      'must be a JSON object such as {"PREFECT_LOGGING_LEVEL":"DEBUG"}'
    );
    return '';
  }
  const out = {};
  for (const [name, value] of Object.entries(settings)) {
    const canonical = PREFECT_SETTING_BY_NAME.get(name.toUpperCase());
    if (canonical === undefined) {
      reader.check('prefectSettings', false, `${name} is not a Prefect setting`);
      continue;
    }
    const refused = PREFECT_SETTINGS_REFUSED[canonical];
    reader.check('prefectSettings', refused === undefined, `may not set ${canonical}: ${refused}`);
    reader.check(
      'prefectSettings',
      !Object.hasOwn(out, canonical),
      `${name} sets ${canonical} a second time (under another of its names)`
    );
    const type = Array.isArray(value) ? 'array' : value === null ? 'null' : typeof value;
    const ok = ['string', 'number', 'boolean', 'object'].includes(type);
    reader.check('prefectSettings', ok, `${name} must be a string, number, boolean or JSON object`);
    if (refused !== undefined || !ok) continue;
    out[canonical] = type === 'object' ? JSON.stringify(value) : String(value);
  }
  return Object.keys(out).length > 0 ? JSON.stringify(out) : '';
};

const AUTH_KINDS = ['apiKey', 'authString', 'none'];
const LOG_LEVELS = ['DEBUG', 'INFO', 'WARN', 'ERROR'];

const commaList = (value) =>
  String(value)
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item !== '');

/** `osls deploy …` (including `deploy function`), as opposed to package/print/offline. */
const isDeploy = () => process.argv.slice(2).includes('deploy');

/** The ARN of the SSM parameter `name` (`/…`) in the stack's account and region. */
const ssmParameterArn = (name) => ({
  'Fn::Sub': `arn:\${AWS::Partition}:ssm:\${AWS::Region}:\${AWS::AccountId}:parameter${name}`,
});

const isSsm = (arn) =>
  typeof arn === 'string' ? SSM_PARAMETER_ARN.test(arn) : JSON.stringify(arn).includes(':ssm:');

/** The call a function makes to read the credential at `arn`. */
const readActionOf = (arn) => (isSsm(arn) ? 'ssm:GetParameter' : 'secretsmanager:GetSecretValue');

/**
 * The call ECS makes to inject it into a container (`secrets[].valueFrom`): GetParameters for SSM
 * (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/secrets-envvar-ssm-paramstore.html).
 */
const injectActionOf = (arn) =>
  isSsm(arn) ? 'ssm:GetParameters' : 'secretsmanager:GetSecretValue';

/**
 * Upgrades lose nothing: whether this deploy must keep creating the Secrets Manager secret that the
 * deployed stack created (its output `output` exists only then). `auto` keeps it for good (the
 * functions keep reading it); `ssm` keeps it one more deploy only when the deployed template does not
 * yet retain it on removal (output `SecretsRetainedOnRemoval`), so that removing it never deletes it.
 * Only on `osls deploy` (which has AWS credentials): `osls package` stays offline.
 */
const keepsCreatedSecret = async (resolveVariable, stackName, output, secretStore) => {
  if (!isDeploy() || secretStore === 'secretsmanager') return false;
  const created = await resolveVariable(`cf:${stackName}.${output}, ''`);
  if (created == null || String(created) === '') return false;
  if (secretStore === 'auto') return true;
  const retained = await resolveVariable(`cf:${stackName}.SecretsRetainedOnRemoval, ''`);
  return retained == null || String(retained) === '';
};

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

/**
 * `assumeRoleArns`: the IAM roles the poller, launcher and reporter may assume (STS AssumeRole) for
 * work pools whose `aws_credentials` name `assume_role_arn`. Each must be a full role ARN: IAM
 * grants `sts:AssumeRole` on exactly these, and a wildcard would let the functions into any role
 * that trusts them. Duplicates are dropped; the order is kept.
 */
const readAssumeRoleArns = async (reader) => {
  const arns = [...new Set(commaList(await reader.read('assumeRoleArns')))];
  for (const arn of arns) {
    reader.check(
      'assumeRoleArns',
      !arn.includes('*') && !arn.includes('?'),
      `"${arn}" has a wildcard: list each role's full ARN (arn:aws:iam::<12-digit account>:role/<path/name>)`
    );
    reader.check(
      'assumeRoleArns',
      arn.includes('*') || arn.includes('?') || ROLE_ARN.test(arn),
      `"${arn}" is not an IAM role ARN (arn:aws:iam::<12-digit account>:role/<path/name>)`
    );
  }
  return arns;
};

/**
 * `eventSourceAccounts`: the accounts whose ECS task state changes may be put on this account's
 * default event bus (by the member template infra/member-account/forward-task-events.yml). Empty:
 * the accounts of `assumeRoleArns` (this stack's own account among them is harmless: it can put
 * events on its own bus anyway); `none`: no event bus policy at all.
 */
const readEventSourceAccounts = async (reader, assumeRoleArns) => {
  const text = await reader.read('eventSourceAccounts');
  if (text === NO_EVENT_SOURCE_ACCOUNTS) return [];
  if (text === '') {
    return [...new Set(assumeRoleArns.map((arn) => arn.split(':')[4]).filter(Boolean))].filter(
      (account) => ACCOUNT_ID.test(account)
    );
  }
  const accounts = [...new Set(commaList(text))];
  for (const account of accounts) {
    reader.check(
      'eventSourceAccounts',
      ACCOUNT_ID.test(account),
      `"${account}" is not a 12-digit AWS account id (or set the whole parameter to ${NO_EVENT_SOURCE_ACCOUNTS})`
    );
  }
  return accounts;
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
    CREDENTIAL_ARN,
    'must be the full ARN of a Secrets Manager secret (arn:aws:secretsmanager:<region>:<account>:secret:<name>-<6 chars>) or of an SSM parameter (arn:aws:ssm:<region>:<account>:parameter/<name>)'
  );
  const secretStore = await reader.oneOf('secretStore', SECRET_STORES);
  const stackName = `${service}-${stage}`;
  reader.check(
    'prefectAuth',
    !(prefectAuth === 'none' && url?.hostname.endsWith('prefect.cloud')),
    'Prefect Cloud needs an API key: use prefectAuth=apiKey'
  );
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
  const templateEnvAllowlist = commaList(await reader.read('templateEnvAllowlist'));
  for (const name of templateEnvAllowlist) {
    reader.check(
      'templateEnvAllowlist',
      ENV_NAME.test(name),
      `"${name}" is not an environment variable name (letters, digits and _)`
    );
    reader.check(
      'templateEnvAllowlist',
      !NEVER_ALLOWLISTED.includes(name),
      `may not list ${name} (credentials never reach a job template)`
    );
  }

  const flowRunPrefectSettings = await readPrefectSettings(reader, resolveVariable);

  // VPC placement of the functions (a private self-hosted Prefect): both lists or neither.
  const vpcSubnetIds = commaList(await reader.read('vpcSubnetIds'));
  const vpcSecurityGroupIds = commaList(await reader.read('vpcSecurityGroupIds'));
  for (const id of vpcSubnetIds) {
    reader.check('vpcSubnetIds', SUBNET_ID.test(id), `"${id}" is not a subnet id (subnet-…)`);
  }
  for (const id of vpcSecurityGroupIds) {
    reader.check(
      'vpcSecurityGroupIds',
      SECURITY_GROUP_ID.test(id),
      `"${id}" is not a security group id (sg-…)`
    );
  }
  reader.check(
    'vpcSubnetIds',
    (vpcSubnetIds.length === 0) === (vpcSecurityGroupIds.length === 0),
    'set vpcSubnetIds and vpcSecurityGroupIds together, or neither'
  );
  reader.check('vpcSubnetIds', vpcSubnetIds.length <= MAX_SUBNETS, `at most ${MAX_SUBNETS}`);
  reader.check(
    'vpcSecurityGroupIds',
    vpcSecurityGroupIds.length <= MAX_SECURITY_GROUPS,
    `at most ${MAX_SECURITY_GROUPS}`
  );

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
  const launchRatePerSecond = await reader.integer('launchRatePerSecond', 1, 10000);
  const reporterLogTailLines = await reader.integer('reporterLogTailLines', 0, 10000);

  // Webhook
  const webhookSecretArn = await reader.matching(
    'webhookSecretArn',
    CREDENTIAL_ARN,
    'must be the full ARN of a Secrets Manager secret or of an SSM parameter'
  );
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
  // Opt-ins with a fixed monthly price (docs/deploy.md, "What it costs").
  const dashboard = await reader.boolean('dashboard');
  const detailedAlarms = await reader.boolean('detailedAlarms');
  // Lambda accepts 128-10240 MB (https://docs.aws.amazon.com/lambda/latest/dg/configuration-memory.html).
  const pollerMemorySize = await reader.integer('pollerMemorySize', 128, 10240);
  const logRetentionDays = await reader.integer('logRetentionDays', 1, 3653);
  const logLevel = await reader.oneOf('logLevel', LOG_LEVELS);
  const secretsKmsKeyArn = await reader.matching(
    'secretsKmsKeyArn',
    KMS_KEY_ARN,
    'must be a KMS key ARN (arn:aws:kms:<region>:<account>:key/<id>)'
  );

  // Pools in other accounts and regions (docs/deploy.md, "Pools in other accounts and regions")
  const assumeRoleArns = await readAssumeRoleArns(reader);
  const eventSourceAccounts = await readEventSourceAccounts(reader, assumeRoleArns);
  const eventBusPolicyStatementId = `${service}-${stage}-ecs-task-events`;
  reader.check(
    'eventSourceAccounts',
    eventSourceAccounts.length === 0 || STATEMENT_ID.test(eventBusPolicyStatementId),
    `the event bus policy's statement id "${eventBusPolicyStatementId}" must be at most 64 letters, digits, - and _: use a shorter stage name`
  );

  if (reader.problems.length > 0) {
    const error = new Error(`Invalid stack parameters:\n  - ${reader.problems.join('\n  - ')}`);
    error.stack = error.message; // osls prints the stack: the list is all a user needs
    throw error;
  }

  // Secrets: after validation, since an upgrade check asks CloudFormation (deploy only).
  const createPrefectApiSecret =
    prefectAuth !== 'none' &&
    prefectApiSecretArn === '' &&
    (secretStore === 'secretsmanager' ||
      (await keepsCreatedSecret(resolveVariable, stackName, 'PrefectApiSecretArn', secretStore)));
  const prefectParameterName = `/${service}/${stage}/${prefectAuth === 'authString' ? 'prefect-auth-string' : 'prefect-api-key'}`;
  const prefectSecret =
    prefectAuth === 'none'
      ? ''
      : createPrefectApiSecret
        ? { Ref: 'PrefectApiSecret' }
        : prefectApiSecretArn || ssmParameterArn(prefectParameterName);
  const createWebhookSecret =
    webhookSecretArn === '' &&
    (secretStore === 'secretsmanager' ||
      (await keepsCreatedSecret(resolveVariable, stackName, 'WebhookSecretArn', secretStore)));
  const webhookParameterName = `/${service}/${stage}/webhook-secret`;
  const webhookSecret = createWebhookSecret
    ? { Ref: 'WebhookSecret' }
    : webhookSecretArn || ssmParameterArn(webhookParameterName);

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
    /** The Prefect secret for IAM (`GetSecretValue` / `GetParameter`) when there is one. */
    prefectSecretArn: prefectSecret,
    /** What reads it: the functions (`prefectSecretReadAction`) and ECS for the containers (`…InjectAction`). */
    prefectSecretReadAction: readActionOf(prefectSecret),
    prefectSecretInjectAction: injectActionOf(prefectSecret),
    /** The SSM parameters to create before deploying (none when ARNs are given or secrets created). */
    ssmParameterNames: [
      ...(prefectAuth !== 'none' && !createPrefectApiSecret && prefectApiSecretArn === ''
        ? [prefectParameterName]
        : []),
      ...(!createWebhookSecret && webhookSecretArn === '' ? [webhookParameterName] : []),
    ].join(','),
    workPools: workPools.join(','),
    workQueues: workQueues.join(','),
    workerName,
    ecsExecutionRoleArn: executionRole,
    ecsDefaultImage,
    templateEnvAllowlist: templateEnvAllowlist.join(','),
    /** The launcher's FLOW_RUN_PREFECT_SETTINGS: `prefectSettings` by canonical name, as JSON. */
    flowRunPrefectSettings,
    /**
     * Every function's `vpc`: the subnets and security groups, or `false` (no VPC) when none are given
     * (osls accepts `false` on a function to mean "no VpcConfig").
     */
    vpc:
      vpcSubnetIds.length > 0 && vpcSecurityGroupIds.length > 0
        ? { subnetIds: vpcSubnetIds, securityGroupIds: vpcSecurityGroupIds }
        : false,
    /** Roles the launcher may pass to ECS tasks: the execution role and the task roles. */
    passRoleArns: [executionRole, ...ecsTaskRoleArns],
    /** IAM condition limiting ECS task actions to the configured clusters. */
    ecsClusterCondition: wildcard
      ? { ArnLike: { 'ecs:cluster': clusterArns } }
      : { ArnEquals: { 'ecs:cluster': clusterArns } },
    /**
     * ecs:StopTask: the configured clusters, and only tasks carrying the flow-run id tag the launcher
     * gives every task (shared/ecs/ecs-tags.ts), as do prefect-aws's worker and earlier releases; a
     * cluster's other workloads are out of reach. StopTask's `task` resource supports
     * aws:ResourceTag/${TagKey} (Service Authorization Reference, Amazon ECS). Proven by
     * test/deploy/iam-simulation.test.ts.
     */
    ecsFlowRunTaskCondition: {
      ...(wildcard
        ? { ArnLike: { 'ecs:cluster': clusterArns } }
        : { ArnEquals: { 'ecs:cluster': clusterArns } }),
      Null: { [`aws:ResourceTag/${FLOW_RUN_ID_TAG_KEY}`]: 'false' },
    },
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
    launchRatePerSecond,
    webhookSecretArn: webhookSecret,
    webhookSecretReadAction: readActionOf(webhookSecret),
    webhookRateLimit,
    webhookBurstLimit,
    alarmTopic: alarmTopicArn === '' ? { Ref: 'AlarmTopic' } : alarmTopicArn,
    alarmEmail,
    launchLatencyAlarmMilliseconds: launchLatencyAlarmSeconds * 1000,
    pollerMemorySize,
    /** The poller's `POLL_DURATION_METRIC`: PollDuration is published for the dashboard only. */
    pollDurationMetric: flag(dashboard),
    logRetentionDays,
    logLevel,
    secretsKmsKeyArn,
    /** `KmsKeyId` of the created secrets: the key, or no property at all (`AWS::NoValue`). */
    secretsKmsKeyId: secretsKmsKeyArn === '' ? { Ref: 'AWS::NoValue' } : secretsKmsKeyArn,
    /**
     * The poller's, launcher's and reporter's `ASSUME_ROLE_ARNS`: the roles they may assume,
     * comma-separated, '' for none (infra/assume-roles.cjs grants sts:AssumeRole on exactly these).
     */
    assumeRoleArns: assumeRoleArns.join(','),
    assumeRoleArnList: assumeRoleArns,
    /** Accounts allowed to put ECS task state changes on the default bus (infra/event-bus-policy.cjs). */
    eventSourceAccounts,
    eventBusPolicyStatementId,
    /** For CloudFormation `Conditions` (strings, compared with Fn::Equals). */
    conditions: {
      createPrefectApiSecret: flag(createPrefectApiSecret),
      readsPrefectSecret: flag(prefectAuth !== 'none'),
      createWebhookSecret: flag(createWebhookSecret),
      createsSecret: flag(createPrefectApiSecret || createWebhookSecret),
      createExecutionRole: flag(createExecutionRole),
      ec2NetworkDiscovery: flag(ec2NetworkDiscovery),
      createAlarmTopic: flag(alarmTopicArn === ''),
      subscribeAlarmEmail: flag(alarmTopicArn === '' && alarmEmail !== ''),
      dashboard: flag(dashboard),
      detailedAlarms: flag(detailedAlarms),
    },
  };
};

/**
 * osls calls this once per `${file(infra/parameters.cjs):…}` reference (the work is small). It is not
 * memoized: osls resolves the configuration in phases, and an early call may see `param:` pending.
 */
module.exports = resolveParameters;
