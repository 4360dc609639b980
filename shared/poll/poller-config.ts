/**
 * The poller's configuration: everything `shared/config.ts` reads (Prefect URL and credentials,
 * pools, queues, worker name, queue URLs) plus the poll's own variables below, parsed once per cold
 * start. A bad environment fails with one `ConfigError` listing every problem of both.
 *
 * | variable                  | default | meaning                                                              |
 * |---------------------------|---------|----------------------------------------------------------------------|
 * | `POLL_INTERVAL_SECONDS`   | 20      | seconds between polls (ticks within each scheduled minute); 5–60     |
 * | `POLL_PREFETCH_SECONDS`   | 60      | claim runs scheduled up to this far ahead; 0–900                     |
 * | `LAUNCH_LEAD_SECONDS`     | 0       | launch this long before the scheduled time; 0–`POLL_PREFETCH_SECONDS` |
 * | `POLL_LIMIT`              | 200     | runs per `get_scheduled_flow_runs` page; 1–200                       |
 * | `ORPHAN_AFTER_SECONDS`    | 300     | a claimed run without infrastructure this long after it was due is re-enqueued; 60–86400 |
 * | `ORPHAN_MAX_REQUEUES`     | 3       | re-enqueues before such a run is CRASHED; 0–20                       |
 * | `CANCEL_LOOKBACK_SECONDS` | 3600    | a run that reached CANCELLED this recently has its still-running task stopped; 60–86400 |
 *
 * The orphan sweep gives up `ORPHAN_AFTER_SECONDS × (ORPHAN_MAX_REQUEUES + 1)` after a launch was
 * due (1 200 s by default), which must exceed the launcher's own `LAUNCH_RETRY_DEADLINE_SECONDS`
 * (900 s by default), so that a run the launcher is still retrying is never crashed from here.
 */
import * as z from 'zod';
import { type Config, type LoadConfigOptions, loadConfig } from '../config.ts';
import { ConfigError } from '../errors/config-error.ts';
import type { PollOptions } from './poll-deps.ts';

/** The defaults of the poll variables. */
export const POLLER_DEFAULTS = {
  pollIntervalSeconds: 20,
  prefetchSeconds: 60,
  leadSeconds: 0,
  limit: 200,
  orphanAfterSeconds: 300,
  maxRequeues: 3,
  cancelLookbackSeconds: 3600,
} as const;

/** The poll variables, parsed. */
export interface PollerSettings {
  pollIntervalSeconds: number;
  prefetchSeconds: number;
  leadSeconds: number;
  limit: number;
  orphanAfterSeconds: number;
  maxRequeues: number;
  cancelLookbackSeconds: number;
}

/** The shared configuration plus the poll's. */
export interface PollerConfig extends Config {
  poll: PollerSettings;
}

const wholeNumber = (min: number, max: number, fallback: number, unit = '') =>
  z.preprocess(
    (value) => (typeof value === 'string' && value.trim() === '' ? undefined : value),
    z.coerce
      .number({ error: `must be a whole number${unit}` })
      .int(`must be a whole number${unit}`)
      .min(min, `must be at least ${min}`)
      .max(max, `must be at most ${max}`)
      .default(fallback)
  );

const PollEnvSchema = z.object({
  POLL_INTERVAL_SECONDS: wholeNumber(5, 60, POLLER_DEFAULTS.pollIntervalSeconds, ' of seconds'),
  POLL_PREFETCH_SECONDS: wholeNumber(0, 900, POLLER_DEFAULTS.prefetchSeconds, ' of seconds'),
  LAUNCH_LEAD_SECONDS: wholeNumber(0, 900, POLLER_DEFAULTS.leadSeconds, ' of seconds'),
  POLL_LIMIT: wholeNumber(1, 200, POLLER_DEFAULTS.limit),
  ORPHAN_AFTER_SECONDS: wholeNumber(60, 86_400, POLLER_DEFAULTS.orphanAfterSeconds, ' of seconds'),
  ORPHAN_MAX_REQUEUES: wholeNumber(0, 20, POLLER_DEFAULTS.maxRequeues),
  CANCEL_LOOKBACK_SECONDS: wholeNumber(
    60,
    86_400,
    POLLER_DEFAULTS.cancelLookbackSeconds,
    ' of seconds'
  ),
});

