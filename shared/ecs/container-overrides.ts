import type { ContainerOverride, KeyValuePair } from '@aws-sdk/client-ecs';
import { EcsConfigurationError } from './ecs-configuration-error.ts';
import { cloneJson, dropEmptyKeys, isRecord, recordsIn } from './json-values.ts';
import { isPrefectCredentialVariable } from './prefect-api-secrets.ts';
import { ShlexSplitError, shlexSplit } from './shlex-split.ts';

/**
 * Prefect's setting for what `prefect flow-run execute` does on SIGTERM; `reschedule` puts the run
 * back to Scheduled instead of Crashed, which is what a Fargate Spot interruption calls for.
 */
export const SIGTERM_BEHAVIOR_VARIABLE = 'PREFECT_FLOW_RUN_EXECUTE_SIGTERM_BEHAVIOR';

export interface ContainerOverridesInput {
  /** The templated `task_run_request.overrides.containerOverrides`. */
  templateOverrides: unknown;
  /** The orchestration container's name. */
  containerName: string;
  /** `configuration.command` (a shell-like string). */
  command: string;
  /** `configuration.env`: the full flow-run environment; `null` unsets. */
  env: Readonly<Record<string, string | null>>;
  /** Add `PREFECT_FLOW_RUN_EXECUTE_SIGTERM_BEHAVIOR=reschedule` unless the user set it. */
  rescheduleOnSigterm: boolean;
}

/**
 * RunTask `overrides.containerOverrides` as prefect-aws builds them, plus our guarantees:
 *
 * - the first override without a name gets the orchestration container's name; when no override
 *   names that container one is added (prefect-aws then sends no env and no command at all);
 * - its `command` is `command` split like Python's `shlex.split`; other string commands are split too;
 * - `environment` objects become `[{name, value}]` lists without null values; the orchestration
 *   container's is the template's minus the names `env` sets or unsets, then `env`'s non-null values;
 * - with `rescheduleOnSigterm`, `PREFECT_FLOW_RUN_EXECUTE_SIGTERM_BEHAVIOR=reschedule` is added
 *   unless the template or `env` mentions it;
 * - `PREFECT_API_KEY` / `PREFECT_API_AUTH_STRING` are removed from every override (they reach the
 *   container only as task-definition secrets), with a warning;
 * - numeric-string `cpu`/`memory`/`memoryReservation` become integers; empty members and overrides
 *   left with nothing but a name are dropped.
 *
 * @example
 * ```ts
 * buildContainerOverrides({ templateOverrides: [{ environment: { A: '1' } }], containerName: 'prefect',
 *   command: 'prefect flow-run execute', env: { PREFECT__FLOW_RUN_ID: id }, rescheduleOnSigterm: false });
 * // { containerOverrides: [{ name: 'prefect', command: ['prefect', 'flow-run', 'execute'],
 * //   environment: [{ name: 'A', value: '1' }, { name: 'PREFECT__FLOW_RUN_ID', value: id }] }], warnings: [] }
 * ```
 */
export const buildContainerOverrides = (
  input: ContainerOverridesInput
): { containerOverrides: ContainerOverride[]; warnings: string[] } => {
  const warnings: string[] = [];
  const overrides = recordsIn(cloneJson(input.templateOverrides));
  const first = overrides[0];
  if (first && !(typeof first.name === 'string' && first.name !== '')) {
    first.name = input.containerName;
  }
  let orchestration = overrides.find((override) => override.name === input.containerName);
  if (!orchestration) {
    orchestration = { name: input.containerName };
    overrides.push(orchestration);
  }
  if (input.command) orchestration.command = splitCommand(input.command);

  for (const override of overrides) {
    if (typeof override.command === 'string') override.command = splitCommand(override.command);
    override.environment = environmentList(override.environment);
  }

  const templateEnvironment = orchestration.environment as KeyValuePair[];
  const environment = [
    ...templateEnvironment.filter((item) => !Object.hasOwn(input.env, item.name ?? '')),
    ...Object.entries(input.env).flatMap(([name, value]) =>
      value === null || value === undefined ? [] : [{ name, value }]
    ),
  ];
  const mentioned =
    Object.hasOwn(input.env, SIGTERM_BEHAVIOR_VARIABLE) ||
    templateEnvironment.some((item) => item.name === SIGTERM_BEHAVIOR_VARIABLE);
  if (input.rescheduleOnSigterm && !mentioned) {
    environment.push({ name: SIGTERM_BEHAVIOR_VARIABLE, value: 'reschedule' });
  }
  orchestration.environment = environment;

  for (const override of overrides) {
    const list = override.environment as KeyValuePair[];
    const credentials = list.filter((item) => isPrefectCredentialVariable(item.name));
    for (const item of credentials) {
      warnings.push(
        `Removed ${item.name} from the environment of container '${String(override.name)}': Prefect credentials reach the container only as a task-definition secret (prefect_api_key_secret_arn / prefect_api_auth_string_secret_arn).`
      );
    }
    override.environment = list.filter((item) => !isPrefectCredentialVariable(item.name));
    for (const key of ['cpu', 'memory', 'memoryReservation']) {
      const value = override[key];
      if (typeof value === 'string' && /^\d+$/.test(value.trim())) override[key] = Number(value);
    }
    dropEmptyKeys(override);
  }
  const kept = overrides.filter((override) => Object.keys(override).some((key) => key !== 'name'));
  return { containerOverrides: kept as ContainerOverride[], warnings };
};

const splitCommand = (command: string): string[] => {
  try {
    return shlexSplit(command);
  } catch (error) {
    if (!(error instanceof ShlexSplitError)) throw error;
    throw new EcsConfigurationError(
      // The rendered command is not quoted: a block placeholder may have put a secret in it.
      `command cannot be split into arguments (${error.message}). Balance its quotes, or escape the quote or trailing backslash with a backslash.`,
      { variable: 'command', cause: error }
    );
  }
};

/** `{name: value}` or `[{name, value}]` → `[{name, value}]` without null values or nameless items. */
const environmentList = (environment: unknown): KeyValuePair[] => {
  const pairs: [unknown, unknown][] = Array.isArray(environment)
    ? environment.filter(isRecord).map((item) => [item.name, item.value])
    : isRecord(environment)
      ? Object.entries(environment)
      : [];
  return pairs.flatMap(([name, value]) =>
    typeof name === 'string' && name !== '' && value !== null && value !== undefined
      ? [{ name, value: String(value) }]
      : []
  );
};
