/**
 * The webhook's shared secret: what a caller must prove it knows. One Secrets Manager secret holds
 * it, in one of two forms:
 *
 * - a plain string (at least 16 characters): both the bearer token and the HMAC signing key. The
 *   simple setup, enough for a Prefect automation (which can only send static headers).
 * - a JSON object `{"token": "…", "signing_key": "…"}` with at least one of the two (each at least 16
 *   characters): separate values, and a method whose value is absent is switched off. Use it to
 *   allow signed requests only (omit `token`), so the key itself never travels.
 *
 * Errors name the problem, never the value.
 */
import * as z from 'zod';
import type { SecretReader } from '../secrets/secret-reader.ts';

/** The shortest value accepted for a token or a signing key. */
export const MIN_SECRET_LENGTH = 16;

/** What the webhook compares callers' credentials with. An absent member disables that method. */
export interface WebhookCredentials {
  /** Expected `Authorization: Bearer <token>`. */
  readonly token?: string;
  /** HMAC-SHA256 key for `X-Prefect-Ecs-Signature`. */
  readonly signingKey?: string;
}

/** The secret value is unusable. Never quotes it. */
export class WebhookSecretError extends Error {
  override readonly name: string = 'WebhookSecretError';
  readonly retryable = false;
}

const Value = z
  .string({ error: 'must be a string' })
  .min(MIN_SECRET_LENGTH, `must be at least ${MIN_SECRET_LENGTH} characters`);

const JsonSecret = z
  .strictObject({ token: Value.optional(), signing_key: Value.optional() })
  .refine((secret) => secret.token !== undefined || secret.signing_key !== undefined, {
    message: 'needs "token", "signing_key" or both',
  });

/**
 * Reads a secret value in either form (see the module comment). `where` names the source in errors
 * (`WEBHOOK_SECRET`, or the secret's ARN).
 *
 * @example
 * parseWebhookSecret('0123456789abcdef0123456789abcdef', 'WEBHOOK_SECRET');
 * // { token: '0123…', signingKey: '0123…' }
 * parseWebhookSecret('{"signing_key":"0123456789abcdef0123"}', 'WEBHOOK_SECRET');
 * // { signingKey: '0123456789abcdef0123' }: bearer tokens are refused
 */
export const parseWebhookSecret = (value: string, where: string): WebhookCredentials => {
  const text = value.trim();
  if (!text.startsWith('{')) {
    if (text.length < MIN_SECRET_LENGTH) {
      throw new WebhookSecretError(
        `Webhook secret ${where}: must be at least ${MIN_SECRET_LENGTH} characters (e.g. openssl rand -hex 32)`
      );
    }
    return { token: text, signingKey: text };
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new WebhookSecretError(
      `Webhook secret ${where}: starts with "{" but is not valid JSON (expected {"token": "…", "signing_key": "…"})`
    );
  }
  const parsed = JsonSecret.safeParse(json);
  if (!parsed.success) {
    const issues = parsed.error.issues.map(
      (issue) => `${issue.path.map(String).join('.') || '(secret)'}: ${issue.message}`
    );
    throw new WebhookSecretError(`Webhook secret ${where}: ${issues.join('; ')}`);
  }
  return {
    ...(parsed.data.token === undefined ? {} : { token: parsed.data.token }),
    ...(parsed.data.signing_key === undefined ? {} : { signingKey: parsed.data.signing_key }),
  };
};

/** Where the secret comes from: a plain value (local runs) or a Secrets Manager ARN (deployed). */
export type WebhookSecretSource =
  | { readonly kind: 'value'; readonly value: string }
  | { readonly kind: 'secretArn'; readonly secretArn: string };

/**
 * Returns a function that yields the credentials, reading the secret on the first call only (once
 * per cold start). A failed read is not remembered: the next request tries again, so a throttled
 * or briefly denied read does not break a warm container for good.
 *
 * @example
 * const credentials = createWebhookCredentialsProvider(config.secret, reader);
 * const { token } = await credentials();
 */
export const createWebhookCredentialsProvider = (
  source: WebhookSecretSource,
  reader: SecretReader
): (() => Promise<WebhookCredentials>) => {
  let pending: Promise<WebhookCredentials> | undefined;
  const load = async (): Promise<WebhookCredentials> =>
    source.kind === 'value'
      ? parseWebhookSecret(source.value, 'WEBHOOK_SECRET')
      : parseWebhookSecret(await reader.readSecret(source.secretArn), source.secretArn);
  return () => {
    pending ??= load().catch((error: unknown) => {
      pending = undefined;
      throw error;
    });
    return pending;
  };
};
