import { afterEach, describe, expect, it } from 'vitest';
import { proposeState, readFlowRun, seed } from './actors.ts';
import { rawCall } from './raw-http.ts';
import { type PrefectStandin, startPrefectStandin } from './server.ts';

describe('Prefect stand-in: HTTP transport', () => {
  let prefect: PrefectStandin;
  afterEach(async () => {
    await prefect.close();
  });

  it('answers health and versions on real paths under /api', async () => {
    // Prepare
    prefect = await startPrefectStandin();
    // Act
    const health = await rawCall(prefect.apiUrl, 'GET', '/health');
    const version = await rawCall(prefect.apiUrl, 'GET', '/admin/version');
    const apiVersion = await rawCall(prefect.apiUrl, 'GET', '/version');
    // Assess
    expect(prefect.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(prefect.apiUrl).toBe(`${prefect.url}/api`);
    expect([health.status, health.body]).toEqual([200, true]);
    expect([version.status, version.body]).toEqual([200, '3.8.3']);
    expect(apiVersion.body).toBe('0.8.4');
  });

  it.each([
    ['an unknown path', 'GET', '/no_such_thing', 404, { detail: 'Not Found' }],
    ['a path outside /api', 'GET', '/../work_pools/p', 404, { detail: 'Not Found' }],
    [
      'a known path with another method',
      'DELETE',
      '/flow_runs/filter',
      405,
      { detail: 'Method Not Allowed' },
    ],
    // `{id:uuid}` routes do not match a non-UUID, so Starlette answers 404 (not FastAPI's 422).
    [
      'a non-UUID where the route wants a UUID',
      'GET',
      '/flow_runs/not-a-uuid',
      404,
      { detail: 'Not Found' },
    ],
  ])('answers %s like Starlette', async (_, method, path, status, body) => {
    // Prepare
    prefect = await startPrefectStandin();
    // Act
    const response = await rawCall(prefect.apiUrl, method, path);
    // Assess
    expect(response.status).toBe(status);
    expect(response.body).toEqual(body);
  });

  it('redirects a path missing its trailing slash with 307, as Starlette does', async () => {
    // Prepare
    prefect = await startPrefectStandin();
    // Act
    const redirect = await fetch(`${prefect.apiUrl}/flows?x=1`, {
      method: 'POST',
      redirect: 'manual',
    });
    const followed = await rawCall(prefect.apiUrl, 'POST', '/flows', { body: { name: 'etl' } });
    // Assess
    expect(redirect.status).toBe(307);
    expect(redirect.headers.get('location')).toBe('/api/flows/?x=1');
    expect(followed.status).toBe(201);
  });

  it('lists the allowed methods on 405', async () => {
    // Prepare
    prefect = await startPrefectStandin();
    // Act
    const response = await rawCall(prefect.apiUrl, 'GET', '/work_pools/');
    // Assess
    expect(response.status).toBe(405);
    expect(response.headers.get('allow')).toBe('POST');
  });

  it('answers 501 for a real operation it does not implement instead of pretending', async () => {
    // Prepare
    prefect = await startPrefectStandin();
    // Act
    const response = await rawCall(prefect.apiUrl, 'POST', '/flow_runs/count', { body: {} });
    // Assess
    expect(response.status).toBe(501);
    expect(response.body).toEqual({
      detail: 'Prefect stand-in: POST /flow_runs/count is not implemented',
    });
  });

  describe('Basic auth (PREFECT_SERVER_API_AUTH_STRING)', () => {
    const basic = (credentials: string) => ({
      authorization: `Basic ${Buffer.from(credentials).toString('base64')}`,
    });

    it.each([
      ['no Authorization header', {}],
      ['wrong credentials', basic('admin:wrong')],
      ['a Bearer token', { authorization: 'Bearer admin:secret' }],
      ['a malformed header', { authorization: 'Basic' }],
    ])('answers 401 for %s', async (_, headers) => {
      // Prepare
      prefect = await startPrefectStandin({ authString: 'admin:secret' });
      // Act
      const response = await rawCall(prefect.apiUrl, 'GET', '/work_pools/p', { headers });
      // Assess
      expect(response.status).toBe(401);
      expect(response.body).toEqual({ exception_message: 'Unauthorized' });
    });

    it('lets the right credentials through and exempts GET /health', async () => {
      // Prepare
      prefect = await startPrefectStandin({ authString: 'admin:secret' });
      // Act
      const authorized = await rawCall(prefect.apiUrl, 'GET', '/work_pools/p', {
        headers: basic('admin:secret'),
      });
      const health = await rawCall(prefect.apiUrl, 'GET', '/health');
      // Assess
      expect(authorized.status).toBe(404); // past auth: the pool does not exist
      expect(health.status).toBe(200);
    });
  });

  it('requires the Bearer API key when configured like Prefect Cloud', async () => {
    // Prepare
    prefect = await startPrefectStandin({ apiKey: 'pnu_key' });
    // Act
    const denied = await rawCall(prefect.apiUrl, 'GET', '/admin/version', {
      headers: { authorization: 'Bearer pnu_other' },
    });
    const allowed = await rawCall(prefect.apiUrl, 'GET', '/admin/version', {
      headers: { authorization: 'Bearer pnu_key' },
    });
    // Assess
    expect(denied.status).toBe(401);
    expect(allowed.status).toBe(200);
  });

  describe('X-PREFECT-API-VERSION', () => {
    it.each([
      [
        '0.8',
        "Invalid X-PREFECT-API-VERSION header format.Expected header in format 'x.y.z' but received 0.8",
      ],
      [
        '0.7.9',
        'The request specified API version 0.7.9 but this server requires version 0.8.0 or higher.',
      ],
    ])('answers 400 for %s, before validating the body', async (version, detail) => {
      // Prepare
      prefect = await startPrefectStandin();
      // Act
      const response = await rawCall(prefect.apiUrl, 'POST', '/work_pools/', {
        headers: { 'x-prefect-api-version': version },
        body: { not_a_field: true },
      });
      // Assess
      expect(response.status).toBe(400);
      expect(response.body).toEqual({ detail });
    });

    it('accepts the version the official client sends', async () => {
      // Prepare
      prefect = await startPrefectStandin();
      // Act
      const response = await rawCall(prefect.apiUrl, 'POST', '/work_pools/', {
        headers: { 'x-prefect-api-version': '0.8.4' },
        body: { name: 'pool', type: 'ecs' },
      });
      // Assess
      expect(response.status).toBe(201);
    });
  });

  describe('fault injection', () => {
    it('answers 429 with Retry-After the given number of times, then recovers', async () => {
      // Prepare
      prefect = await startPrefectStandin();
      prefect.faults.inject({
        method: 'GET',
        path: '/health',
        status: 429,
        retryAfter: 3,
        times: 2,
      });
      // Act
      const first = await rawCall(prefect.apiUrl, 'GET', '/health');
      const second = await rawCall(prefect.apiUrl, 'GET', '/health');
      const third = await rawCall(prefect.apiUrl, 'GET', '/health');
      // Assess
      expect([first.status, first.headers.get('retry-after')]).toEqual([429, '3']);
      expect(second.status).toBe(429);
      expect([third.status, third.body]).toEqual([200, true]);
      expect(prefect.requests.map((r) => r.status)).toEqual([429, 429, 200]);
    });

    it('matches paths by RegExp and only the given method', async () => {
      // Prepare
      prefect = await startPrefectStandin();
      prefect.faults.inject({ method: 'POST', path: /^\/work_pools\//, status: 503 });
      // Act
      const get = await rawCall(prefect.apiUrl, 'GET', '/work_pools/p');
      const post = await rawCall(prefect.apiUrl, 'POST', '/work_pools/p/get_scheduled_flow_runs');
      // Assess
      expect(get.status).toBe(404);
      expect([post.status, post.body]).toEqual([503, { detail: 'Injected fault' }]);
    });

    it('drops the connection without answering', async () => {
      // Prepare
      prefect = await startPrefectStandin();
      prefect.faults.inject({ path: '/health', status: 0, dropConnection: true });
      // Act
      const attempt = rawCall(prefect.apiUrl, 'GET', '/health');
      // Assess
      await expect(attempt).rejects.toThrow();
      expect((await rawCall(prefect.apiUrl, 'GET', '/health')).status).toBe(200);
    });

    it.each([
      ['answers 503', { status: 503 }],
      ['drops the connection', { status: 0, dropConnection: true }],
    ])('with afterHandling, writes first and then %s (the answer is lost)', async (_case, rule) => {
      // Prepare
      prefect = await startPrefectStandin();
      await seed.workPool(prefect.apiUrl, { name: 'p' });
      const deployment = await seed.deployment(prefect.apiUrl, { name: 'd', workPoolName: 'p' });
      const run = await seed.flowRun(prefect.apiUrl, deployment.id);
      let fired = 0;
      prefect.faults.inject({
        method: 'POST',
        path: `/flow_runs/${run.id}/set_state`,
        afterHandling: true,
        onFire: () => {
          fired += 1;
        },
        ...rule,
      });
      // Act
      const attempt = proposeState(prefect.apiUrl, run.id, { type: 'PENDING', name: 'Pending' });
      // Assess
      await expect(attempt).rejects.toThrow();
      expect(fired).toBe(1);
      expect((await readFlowRun(prefect.apiUrl, run.id)).state?.type).toBe('PENDING');
      expect(prefect.requests.at(-2)?.handledStatus).toBe(201);
    });

    it('fails only the requests its `when` accepts, and uses up its times only on them', async () => {
      // Prepare: a fault for the Lambdas' calls, not for those of a client that says who it is
      prefect = await startPrefectStandin();
      prefect.faults.inject({
        path: '/health',
        status: 503,
        times: 1,
        when: (request) =>
          request.headers['x-actor'] === undefined && request.url === '/api/health',
      });
      // Act
      const actor = await fetch(`${prefect.apiUrl}/health`, { headers: { 'x-actor': 'engine' } });
      const lambda = await rawCall(prefect.apiUrl, 'GET', '/health');
      const after = await rawCall(prefect.apiUrl, 'GET', '/health');
      // Assess
      expect([actor.status, lambda.status, after.status]).toEqual([200, 503, 200]);
    });

    it('without a status, only holds the request in onFire and then answers it as usual (a slow server)', async () => {
      // Prepare: the next read of the run is held while the world moves on
      prefect = await startPrefectStandin();
      await seed.workPool(prefect.apiUrl, { name: 'p' });
      const deployment = await seed.deployment(prefect.apiUrl, { name: 'd', workPoolName: 'p' });
      const run = await seed.flowRun(prefect.apiUrl, deployment.id);
      const standin = prefect;
      prefect.faults.inject({
        method: 'GET',
        path: `/flow_runs/${run.id}`,
        onFire: async () => {
          await proposeState(standin.apiUrl, run.id, { type: 'PENDING', name: 'Pending' });
        },
      });
      // Act
      const held = await readFlowRun(prefect.apiUrl, run.id);
      // Assess: answered normally, with what the world became while it was held
      expect(held.state_type).toBe('PENDING');
      expect(prefect.requests.find((request) => request.method === 'GET')).toMatchObject({
        status: 200,
      });
      expect(prefect.requests.at(-1)?.handledStatus).toBeUndefined();
    });

    it('stops failing after clear()', async () => {
      // Prepare
      prefect = await startPrefectStandin();
      prefect.faults.inject({ path: '/health', status: 500, times: 10 });
      // Act
      prefect.faults.clear();
      const response = await rawCall(prefect.apiUrl, 'GET', '/health');
      // Assess
      expect(response.status).toBe(200);
    });
  });

  it('records every request with its path after /api, parsed body, answer and arrival time', async () => {
    // Prepare
    const arrival = new Date('2026-08-21T12:00:00Z');
    prefect = await startPrefectStandin({ now: () => arrival });
    // Act
    await rawCall(prefect.apiUrl, 'POST', '/work_pools/', { body: { name: 'p', type: 'ecs' } });
    // Assess
    expect(prefect.requests).toHaveLength(1);
    expect(prefect.requests[0]).toMatchObject({
      method: 'POST',
      path: '/work_pools/',
      url: '/api/work_pools/',
      body: { name: 'p', type: 'ecs' },
      status: 201,
      at: arrival,
    });
  });
});
