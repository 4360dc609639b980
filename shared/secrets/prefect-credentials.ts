import type { PrefectCredentialSource } from '../config.ts';
import type { SecretReader } from './secret-reader.ts';

/** What the Prefect client takes (`PrefectClientOptions`' credential members). */
export interface PrefectCredentials {
  apiKey?: string;
  authString?: string;
}

/**
 * Turns the configured credential source into values for the Prefect client, reading the secret
 * when the source is an ARN. Call once per cold start; the value stays in memory only.
 *
 * @example
 * const credentials = await resolvePrefectCredentials(config.prefectCredentials, reader);
 * createPrefectClient({ apiUrl: config.prefectApiUrl, ...credentials });
 */
export const resolvePrefectCredentials = async (
  source: PrefectCredentialSource,
  reader: SecretReader
): Promise<PrefectCredentials> => {
  switch (source.kind) {
    case 'authString':
      return { authString: source.value };
    case 'apiKey':
      return { apiKey: source.value };
    case 'authStringSecret':
      return { authString: (await reader.readSecret(source.secretArn)).trim() };
    case 'apiKeySecret':
      return { apiKey: (await reader.readSecret(source.secretArn)).trim() };
    case 'none':
      return {};
  }
};
