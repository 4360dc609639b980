/**
 * The Lambdas' configuration, read from the environment once per cold start. The names are shared by
 * the poller, the launcher and the reporter (`serverless.yml` sets them). `loadConfig` lists every
 * missing or invalid variable in one `ConfigError` and never quotes a value, so a secret pasted into
 * the wrong variable does not end up in CloudWatch.
 */

import * as z from 'zod';
import { ROLE_ARN } from './aws/aws-credentials-settings.ts';
import { DEFAULT_PREFECT_IMAGE } from './ecs/task-definition.ts';
import { ConfigError } from './errors/config-error.ts';
import {
  FLOW_RUN_PREFECT_SETTINGS_VARIABLE,
  parseFlowRunPrefectSettings,
} from './launch/flow-run-prefect-settings.ts';
import { forwardedPrefectSettings } from './launch/forwarded-prefect-settings.ts';
import { CustomHeadersSchema } from './prefect/custom-headers.ts';

/** The worker name the official worker would show when none is configured. */
export const DEFAULT_WORKER_NAME = 'prefect-ecs-serverless';
/** The image when neither the template nor `ECS_DEFAULT_IMAGE` names one (the builders' default). */
export const DEFAULT_IMAGE = DEFAULT_PREFECT_IMAGE;
/** How long after its scheduled time a run may keep failing transiently before it is CRASHED. */
export const DEFAULT_LAUNCH_RETRY_DEADLINE_SECONDS = 900;

/** How the Lambda authenticates to Prefect, and what the flow-run containers get as a secret. */
export type PrefectCredentialSource =
  /** `PREFECT_API_AUTH_STRING` (self-hosted `user:pass`), local use. */
  | { kind: 'authString'; value: string }
  /** `PREFECT_API_KEY` (Cloud), local use. */
  | { kind: 'apiKey'; value: string }
  /** `PREFECT_API_AUTH_STRING_SECRET_ARN`: read at cold start; also the containers' secret. */
  | { kind: 'authStringSecret'; secretArn: string }
  /** `PREFECT_API_KEY_SECRET_ARN`: read at cold start; also the containers' secret. */
  | { kind: 'apiKeySecret'; secretArn: string }
  /** No authentication (a local, open Prefect server). */
  | { kind: 'none' };

/** The parsed configuration. */
export interface Config {
  prefectApiUrl: string;
  /** What the Lambda itself uses to call Prefect (plain values win over secret ARNs). */
  prefectCredentials: PrefectCredentialSource;
  /**
   * `PREFECT_CLIENT_CUSTOM_HEADERS`: headers sent on every Prefect API request (an access proxy's),
   * name → value; `{}` when unset. Optional only so hand-built configs may leave it out.
   */
  prefectCustomHeaders?: Readonly<Record<string, string>>;
  /** Secrets Manager ARN of the Prefect API key, for task definitions (never the value). */
  prefectApiKeySecretArn: string | undefined;
  /** Secrets Manager ARN of the Prefect auth string, for task definitions (never the value). */
  prefectApiAuthStringSecretArn: string | undefined;
  /** At least one pool name. */
  workPools: readonly string[];
  /** Queue names to poll; empty means every queue of the pool. */
  workQueues: readonly string[];
  launchQueueUrl: string;
  tickQueueUrl: string | undefined;
  workerName: string;
  ecsDefaultImage: string;
  ecsExecutionRoleArn: string | undefined;
  launchRetryDeadlineSeconds: number;
  /** Names a template may read with `{{ $NAME }}`. */
  templateEnvAllowlist: readonly string[];
  /** The allow-listed variables that are set, name → value (for `{{ $NAME }}`). */
  templateEnvironment: Readonly<Record<string, string>>;
  /**
   * The Prefect settings flow-run containers inherit, by canonical name: those of this environment
   * (`forwardedPrefectSettings`: never the credentials), `PREFECT_API_URL`, then
   * `FLOW_RUN_PREFECT_SETTINGS` (the `prefectSettings` stack parameter) winning.
   */
  prefectSettings: Readonly<Record<string, string>>;
  /**
   * `ASSUME_ROLE_ARNS`: the roles a pool's `aws_credentials.assume_role_arn` may name (the stack
   * grants `sts:AssumeRole` on exactly these). Undefined when the variable is unset (local runs:
   * IAM decides); `[]` when set and empty (no role may be assumed).
   */
  assumeRoleArns: readonly string[] | undefined;
  /**
   * `STACK_ACCOUNT_ID` (the stack sets `AWS::AccountId`): tasks of this account and region are
   * followed with the functions' own role, as before per-pool credentials; tasks elsewhere with
   * their run's `aws_credentials`. Undefined: every run's credentials are read.
   */
  stackAccountId: string | undefined;
  awsRegion: string;
}

