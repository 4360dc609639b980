/**
 * Check: the Prefect API answers `GET /health` (which needs no credentials) at `PREFECT_API_URL`.
 */
import type { ServerCalls } from '../prefect/server-calls.ts';
import { type CheckResult, describeFailure, fail, pass } from './check-result.ts';

export const PREFECT_REACHABLE_CHECK_NAME = 'Prefect reachable';

/** What `/health` gave. */
export type HealthOutcome = { ok: true; healthy: boolean } | { ok: false; error: unknown };

/** Calls `/health`. */
export const probeHealth = async (prefect: Pick<ServerCalls, 'health'>): Promise<HealthOutcome> => {
  try {
    return { ok: true, healthy: await prefect.health() };
  } catch (error) {
    return { ok: false, error };
  }
};

/** `PREFECT_API_URL` without any user:password part, for messages. */
export const displayUrl = (apiUrl: string): string => {
  const url = new URL(apiUrl);
  url.username = '';
  url.password = '';
  return url.toString().replace(/\/$/, '');
};

const URL_FIX =
  'Check PREFECT_API_URL (self-hosted: http://<host>:4200/api; Prefect Cloud: https://api.prefect.cloud/api/accounts/<account>/workspaces/<workspace>) and that this machine can reach it.';

/** The verdict (pure). */
export const decidePrefectReachable = (apiUrl: string, outcome: HealthOutcome): CheckResult => {
  const where = displayUrl(apiUrl);
  if (!outcome.ok) {
    return fail(
      PREFECT_REACHABLE_CHECK_NAME,
      `${where}: ${describeFailure(outcome.error)}`,
      URL_FIX
    );
  }
  if (!outcome.healthy) {
    return fail(
      PREFECT_REACHABLE_CHECK_NAME,
      `${where}: /health answered false (the server is up but unhealthy)`,
      "Check the Prefect server's logs and its database."
    );
  }
  return pass(PREFECT_REACHABLE_CHECK_NAME, `${where} is healthy`);
};
