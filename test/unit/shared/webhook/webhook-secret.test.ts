import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../../../shared/errors/config-error.ts';
import type { SecretReader } from '../../../../shared/secrets/secret-reader.ts';
import { loadWebhookSettings } from '../../../../shared/webhook/webhook-config.ts';
import {
  createWebhookCredentialsProvider,
  parseWebhookSecret,
  WebhookSecretError,
} from '../../../../shared/webhook/webhook-secret.ts';

const VALUE = 'whsec-0123456789abcdef';
const ARN = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:prefect/webhook-AbCdEf';

const errorOf = (action: () => unknown): Error => {
  try {
    action();
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected a throw');
};

describe('parseWebhookSecret', () => {
  it('uses a plain string as both token and signing key (trimmed)', () => {
    // Prepare / Act
    const credentials = parseWebhookSecret(`  ${VALUE}\n`, 'WEBHOOK_SECRET');
    // Assess
    expect(credentials).toEqual({ token: VALUE, signingKey: VALUE });
  });

  it('reads separate values from a JSON secret, and leaves out what is absent', () => {
    // Prepare / Act
    const both = parseWebhookSecret(
      JSON.stringify({ token: VALUE, signing_key: `${VALUE}-key` }),
      ARN
    );
    const signingOnly = parseWebhookSecret(JSON.stringify({ signing_key: VALUE }), ARN);
    // Assess
    expect(both).toEqual({ token: VALUE, signingKey: `${VALUE}-key` });
    expect(signingOnly).toEqual({ signingKey: VALUE });
  });

  it.each([
    ['a short string', 'short', /WEBHOOK_SECRET: must be at least 16 characters/],
    ['broken JSON', '{"token": "abcdefghijklmnopqrs', /starts with "\{" but is not valid JSON/],
    ['an empty object', '{}', /needs "token", "signing_key" or both/],
    ['a short token', '{"token":"abc"}', /token: must be at least 16 characters/],
    ['a misspelt key', `{"signingKey":"${VALUE}"}`, /Unrecognized key: "signingKey"/],
    ['a non-string value', '{"token":1234567890123456789}', /token: must be a string/],
  ])('refuses %s without quoting the value', (_name, value, message) => {
    // Prepare / Act
    const error = errorOf(() => parseWebhookSecret(value, 'WEBHOOK_SECRET'));
    // Assess
    expect(error).toBeInstanceOf(WebhookSecretError);
    expect(error.message).toMatch(message);
    if (value.length > 5) expect(error.message).not.toContain(value);
  });
});

describe('createWebhookCredentialsProvider', () => {
  it('reads the secret once, and again only after a failure', async () => {
    // Prepare
    const reads: string[] = [];
    let fail = true;
    const reader: SecretReader = {
      readSecret: async (secretId) => {
        reads.push(secretId);
        if (fail) throw new Error('throttled');
        return VALUE;
      },
    };
    const credentials = createWebhookCredentialsProvider(
      { kind: 'secretArn', secretArn: ARN },
      reader
    );
    // Act
    await expect(credentials()).rejects.toThrow('throttled');
    fail = false;
    const [first, second] = await Promise.all([credentials(), credentials()]);
    const third = await credentials();
    // Assess
    expect(reads).toEqual([ARN, ARN]);
    expect(first).toEqual({ token: VALUE, signingKey: VALUE });
    expect(second).toBe(first);
    expect(third).toBe(first);
  });

  it('names the ARN when the stored value is unusable', async () => {
    // Prepare
    const reader: SecretReader = { readSecret: async () => 'short' };
    const credentials = createWebhookCredentialsProvider(
      { kind: 'secretArn', secretArn: ARN },
      reader
    );
    // Act / Assess
    await expect(credentials()).rejects.toThrow(
      `Webhook secret ${ARN}: must be at least 16 characters`
    );
  });

  it('uses a plain value without reading anything', async () => {
    // Prepare
    const reader: SecretReader = {
      readSecret: async () => {
        throw new Error('not expected');
      },
    };
    // Act
    const credentials = await createWebhookCredentialsProvider(
      { kind: 'value', value: VALUE },
      reader
    )();
    // Assess
    expect(credentials).toEqual({ token: VALUE, signingKey: VALUE });
  });
});

describe('loadWebhookSettings', () => {
  it('takes the ARN (deployed) or the value (local), the value winning', () => {
    // Prepare / Act
    const deployed = loadWebhookSettings({ WEBHOOK_SECRET_ARN: ARN });
    const local = loadWebhookSettings({ WEBHOOK_SECRET: VALUE, WEBHOOK_SECRET_ARN: ARN });
    // Assess
    expect(deployed).toEqual({ secret: { kind: 'secretArn', secretArn: ARN } });
    expect(local).toEqual({ secret: { kind: 'value', value: VALUE } });
  });

  it('lists every problem at once, never quoting a value', () => {
    // Prepare / Act
    const missing = errorOf(() => loadWebhookSettings({ WEBHOOK_SECRET: ' ' }));
    const invalid = errorOf(() =>
      loadWebhookSettings({ WEBHOOK_SECRET: 'too-short', WEBHOOK_SECRET_ARN: 'webhook-secret' })
    );
    // Assess
    expect(missing).toBeInstanceOf(ConfigError);
    expect((missing as ConfigError).issues).toEqual([
      'WEBHOOK_SECRET_ARN: required (or WEBHOOK_SECRET for local runs)',
    ]);
    expect((invalid as ConfigError).issues).toEqual([
      'WEBHOOK_SECRET_ARN: must be a Secrets Manager secret ARN (arn:aws:secretsmanager:<region>:<account>:secret:<name>) or an SSM parameter ARN (arn:aws:ssm:<region>:<account>:parameter/<name>)',
      'WEBHOOK_SECRET: must be at least 16 characters (e.g. openssl rand -hex 32)',
    ]);
    expect(invalid.message).not.toContain('too-short');
  });
});
