import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../../../shared/config.ts';
import { ConfigError } from '../../../../shared/errors/config-error.ts';
import {
  CustomHeadersSchema,
  redactableHeaderValues,
} from '../../../../shared/prefect/custom-headers.ts';
import { createLearningRedactor, LEARNED_SECRETS_KEPT } from '../../../../shared/prefect/redact.ts';

const minimal = {
  PREFECT_API_URL: 'http://localhost:4200/api',
  PREFECT_WORK_POOLS: 'ecs',
  LAUNCH_QUEUE_URL: 'https://sqs.us-east-1.amazonaws.com/123456789012/launch',
  AWS_REGION: 'us-east-1',
};
const SECRET = 'proxy-secret-value-0123456789';

const issuesOf = (value: string): string[] => {
  const result = CustomHeadersSchema.safeParse(value);
  return result.success ? [] : result.error.issues.map((issue) => issue.message);
};

describe('PREFECT_CLIENT_CUSTOM_HEADERS', () => {
  it('parses a JSON object of string values; unset or blank is no headers', () => {
    // Prepare / Act / Assess
    expect(CustomHeadersSchema.parse(`{"X-Proxy-Key": "${SECRET}", "X-Team": "data"}`)).toEqual({
      'X-Proxy-Key': SECRET,
      'X-Team': 'data',
    });
    expect(CustomHeadersSchema.parse(undefined)).toEqual({});
    expect(CustomHeadersSchema.parse('  ')).toEqual({});
  });

  it('explains invalid JSON, non-objects and non-string values', () => {
    // Prepare / Act / Assess
    expect(issuesOf('{"X-Proxy-Key": ')).toEqual([
      expect.stringContaining('the value is not valid JSON'),
    ]);
    expect(issuesOf('["X-Proxy-Key"]')).toEqual([expect.stringContaining('must be a JSON object')]);
    expect(issuesOf('"X-Proxy-Key"')).toEqual([expect.stringContaining('must be a JSON object')]);
    expect(issuesOf('{"X-Retries": 3, "X-On": true}')).toEqual([
      'the value of X-Retries must be a string',
      'the value of X-On must be a string',
    ]);
    expect(issuesOf('{"Bad Name": "x"}')).toEqual(['"Bad Name" is not a valid header name']);
    expect(issuesOf('{"X-A": "x\\ny"}')).toEqual(['the value of X-A contains control characters']);
    expect(issuesOf('{"X-A": "1", "x-a": "2"}')).toEqual([
      'sets x-a twice (names are case-insensitive)',
    ]);
  });

  it('refuses the headers this client owns, whatever their case', () => {
    // Prepare
    const owned = [
      'Authorization',
      'user-agent',
      'Content-Type',
      'Accept',
      'X-PREFECT-API-VERSION',
      'Prefect-Csrf-Token',
      'prefect-csrf-client',
      'Host',
    ];
    for (const name of owned) {
      // Act
      const issues = issuesOf(JSON.stringify({ [name]: 'x' }));
      // Assess
      expect(issues).toEqual([expect.stringContaining(`may not set ${name}: this client sets it`)]);
    }
  });

  it('reaches the config, and a bad value is reported by name without quoting it', () => {
    // Prepare / Act
    const config = loadConfig({
      ...minimal,
      PREFECT_CLIENT_CUSTOM_HEADERS: JSON.stringify({ 'X-Proxy-Key': SECRET }),
    });
    let error: unknown;
    try {
      loadConfig({ ...minimal, PREFECT_CLIENT_CUSTOM_HEADERS: `{"X-Proxy-Key": ${SECRET}}` });
    } catch (caught) {
      error = caught;
    }
    // Assess
    expect(config.prefectCustomHeaders).toEqual({ 'X-Proxy-Key': SECRET });
    expect(loadConfig(minimal).prefectCustomHeaders).toEqual({});
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).issues).toEqual([
      expect.stringMatching(/^PREFECT_CLIENT_CUSTOM_HEADERS: must be a JSON object/),
    ]);
    expect((error as Error).message).not.toContain(SECRET);
  });

  it('may not be read by templates with {{ $NAME }}', () => {
    // Prepare / Act
    let error: unknown;
    try {
      loadConfig({ ...minimal, TEMPLATE_ENV_ALLOWLIST: 'PREFECT_CLIENT_CUSTOM_HEADERS' });
    } catch (caught) {
      error = caught;
    }
    // Assess
    expect((error as ConfigError).issues).toEqual([
      expect.stringContaining('TEMPLATE_ENV_ALLOWLIST: may not list'),
    ]);
  });

  it('redacts values of 8 characters and more', () => {
    // Prepare / Act / Assess
    expect(redactableHeaderValues({ A: SECRET, B: 'data', C: '12345678' })).toEqual([
      SECRET,
      '12345678',
    ]);
    expect(redactableHeaderValues(undefined)).toEqual([]);
  });
});

describe('createLearningRedactor', () => {
  it('covers secrets learned after it was built, and only the newest few', () => {
    // Prepare
    const redactor = createLearningRedactor(['fixed-secret']);
    const learned = Array.from({ length: LEARNED_SECRETS_KEPT + 1 }, (_, i) => `token-${i}-abc`);
    // Act
    const before = redactor.redact('token-0-abc fixed-secret');
    for (const token of learned) redactor.learn(token);
    const after = redactor.redact(`${learned.join(' ')} fixed-secret`);
    // Assess
    expect(before).toBe('token-0-abc [REDACTED]');
    expect(after).toBe(
      `token-0-abc ${learned
        .slice(1)
        .map(() => '[REDACTED]')
        .join(' ')} [REDACTED]`
    );
  });
});
