import { isJsonObject, type JsonObject, setOwn } from './json-object.ts';

/**
 * Environment variables that carry Prefect credentials. The ECS builders give them to the task as
 * task-definition `secrets` from Secrets Manager ARNs; they never travel as plain environment
 * variables (which RunTask records in CloudTrail and `DescribeTasks`).
 */
export const PREFECT_CREDENTIAL_VARIABLES = ['PREFECT_API_KEY', 'PREFECT_API_AUTH_STRING'] as const;

/** In any case: Prefect reads its settings from the environment case-insensitively (pydantic-settings). */
const isCredential = (name: string): boolean =>
  (PREFECT_CREDENTIAL_VARIABLES as readonly string[]).includes(name.toUpperCase());

/** An environment without credentials, and the credential names that were set (non-null). */
export interface CredentialFreeEnvironment<V> {
  env: Record<string, V>;
  removed: string[];
}

/**
 * Drops `PREFECT_API_KEY` and `PREFECT_API_AUTH_STRING`, in any case, from an environment object.
 *
 * @example
 * withoutCredentials({ PREFECT_API_URL: 'https://…', PREFECT_API_KEY: 'pnu_…' });
 * // { env: { PREFECT_API_URL: 'https://…' }, removed: ['PREFECT_API_KEY'] }
 */
export const withoutCredentials = <V>(
  env: Readonly<Record<string, V>>
): CredentialFreeEnvironment<V> => {
  const kept: Record<string, V> = {};
  const removed: string[] = [];
  for (const [name, value] of Object.entries(env)) {
    if (!isCredential(name)) setOwn(kept, name, value);
    else if (value !== null && value !== undefined) removed.push(name);
  }
  return { env: kept, removed };
};

const stripEnvironment = (environment: unknown): { value: unknown; removed: string[] } => {
  if (isJsonObject(environment)) {
    const { env, removed } = withoutCredentials(environment);
    return { value: env, removed };
  }
  if (Array.isArray(environment)) {
    const removed: string[] = [];
    const value = environment.filter((item) => {
      const name = isJsonObject(item) ? item.name : undefined;
      if (typeof name === 'string' && isCredential(name)) {
        removed.push(name);
        return false;
      }
      return true;
    });
    return { value, removed };
  }
  return { value: environment, removed: [] };
};

/**
 * Drops the credential variables from every `overrides.containerOverrides[].environment` of a
 * templated RunTask request, whether templating left an object there (`"{{ env }}"`) or a
 * `[{name, value}]` list. Everything else is kept as it is.
 *
 * @example
 * withoutOverrideCredentials({ overrides: { containerOverrides: [{ environment: { PREFECT_API_KEY: 'k', A: '1' } }] } });
 * // { taskRunRequest: { overrides: { containerOverrides: [{ environment: { A: '1' } }] } }, removed: ['PREFECT_API_KEY'] }
 */
export const withoutOverrideCredentials = (
  taskRunRequest: JsonObject
): { taskRunRequest: JsonObject; removed: string[] } => {
  const overrides = taskRunRequest.overrides;
  if (!isJsonObject(overrides) || !Array.isArray(overrides.containerOverrides)) {
    return { taskRunRequest, removed: [] };
  }
  const removed: string[] = [];
  const containerOverrides = overrides.containerOverrides.map((container: unknown) => {
    if (!isJsonObject(container) || !Object.hasOwn(container, 'environment')) return container;
    const stripped = stripEnvironment(container.environment);
    removed.push(...stripped.removed);
    return { ...container, environment: stripped.value };
  });
  if (removed.length === 0) return { taskRunRequest, removed };
  return {
    taskRunRequest: { ...taskRunRequest, overrides: { ...overrides, containerOverrides } },
    removed: [...new Set(removed)],
  };
};