/** Which Lambda is loading; variables only one Lambda needs are required only there. */
export type ConfigRole = 'poller' | 'launcher' | 'reporter' | 'webhook';

/** Options of {@link loadConfig}. */
export interface LoadConfigOptions {
  /**
   * Default `launcher`. `TICK_QUEUE_URL` is required for the poller only; `PREFECT_WORK_POOLS` and
   * `LAUNCH_QUEUE_URL` for everyone but the reporter.
   */
  role?: ConfigRole;
}

const blankToUndefined = (value: unknown): unknown =>
  typeof value === 'string' && value.trim() === '' ? undefined : value;

const optionalString = z.preprocess(blankToUndefined, z.string().optional());

const httpUrl = (what: string) =>
  z
    .string({ error: 'required' })
    .trim()
    .min(1, 'required')
    .refine((value) => {
      try {
        const url = new URL(value);
        return url.protocol === 'http:' || url.protocol === 'https:';
      } catch {
        return false;
      }
    }, `must be an absolute http(s) URL (${what})`);

const secretArn = z.preprocess(
  blankToUndefined,
  z
    .string()
    .regex(
      // A Secrets Manager secret, or an SSM SecureString parameter (the default, docs/deploy.md).
      /^arn:aws[a-z-]*:(secretsmanager:[a-z0-9-]+:\d{12}:secret:|ssm:[a-z0-9-]+:\d{12}:parameter\/).+$/,
      'must be a Secrets Manager secret ARN (arn:aws:secretsmanager:<region>:<account>:secret:<name>) or an SSM parameter ARN (arn:aws:ssm:<region>:<account>:parameter/<name>)'
    )
    .optional()
);

const commaList = (value: string | undefined): string[] =>
  (value ?? '')
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item !== '');

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

const EnvSchema = z.object({
  PREFECT_API_URL: httpUrl('e.g. https://api.prefect.cloud/api/accounts/<a>/workspaces/<w>'),
  PREFECT_API_KEY: optionalString,
  PREFECT_API_AUTH_STRING: optionalString,
  PREFECT_API_KEY_SECRET_ARN: secretArn,
  PREFECT_API_AUTH_STRING_SECRET_ARN: secretArn,
  PREFECT_CLIENT_CUSTOM_HEADERS: CustomHeadersSchema,
  PREFECT_WORK_POOLS: optionalString.transform(commaList),
  PREFECT_WORK_QUEUES: optionalString.transform(commaList),
  LAUNCH_QUEUE_URL: z.preprocess(blankToUndefined, httpUrl('the launch queue URL').optional()),
  TICK_QUEUE_URL: z.preprocess(blankToUndefined, httpUrl('the tick queue URL').optional()),
  PREFECT_WORKER_NAME: z.preprocess(
    blankToUndefined,
    z.string().max(100, 'must be at most 100 characters').default(DEFAULT_WORKER_NAME)
  ),
  ECS_DEFAULT_IMAGE: z.preprocess(blankToUndefined, z.string().trim().default(DEFAULT_IMAGE)),
  ECS_EXECUTION_ROLE_ARN: z.preprocess(
    blankToUndefined,
    z
      .string()
      .regex(/^arn:aws[a-z-]*:iam::\d{12}:role\/.+$/, 'must be an IAM role ARN')
      .optional()
  ),
  LAUNCH_RETRY_DEADLINE_SECONDS: z.preprocess(
    blankToUndefined,
    z.coerce
      .number({ error: 'must be a whole number of seconds' })
      .int('must be a whole number of seconds')
      .min(0, 'must be ≥ 0')
      .max(7 * 24 * 3600, 'must be at most 604800 (7 days)')
      .default(DEFAULT_LAUNCH_RETRY_DEADLINE_SECONDS)
  ),
  ASSUME_ROLE_ARNS: z
    .string()
    .optional()
    .transform((value) => (value === undefined ? undefined : commaList(value)))
    .refine(
      (arns) => arns === undefined || arns.every((arn) => ROLE_ARN.test(arn)),
      'must be comma-separated IAM role ARNs (arn:aws:iam::<account id>:role/<name>)'
    ),
  STACK_ACCOUNT_ID: z.preprocess(
    blankToUndefined,
    z
      .string()
      .regex(/^\d{12}$/, 'must be a 12-digit AWS account id')
      .optional()
  ),
  TEMPLATE_ENV_ALLOWLIST: optionalString
    .transform(commaList)
    .refine(
      (names) => names.every((name) => ENV_NAME.test(name)),
      'must be comma-separated environment variable names'
    ),
  AWS_REGION: z
    .string({ error: 'required' })
    .regex(/^[a-z]{2}(-[a-z]+)+-\d+$/, 'must be an AWS region such as us-east-1'),
});

