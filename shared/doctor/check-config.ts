/**
 * Check: the environment parses as the Lambdas parse it (`loadPollerConfig` for the shared and poll
 * variables, `loadReporterConfig` for the reporter's), every problem listed at once, never a value.
 * `LAUNCH_QUEUE_URL` is created and set by the deployed stack: when it is unset (a local run before
 * deploying) it is not reported, and nothing here uses it.
 */
import { type Config, DEFAULT_WORKER_NAME } from '../config.ts';
import { ConfigError } from '../errors/config-error.ts';
import { loadPollerConfig } from '../poll/poller-config.ts';
import { loadReporterConfig } from '../report/reporter-config.ts';
import { type CheckResult, fail, pass } from './check-result.ts';

export const CONFIG_CHECK_NAME = 'Configuration';

/** What parsing the environment gave. */
export type ConfigOutcome =
  | { ok: true; config: Config; launchQueueUrlSet: boolean }
  | { ok: false; issues: readonly string[] };

/** Stands in for an unset `LAUNCH_QUEUE_URL` while parsing; never used for a call. */
const UNSET_QUEUE_URL = 'https://sqs.invalid/000000000000/launch-queue-not-set';

const isBlank = (value: string | undefined): boolean => value === undefined || value.trim() === '';

/**
 * Parses `env` (I/O free). Collects the problems of every loader into one list.
 *
 * @example
 * parseDoctorConfig({ PREFECT_API_URL: 'nope' }); // { ok: false, issues: ['PREFECT_API_URL: …', …] }
 */
export const parseDoctorConfig = (
  env: Readonly<Record<string, string | undefined>>
): ConfigOutcome => {
  const launchQueueUrlSet = !isBlank(env.LAUNCH_QUEUE_URL);
  const parsed = launchQueueUrlSet ? env : { ...env, LAUNCH_QUEUE_URL: UNSET_QUEUE_URL };
  const issues: string[] = [];
  let config: Config | undefined;
  try {
    config = loadPollerConfig(parsed, { role: 'webhook' });
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    issues.push(...error.issues);
  }
  try {
    loadReporterConfig(env);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    issues.push(...error.issues);
  }
  if (config === undefined || issues.length > 0) return { ok: false, issues };
  return { ok: true, config, launchQueueUrlSet };
};

const credentialOf = (config: Config): string => {
  switch (config.prefectCredentials.kind) {
    case 'authString':
      return 'PREFECT_API_AUTH_STRING';
    case 'apiKey':
      return 'PREFECT_API_KEY';
    case 'authStringSecret':
      return 'PREFECT_API_AUTH_STRING_SECRET_ARN';
    case 'apiKeySecret':
      return 'PREFECT_API_KEY_SECRET_ARN';
    case 'none':
      return 'no Prefect credential';
  }
};

/** The check's verdict on a parse (pure). */
export const decideConfig = (outcome: ConfigOutcome): CheckResult => {
  if (!outcome.ok) {
    return fail(
      CONFIG_CHECK_NAME,
      `${outcome.issues.length} problem${outcome.issues.length === 1 ? '' : 's'}:\n${outcome.issues.map((issue) => `- ${issue}`).join('\n')}`,
      'Set or correct the variables listed (see "Configuration reference" in the README).'
    );
  }
  const { config } = outcome;
  const parts = [
    `pools ${config.workPools.join(', ')}`,
    `region ${config.awsRegion}`,
    credentialOf(config),
    config.workerName === DEFAULT_WORKER_NAME ? undefined : `worker ${config.workerName}`,
    outcome.launchQueueUrlSet
      ? undefined
      : 'LAUNCH_QUEUE_URL not set (the deployed stack sets it; not needed here)',
  ];
  return pass(CONFIG_CHECK_NAME, parts.filter((part) => part !== undefined).join('; '));
};