/**
 * Parses the poll variables alone; throws a `ConfigError` listing every problem.
 *
 * @example
 * loadPollerSettings({ POLL_INTERVAL_SECONDS: '15' }).pollIntervalSeconds; // 15
 */
export const loadPollerSettings = (
  env: Readonly<Record<string, string | undefined>>
): PollerSettings => {
  const parsed = PollEnvSchema.safeParse(env);
  const issues = parsed.success
    ? []
    : parsed.error.issues.map((issue) => `${issue.path.map(String).join('.')}: ${issue.message}`);
  if (parsed.success && parsed.data.LAUNCH_LEAD_SECONDS > parsed.data.POLL_PREFETCH_SECONDS) {
    issues.push(
      'LAUNCH_LEAD_SECONDS: must not exceed POLL_PREFETCH_SECONDS (a run is claimed at most POLL_PREFETCH_SECONDS before its scheduled time, so it cannot be launched earlier)'
    );
  }
  if (!parsed.success || issues.length > 0) throw new ConfigError(issues);
  const data = parsed.data;
  return {
    pollIntervalSeconds: data.POLL_INTERVAL_SECONDS,
    prefetchSeconds: data.POLL_PREFETCH_SECONDS,
    leadSeconds: data.LAUNCH_LEAD_SECONDS,
    limit: data.POLL_LIMIT,
    orphanAfterSeconds: data.ORPHAN_AFTER_SECONDS,
    maxRequeues: data.ORPHAN_MAX_REQUEUES,
    cancelLookbackSeconds: data.CANCEL_LOOKBACK_SECONDS,
  };
};

/**
 * Parses the shared and the poll variables together (default role `poller`, which requires
 * `TICK_QUEUE_URL`; the webhook passes `{ role: 'webhook' }`). One `ConfigError` lists every problem.
 *
 * @example
 * const config = loadPollerConfig(process.env);
 * const options = pollOptionsFromConfig(config);
 */
export const loadPollerConfig = (
  env: Readonly<Record<string, string | undefined>>,
  options: LoadConfigOptions = { role: 'poller' }
): PollerConfig => {
  const issues: string[] = [];
  let config: Config | undefined;
  let poll: PollerSettings | undefined;
  try {
    config = loadConfig(env, options);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    issues.push(...error.issues);
  }
  try {
    poll = loadPollerSettings(env);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    issues.push(...error.issues);
  }
  if (config === undefined || poll === undefined) throw new ConfigError(issues);
  const giveUpAfter = poll.orphanAfterSeconds * (poll.maxRequeues + 1);
  if (giveUpAfter <= config.launchRetryDeadlineSeconds) {
    throw new ConfigError([
      `ORPHAN_AFTER_SECONDS: × (ORPHAN_MAX_REQUEUES + 1) is ${giveUpAfter} s, which must exceed LAUNCH_RETRY_DEADLINE_SECONDS (${config.launchRetryDeadlineSeconds} s): otherwise the orphan sweep would crash runs the launcher is still retrying`,
    ]);
  }
  return { ...config, poll };
};

/**
 * The options `pollPools` takes, from the configuration.
 *
 * @example
 * pollPools({}, { options: pollOptionsFromConfig(config), prefect, queue, ecs, logger });
 */
export const pollOptionsFromConfig = (config: PollerConfig): PollOptions => ({
  workPools: config.workPools,
  workQueues: config.workQueues,
  workerName: config.workerName,
  launchQueueUrl: config.launchQueueUrl,
  pollIntervalSeconds: config.poll.pollIntervalSeconds,
  prefetchSeconds: config.poll.prefetchSeconds,
  leadSeconds: config.poll.leadSeconds,
  limit: config.poll.limit,
  orphanAfterSeconds: config.poll.orphanAfterSeconds,
  maxRequeues: config.poll.maxRequeues,
  cancelLookbackSeconds: config.poll.cancelLookbackSeconds,
});
