/**
 * The webhook's own middy middlewares (the `@middy/http-*` packages are not used): each small, in
 * the order the handler uses them.
 *
 * - `httpErrorHandler`: `WebhookHttpError` → its status, body and headers; anything else → a
 *   logged, generic 500. The HTTP-error mapping of `@middy/http-error-handler`, with our log.
 * - `httpRoute`: only `POST /trigger` (404 / 405 with `Allow`).
 * - `httpRawBody`: the exact body bytes (base64 decoded), 413 above the limit.
 * - `httpAuthentication`: the bearer token or HMAC signature, 401 otherwise.
 */
import type { Logger } from '@aws-lambda-powertools/logger';
import type { MiddlewareObj } from '@middy/core';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import {
  type AuthenticationMethod,
  authenticateRequest,
} from '../../shared/webhook/authenticate.ts';
import type { ReplayCache } from '../../shared/webhook/replay-cache.ts';
import {
  methodNotAllowed,
  notFound,
  payloadTooLarge,
  WebhookHttpError,
  WebhookUnauthorizedError,
} from '../../shared/webhook/webhook-http-error.ts';
import type { WebhookCredentials } from '../../shared/webhook/webhook-secret.ts';

/** The API Gateway event as the middlewares leave it for the handler. */
export interface WebhookEvent extends APIGatewayProxyEventV2 {
  /** The raw body bytes, set by `httpRawBody` (empty when there was none). */
  bodyBytes?: Uint8Array;
  /** How the caller authenticated, set by `httpAuthentication`. */
  authenticatedBy?: readonly AuthenticationMethod[];
}

/** What the webhook answers. */
export type WebhookResult = APIGatewayProxyStructuredResultV2;

type WebhookMiddleware = MiddlewareObj<WebhookEvent, WebhookResult>;

/** A JSON answer that no cache keeps. */
export const jsonResponse = (
  statusCode: number,
  body: unknown,
  headers: Readonly<Record<string, string>> = {}
): WebhookResult => ({
  statusCode,
  headers: {
    'content-type': 'application/json; charset=utf-8',
    'cache-control': 'no-store',
    ...headers,
  },
  body: JSON.stringify(body),
});

/** The body of every 500: nothing about what failed. */
export const INTERNAL_ERROR_BODY = { message: 'Internal Server Error' } as const;

/** Who called, for the log: never a header value that could hold a credential. */
const callerOf = (event: WebhookEvent | undefined) => ({
  sourceIp: event?.requestContext?.http?.sourceIp,
  userAgent: event?.requestContext?.http?.userAgent,
  requestId: event?.requestContext?.requestId,
});

/**
 * Maps `WebhookHttpError`s to their answers (401s logged at warn with the reason, other 4xx at
 * info) and everything else to a generic 500, logged at error. Use it before the other
 * middlewares so that it sees their errors.
 */
export const httpErrorHandler = (options: { logger: Logger }): WebhookMiddleware => ({
  onError: (request) => {
    const { error } = request;
    const caller = callerOf(request.event);
    if (error instanceof WebhookHttpError) {
      if (error instanceof WebhookUnauthorizedError) {
        options.logger.warn('Webhook request refused', { reason: error.reason, ...caller });
      } else {
        options.logger.info('Webhook request rejected', {
          statusCode: error.statusCode,
          message: error.body.message,
          ...caller,
        });
      }
      request.response = jsonResponse(error.statusCode, error.body, error.headers);
      return;
    }
    options.logger.error('Webhook request failed', {
      error: error ?? 'unknown',
      ...caller,
    });
    request.response = jsonResponse(500, INTERNAL_ERROR_BODY);
  },
});

/**
 * The request path without the stage prefix (`rawPath` holds `/<stage>/…` on a named stage; the
 * default `$default` stage adds nothing).
 */
const pathOf = (event: WebhookEvent): string => {
  const path = event.rawPath ?? event.requestContext.http.path;
  const stage = event.requestContext.stage;
  if (stage && stage !== '$default' && path.startsWith(`/${stage}/`)) {
    return path.slice(stage.length + 1);
  }
  return path;
};

/** Only `method path`: another path → 404, another method on the path → 405 with `Allow`. */
export const httpRoute = (options: { method: string; path: string }): WebhookMiddleware => ({
  before: (request) => {
    if (pathOf(request.event) !== options.path) throw notFound();
    if (request.event.requestContext.http.method.toUpperCase() !== options.method) {
      throw methodNotAllowed([options.method]);
    }
  },
});

/**
 * Decodes the body into `event.bodyBytes` exactly as sent (API Gateway base64-encodes bodies it
 * does not treat as text), refusing more than `maxBytes` with 413 before decoding.
 */
export const httpRawBody = (options: { maxBytes: number }): WebhookMiddleware => ({
  before: (request) => {
    const { body, isBase64Encoded } = request.event;
    const encoding = isBase64Encoded ? 'base64' : 'utf8';
    const text = body ?? '';
    if (Buffer.byteLength(text, encoding) > options.maxBytes) {
      throw payloadTooLarge(options.maxBytes);
    }
    request.event.bodyBytes = Buffer.from(text, encoding);
  },
});

/** What {@link httpAuthentication} needs. */
export interface HttpAuthenticationOptions {
  /** The expected credentials (read once per cold start by the caller). */
  credentials: () => Promise<WebhookCredentials>;
  replayCache: ReplayCache;
  now: () => Date;
}

/** Refuses the request with 401 unless it carries a valid bearer token or signature. */
export const httpAuthentication = (options: HttpAuthenticationOptions): WebhookMiddleware => ({
  before: async (request) => {
    const credentials = await options.credentials();
    request.event.authenticatedBy = authenticateRequest({
      headers: request.event.headers ?? {},
      body: request.event.bodyBytes ?? new Uint8Array(),
      credentials,
      now: options.now(),
      replayCache: options.replayCache,
    });
  },
});
