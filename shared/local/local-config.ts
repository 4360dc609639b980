/**
 * The local worker's configuration: the Lambdas' variables (`shared/config.ts`,
 * `shared/poll/poller-config.ts`, `shared/report/reporter-config.ts`), read once, with what only a
 * single process needs:
 *
 * | variable                       | default | meaning                                                     |
 * |--------------------------------|---------|-------------------------------------------------------------|
 * | `TASK_FOLLOW_INTERVAL_SECONDS` | 5       | seconds between the DescribeTasks rounds that follow tasks; 1–60 |
 * | `LOG_LEVEL`                    | INFO    | DEBUG, INFO, WARN or ERROR (`POWERTOOLS_LOG_LEVEL` also works) |
 *
 * No queue URL is needed: the launch queue is in the process, so `LAUNCH_QUEUE_URL` and
 * `TICK_QUEUE_URL` are ignored. The region comes from `AWS_REGION`, else from the AWS SDK's
 * default chain (the profile's `region`), which the caller resolves and passes.
 */
import * as z from 'zod';
import { ConfigError } from '../errors/config-error.ts';
import { loadPollerConfig, type PollerConfig } from '../poll/poller-config.ts';
import { loadReporterConfig, type ReporterConfig } from '../report/reporter-config.ts';
import { type LogLevel, parseLogLevel } from './text-logger.ts';

/** The URL the poller sends launch messages to: the in-process queue's name, never contacted. */
export const LOCAL_LAUNCH_QUEUE_URL = 'http://localhost/prefect-ecs-serverless/in-process/launch';

/** Default seconds between follow rounds. */
export const DEFAULT_FOLLOW_INTERVAL_SECONDS = 5;

/** The parsed configuration. */
export interface LocalWorkerConfig {
  /** The poller's configuration (also what the launcher and the reporter read). */
  poller: PollerConfig;
  reporter: ReporterConfig;
  followIntervalSeconds: number;
  logLevel: LogLevel;
}

const FollowSchema = z.preprocess(
  (value) => (typeof value === 'string' && value.trim() === '' ? undefined : value),
  z.coerce
    .number({ error: 'must be a whole number of seconds' })
    .int('must be a whole number of seconds')
    .min(1, 'must be at least 1')
    .max(60, 'must be at most 60')
    .default(DEFAULT_FOLLOW_INTERVAL_SECONDS)
);

/**
 * Parses the environment; `region` is the default chain's region, used when `AWS_REGION` is not
 * set. Throws one `ConfigError` listing every problem.
 *
 * @example
 * const config = loadLocalWorkerConfig(process.env, await new ECSClient({}).config.region());
 * config.poller.workPools; // ['my-ecs-pool']
 */
export const loadLocalWorkerConfig = (
  env: Readonly<Record<string, string | undefined>>,
  region?: string
): LocalWorkerConfig => {
  const issues: string[] = [];
  const effective: Record<string, string | undefined> = {
    ...env,
    AWS_REGION: env.AWS_REGION?.trim() ? env.AWS_REGION : region,
    LAUNCH_QUEUE_URL: LOCAL_LAUNCH_QUEUE_URL,
    TICK_QUEUE_URL: undefined,
  };
  let poller: PollerConfig | undefined;
  let reporter: ReporterConfig | undefined;
  try {
    // The webhook's role: no tick queue (the local cadence is a timer).
    poller = loadPollerConfig(effective, { role: 'webhook' });
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    issues.push(
      ...error.issues.map((issue) =>
        issue.startsWith('AWS_REGION:')
          ? `${issue} (set AWS_REGION, or a region in your AWS profile: aws configure set region <region>)`
          : issue
      )
    );
  }
  try {
    reporter = loadReporterConfig(effective);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    issues.push(...error.issues);
  }
  const follow = FollowSchema.safeParse(env.TASK_FOLLOW_INTERVAL_SECONDS);
  if (!follow.success) {
    issues.push(
      ...follow.error.issues.map((issue) => `TASK_FOLLOW_INTERVAL_SECONDS: ${issue.message}`)
    );
  }
  const levelName = env.LOG_LEVEL ?? env.POWERTOOLS_LOG_LEVEL;
  const logLevel = levelName?.trim() ? parseLogLevel(levelName) : 'info';
  if (logLevel === undefined) issues.push('LOG_LEVEL: must be DEBUG, INFO, WARN or ERROR');
  if (
    poller === undefined ||
    reporter === undefined ||
    !follow.success ||
    logLevel === undefined ||
    issues.length > 0
  ) {
    throw new ConfigError(issues);
  }
  return { poller, reporter, followIntervalSeconds: follow.data, logLevel };
};
