import { describe, expect, it } from 'vitest';
import {
  logField,
  MAX_LOGGED_FIELD,
  scrubEventText,
} from '../../../../shared/report/scrub-event-text.ts';

describe('scrubEventText', () => {
  it.each([
    ['PREFECT_API_KEY=pnu_abcdefghijklmnop0123', 'PREFECT_API_KEY=[REDACTED]'],
    ['prefect_api_auth_string: "user:pass"', 'prefect_api_auth_string: [REDACTED]'],
    ['GITHUB_TOKEN=ghp_xyz, next', 'GITHUB_TOKEN=[REDACTED], next'],
    ['DB_PASSWORD: hunter2 and more', 'DB_PASSWORD: [REDACTED] and more'],
    [
      'CannotPullContainerError: https://bot:s3cr3t@registry.example.com/etl:1',
      'CannotPullContainerError: https://[REDACTED]@registry.example.com/etl:1',
    ],
    ['key pnu_0123456789abcdefABCDEF leaked', 'key [REDACTED] leaked'],
    ['credentials AKIAABCDEFGHIJKLMNOP used', 'credentials [REDACTED] used'],
  ])('redacts %s', (text, expected) => {
    // Prepare / Act / Assess
    expect(scrubEventText(text)).toBe(expected);
  });

  it('leaves ordinary ECS reasons untouched', () => {
    // Prepare
    const reason =
      'CannotPullContainerError: pull image manifest has been retried 7 time(s): failed to resolve ref docker.io/prefecthq/prefect:nope: not found';
    // Act / Assess
    expect(scrubEventText(reason)).toBe(reason);
    expect(scrubEventText('Essential container in task exited')).toBe(
      'Essential container in task exited'
    );
  });

  it('cuts long text to the bound, saying it was cut', () => {
    // Prepare
    const huge = `arn:aws:ecs:us-east-1:123456789012:cluster/${'c'.repeat(1 << 20)}`;
    // Act
    const logged = logField(huge);
    // Assess
    expect(logged).toHaveLength(MAX_LOGGED_FIELD);
    expect(String(logged).endsWith('…')).toBe(true);
    expect(logField(42)).toBe(42);
    expect(logField(undefined)).toBeUndefined();
  });
});
