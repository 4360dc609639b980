/**
 * Request authentication. Self-hosted servers with `PREFECT_SERVER_API_AUTH_STRING` require
 * `Authorization: Basic base64(user:pass)` on everything but `GET /health` and `GET /ready`, and
 * answer 401 `{"exception_message": "Unauthorized"}` otherwise. Prefect Cloud takes
 * `Authorization: Bearer <api key>`; the stand-in answers its failures the same way.
 */
import { timingSafeEqual } from 'node:crypto';

export interface AuthOptions {
  /** `user:pass`: require Basic auth. */
  authString?: string | undefined;
  /** Require `Bearer <apiKey>`. */
  apiKey?: string | undefined;
}

/** Paths (after `/api`) that a GET may reach without credentials. */
const EXEMPT_PATHS = new Set(['/health', '/ready']);

const sameSecret = (given: string, expected: string): boolean => {
  const a = Buffer.from(given, 'utf8');
  const b = Buffer.from(expected, 'utf8');
  return a.length === b.length && timingSafeEqual(a, b);
};

const credentialsOf = (header: string): { scheme: string; credentials: string } | undefined => {
  const parts = header.trim().split(/\s+/);
  if (parts.length !== 2) return undefined;
  const [scheme, credentials] = parts;
  return scheme && credentials ? { scheme, credentials } : undefined;
};

/** Whether the request may proceed. */
export const isAuthorized = (
  options: AuthOptions,
  method: string,
  apiPath: string,
  authorization: string | undefined
): boolean => {
  if (options.authString === undefined && options.apiKey === undefined) return true;
  if (method === 'GET' && EXEMPT_PATHS.has(apiPath)) return true;
  if (authorization === undefined) return false;
  const parsed = credentialsOf(authorization);
  if (!parsed) return false;
  if (options.authString !== undefined && parsed.scheme === 'Basic') {
    const decoded = Buffer.from(parsed.credentials, 'base64').toString('utf8');
    return sameSecret(decoded, options.authString);
  }
  if (options.apiKey !== undefined && parsed.scheme === 'Bearer') {
    return sameSecret(parsed.credentials, options.apiKey);
  }
  return false;
};

/** The body of every 401. */
export const UNAUTHORIZED_BODY = { exception_message: 'Unauthorized' } as const;
