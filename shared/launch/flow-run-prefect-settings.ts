/**
 * `FLOW_RUN_PREFECT_SETTINGS`: Prefect settings the stack gives the launcher for its flow-run
 * containers (the `prefectSettings` stack parameter), as a JSON object such as
 * `{"PREFECT_LOGGING_LEVEL":"DEBUG","PREFECT_CLIENT_CUSTOM_HEADERS":{"X-Env":"prod"}}`. A deployed
 * Lambda's environment is fixed by the stack, so this is how a setting reaches the worker's
 * environment here; the launcher forwards these like the Prefect settings of its own environment
 * (`forwardedPrefectSettings`), and they win over those.
 */
import { isForwardableSetting, prefectSettingName } from './forwarded-prefect-settings.ts';

/** The launcher variable the `prefectSettings` parameter sets. */
export const FLOW_RUN_PREFECT_SETTINGS_VARIABLE = 'FLOW_RUN_PREFECT_SETTINGS';

/** Settings the stack sets itself: the parameter may not set them. */
const STACK_OWNED: Readonly<Record<string, string>> = {
  PREFECT_API_URL:
    "the containers get the stack's prefectApiUrl; a pool or deployment can set another in its env job variable",
};

/** The parsed variable: settings by canonical name, or what is wrong (names only, never values). */
export interface FlowRunPrefectSettings {
  settings: Record<string, string>;
  issues: string[];
}

/**
 * A value as Prefect writes it in `to_environment_variables`: strings as they are, numbers and
 * booleans as text, objects as JSON (`json.dumps`).
 */
const settingValue = (value: unknown): string | undefined => {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
    return JSON.stringify(value);
  }
  return undefined;
};

/**
 * Parses `FLOW_RUN_PREFECT_SETTINGS`. Blank: no settings. Every key must be a Prefect setting (an
 * alias is stored under its canonical name), never `PREFECT_API_KEY` / `PREFECT_API_AUTH_STRING`
 * (they reach the task only as secrets) nor `PREFECT_API_URL`.
 *
 * @example
 * parseFlowRunPrefectSettings('{"PREFECT_LOGGING_LEVEL":"DEBUG","PREFECT_FLOW_DEFAULT_RETRIES":2}');
 * // { settings: { PREFECT_FLOWS_DEFAULT_RETRIES: '2', PREFECT_LOGGING_LEVEL: 'DEBUG' }, issues: [] }
 */
export const parseFlowRunPrefectSettings = (text: string | undefined): FlowRunPrefectSettings => {
  if (text === undefined || text.trim() === '') return { settings: {}, issues: [] };
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    return {
      settings: {},
      issues: ['must be a JSON object of Prefect settings, e.g. {"PREFECT_LOGGING_LEVEL":"DEBUG"}'],
    };
  }
  const settings: Record<string, string> = {};
  const issues: string[] = [];
  for (const [name, raw] of Object.entries(parsed)) {
    const canonical = prefectSettingName(name);
    if (canonical === undefined) {
      issues.push(`${name} is not a Prefect setting (Prefect's settings reference lists them)`);
      continue;
    }
    if (!isForwardableSetting(canonical)) {
      issues.push(
        `may not set ${canonical}: the Prefect credentials reach the task only as a task-definition secret (prefectAuth / prefectApiSecretArn)`
      );
      continue;
    }
    const owned = STACK_OWNED[canonical];
    if (owned !== undefined) {
      issues.push(`may not set ${canonical}: ${owned}`);
      continue;
    }
    if (Object.hasOwn(settings, canonical)) {
      issues.push(`${name} sets ${canonical} a second time (under another of its names)`);
      continue;
    }
    const value = settingValue(raw);
    if (value === undefined) {
      issues.push(`${name} must be a string, number, boolean or JSON object`);
      continue;
    }
    settings[canonical] = value;
  }
  const sorted = Object.fromEntries(
    Object.entries(settings).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
  );
  return { settings: issues.length > 0 ? {} : sorted, issues };
};
