import { RESERVED_HEADER_NAMES, redactableHeaderValues } from './custom-headers.ts';
import { createLearningRedactor, type Redactor } from './redact.ts';
import { DEFAULT_USER_AGENT, SERVER_API_VERSION } from './version.ts';

/** How to reach and authenticate against a Prefect 3 server or Prefect Cloud. */
export interface PrefectClientOptions {
  /**
   * API root. Self-hosted: `http://host:4200/api`. Cloud:
   * `https://api.prefect.cloud/api/accounts/{account}/workspaces/{workspace}`. A trailing slash is
   * tolerated; the path prefix is kept.
   */
  apiUrl: string;
  /** Prefect Cloud (or ingress) API key, sent as `Authorization: Bearer <key>`. */
  apiKey?: string;
  /**
   * Self-hosted `PREFECT_API_AUTH_STRING` (`user:pass`), sent as `Authorization: Basic base64(...)`.
   * Takes precedence over `apiKey`, as in Prefect's own client.
   */
  authString?: string;
  /** Per-attempt timeout in ms (default 30 000). */
  timeoutMs?: number;
  /** Retries after the first attempt for retryable failures (default 5, so up to 6 attempts). */
  maxRetries?: number;
  /** Upper bound for one backoff wait in ms (default 30 000). A longer `Retry-After` ends retrying. */
  maxDelayMs?: number;
  /**
   * Overall budget for one call, attempts and waits included, in ms (default 300 000). Bounds the
   * uncounted retries during `Prefect-Maintenance` windows.
   */
  deadlineMs?: number;
  /** `User-Agent` header (default `prefect-ecs-serverless/<version> (+<url>)`). */
  userAgent?: string;
  /**
   * Extra headers sent on every request (`PREFECT_CLIENT_CUSTOM_HEADERS`), e.g. for an access
   * proxy in front of a self-hosted server. They may not set a header this client owns
   * (`RESERVED_HEADER_NAMES`: `Authorization`, `User-Agent`, `Prefect-Csrf-*`, …). Values of 8+
   * characters are redacted from errors and the log lines the client posts.
   */
  headers?: Readonly<Record<string, string>>;
  /**
   * Answer a server's CSRF protection (`PREFECT_SERVER_CSRF_PROTECTION_ENABLED`) with a token, as
   * Prefect's client does (its `PREFECT_CLIENT_CSRF_SUPPORT_ENABLED`, default on). Default `true`;
   * never used for Prefect Cloud, which has no CSRF protection. See `csrf-session.ts`.
   */
  csrfSupport?: boolean;
}

/** I/O the client takes from its caller; every member defaults to the platform's own. */
export interface PrefectClientDeps {
  fetch?: typeof fetch;
  sleep?: (ms: number) => Promise<void>;
  /** Uniform in [0, 1), for retry jitter. */
  random?: () => number;
  /** Epoch milliseconds, for `Retry-After` dates and the call deadline. */
  now?: () => number;
}

/** Options with defaults applied, the headers built and a redactor for the secrets. */
export interface ResolvedClientOptions {
  /** API root without trailing slash. */
  baseUrl: string;
  timeoutMs: number;
  maxRetries: number;
  maxDelayMs: number;
  deadlineMs: number;
  /** Headers sent on every request (Content-Type is added per request when there is a body). */
  headers: Readonly<Record<string, string>>;
  redact: Redactor;
  /** Adds a secret learned later (a CSRF token) to `redact`. */
  learnSecret?: (secret: string) => void;
  /** Whether writes answer a server's CSRF protection (off for Prefect Cloud). */
  csrf?: boolean;
}

/** Defaults for the numeric options. */
export const CLIENT_DEFAULTS = {
  timeoutMs: 30_000,
  maxRetries: 5,
  maxDelayMs: 30_000,
  deadlineMs: 300_000,
} as const;

