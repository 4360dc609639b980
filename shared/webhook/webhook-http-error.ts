/**
 * An answer the webhook gives on purpose (4xx): a status, a JSON body that is safe to show the
 * caller, and extra headers. Anything else thrown while handling a request is unknown and becomes a
 * generic 500 (see `functions/webhook/middlewares.ts`), so internals never reach the caller.
 */
export class WebhookHttpError extends Error {
  override readonly name: string = 'WebhookHttpError';
  readonly statusCode: number;
  /** What the caller sees, as JSON. Never holds a stack, a secret or an internal error message. */
  readonly body: Readonly<Record<string, unknown>>;
  readonly headers: Readonly<Record<string, string>>;

  constructor(
    statusCode: number,
    body: Readonly<Record<string, unknown>>,
    headers: Readonly<Record<string, string>> = {},
    options?: { cause?: unknown }
  ) {
    super(`${statusCode}: ${String(body.message ?? '')}`, options);
    this.statusCode = statusCode;
    this.body = body;
    this.headers = headers;
  }
}

/** Why a request was refused with 401. For logs only: the caller always gets the same answer. */
export type AuthFailureReason =
  | 'missing-credentials'
  | 'bearer-not-configured'
  | 'bearer-malformed'
  | 'bearer-mismatch'
  | 'signature-not-configured'
  | 'signature-malformed'
  | 'timestamp-out-of-window'
  | 'signature-mismatch'
  | 'signature-replayed';

/** The one 401 body, whatever was missing or wrong. */
export const UNAUTHORIZED_BODY = { message: 'Unauthorized' } as const;

/**
 * 401 with the same body and headers for every reason; `reason` is kept on the error for the log.
 */
export class WebhookUnauthorizedError extends WebhookHttpError {
  override readonly name: string = 'WebhookUnauthorizedError';
  readonly reason: AuthFailureReason;

  constructor(reason: AuthFailureReason) {
    super(401, UNAUTHORIZED_BODY, { 'www-authenticate': 'Bearer' });
    this.reason = reason;
  }
}

/** 400: the body is not JSON, not a trigger request, or names a pool this webhook does not serve. */
export const badRequest = (message: string, options?: { cause?: unknown }): WebhookHttpError =>
  new WebhookHttpError(400, { message }, {}, options);

/** 404: any path but the trigger path. */
export const notFound = (): WebhookHttpError => new WebhookHttpError(404, { message: 'Not Found' });

/** 405 with `Allow`. */
export const methodNotAllowed = (allow: readonly string[]): WebhookHttpError =>
  new WebhookHttpError(405, { message: 'Method Not Allowed' }, { allow: allow.join(', ') });

/** 413: the body is larger than `maxBytes`. */
export const payloadTooLarge = (maxBytes: number): WebhookHttpError =>
  new WebhookHttpError(413, { message: `Request body exceeds ${maxBytes} bytes` });
