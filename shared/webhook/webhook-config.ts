/**
 * The webhook's configuration: what the poller reads (`loadPollerConfig(env, { role: 'webhook' })`:
 * Prefect URL and credentials, `PREFECT_WORK_POOLS`, the launch queue, the poll variables) plus the
 * webhook's own variables below. Read once per cold start; every problem of both is listed in one
 * `ConfigError` that names variables, never values.
 *
 * | variable | default | meaning |
 * | --- | --- | --- |
 * | `WEBHOOK_SECRET_ARN` | — | Secrets Manager ARN of the webhook secret (deployed) |
 * | `WEBHOOK_SECRET` | — | the secret itself, for local runs; wins over the ARN |
 *
 * The limits are fixed (`webhook-limits.ts`): bodies up to 64 KiB, signature timestamps within
 * 5 minutes of the Lambda's clock.
 */
import { ConfigError } from '../errors/config-error.ts';
import { loadPollerConfig, type PollerConfig } from '../poll/poller-config.ts';
import {
  parseWebhookSecret,
  WebhookSecretError,
  type WebhookSecretSource,
} from './webhook-secret.ts';

/** The webhook's own variables, parsed. */
export interface WebhookSettings {
  readonly secret: WebhookSecretSource;
}

/** Everything the webhook Lambda reads: the poller's configuration plus its own. */
export interface WebhookConfig extends PollerConfig {
  readonly webhook: WebhookSettings;
}

/** A Secrets Manager secret, or an SSM SecureString parameter (the default, docs/deploy.md). */
const SECRET_ARN =
  /^arn:aws[a-z-]*:(secretsmanager:[a-z0-9-]+:\d{12}:secret:|ssm:[a-z0-9-]+:\d{12}:parameter\/).+$/;

const present = (value: string | undefined): string | undefined =>
  value === undefined || value.trim() === '' ? undefined : value;

/**
 * Parses the webhook's own variables. Throws a `ConfigError` listing every problem.
 *
 * @example
 * loadWebhookSettings({ WEBHOOK_SECRET_ARN: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:webhook-AbCdEf' });
 * // { secret: { kind: 'secretArn', secretArn: 'arn:…' } }
 */
export const loadWebhookSettings = (
  env: Readonly<Record<string, string | undefined>>
): WebhookSettings => {
  const value = present(env.WEBHOOK_SECRET);
  const arn = present(env.WEBHOOK_SECRET_ARN);
  const issues: string[] = [];
  if (arn !== undefined && !SECRET_ARN.test(arn.trim())) {
    issues.push(
      'WEBHOOK_SECRET_ARN: must be a Secrets Manager secret ARN (arn:aws:secretsmanager:<region>:<account>:secret:<name>) or an SSM parameter ARN (arn:aws:ssm:<region>:<account>:parameter/<name>)'
    );
  }
  if (value !== undefined) {
    try {
      parseWebhookSecret(value, 'WEBHOOK_SECRET');
    } catch (error) {
      if (!(error instanceof WebhookSecretError)) throw error;
      issues.push(error.message.replace(/^Webhook secret WEBHOOK_SECRET: /, 'WEBHOOK_SECRET: '));
    }
  }
  if (value === undefined && arn === undefined) {
    issues.push('WEBHOOK_SECRET_ARN: required (or WEBHOOK_SECRET for local runs)');
  }
  if (issues.length > 0) throw new ConfigError(issues);
  if (value !== undefined) return { secret: { kind: 'value', value } };
  return { secret: { kind: 'secretArn', secretArn: (arn as string).trim() } };
};

/**
 * Parses the poller's variables (role `webhook`: no `TICK_QUEUE_URL` needed) and the webhook's
 * together; one `ConfigError` lists every problem of both.
 *
 * @example
 * const config = loadWebhookConfig(process.env);
 * config.workPools; // ['ecs']
 * config.webhook.secret; // { kind: 'secretArn', secretArn: 'arn:…' }
 */
export const loadWebhookConfig = (
  env: Readonly<Record<string, string | undefined>>
): WebhookConfig => {
  const issues: string[] = [];
  let poller: PollerConfig | undefined;
  let webhook: WebhookSettings | undefined;
  try {
    poller = loadPollerConfig(env, { role: 'webhook' });
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    issues.push(...error.issues);
  }
  try {
    webhook = loadWebhookSettings(env);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    issues.push(...error.issues);
  }
  if (poller === undefined || webhook === undefined) throw new ConfigError(issues);
  return { ...poller, webhook };
};
