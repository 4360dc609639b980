/**
 * Check: the Prefect credential is accepted. `GET /admin/version` needs credentials on a server that
 * requires them and gives the server's version; where it does not exist (Prefect Cloud answers 404),
 * one `POST /deployments/filter` (limit 1) is the authenticated read instead. A 401 or 403 fails with
 * the variable to check.
 */
import type { Config } from '../config.ts';
import type { DeploymentFilterCalls } from '../prefect/deployment-filter-calls.ts';
import { hasStatus } from '../prefect/prefect-api-error.ts';
import type { ServerCalls } from '../prefect/server-calls.ts';
import { type CheckResult, describeFailure, fail, pass } from './check-result.ts';

export const PREFECT_AUTH_CHECK_NAME = 'Prefect authenticated';

/** What the authenticated read gave. */
export type AuthOutcome =
  | { ok: true; serverVersion: string | undefined }
  | { ok: false; error: unknown };

/** Makes the authenticated read. */
export const probeAuthenticatedRead = async (
  prefect: Pick<ServerCalls, 'readServerVersion'> & Pick<DeploymentFilterCalls, 'readDeployments'>
): Promise<AuthOutcome> => {
  try {
    const serverVersion = await prefect.readServerVersion();
    if (serverVersion === undefined) await prefect.readDeployments({ limit: 1 });
    return { ok: true, serverVersion };
  } catch (error) {
    return { ok: false, error };
  }
};

/** Which setting holds the credential the calls used, for the fix. */
export const credentialSetting = (credentials: Config['prefectCredentials']): string => {
  switch (credentials.kind) {
    case 'authString':
      return 'PREFECT_API_AUTH_STRING';
    case 'apiKey':
      return 'PREFECT_API_KEY';
    case 'authStringSecret':
      return `the value of the secret in PREFECT_API_AUTH_STRING_SECRET_ARN (${credentials.secretArn})`;
    case 'apiKeySecret':
      return `the value of the secret in PREFECT_API_KEY_SECRET_ARN (${credentials.secretArn})`;
    case 'none':
      return 'no credential (none is set)';
  }
};

/** The verdict (pure). */
export const decidePrefectAuth = (
  credentials: Config['prefectCredentials'],
  outcome: AuthOutcome
): CheckResult => {
  if (outcome.ok) {
    return pass(
      PREFECT_AUTH_CHECK_NAME,
      outcome.serverVersion === undefined
        ? 'credential accepted; the server does not publish its version (Prefect Cloud)'
        : `credential accepted; server version ${outcome.serverVersion}`
    );
  }
  const { error } = outcome;
  if (hasStatus(error, 401, 403)) {
    return fail(
      PREFECT_AUTH_CHECK_NAME,
      `Prefect answered ${error.status}${error.detail ? ` (${error.detail})` : ''} using ${credentialSetting(credentials)}`,
      'Check PREFECT_API_KEY / PREFECT_API_AUTH_STRING (or the secret named by PREFECT_API_KEY_SECRET_ARN / PREFECT_API_AUTH_STRING_SECRET_ARN): Prefect Cloud takes an API key, a self-hosted server with auth the `user:password` of PREFECT_SERVER_API_AUTH_STRING.'
    );
  }
  return fail(
    PREFECT_AUTH_CHECK_NAME,
    describeFailure(error),
    'Check that PREFECT_API_URL is the API root (it ends in /api, or /workspaces/<id> on Prefect Cloud).'
  );
};