const PROTECTED_HEADERS = RESERVED_HEADER_NAMES;

// Control characters would make fetch throw a TypeError that quotes the header value.
// biome-ignore lint/suspicious/noControlCharactersInRegex: that is exactly what is rejected
const INVALID_HEADER_VALUE = /[\u0000-\u001f\u007f]/;

const nonNegative = (name: string, value: number | undefined, fallback: number): number => {
  const resolved = value ?? fallback;
  if (!Number.isFinite(resolved) || resolved < 0) {
    throw new RangeError(`Prefect client option ${name} must be a non-negative number`);
  }
  return resolved;
};

const authorizationHeader = (options: PrefectClientOptions): string | undefined => {
  if (options.authString) {
    return `Basic ${Buffer.from(options.authString, 'utf8').toString('base64')}`;
  }
  return options.apiKey ? `Bearer ${options.apiKey}` : undefined;
};

const passwordOf = (authString: string | undefined): string | undefined => {
  const colon = authString?.indexOf(':') ?? -1;
  return colon >= 0 ? authString?.slice(colon + 1) : undefined;
};

/**
 * Validates the options and applies defaults. Throws `TypeError`/`RangeError` for a malformed URL,
 * credentials that cannot be sent as a header (never quoting them), or a protected custom header.
 */
export const resolveClientOptions = (options: PrefectClientOptions): ResolvedClientOptions => {
  let url: URL;
  try {
    url = new URL(options.apiUrl);
  } catch {
    throw new TypeError('Prefect client option apiUrl must be an absolute http(s) URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new TypeError('Prefect client option apiUrl must be an absolute http(s) URL');
  }
  for (const [name, secret] of [
    ['apiKey', options.apiKey],
    ['authString', options.authString],
  ] as const) {
    if (secret !== undefined && INVALID_HEADER_VALUE.test(secret)) {
      throw new TypeError(`Prefect client option ${name} contains control characters`);
    }
  }
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(options.headers ?? {})) {
    if (PROTECTED_HEADERS.has(name.toLowerCase())) {
      throw new TypeError(`Prefect client option headers may not set ${name}`);
    }
    if (INVALID_HEADER_VALUE.test(value)) {
      throw new TypeError(`Prefect client option headers: ${name} contains control characters`);
    }
    headers[name] = value;
  }
  headers['X-PREFECT-API-VERSION'] = SERVER_API_VERSION;
  headers.Accept = 'application/json';
  headers['User-Agent'] = options.userAgent ?? DEFAULT_USER_AGENT;
  const authorization = authorizationHeader(options);
  if (authorization) headers.Authorization = authorization;

  const basic = options.authString
    ? Buffer.from(options.authString, 'utf8').toString('base64')
    : undefined;
  // The password alone too: a server or proxy might echo just that part.
  const redactor = createLearningRedactor([
    options.apiKey,
    options.authString,
    basic,
    passwordOf(options.authString),
    ...redactableHeaderValues(options.headers),
  ]);
  return {
    baseUrl: `${url.origin}${url.pathname.replace(/\/+$/, '')}`,
    timeoutMs: nonNegative('timeoutMs', options.timeoutMs, CLIENT_DEFAULTS.timeoutMs),
    maxRetries: Math.floor(
      nonNegative('maxRetries', options.maxRetries, CLIENT_DEFAULTS.maxRetries)
    ),
    maxDelayMs: nonNegative('maxDelayMs', options.maxDelayMs, CLIENT_DEFAULTS.maxDelayMs),
    deadlineMs: nonNegative('deadlineMs', options.deadlineMs, CLIENT_DEFAULTS.deadlineMs),
    headers,
    redact: redactor.redact,
    learnSecret: redactor.learn,
    // Prefect's client never uses CSRF against Cloud (client/orchestration `enable_csrf_support`).
    csrf: options.csrfSupport !== false && !url.hostname.endsWith('prefect.cloud'),
  };
};
