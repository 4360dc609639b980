import { afterEach, describe, expect, it } from 'vitest';
import { createManualClock } from './manual-clock.ts';
import { rawCall } from './raw-http.ts';
import { type PrefectStandin, startPrefectStandin } from './server.ts';

const HEARTBEAT = ['POST', '/work_pools/p/workers/heartbeat'] as const;

let prefect: PrefectStandin | undefined;
afterEach(async () => {
  await prefect?.close();
  prefect = undefined;
});

const tokenFor = async (standin: PrefectStandin, client: string) => {
  const answer = await rawCall(standin.apiUrl, 'GET', `/csrf-token?client=${client}`);
  return answer.body as Record<string, string>;
};

describe('Prefect stand-in: CSRF protection', () => {
  it('is off by default: /csrf-token answers 422 and writes need no token', async () => {
    // Prepare
    prefect = await startPrefectStandin();
    // Act
    const token = await rawCall(prefect.apiUrl, 'GET', '/csrf-token?client=c1');
    const write = await rawCall(prefect.apiUrl, 'POST', '/work_pools/', {
      body: { name: 'p', type: 'ecs' },
    });
    // Assess
    expect([token.status, token.body]).toEqual([422, { detail: 'CSRF protection is disabled.' }]);
    expect(write.status).toBe(201);
    expect(prefect.csrf).toBeUndefined();
  });

  it('issues a token per client with an expiration an hour ahead', async () => {
    // Prepare
    prefect = await startPrefectStandin({ csrfProtection: true });
    const before = Date.now();
    // Act
    const token = await tokenFor(prefect, 'c1');
    const missing = await rawCall(prefect.apiUrl, 'GET', '/csrf-token');
    // Assess
    expect(token).toMatchObject({ client: 'c1', token: expect.stringMatching(/^[0-9a-f]{64}$/) });
    expect(Object.keys(token).sort()).toEqual(
      ['client', 'created', 'expiration', 'id', 'token', 'updated'].sort()
    );
    const expiresIn = Date.parse(token.expiration ?? '') - before;
    expect(expiresIn).toBeGreaterThan(3_590_000);
    expect(expiresIn).toBeLessThanOrEqual(3_601_000);
    expect(missing.status).toBe(422);
  });

  it('refuses writes without a valid token with the middleware details, and lets reads through', async () => {
    // Prepare
    prefect = await startPrefectStandin({ csrfProtection: true });
    const { token } = await tokenFor(prefect, 'c1');
    const other = await tokenFor(prefect, 'c2');
    const send = (headers: Record<string, string>) =>
      rawCall(prefect?.apiUrl ?? '', ...HEARTBEAT, { body: { name: 'w' }, headers });
    // Act
    const noToken = await send({});
    const noClient = await send({ 'prefect-csrf-token': token ?? '' });
    const wrongClient = await send({
      'prefect-csrf-token': token ?? '',
      'prefect-csrf-client': 'c2',
    });
    const unknownClient = await send({
      'prefect-csrf-token': token ?? '',
      'prefect-csrf-client': 'c9',
    });
    const valid = await rawCall(prefect.apiUrl, 'POST', '/work_pools/', {
      body: { name: 'p', type: 'ecs' },
      headers: { 'prefect-csrf-token': token ?? '', 'prefect-csrf-client': 'c1' },
    });
    const read = await rawCall(prefect.apiUrl, 'GET', '/work_pools/p');
    // Assess
    expect([noToken.status, noToken.body]).toEqual([403, { detail: 'Missing CSRF token.' }]);
    expect([noClient.status, noClient.body]).toEqual([
      403,
      { detail: 'Missing client identifier.' },
    ]);
    for (const refused of [wrongClient, unknownClient]) {
      expect([refused.status, refused.body]).toEqual([
        403,
        { detail: 'Invalid CSRF token or client identifier.' },
      ]);
    }
    expect(wrongClient.headers.get('access-control-allow-origin')).toBe('*');
    expect(other.token).not.toBe(token);
    expect(valid.status).toBe(201);
    expect(read.status).toBe(200);
  });

  it('refuses a token once expired, or once replaced by a newer one for the same client', async () => {
    // Prepare
    const clock = createManualClock(new Date('2026-08-21T12:00:00Z'));
    prefect = await startPrefectStandin({
      csrfProtection: true,
      csrfTokenExpirationMs: 60_000,
      now: clock.now,
    });
    const first = await tokenFor(prefect, 'c1');
    const headersOf = (token: string | undefined) => ({
      'prefect-csrf-token': token ?? '',
      'prefect-csrf-client': 'c1',
    });
    let pools = 0;
    const send = (token: string | undefined) =>
      rawCall(prefect?.apiUrl ?? '', 'POST', '/work_pools/', {
        body: { name: `p-${++pools}`, type: 'ecs' },
        headers: headersOf(token),
      });
    // Act
    const fresh = await send(first.token);
    const second = await tokenFor(prefect, 'c1');
    const replaced = await send(first.token);
    const current = await send(second.token);
    clock.advance(60);
    const expired = await send(second.token);
    // Assess
    expect(first.expiration).toBe('2026-08-21T12:01:00Z');
    expect([fresh.status, replaced.status, current.status, expired.status]).toEqual([
      201, 403, 201, 403,
    ]);
    expect(prefect.csrf?.issued.map((t) => t.client)).toEqual(['c1', 'c1']);
  });
});

describe('Prefect stand-in: an access proxy in front', () => {
  it('answers 401 without the required header and 403 with a wrong value, /health included', async () => {
    // Prepare
    prefect = await startPrefectStandin({ requiredHeaders: { 'X-Proxy-Key': 'open-sesame-123' } });
    // Act
    const none = await rawCall(prefect.apiUrl, 'GET', '/health');
    const wrong = await rawCall(prefect.apiUrl, 'GET', '/health', {
      headers: { 'x-proxy-key': 'nope' },
    });
    const right = await rawCall(prefect.apiUrl, 'GET', '/health', {
      headers: { 'x-proxy-key': 'open-sesame-123' },
    });
    // Assess
    expect([none.status, wrong.status, right.status]).toEqual([401, 403, 200]);
  });
});
