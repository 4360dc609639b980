import type { EcsJobConfiguration } from '../jobs/ecs-job-configuration.ts';
import { isRecord } from './json-values.ts';

/** Environment variables that carry Prefect credentials; never sent in plain text. */
export const PREFECT_CREDENTIAL_VARIABLES = ['PREFECT_API_KEY', 'PREFECT_API_AUTH_STRING'] as const;

export type PrefectCredentialVariable = (typeof PREFECT_CREDENTIAL_VARIABLES)[number];

/** The launcher's own secret ARNs, used when the job configuration names none. */
export interface DefaultPrefectSecrets {
  /** Secrets Manager ARN holding the Prefect Cloud API key. */
  apiKeySecretArn?: string | undefined;
  /** Secrets Manager ARN holding a self-hosted server's `user:password` auth string. */
  authStringSecretArn?: string | undefined;
}

/**
 * The credential variable `name` sets, in any case (Prefect reads its settings from the environment
 * case-insensitively, so `prefect_api_key` is the API key too); undefined for any other name.
 *
 * @example
 * ```ts
 * credentialVariableOf('prefect_api_key'); // 'PREFECT_API_KEY'
 * ```
 */
export const credentialVariableOf = (name: unknown): PrefectCredentialVariable | undefined =>
  typeof name === 'string'
    ? PREFECT_CREDENTIAL_VARIABLES.find((variable) => variable === name.toUpperCase())
    : undefined;

/**
 * Whether `name` is `PREFECT_API_KEY` or `PREFECT_API_AUTH_STRING`, in any case.
 *
 * @example
 * ```ts
 * isPrefectCredentialVariable('PREFECT_API_KEY'); // true
 * ```
 */
export const isPrefectCredentialVariable = (name: unknown): boolean =>
  credentialVariableOf(name) !== undefined;

/** Which secret each credential variable comes from, and whether the job configuration chose it. */
interface SecretSource {
  name: PrefectCredentialVariable;
  valueFrom: string;
  configured: boolean;
}

const sources = (
  configuration: Pick<
    EcsJobConfiguration,
    'prefect_api_key_secret_arn' | 'prefect_api_auth_string_secret_arn'
  >,
  defaults: DefaultPrefectSecrets
): SecretSource[] => {
  const pick = (
    name: PrefectCredentialVariable,
    configured: string | null,
    fallback: string | undefined
  ): SecretSource[] => {
    if (configured) return [{ name, valueFrom: configured, configured: true }];
    return fallback ? [{ name, valueFrom: fallback, configured: false }] : [];
  };
  return [
    ...pick('PREFECT_API_KEY', configuration.prefect_api_key_secret_arn, defaults.apiKeySecretArn),
    ...pick(
      'PREFECT_API_AUTH_STRING',
      configuration.prefect_api_auth_string_secret_arn,
      defaults.authStringSecretArn
    ),
  ];
};

/**
 * Gives the orchestration container its Prefect credentials as task-definition `secrets`
 * (`{name: 'PREFECT_API_KEY' | 'PREFECT_API_AUTH_STRING', valueFrom: <Secrets Manager ARN>}`), from
 * `prefect_api_key_secret_arn` / `prefect_api_auth_string_secret_arn`, else from the launcher's
 * defaults. Secrets already on the container are kept; for the same name the job configuration's
 * ARN wins over the template's secret, which wins over the launcher's default. Both variables are
 * removed, in any case, from the container's plain `environment`. Mutates `container`; returns the
 * names whose plain value was removed without a secret to replace it (the caller refuses those).
 *
 * @example
 * ```ts
 * const container = { name: 'prefect', environment: [{ name: 'PREFECT_API_KEY', value: 'pnu_…' }] };
 * applyPrefectSecrets(container, { prefect_api_key_secret_arn: arn, prefect_api_auth_string_secret_arn: null }, {});
 * // container: { name: 'prefect', secrets: [{ name: 'PREFECT_API_KEY', valueFrom: arn }] }; returns []
 * ```
 */
export const applyPrefectSecrets = (
  container: Record<string, unknown>,
  configuration: Pick<
    EcsJobConfiguration,
    'prefect_api_key_secret_arn' | 'prefect_api_auth_string_secret_arn'
  >,
  defaults: DefaultPrefectSecrets
): PrefectCredentialVariable[] => {
  const environment = Array.isArray(container.environment) ? container.environment : [];
  const plain = environment
    .filter(isRecord)
    .map((item) => credentialVariableOf(item.name))
    .filter((name) => name !== undefined);
  container.environment = environment.filter(
    (item) => !(isRecord(item) && isPrefectCredentialVariable(item.name))
  );

  const secrets = (Array.isArray(container.secrets) ? container.secrets : []).map((item) =>
    isRecord(item) ? { ...item } : item
  );
  for (const source of sources(configuration, defaults)) {
    const existing = secrets.find(
      (item): item is Record<string, unknown> => isRecord(item) && item.name === source.name
    );
    if (existing === undefined) secrets.push({ name: source.name, valueFrom: source.valueFrom });
    else if (source.configured) existing.valueFrom = source.valueFrom;
  }
  container.secrets = secrets;

  const provided = new Set(secrets.filter(isRecord).map((item) => item.name));
  return plain.filter((name) => !provided.has(name));
};
