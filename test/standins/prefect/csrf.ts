/**
 * CSRF protection as a Prefect server with `PREFECT_SERVER_CSRF_PROTECTION_ENABLED=true` enforces it
 * (`src/prefect/server/api/middleware.py`, `CsrfMiddleware`; `server/api/csrf_token.py`;
 * `server/models/csrf_token.py`):
 * - `GET /csrf-token?client=<id>` creates or replaces the client's token (64 hex characters) with
 *   an expiration `PREFECT_SERVER_CSRF_TOKEN_EXPIRATION` (1 h) ahead, and answers the `CsrfToken`
 *   object (`id`, `created`, `updated`, `token`, `client`, `expiration`);
 * - every POST/PUT/PATCH/DELETE, whatever its path, needs `Prefect-Csrf-Token` and
 *   `Prefect-Csrf-Client`, else 403 `Missing CSRF token.` / `Missing client identifier.`; a token
 *   that is not the client's current one, or has expired, is 403 `Invalid CSRF token or client
 *   identifier.` (with `Access-Control-Allow-Origin: *`). The middleware sits outside the API's
 *   auth middleware, so it answers first.
 * With protection off, `GET /csrf-token` answers 422 `CSRF protection is disabled.` (routes/root.ts).
 */
import { randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { formatDateTime } from './datetime.ts';
import { HttpError, httpError } from './http-errors.ts';

/** Prefect's default `PREFECT_SERVER_CSRF_TOKEN_EXPIRATION`. */
export const DEFAULT_CSRF_TOKEN_EXPIRATION_MS = 3_600_000;

const CHECKED_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

interface StoredToken {
  id: string;
  created: Date;
  token: string;
  expiresAt: Date;
}

/** The server's CSRF state. */
export interface CsrfProtection {
  /** `GET /csrf-token?client=…`: a new token for the client (replacing any earlier one). */
  issue(client: string): { status: 200; body: Record<string, string> };
  /** Throws the middleware's 403 when a write lacks a valid token. */
  check(method: string, headers: IncomingHttpHeaders): void;
  /** Every token issued, oldest first (for tests). */
  readonly issued: readonly { client: string; token: string; expiration: string }[];
  /** Forgets every client's token, as a server whose database was reset would. */
  revokeAll(): void;
}

const headerOf = (headers: IncomingHttpHeaders, name: string): string | undefined => {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
};

const sameToken = (given: string, expected: string): boolean => {
  const a = Buffer.from(given, 'utf8');
  const b = Buffer.from(expected, 'utf8');
  return a.length === b.length && timingSafeEqual(a, b);
};

/**
 * Creates the CSRF state for one stand-in.
 *
 * @example
 * const csrf = createCsrfProtection({ now: () => new Date() });
 * const { body } = csrf.issue('client-1');
 * csrf.check('POST', { 'prefect-csrf-token': body.token, 'prefect-csrf-client': 'client-1' });
 */
export const createCsrfProtection = (options: {
  now: () => Date;
  expirationMs?: number | undefined;
}): CsrfProtection => {
  const tokens = new Map<string, StoredToken>();
  const issued: { client: string; token: string; expiration: string }[] = [];
  const expirationMs = options.expirationMs ?? DEFAULT_CSRF_TOKEN_EXPIRATION_MS;

  return {
    issue(client) {
      const now = options.now();
      const previous = tokens.get(client);
      const stored: StoredToken = {
        id: previous?.id ?? randomUUID(),
        created: previous?.created ?? now,
        token: randomBytes(32).toString('hex'),
        expiresAt: new Date(now.getTime() + expirationMs),
      };
      tokens.set(client, stored);
      const expiration = formatDateTime(stored.expiresAt);
      issued.push({ client, token: stored.token, expiration });
      return {
        status: 200,
        body: {
          id: stored.id,
          created: formatDateTime(stored.created),
          updated: formatDateTime(now),
          token: stored.token,
          client,
          expiration,
        },
      };
    },
    check(method, headers) {
      if (!CHECKED_METHODS.has(method)) return;
      const token = headerOf(headers, 'prefect-csrf-token');
      const client = headerOf(headers, 'prefect-csrf-client');
      if (token === undefined) throw httpError(403, 'Missing CSRF token.');
      if (client === undefined) throw httpError(403, 'Missing client identifier.');
      const stored = tokens.get(client);
      const valid =
        stored !== undefined &&
        stored.expiresAt.getTime() > options.now().getTime() &&
        sameToken(token, stored.token);
      if (!valid) {
        throw new HttpError(
          403,
          { detail: 'Invalid CSRF token or client identifier.' },
          { 'access-control-allow-origin': '*' }
        );
      }
    },
    get issued() {
      return issued;
    },
    revokeAll() {
      tokens.clear();
    },
  };
};