/**
 * The schema for one Lambda. The reporter follows task events of any pool and never sends to the launch
 * queue, so only the others need `PREFECT_WORK_POOLS` and `LAUNCH_QUEUE_URL`.
 */
const envSchemaFor = (role: ConfigRole) =>
  role === 'reporter'
    ? EnvSchema
    : EnvSchema.extend({
        PREFECT_WORK_POOLS: z
          .string({ error: 'required (comma-separated work pool names)' })
          .transform(commaList)
          .refine((pools) => pools.length > 0, 'required (comma-separated work pool names)'),
        LAUNCH_QUEUE_URL: httpUrl('the launch queue URL'),
      });

/**
 * Secrets the templates may never read with `{{ $NAME }}`, whatever the allow-list says: the Prefect
 * credentials, and the function role's temporary AWS credentials that Lambda puts in every environment
 * (a template reading them would copy them into a task definition).
 */
const NEVER_EXPOSED = new Set([
  'PREFECT_API_KEY',
  'PREFECT_API_AUTH_STRING',
  'PREFECT_CLIENT_CUSTOM_HEADERS',
  'AWS_ACCESS_KEY_ID',
  'AWS_SECRET_ACCESS_KEY',
  'AWS_SESSION_TOKEN',
]);

const describeIssue = (
  issue: z.core.$ZodIssue,
  env: Readonly<Record<string, string | undefined>>
): string => {
  const name = issue.path.map(String).join('.') || '(environment)';
  const missing = blankToUndefined(env[name]) === undefined;
  const message = issue.code === 'invalid_type' && missing ? 'required' : issue.message;
  return `${name}: ${message}`;
};

const credentialsOf = (env: z.output<typeof EnvSchema>): PrefectCredentialSource => {
  if (env.PREFECT_API_AUTH_STRING)
    return { kind: 'authString', value: env.PREFECT_API_AUTH_STRING };
  if (env.PREFECT_API_KEY) return { kind: 'apiKey', value: env.PREFECT_API_KEY };
  if (env.PREFECT_API_AUTH_STRING_SECRET_ARN) {
    return { kind: 'authStringSecret', secretArn: env.PREFECT_API_AUTH_STRING_SECRET_ARN };
  }
  if (env.PREFECT_API_KEY_SECRET_ARN) {
    return { kind: 'apiKeySecret', secretArn: env.PREFECT_API_KEY_SECRET_ARN };
  }
  return { kind: 'none' };
};

