import { randomUUID } from 'node:crypto';
import type * as z from 'zod';
import type { PrefectClientDeps, ResolvedClientOptions } from './client-options.ts';
import {
  CSRF_CHECKED_METHODS,
  CSRF_TOKEN_HEADER,
  type CsrfSession,
  createCsrfSession,
  isCsrfRefusal,
} from './csrf-session.ts';
import { createCsrfTokenCall } from './csrf-token-call.ts';
import { describeErrorBody, PrefectApiError, PrefectNotFoundError } from './prefect-api-error.ts';
import { PrefectConnectionError } from './prefect-connection-error.ts';
import type { PrefectCallContext } from './prefect-error.ts';
import { PrefectResponseError } from './prefect-response-error.ts';
import type { Redactor } from './redact.ts';
import {
  computeRetryDelay,
  isMaintenanceResponse,
  isRetryableStatus,
  parseRetryAfter,
} from './retry-policy.ts';

/** HTTP methods the Prefect API uses. */
export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

/** One logical API call; retries resend exactly this. */
export interface HttpRequest {
  /** Client function name, for errors (e.g. `readFlowRun`). */
  operation: string;
  method: HttpMethod;
  /** Path relative to the API root, already encoded (use {@link apiPath}). */
  path: string;
  /** Query parameters; `undefined` values are left out. */
  query?: Readonly<Record<string, string | number | boolean | undefined>>;
  /** JSON body, serialised once so every attempt sends the same bytes. */
  body?: unknown;
  /**
   * `false`: never resend (the first failure is thrown, still marked retryable when it is). For
   * requests whose meaning depends on a state read earlier: a replay could land after the world
   * changed (Prefect accepts PENDING after COMPLETED), so the caller reads again and decides again.
   */
  replay?: boolean;
}

/** A successful (2xx) response. */
export interface HttpResponse {
  status: number;
  headers: Headers;
  /** Parsed JSON, the raw text if it is not JSON, or `undefined` when empty (e.g. 204). */
  body: unknown;
  /** Requests made for this call, retries included. */
  attempts: number;
}

/** A 2xx response whose body passed its schema. */
export interface ParsedResponse<T> {
  status: number;
  data: T;
}

/** Sends requests to the Prefect API with auth, retries, timeouts and typed errors. */
export interface HttpTransport {
  /** Sends the request; resolves with a 2xx response or throws a `PrefectError`. */
  send(request: HttpRequest): Promise<HttpResponse>;
  /** Sends the request and validates the body; a mismatch throws `PrefectResponseError`. */
  sendParsed<S extends z.ZodType>(
    request: HttpRequest,
    schema: S
  ): Promise<ParsedResponse<z.output<S>>>;
}

/** Most zod issues quoted in a `PrefectResponseError`. */
const MAX_ISSUES = 5;

/**
 * Builds an API path from a template, percent-encoding every interpolated value.
 *
 * @example
 * apiPath`/work_pools/${'my pool'}/queues/${'a/b'}`; // '/work_pools/my%20pool/queues/a%2Fb'
 */
export const apiPath = (strings: TemplateStringsArray, ...values: readonly string[]): string =>
  strings.reduce(
    (out, part, i) =>
      out + part + (i < values.length ? encodeURIComponent(values[i] as string) : ''),
    ''
  );

type Attempt =
  | { kind: 'response'; response: Response; text: string }
  | { kind: 'network'; error: unknown; timedOut: boolean };

const parseBody = (text: string): unknown => {
  if (text === '') return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
};

const describeNetworkError = (error: unknown): string => {
  if (!(error instanceof Error)) return String(error);
  const { cause } = error;
  return cause instanceof Error && cause.message && cause.message !== error.message
    ? `${error.message}: ${cause.message}`
    : error.message;
};

const errorCode = (error: unknown): string | undefined => {
  for (let e: unknown = error, depth = 0; e instanceof Error && depth < 4; depth++) {
    const { code } = e as { code?: unknown };
    if (typeof code === 'string') return code;
    e = e.cause;
  }
  return undefined;
};

/** A detached, redacted copy of a network error: no references to the request or its headers. */
const sanitizeCause = (error: unknown, redact: Redactor): Error => {
  const copy = new Error(redact(describeNetworkError(error)));
  copy.name = error instanceof Error ? error.name : 'Error';
  const code = errorCode(error);
  if (code !== undefined) Object.assign(copy, { code });
  return copy;
};

const buildUrl = (baseUrl: string, request: HttpRequest): string => {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(request.query ?? {})) {
    if (value !== undefined) params.set(key, String(value));
  }
  const query = params.toString();
  return `${baseUrl}${request.path}${query ? `?${query}` : ''}`;
};

/**
 * Creates the transport behind every client call.
 *
 * Retry policy: 408/429/502/503 and network failures/timeouts are retried up to `maxRetries`
 * times; `Retry-After` is honoured (1–1.2×), otherwise 2^n s ±20 % backoff, each wait capped by
 * `maxDelayMs`. Responses with `Prefect-Maintenance: true` are retried without counting, until
 * `deadlineMs` runs out. Everything else (other 4xx, 500, 504) fails at once.
 *
 * CSRF (`options.csrf`): a write refused with the server's CSRF 403 gets a token and is sent once
 * more; later writes carry the token (see `csrf-session.ts`). The session lives as long as the
 * transport, so a warm container keeps its token.
 */
