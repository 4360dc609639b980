/**
 * Who may trigger a poll: a caller that proves it knows the webhook secret, in one of two ways.
 *
 * 1. **Bearer token**: `Authorization: Bearer <token>`. What a Prefect automation sends (a Webhook
 *    block can only send static headers). Like any bearer credential, whoever sees the request can
 *    send it again.
 * 2. **HMAC signature**: two headers,
 *    - `X-Prefect-Ecs-Timestamp: <Unix time in whole seconds>`
 *    - `X-Prefect-Ecs-Signature: sha256=<hex HMAC-SHA256(signing key, "<timestamp>.<raw body>")>`
 *
 *    where `<raw body>` is the exact bytes sent (what API Gateway base64-decodes). The key never
 *    travels. Timestamps more than 5 minutes away from the Lambda's clock (past or future) are
 *    refused, and so is a signature this container has already accepted (see `replay-cache.ts`): a
 *    client sending the same body twice within one second must add something that differs (extra
 *    body keys are ignored), or simply rely on the first poll.
 *
 * A request may carry both; then both must be valid. All comparisons are constant-time over
 * equal-length digests (`crypto.timingSafeEqual`). Every failure is the same
 * `WebhookUnauthorizedError` (one 401 body); only its `reason`, for the log, differs.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { ReplayCache } from './replay-cache.ts';
import { WebhookUnauthorizedError } from './webhook-http-error.ts';
import { SIGNATURE_TOLERANCE_SECONDS } from './webhook-limits.ts';
import type { WebhookCredentials } from './webhook-secret.ts';

/** Header with the Unix time (seconds) the signature covers. Lowercase, as API Gateway passes it. */
export const TIMESTAMP_HEADER = 'x-prefect-ecs-timestamp';
/** Header with `sha256=<64 hex digits>`. */
export const SIGNATURE_HEADER = 'x-prefect-ecs-signature';
/** The scheme prefix of {@link SIGNATURE_HEADER}'s value. */
export const SIGNATURE_PREFIX = 'sha256=';

/** How a request proved it knows the secret. */
export type AuthenticationMethod = 'bearer' | 'signature';

/** What {@link authenticateRequest} looks at. */
export interface AuthenticationInput {
  /** Request headers; names in any case. */
  headers: Readonly<Record<string, string | undefined>>;
  /** The raw body bytes (empty when there is none). */
  body: Uint8Array;
  credentials: WebhookCredentials;
  now: Date;
  replayCache: ReplayCache;
  /** Default {@link SIGNATURE_TOLERANCE_SECONDS}. */
  toleranceSeconds?: number;
}

const BEARER = /^Bearer[ \t]+([^\s]+)[ \t]*$/i;
const TIMESTAMP = /^\d{1,12}$/;
const SIGNATURE = /^sha256=([0-9a-fA-F]{64})$/;

/** Per-container key so both sides of a token comparison are 32-byte digests. */
const COMPARISON_KEY = randomBytes(32);

const digestOf = (value: string): Buffer =>
  createHmac('sha256', COMPARISON_KEY).update(value, 'utf8').digest();

const lowercased = (
  headers: Readonly<Record<string, string | undefined>>
): Map<string, string | undefined> =>
  new Map(Object.entries(headers).map(([name, value]) => [name.toLowerCase(), value]));

/** The signature bytes for a timestamp and body. */
const sign = (signingKey: string, timestamp: string, body: Uint8Array): Buffer =>
  createHmac('sha256', signingKey).update(`${timestamp}.`, 'utf8').update(body).digest();

const checkBearer = (authorization: string, credentials: WebhookCredentials): void => {
  const match = BEARER.exec(authorization);
  if (!match?.[1]) throw new WebhookUnauthorizedError('bearer-malformed');
  if (credentials.token === undefined) throw new WebhookUnauthorizedError('bearer-not-configured');
  if (!timingSafeEqual(digestOf(match[1]), digestOf(credentials.token))) {
    throw new WebhookUnauthorizedError('bearer-mismatch');
  }
};

const checkSignature = (
  timestamp: string | undefined,
  signature: string | undefined,
  input: AuthenticationInput
): void => {
  const { credentials, now, replayCache, body } = input;
  const tolerance = input.toleranceSeconds ?? SIGNATURE_TOLERANCE_SECONDS;
  const match = signature === undefined ? null : SIGNATURE.exec(signature.trim());
  const time = timestamp?.trim();
  if (!match?.[1] || time === undefined || !TIMESTAMP.test(time)) {
    throw new WebhookUnauthorizedError('signature-malformed');
  }
  if (credentials.signingKey === undefined) {
    throw new WebhookUnauthorizedError('signature-not-configured');
  }
  const seconds = Number(time);
  if (Math.abs(now.getTime() - seconds * 1000) > tolerance * 1000) {
    throw new WebhookUnauthorizedError('timestamp-out-of-window');
  }
  const expected = sign(credentials.signingKey, time, body);
  if (!timingSafeEqual(Buffer.from(match[1], 'hex'), expected)) {
    throw new WebhookUnauthorizedError('signature-mismatch');
  }
  // Only verified signatures are remembered, until they would expire anyway.
  if (
    !replayCache.remember(expected.toString('hex'), (seconds + tolerance) * 1000, now.getTime())
  ) {
    throw new WebhookUnauthorizedError('signature-replayed');
  }
};

/**
 * Checks the request's credentials. Returns the methods that were presented and verified; throws
 * `WebhookUnauthorizedError` when none was presented or any presented one is wrong.
 *
 * @example
 * const methods = authenticateRequest({ headers, body, credentials, now: new Date(), replayCache });
 * // ['bearer']
 */
export const authenticateRequest = (input: AuthenticationInput): AuthenticationMethod[] => {
  const headers = lowercased(input.headers);
  const authorization = headers.get('authorization');
  const timestamp = headers.get(TIMESTAMP_HEADER);
  const signature = headers.get(SIGNATURE_HEADER);
  const methods: AuthenticationMethod[] = [];
  if (authorization !== undefined) {
    checkBearer(authorization, input.credentials);
    methods.push('bearer');
  }
  if (timestamp !== undefined || signature !== undefined) {
    checkSignature(timestamp, signature, input);
    methods.push('signature');
  }
  if (methods.length === 0) throw new WebhookUnauthorizedError('missing-credentials');
  return methods;
};

/**
 * The two headers a client sends to sign a request (what a script, CI job or test does).
 *
 * @example
 * const body = JSON.stringify({ work_pool: 'ecs' });
 * await fetch(url, {
 *   method: 'POST',
 *   headers: { 'content-type': 'application/json', ...signWebhookRequest(key, body) },
 *   body,
 * });
 */
export const signWebhookRequest = (
  signingKey: string,
  body: string | Uint8Array,
  timestampSeconds: number = Math.floor(Date.now() / 1000)
): Record<typeof TIMESTAMP_HEADER | typeof SIGNATURE_HEADER, string> => {
  const timestamp = String(Math.floor(timestampSeconds));
  const bytes = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
  return {
    [TIMESTAMP_HEADER]: timestamp,
    [SIGNATURE_HEADER]: `${SIGNATURE_PREFIX}${sign(signingKey, timestamp, bytes).toString('hex')}`,
  };
};
