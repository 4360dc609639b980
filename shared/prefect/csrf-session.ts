/**
 * The client's side of a Prefect server's CSRF protection (`PREFECT_SERVER_CSRF_PROTECTION_ENABLED`).
 *
 * What the server does (`src/prefect/server/api/middleware.py`, `CsrfMiddleware`, and
 * `server/api/csrf_token.py`): every POST/PUT/PATCH/DELETE must carry `Prefect-Csrf-Token` and
 * `Prefect-Csrf-Client`, the token being the one `GET /csrf-token?client=<id>` issued to that
 * client id and not yet expired (`PREFECT_SERVER_CSRF_TOKEN_EXPIRATION`, 1 h by default); else it
 * answers 403 `Missing CSRF token.`, `Missing client identifier.` or `Invalid CSRF token or client
 * identifier.` *before* the request reaches any route. With protection off, `GET /csrf-token`
 * answers 422 `CSRF protection is disabled.` (404 on servers older than the endpoint).
 *
 * What Prefect's client does (`src/prefect/client/base.py`, `_add_csrf_headers`): one random client
 * id per client; the token is fetched on the first write, refetched when its expiration has passed
 * or when a write is refused with `Invalid CSRF token`; a 422/404 from the token endpoint turns
 * CSRF support off for that client.
 *
 * One deliberate difference: we do not fetch a token before the first write, but when the server
 * first refuses a write for lack of one. CSRF protection is off by default on Prefect servers, so
 * Prefect's way costs every cold Lambda container a `GET /csrf-token` that answers 422; ours costs
 * nothing there, and one refused write per container where protection is on (the refusal comes
 * from the middleware, so nothing was processed and the write is sent again with the token).
 * After that first token, writes carry it and it is renewed before it expires, as Prefect does.
 */

/** Header carrying the token. */
export const CSRF_TOKEN_HEADER = 'Prefect-Csrf-Token';
/** Header carrying the client id the token was issued to. */
export const CSRF_CLIENT_HEADER = 'Prefect-Csrf-Client';

/** Methods the server's middleware checks (`CsrfMiddleware.dispatch`). */
export const CSRF_CHECKED_METHODS: ReadonlySet<string> = new Set([
  'POST',
  'PUT',
  'PATCH',
  'DELETE',
]);

/** The 403 details of `CsrfMiddleware`, verbatim. */
export const CSRF_REFUSAL_DETAILS = [
  'Missing CSRF token.',
  'Missing client identifier.',
  'Invalid CSRF token or client identifier.',
] as const;

/** The token endpoint's 422 detail when protection is off (`csrf_token.py`). */
export const CSRF_DISABLED_DETAIL = 'CSRF protection is disabled.';

/**
 * A token is renewed this long before its stated expiration, so one sent at the last moment is
 * not refused in flight (or by a server whose clock runs a little ahead).
 */
export const CSRF_EXPIRY_MARGIN_MS = 5_000;

/** What the token endpoint answered. */
export type CsrfTokenAnswer =
  | { kind: 'token'; token: string; expiresAtMs: number }
  /** 422 `CSRF protection is disabled.` or 404 (an older server). */
  | { kind: 'disabled' };

/** Inputs of {@link createCsrfSession}. */
export interface CsrfSessionDeps {
  /** This client's id (a random UUID, as Prefect's `csrf_client_id`). */
  clientId: string;
  /** Epoch milliseconds. */
  now: () => number;
  /** `GET /csrf-token?client=<clientId>`; other failures are thrown as they are. */
  fetchToken: (clientId: string) => Promise<CsrfTokenAnswer>;
  /** Called with each token before it is used, so the redactor covers it. */
  learnSecret?: ((secret: string) => void) | undefined;
}

/** CSRF state of one client instance (kept for a warm container's life). */
export interface CsrfSession {
  readonly clientId: string;
  /**
   * Headers for a write: the token and client id once the server has asked for them (renewed
   * first when expired), else none.
   */
  headersForWrite(): Promise<Readonly<Record<string, string>>>;
  /**
   * After a write sent with `sentToken` (undefined: none) was refused with a CSRF 403: headers
   * with a fresh token for the one resend, or `undefined` when there is nothing better to send
   * (the server says its protection is off), in which case the 403 stands.
   */
  refresh(sentToken: string | undefined): Promise<Readonly<Record<string, string>> | undefined>;
}

/** Whether a response is `CsrfMiddleware`'s refusal (never processed by the server). */
export const isCsrfRefusal = (status: number, bodyText: string): boolean =>
  status === 403 && CSRF_REFUSAL_DETAILS.some((detail) => bodyText.includes(detail));

/**
 * Creates the CSRF state for one client. Token requests are shared: writes started together wait
 * for the same `GET /csrf-token`.
 *
 * @example
 * const csrf = createCsrfSession({ clientId: randomUUID(), now: Date.now, fetchToken });
 * const headers = await csrf.headersForWrite(); // {} until the server first asks for a token
 */
export const createCsrfSession = (deps: CsrfSessionDeps): CsrfSession => {
  let token: { value: string; expiresAtMs: number } | undefined;
  let disabled = false;
  let pending: Promise<void> | undefined;

  const headersOf = (value: string): Record<string, string> => ({
    [CSRF_TOKEN_HEADER]: value,
    [CSRF_CLIENT_HEADER]: deps.clientId,
  });

  const fresh = (): boolean =>
    token !== undefined && deps.now() < token.expiresAtMs - CSRF_EXPIRY_MARGIN_MS;

  const renew = (): Promise<void> => {
    pending ??= (async () => {
      try {
        const answer = await deps.fetchToken(deps.clientId);
        if (answer.kind === 'disabled') {
          disabled = true;
          token = undefined;
          return;
        }
        deps.learnSecret?.(answer.token);
        token = { value: answer.token, expiresAtMs: answer.expiresAtMs };
      } finally {
        pending = undefined;
      }
    })();
    return pending;
  };

  return {
    clientId: deps.clientId,
    headersForWrite: async () => {
      if (token === undefined || disabled) return {};
      if (!fresh()) await renew();
      return token === undefined ? {} : headersOf(token.value);
    },
    refresh: async (sentToken) => {
      if (disabled) return undefined;
      // Another write may have renewed the token since this one was sent: use that one.
      if (token === undefined || token.value === sentToken || !fresh()) await renew();
      return token === undefined ? undefined : headersOf(token.value);
    },
  };
};
