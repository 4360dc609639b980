/**
 * The Prefect settings a flow-run container inherits from the launcher, as it inherits them from
 * Prefect's worker. There, `BaseJobConfiguration._base_environment()` is
 * `get_current_settings().to_environment_variables(exclude_unset=True)` (src/prefect/workers/base.py):
 * every Prefect setting the worker's process has set, under its canonical name, is the first layer
 * of the container's `env` (then `PREFECT__FLOW_RUN_ID`, the attribution variables and the job
 * variable `env`, later layers winning; `prepareForFlowRun` keeps that order).
 *
 * What counts as a setting is Prefect's settings models, listed in `prefect-setting-names.json`
 * (canonical names and their aliases, from Prefect's published settings schema). Variables that are
 * not settings are never forwarded: pydantic-settings ignores them in Prefect too, and here they
 * are the stack's own (`PREFECT_API_KEY_SECRET_ARN`, `PREFECT_WORK_POOLS`, `PREFECT_WORK_QUEUES`,
 * `PREFECT_WORKER_NAME`, …). The credentials `PREFECT_API_KEY` / `PREFECT_API_AUTH_STRING` are
 * settings but never forwarded as plain variables: the task gets them as task-definition secrets
 * (prefect-aws does the same only when a `*_secret_arn` is configured; we always do).
 */
import { PREFECT_CREDENTIAL_VARIABLES } from '../jobs/prefect-credentials.ts';
import settingNames from './prefect-setting-names.json' with { type: 'json' };

/** Where the list of setting names comes from (for messages and docs). */
export const PREFECT_SETTINGS_SOURCE = settingNames.source;

/** Upper-case name (canonical or alias) → canonical name, in Prefect's order of precedence. */
const canonicalByName: ReadonlyMap<string, string> = new Map(
  Object.entries(settingNames.settings as Record<string, string[]>).flatMap(
    ([canonical, aliases]) => [canonical, ...aliases].map((name) => [name, canonical] as const)
  )
);

/** Settings that Prefect's worker forwards but we never pass as plain environment variables. */
const NEVER_FORWARDED: ReadonlySet<string> = new Set(PREFECT_CREDENTIAL_VARIABLES);

/**
 * Settings of the launcher's own environment that are not passed on implicitly, though Prefect's
 * worker would: the launcher treats its `PREFECT_CLIENT_CUSTOM_HEADERS` as a secret (an access
 * proxy's token; redacted in logs, never readable by templates), and container overrides are
 * recorded in plain text (CloudTrail, DescribeTasks, task events). Containers get custom headers
 * only when asked for explicitly: the `prefectSettings` parameter or the `env` job variable.
 */
const NOT_INHERITED: ReadonlySet<string> = new Set(['PREFECT_CLIENT_CUSTOM_HEADERS']);

/**
 * The canonical name of a Prefect setting, or `undefined` for a name that is not one. Prefect reads
 * settings case-insensitively and under their aliases (`PREFECT_SERVER_CSRF_PROTECTION_ENABLED` is
 * `PREFECT_SERVER_API_CSRF_PROTECTION_ENABLED`).
 *
 * @example
 * prefectSettingName('prefect_logging_level'); // 'PREFECT_LOGGING_LEVEL'
 * prefectSettingName('PREFECT_WORK_POOLS'); // undefined
 */
export const prefectSettingName = (name: string): string | undefined =>
  canonicalByName.get(name.toUpperCase());

/** Whether a setting may travel to the container as a plain variable (not a credential). */
export const isForwardableSetting = (canonical: string): boolean => !NEVER_FORWARDED.has(canonical);

/** 0 for the canonical name, then the alias's position (Prefect's `AliasChoices` order). */
const rankOf = (canonical: string, upperName: string): number => {
  const aliases = (settingNames.settings as Record<string, string[]>)[canonical] ?? [];
  return upperName === canonical ? 0 : 1 + aliases.indexOf(upperName);
};

/**
 * The Prefect settings of an environment that Prefect's worker would pass to the container, by
 * canonical name: names that are not Prefect settings, blank values, the credentials and the
 * launcher's custom headers are left out. When a setting is set under several of its names, the one Prefect reads first wins (the
 * canonical name, then the aliases in the models' order).
 *
 * @example
 * forwardedPrefectSettings({
 *   PREFECT_API_URL: 'https://api.prefect.cloud/api/accounts/a/workspaces/w',
 *   PREFECT_LOGGING_LEVEL: 'DEBUG',
 *   PREFECT_API_KEY: 'pnu_…',
 *   PREFECT_WORK_POOLS: 'ecs',
 * });
 * // { PREFECT_API_URL: 'https://…', PREFECT_LOGGING_LEVEL: 'DEBUG' }
 */
export const forwardedPrefectSettings = (
  env: Readonly<Record<string, string | undefined>>
): Record<string, string> => {
  const found = new Map<string, { rank: number; value: string }>();
  for (const [name, value] of Object.entries(env)) {
    if (value === undefined || value.trim() === '') continue;
    const canonical = prefectSettingName(name);
    if (canonical === undefined || !isForwardableSetting(canonical)) continue;
    if (NOT_INHERITED.has(canonical)) continue;
    const rank = rankOf(canonical, name.toUpperCase());
    const current = found.get(canonical);
    if (current === undefined || rank < current.rank) found.set(canonical, { rank, value });
  }
  return Object.fromEntries(
    [...found.entries()]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([canonical, { value }]) => [canonical, value])
  );
};