export const createHttpTransport = (
  options: ResolvedClientOptions,
  deps: PrefectClientDeps = {}
): HttpTransport => {
  const fetchImpl = deps.fetch ?? globalThis.fetch;
  const sleep = deps.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const random = deps.random ?? Math.random;
  const now = deps.now ?? Date.now;
  const { redact } = options;
  // Assigned below, once `sendParsed` exists: the token request goes through this same transport.
  let csrf: CsrfSession | undefined;

  const attemptOnce = async (
    url: string,
    init: RequestInit,
    timeoutMs: number
  ): Promise<Attempt> => {
    try {
      const response = await fetchImpl(url, { ...init, signal: AbortSignal.timeout(timeoutMs) });
      // Read the body inside the same try: a socket dropped mid-body is a network failure too.
      return { kind: 'response', response, text: await response.text() };
    } catch (error) {
      const timedOut = error instanceof Error && error.name === 'TimeoutError';
      return { kind: 'network', error, timedOut };
    }
  };

  const apiError = (
    context: PrefectCallContext,
    attempt: Extract<Attempt, { kind: 'response' }>,
    retryable: boolean,
    retryAfterMs?: number
  ): PrefectApiError => {
    const { status, statusText } = attempt.response;
    const detail = redact(describeErrorBody(parseBody(attempt.text), attempt.text));
    const ErrorClass = status === 404 ? PrefectNotFoundError : PrefectApiError;
    return new ErrorClass(context, { status, statusText, detail, retryable, retryAfterMs });
  };

  const connectionError = (
    context: PrefectCallContext,
    attempt: Extract<Attempt, { kind: 'network' }>,
    timeoutMs: number
  ): PrefectConnectionError => {
    const reason = attempt.timedOut
      ? `timed out after ${timeoutMs} ms`
      : `connection error: ${redact(describeNetworkError(attempt.error))}`;
    return new PrefectConnectionError(
      context,
      reason,
      attempt.timedOut,
      sanitizeCause(attempt.error, redact)
    );
  };

  const send = async (request: HttpRequest): Promise<HttpResponse> => {
    const url = buildUrl(options.baseUrl, request);
    const body = request.body === undefined ? undefined : JSON.stringify(request.body);
    const headers =
      body === undefined
        ? options.headers
        : { ...options.headers, 'Content-Type': 'application/json' };
    const csrfChecked = csrf !== undefined && CSRF_CHECKED_METHODS.has(request.method);
    let csrfHeaders = csrfChecked ? await csrf?.headersForWrite() : undefined;
    let csrfResent = false;
    const initWith = (extra: Readonly<Record<string, string>> | undefined): RequestInit => ({
      method: request.method,
      headers: extra === undefined ? headers : { ...headers, ...extra },
      body,
      redirect: 'follow',
    });
    let init = initWith(csrfHeaders);
    const started = now();
    let counted = 0;
    let sent = 0;

    for (;;) {
      const remaining = options.deadlineMs - (now() - started);
      const timeoutMs = Math.max(1, Math.min(options.timeoutMs, remaining));
      const attempt = await attemptOnce(url, init, timeoutMs);
      sent += 1;
      const context = { operation: request.operation, method: request.method, path: request.path };
      const at = { ...context, attempts: sent };

      let failure: PrefectApiError | PrefectConnectionError;
      let delay: number | undefined;
      if (attempt.kind === 'network') {
        counted += 1;
        failure = connectionError(at, attempt, timeoutMs);
        if (counted > options.maxRetries) throw failure;
        delay = computeRetryDelay({ attempt: counted, maxDelayMs: options.maxDelayMs, random });
      } else {
        const { response } = attempt;
        if (response.ok) {
          const parsed = parseBody(attempt.text);
          return {
            status: response.status,
            headers: response.headers,
            body: parsed,
            attempts: sent,
          };
        }
        // The CSRF refusal comes from Prefect's CsrfMiddleware, which answers before the request
        // reaches any route (server/api/middleware.py): nothing was processed, so sending the same
        // request once more with a fresh token is safe even for `replay: false` state proposals.
        // Once per call, without a wait and without counting as a retry.
        if (csrfChecked && !csrfResent && isCsrfRefusal(response.status, attempt.text)) {
          csrfResent = true;
          const fresh = await csrf?.refresh(csrfHeaders?.[CSRF_TOKEN_HEADER]);
          if (fresh !== undefined) {
            csrfHeaders = fresh;
            init = initWith(fresh);
            continue;
          }
        }
        if (!isRetryableStatus(response.status)) throw apiError(at, attempt, false);
        if (!isMaintenanceResponse(response.headers)) counted += 1;
        const retryAfterMs = parseRetryAfter(response.headers.get('retry-after'), now());
        failure = apiError(at, attempt, true, retryAfterMs);
        if (counted > options.maxRetries) throw failure;
        delay = computeRetryDelay({
          attempt: counted,
          retryAfterMs,
          maxDelayMs: options.maxDelayMs,
          random,
        });
      }
      if (request.replay === false) throw failure;
      if (delay === undefined || now() - started + delay >= options.deadlineMs) throw failure;
      await sleep(delay);
    }
  };

  const sendParsed = async <S extends z.ZodType>(
    request: HttpRequest,
    schema: S
  ): Promise<ParsedResponse<z.output<S>>> => {
    const response = await send(request);
    const result = schema.safeParse(response.body);
    if (result.success) return { status: response.status, data: result.data };
    const issues = result.error.issues
      .slice(0, MAX_ISSUES)
      .map((issue) => `${issue.path.map(String).join('.') || '(root)'}: ${issue.message}`);
    throw new PrefectResponseError(
      {
        operation: request.operation,
        method: request.method,
        path: request.path,
        attempts: response.attempts,
      },
      response.status,
      issues
    );
  };

  if (options.csrf) {
    csrf = createCsrfSession({
      clientId: randomUUID(),
      now,
      fetchToken: createCsrfTokenCall({ sendParsed }),
      learnSecret: options.learnSecret,
    });
  }

  return { send, sendParsed };
};