/**
 * Parses the environment. Throws a `ConfigError` listing every problem (names only, never values).
 * Call once per cold start and pass the result down; tests pass a plain object.
 *
 * Credentials: `PREFECT_API_AUTH_STRING` or `PREFECT_API_KEY` (local) are used as they are; otherwise
 * `PREFECT_API_AUTH_STRING_SECRET_ARN` / `PREFECT_API_KEY_SECRET_ARN` are read at cold start
 * (`resolvePrefectCredentials`). Without any of them the Lambda calls Prefect unauthenticated,
 * which suits an open local server only; a Prefect Cloud URL without credentials is an error.
 *
 * @example
 * const config = loadConfig({
 *   PREFECT_API_URL: 'http://localhost:4200/api',
 *   PREFECT_WORK_POOLS: 'ecs',
 *   LAUNCH_QUEUE_URL: 'https://sqs.us-east-1.amazonaws.com/123456789012/launch',
 *   AWS_REGION: 'us-east-1',
 * });
 * config.workPools; // ['ecs']
 */
export const loadConfig = (
  env: Readonly<Record<string, string | undefined>>,
  options: LoadConfigOptions = {}
): Config => {
  const role = options.role ?? 'launcher';
  const parsed = envSchemaFor(role).safeParse(env);
  const issues = parsed.success
    ? []
    : parsed.error.issues.map((issue) => describeIssue(issue, env));
  if (parsed.success) {
    const data = parsed.data;
    if (role === 'poller' && data.TICK_QUEUE_URL === undefined) {
      issues.push('TICK_QUEUE_URL: required for the poller');
    }
    if (
      credentialsOf(data).kind === 'none' &&
      new URL(data.PREFECT_API_URL).hostname.endsWith('prefect.cloud')
    ) {
      issues.push(
        'PREFECT_API_KEY_SECRET_ARN: Prefect Cloud needs an API key (set PREFECT_API_KEY_SECRET_ARN, or PREFECT_API_KEY locally)'
      );
    }
    const exposed = data.TEMPLATE_ENV_ALLOWLIST.filter((name) => NEVER_EXPOSED.has(name));
    if (exposed.length > 0) {
      issues.push(
        `TEMPLATE_ENV_ALLOWLIST: may not list the Prefect or AWS credentials (${exposed.join(', ')})`
      );
    }
  }
  const flowRunSettings = parseFlowRunPrefectSettings(env[FLOW_RUN_PREFECT_SETTINGS_VARIABLE]);
  issues.push(
    ...flowRunSettings.issues.map((issue) => `${FLOW_RUN_PREFECT_SETTINGS_VARIABLE}: ${issue}`)
  );
  if (!parsed.success || issues.length > 0) throw new ConfigError(issues);
  const data = parsed.data;
  const templateEnvironment: Record<string, string> = {};
  for (const name of data.TEMPLATE_ENV_ALLOWLIST) {
    const value = env[name];
    if (value !== undefined) templateEnvironment[name] = value;
  }
  return {
    prefectApiUrl: data.PREFECT_API_URL,
    prefectCredentials: credentialsOf(data),
    prefectCustomHeaders: data.PREFECT_CLIENT_CUSTOM_HEADERS,
    prefectApiKeySecretArn: data.PREFECT_API_KEY_SECRET_ARN,
    prefectApiAuthStringSecretArn: data.PREFECT_API_AUTH_STRING_SECRET_ARN,
    workPools: data.PREFECT_WORK_POOLS,
    workQueues: data.PREFECT_WORK_QUEUES,
    // Empty only for the reporter, which never sends to it (checked above).
    launchQueueUrl: data.LAUNCH_QUEUE_URL ?? '',
    tickQueueUrl: data.TICK_QUEUE_URL,
    workerName: data.PREFECT_WORKER_NAME,
    ecsDefaultImage: data.ECS_DEFAULT_IMAGE,
    ecsExecutionRoleArn: data.ECS_EXECUTION_ROLE_ARN,
    launchRetryDeadlineSeconds: data.LAUNCH_RETRY_DEADLINE_SECONDS,
    templateEnvAllowlist: data.TEMPLATE_ENV_ALLOWLIST,
    templateEnvironment,
    prefectSettings: {
      ...forwardedPrefectSettings(env),
      PREFECT_API_URL: data.PREFECT_API_URL,
      ...flowRunSettings.settings,
    },
    assumeRoleArns: data.ASSUME_ROLE_ARNS,
    stackAccountId: data.STACK_ACCOUNT_ID,
    awsRegion: data.AWS_REGION,
  };
};
