/**
 * The launcher settings `render` renders with, read from the same environment variables the
 * launcher reads (`shared/config.ts`), with placeholders where the local environment does not say
 * what the deployed launcher has. Only what rendering needs is read; nothing here is required.
 */
import { DEFAULT_IMAGE, DEFAULT_WORKER_NAME } from '../shared/config.ts';
import {
  FLOW_RUN_PREFECT_SETTINGS_VARIABLE,
  parseFlowRunPrefectSettings,
} from '../shared/launch/flow-run-prefect-settings.ts';
import { forwardedPrefectSettings } from '../shared/launch/forwarded-prefect-settings.ts';
import type { RenderSettings } from '../shared/launch/render-launch-requests.ts';
import { UsageError } from './cli-command.ts';

/** Placeholders for settings the environment does not give, and the variable that sets each. */
export const SETTING_PLACEHOLDERS = {
  PREFECT_API_URL: '<PREFECT_API_URL>',
  AWS_REGION: '<AWS_REGION>',
  ECS_EXECUTION_ROLE_ARN: '<ECS_EXECUTION_ROLE_ARN>',
  PREFECT_API_KEY_SECRET_ARN: '<PREFECT_API_KEY_SECRET_ARN>',
} as const;

/** Credentials `{{ $NAME }}` may never read (as in `loadConfig`). */
const NEVER_EXPOSED = new Set(['PREFECT_API_KEY', 'PREFECT_API_AUTH_STRING']);
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

const value = (env: Readonly<Record<string, string | undefined>>, name: string) => {
  const raw = env[name]?.trim();
  return raw === undefined || raw === '' ? undefined : raw;
};

/**
 * Settings from the environment. The container's Prefect credential appears only as a secret ARN:
 * `PREFECT_API_KEY_SECRET_ARN` / `PREFECT_API_AUTH_STRING_SECRET_ARN` when set, else the
 * placeholder `<PREFECT_API_KEY_SECRET_ARN>`; the values of `PREFECT_API_KEY` and
 * `PREFECT_API_AUTH_STRING` are never read here.
 *
 * @example
 * renderSettingsFromEnv({ AWS_REGION: 'eu-west-1' }).region; // 'eu-west-1'
 */
export const renderSettingsFromEnv = (
  env: Readonly<Record<string, string | undefined>>
): RenderSettings => {
  const allowlist = (value(env, 'TEMPLATE_ENV_ALLOWLIST') ?? '')
    .split(',')
    .map((name) => name.trim())
    .filter((name) => name !== '');
  const invalid = allowlist.filter((name) => !ENV_NAME.test(name));
  if (invalid.length > 0) {
    throw new UsageError(
      `TEMPLATE_ENV_ALLOWLIST must be comma-separated environment variable names (not ${invalid.join(', ')}).`
    );
  }
  const exposed = allowlist.filter((name) => NEVER_EXPOSED.has(name));
  if (exposed.length > 0) {
    throw new UsageError(
      `TEMPLATE_ENV_ALLOWLIST may not list the Prefect credentials (${exposed.join(', ')}).`
    );
  }
  const templateEnvironment: Record<string, string> = {};
  for (const name of allowlist) {
    const given = env[name];
    if (given !== undefined) templateEnvironment[name] = given;
  }
  // The Prefect settings the launcher forwards: those of this environment (as the launcher's), then
  // FLOW_RUN_PREFECT_SETTINGS (the prefectSettings parameter); never the credentials.
  const flowRunSettings = parseFlowRunPrefectSettings(env[FLOW_RUN_PREFECT_SETTINGS_VARIABLE]);
  if (flowRunSettings.issues.length > 0) {
    throw new UsageError(
      `${FLOW_RUN_PREFECT_SETTINGS_VARIABLE}: ${flowRunSettings.issues.join('; ')}.`
    );
  }
  const authStringSecretArn = value(env, 'PREFECT_API_AUTH_STRING_SECRET_ARN');
  const apiKeySecretArn =
    value(env, 'PREFECT_API_KEY_SECRET_ARN') ??
    (authStringSecretArn ? undefined : SETTING_PLACEHOLDERS.PREFECT_API_KEY_SECRET_ARN);
  return {
    prefectApiUrl: value(env, 'PREFECT_API_URL') ?? SETTING_PLACEHOLDERS.PREFECT_API_URL,
    workerName: value(env, 'PREFECT_WORKER_NAME') ?? DEFAULT_WORKER_NAME,
    region:
      value(env, 'AWS_REGION') ??
      value(env, 'AWS_DEFAULT_REGION') ??
      SETTING_PLACEHOLDERS.AWS_REGION,
    defaultImage: value(env, 'ECS_DEFAULT_IMAGE') ?? DEFAULT_IMAGE,
    executionRoleArn:
      value(env, 'ECS_EXECUTION_ROLE_ARN') ?? SETTING_PLACEHOLDERS.ECS_EXECUTION_ROLE_ARN,
    apiKeySecretArn,
    authStringSecretArn,
    templateEnvironment,
    templateEnvAllowlist: allowlist,
    prefectSettings: { ...forwardedPrefectSettings(env), ...flowRunSettings.settings },
  };
};

/**
 * Notes for the placeholders that made it into the output, saying which variable gives the value.
 *
 * @example
 * placeholderNotes('{"executionRoleArn":"<ECS_EXECUTION_ROLE_ARN>"}');
 * // ['<ECS_EXECUTION_ROLE_ARN>: set ECS_EXECUTION_ROLE_ARN as the launcher has it to see the value.']
 */
export const placeholderNotes = (output: string): string[] =>
  Object.entries(SETTING_PLACEHOLDERS)
    .filter(([, placeholder]) => output.includes(placeholder))
    .map(
      ([name, placeholder]) =>
        `${placeholder}: a launcher setting this environment does not give; set ${name} as the launcher has it to see the value.`
    );
