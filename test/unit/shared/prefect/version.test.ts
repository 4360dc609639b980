import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  CLIENT_VERSION,
  DEFAULT_USER_AGENT,
  SERVER_API_VERSION,
} from '../../../../shared/prefect/version.ts';

describe('client identity', () => {
  it('CLIENT_VERSION matches package.json', () => {
    // Prepare
    const pkg = JSON.parse(
      readFileSync(new URL('../../../../package.json', import.meta.url), 'utf8')
    ) as { version: string };
    // Act / Assess
    expect(CLIENT_VERSION).toBe(pkg.version);
  });

  it('the User-Agent is not parsed as a Prefect client version by the server', () => {
    // Prepare: the server's pattern (prefect-worker-api.md §1.2)
    const prefectClient = /^prefect\/(\d+\.\d+\.\d+(?:[a-z.+0-9]+)?) \(API \S+\)$/;
    // Act / Assess
    expect(prefectClient.test(DEFAULT_USER_AGENT)).toBe(false);
    expect(
      DEFAULT_USER_AGENT.startsWith(`prefect-ecs-serverless/${CLIENT_VERSION} (+https://`)
    ).toBe(true);
    expect(SERVER_API_VERSION).toBe('0.8.4');
  });
});
