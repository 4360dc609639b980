import { afterEach, describe, expect, it } from 'vitest';
import { createPrefectClient } from '../../../../shared/prefect/client.ts';
import { resolveClientOptions } from '../../../../shared/prefect/client-options.ts';
import { CSRF_EXPIRY_MARGIN_MS } from '../../../../shared/prefect/csrf-session.ts';
import { PrefectApiError } from '../../../../shared/prefect/prefect-api-error.ts';
import { IDS, orchestrationBody, workPoolBody } from './fixtures.ts';
import {
  empty,
  json,
  type RecordedRequest,
  type Responder,
  recordingSleep,
  startTestServer,
  type TestServer,
} from './test-server.ts';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const T0 = Date.parse('2026-08-21T12:00:00Z');

let server: TestServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

const serve = async (...script: Responder[]): Promise<TestServer> => {
  server = await startTestServer(script);
  return server;
};

/** A client whose clock is `clock.now` and which never really sleeps. */
const clientFor = (apiUrl: string, options: Record<string, unknown> = {}) => {
  const clock = { now: T0 };
  const { sleep } = recordingSleep();
  const client = createPrefectClient(
    { apiUrl, ...options },
    { sleep, random: () => 0.5, now: () => clock.now }
  );
  return { client, clock };
};

const missingToken = json(403, { detail: 'Missing CSRF token.' });
const invalidToken = json(
  403,
  { detail: 'Invalid CSRF token or client identifier.' },
  { 'access-control-allow-origin': '*' }
);
const tokenAnswer = (token: string, expiresAtMs: number): Responder =>
  json(200, {
    id: '3f0e2d4e-1111-4aaa-8bbb-0000000000cc',
    created: '2026-08-21T12:00:00Z',
    updated: '2026-08-21T12:00:00Z',
    token,
    client: 'whatever the server echoes',
    expiration: new Date(expiresAtMs).toISOString(),
  });

const line = (request: RecordedRequest | undefined): string =>
  request === undefined ? '(none)' : `${request.method} ${request.url.replace(/\?.*$/, '')}`;
const tokenOf = (request: RecordedRequest | undefined) => request?.headers['prefect-csrf-token'];
const clientIdOf = (request: RecordedRequest | undefined) =>
  request?.headers['prefect-csrf-client'];
const heartbeat = { name: 'worker-1', heartbeatIntervalSeconds: 30 };

const caught = async (promise: Promise<unknown>): Promise<unknown> => {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected the call to fail');
};

describe('Prefect client CSRF: fetching the token lazily', () => {
  it('sends no token and asks for none while the server does not require one', async () => {
    // Prepare
    const { apiUrl, requests } = await serve(empty(204), empty(204), json(200, workPoolBody()));
    const { client } = clientFor(apiUrl);
    // Act
    await client.sendWorkerHeartbeat('ecs-serverless', heartbeat);
    await client.sendWorkerHeartbeat('ecs-serverless', heartbeat);
    await client.readWorkPool('ecs-serverless');
    // Assess
    expect(requests.map(line)).toEqual([
      'POST /api/work_pools/ecs-serverless/workers/heartbeat',
      'POST /api/work_pools/ecs-serverless/workers/heartbeat',
      'GET /api/work_pools/ecs-serverless',
    ]);
    expect(requests.map(tokenOf)).toEqual([undefined, undefined, undefined]);
  });

  it('fetches a token for its own client id when a write is refused, resends it once, and keeps it', async () => {
    // Prepare
    const { apiUrl, requests } = await serve(
      missingToken,
      tokenAnswer('token-one-0123456789', T0 + 3_600_000),
      empty(204),
      json(200, workPoolBody()),
      empty(204)
    );
    const { client } = clientFor(apiUrl);
    // Act
    await client.sendWorkerHeartbeat('ecs-serverless', heartbeat);
    await client.readWorkPool('ecs-serverless');
    await client.sendWorkerHeartbeat('ecs-serverless', heartbeat);
    // Assess
    expect(requests.map(line)).toEqual([
      'POST /api/work_pools/ecs-serverless/workers/heartbeat',
      'GET /api/csrf-token',
      'POST /api/work_pools/ecs-serverless/workers/heartbeat',
      'GET /api/work_pools/ecs-serverless',
      'POST /api/work_pools/ecs-serverless/workers/heartbeat',
    ]);
    const clientId = new URL(requests[1]?.url ?? '', 'http://x').searchParams.get('client');
    expect(clientId).toMatch(UUID);
    expect(tokenOf(requests[2])).toBe('token-one-0123456789');
    expect(clientIdOf(requests[2])).toBe(clientId);
    // Reads never carry it; later writes reuse it without asking again.
    expect(tokenOf(requests[3])).toBeUndefined();
    expect(tokenOf(requests[4])).toBe('token-one-0123456789');
    expect(clientIdOf(requests[4])).toBe(clientId);
    expect(requests[0]?.body).toBe(requests[2]?.body);
  });

  it('gives each client instance its own client id', async () => {
    // Prepare
    const { apiUrl, requests } = await serve(
      missingToken,
      tokenAnswer('token-a-0123456789', T0 + 3_600_000),
      empty(204),
      missingToken,
      tokenAnswer('token-b-0123456789', T0 + 3_600_000),
      empty(204)
    );
    // Act
    await clientFor(apiUrl).client.sendWorkerHeartbeat('ecs-serverless', heartbeat);
    await clientFor(apiUrl).client.sendWorkerHeartbeat('ecs-serverless', heartbeat);
    // Assess
    expect(clientIdOf(requests[2])).toMatch(UUID);
    expect(clientIdOf(requests[5])).toMatch(UUID);
    expect(clientIdOf(requests[5])).not.toBe(clientIdOf(requests[2]));
  });

  it('shares one token request between writes refused at the same time', async () => {
    // Prepare: a server that checks tokens itself, whatever the order of arrival.
    const issued = new Set<string>();
    const csrfServer: Responder = (request, res) => {
      if (request.method === 'GET' && request.url.startsWith('/api/csrf-token')) {
        const token = `token-${issued.size}-0123456789`;
        issued.add(token);
        tokenAnswer(token, T0 + 3_600_000)(request, res, undefined as never);
        return;
      }
      const token = tokenOf(request);
      if (typeof token === 'string' && issued.has(token))
        empty(204)(request, res, undefined as never);
      else missingToken(request, res, undefined as never);
    };
    const { apiUrl, requests } = await serve(csrfServer);
    const { client } = clientFor(apiUrl);
    // Act
    await Promise.all([1, 2, 3].map(() => client.sendWorkerHeartbeat('ecs-serverless', heartbeat)));
    // Assess
    expect(requests.filter((r) => r.method === 'GET')).toHaveLength(1);
    expect(requests.filter((r) => r.method === 'POST')).toHaveLength(6);
    expect(issued.size).toBe(1);
  });
});

describe('Prefect client CSRF: refreshing the token', () => {
  it('fetches a new token before a write once the current one has expired', async () => {
    // Prepare
    const expiresAt = T0 + 60_000;
    const { apiUrl, requests } = await serve(
      missingToken,
      tokenAnswer('token-one-0123456789', expiresAt),
      empty(204),
      empty(204),
      tokenAnswer('token-two-0123456789', expiresAt + 3_600_000),
      empty(204)
    );
    const { client, clock } = clientFor(apiUrl);
    await client.sendWorkerHeartbeat('ecs-serverless', heartbeat);
    // Act: still valid (just before the margin), then past it.
    clock.now = expiresAt - CSRF_EXPIRY_MARGIN_MS - 1;
    await client.sendWorkerHeartbeat('ecs-serverless', heartbeat);
    clock.now = expiresAt - CSRF_EXPIRY_MARGIN_MS;
    await client.sendWorkerHeartbeat('ecs-serverless', heartbeat);
    // Assess
    expect(requests.map(line).slice(3)).toEqual([
      'POST /api/work_pools/ecs-serverless/workers/heartbeat',
      'GET /api/csrf-token',
      'POST /api/work_pools/ecs-serverless/workers/heartbeat',
    ]);
    expect(tokenOf(requests[3])).toBe('token-one-0123456789');
    expect(tokenOf(requests[5])).toBe('token-two-0123456789');
    expect(clientIdOf(requests[5])).toBe(clientIdOf(requests[3]));
  });

  it('refreshes the token on "Invalid CSRF token" and resends once', async () => {
    // Prepare
    const { apiUrl, requests } = await serve(
      missingToken,
      tokenAnswer('token-one-0123456789', T0 + 3_600_000),
      empty(204),
      invalidToken,
      tokenAnswer('token-two-0123456789', T0 + 3_600_000),
      empty(204)
    );
    const { client } = clientFor(apiUrl);
    await client.sendWorkerHeartbeat('ecs-serverless', heartbeat);
    // Act
    await client.sendWorkerHeartbeat('ecs-serverless', heartbeat);
    // Assess
    expect(requests.map(line).slice(3)).toEqual([
      'POST /api/work_pools/ecs-serverless/workers/heartbeat',
      'GET /api/csrf-token',
      'POST /api/work_pools/ecs-serverless/workers/heartbeat',
    ]);
    expect(tokenOf(requests[3])).toBe('token-one-0123456789');
    expect(tokenOf(requests[5])).toBe('token-two-0123456789');
  });

  it('throws the second CSRF refusal of one call instead of looping', async () => {
    // Prepare
    const { apiUrl, requests } = await serve(
      missingToken,
      tokenAnswer('token-one-0123456789', T0 + 3_600_000),
      invalidToken
    );
    const { client } = clientFor(apiUrl);
    // Act
    const error = await caught(client.sendWorkerHeartbeat('ecs-serverless', heartbeat));
    // Assess
    expect(error).toBeInstanceOf(PrefectApiError);
    expect((error as PrefectApiError).status).toBe(403);
    expect((error as PrefectApiError).retryable).toBe(false);
    expect((error as Error).message).toContain('Invalid CSRF token or client identifier.');
    expect((error as Error).message).not.toContain('token-one-0123456789');
    expect(requests.map(line)).toEqual([
      'POST /api/work_pools/ecs-serverless/workers/heartbeat',
      'GET /api/csrf-token',
      'POST /api/work_pools/ecs-serverless/workers/heartbeat',
    ]);
  });

  it('resends a no-replay state proposal once after a CSRF refusal, with the same body', async () => {
    // Prepare
    const { apiUrl, requests } = await serve(
      missingToken,
      tokenAnswer('token-one-0123456789', T0 + 3_600_000),
      json(201, orchestrationBody('ACCEPT'))
    );
    const { client } = clientFor(apiUrl);
    // Act
    const result = await client.setFlowRunState(
      IDS.run,
      { type: 'PENDING', name: 'Pending' },
      { replay: false }
    );
    // Assess
    expect(result.status).toBe('ACCEPT');
    expect(result.stateWritten).toBe(true);
    expect(requests.map(line)).toEqual([
      `POST /api/flow_runs/${IDS.run}/set_state`,
      'GET /api/csrf-token',
      `POST /api/flow_runs/${IDS.run}/set_state`,
    ]);
    expect(requests[2]?.body).toBe(requests[0]?.body);
  });

  it('does not resend a no-replay state proposal refused by anything but CSRF', async () => {
    // Prepare
    const { apiUrl, requests } = await serve(json(403, { detail: 'Forbidden' }));
    const { client } = clientFor(apiUrl);
    // Act
    const error = await caught(
      client.setFlowRunState(IDS.run, { type: 'PENDING', name: 'Pending' }, { replay: false })
    );
    // Assess
    expect((error as PrefectApiError).status).toBe(403);
    expect(requests).toHaveLength(1);
  });
});

describe('Prefect client CSRF: servers without CSRF protection', () => {
  it('stops asking once the token endpoint says protection is disabled (422)', async () => {
    // Prepare: something answers the CSRF refusal although the server has protection off.
    const { apiUrl, requests } = await serve(
      missingToken,
      json(422, { detail: 'CSRF protection is disabled.' }),
      missingToken
    );
    const { client } = clientFor(apiUrl);
    // Act
    const first = await caught(client.sendWorkerHeartbeat('ecs-serverless', heartbeat));
    const second = await caught(client.sendWorkerHeartbeat('ecs-serverless', heartbeat));
    // Assess
    expect((first as PrefectApiError).status).toBe(403);
    expect((second as PrefectApiError).status).toBe(403);
    expect(requests.map(line)).toEqual([
      'POST /api/work_pools/ecs-serverless/workers/heartbeat',
      'GET /api/csrf-token',
      'POST /api/work_pools/ecs-serverless/workers/heartbeat',
    ]);
  });

  it('treats a server without the token endpoint (404) as unprotected', async () => {
    // Prepare
    const { apiUrl, requests } = await serve(
      missingToken,
      json(404, { detail: 'Not Found' }),
      missingToken
    );
    const { client } = clientFor(apiUrl);
    // Act
    await caught(client.sendWorkerHeartbeat('ecs-serverless', heartbeat));
    await caught(client.sendWorkerHeartbeat('ecs-serverless', heartbeat));
    // Assess
    expect(requests.filter((r) => r.url.startsWith('/api/csrf-token'))).toHaveLength(1);
  });

  it('throws a failing token request as that call failing', async () => {
    // Prepare
    const { apiUrl } = await serve(missingToken, json(500, { exception_message: 'boom' }));
    const { client } = clientFor(apiUrl, { maxRetries: 0 });
    // Act
    const error = await caught(client.sendWorkerHeartbeat('ecs-serverless', heartbeat));
    // Assess
    expect(error).toBeInstanceOf(PrefectApiError);
    expect((error as PrefectApiError).operation).toBe('readCsrfToken');
    expect((error as PrefectApiError).status).toBe(500);
  });

  it('never uses CSRF against Prefect Cloud or when turned off', () => {
    // Prepare / Act
    const cloud = resolveClientOptions({
      apiUrl: 'https://api.prefect.cloud/api/accounts/a/workspaces/w',
      apiKey: 'pnu_x',
    });
    const off = resolveClientOptions({ apiUrl: 'http://localhost:4200/api', csrfSupport: false });
    const on = resolveClientOptions({ apiUrl: 'http://localhost:4200/api' });
    // Assess
    expect(cloud.csrf).toBe(false);
    expect(off.csrf).toBe(false);
    expect(on.csrf).toBe(true);
  });

  it('with CSRF support off, a refused write is not answered with a token request', async () => {
    // Prepare
    const { apiUrl, requests } = await serve(missingToken);
    const { client } = clientFor(apiUrl, { csrfSupport: false });
    // Act
    await caught(client.sendWorkerHeartbeat('ecs-serverless', heartbeat));
    // Assess
    expect(requests).toHaveLength(1);
  });
});

describe('Prefect client: custom headers and redaction', () => {
  const PROXY_SECRET = 'cf-access-secret-0123456789abcdef';

  it('sends the custom headers on every request, the token request included', async () => {
    // Prepare
    const { apiUrl, requests } = await serve(
      missingToken,
      tokenAnswer('token-one-0123456789', T0 + 3_600_000),
      empty(204),
      json(200, workPoolBody())
    );
    const { client } = clientFor(apiUrl, {
      headers: { 'CF-Access-Client-Secret': PROXY_SECRET, 'X-Team': 'data' },
    });
    // Act
    await client.sendWorkerHeartbeat('ecs-serverless', heartbeat);
    await client.readWorkPool('ecs-serverless');
    // Assess
    expect(requests).toHaveLength(4);
    for (const request of requests) {
      expect(request.headers['cf-access-client-secret']).toBe(PROXY_SECRET);
      expect(request.headers['x-team']).toBe('data');
    }
  });

  it('redacts the CSRF token and custom header values a server echoes in an error', async () => {
    // Prepare
    const token = 'a3f9c2e1d4b5a6978877665544332211';
    const { apiUrl } = await serve(
      missingToken,
      tokenAnswer(token, T0 + 3_600_000),
      json(400, { detail: `bad request: token=${token} secret=${PROXY_SECRET}` })
    );
    const { client } = clientFor(apiUrl, { headers: { 'CF-Access-Client-Secret': PROXY_SECRET } });
    // Act
    const error = await caught(client.sendWorkerHeartbeat('ecs-serverless', heartbeat));
    // Assess
    const text = `${(error as Error).message} ${(error as PrefectApiError).detail}`;
    expect(text).toContain('[REDACTED]');
    expect(text).not.toContain(token);
    expect(text).not.toContain(PROXY_SECRET);
  });

  it('redacts the CSRF token from state messages it sends', async () => {
    // Prepare
    const token = 'b4e0d3f2c1a0998877665544332211ff';
    const { apiUrl, bodies } = await serve(
      missingToken,
      tokenAnswer(token, T0 + 3_600_000),
      empty(204),
      json(201, orchestrationBody('ACCEPT'))
    );
    const { client } = clientFor(apiUrl);
    await client.sendWorkerHeartbeat('ecs-serverless', heartbeat);
    // Act
    await client.setFlowRunState(IDS.run, {
      type: 'CRASHED',
      name: 'Crashed',
      message: `proxy said: Prefect-Csrf-Token: ${token}`,
    });
    // Assess
    const sent = JSON.stringify(bodies()[3]);
    expect(sent).toContain('[REDACTED]');
    expect(sent).not.toContain(token);
  });

  it('refuses custom headers that would replace the CSRF or auth headers', () => {
    // Prepare / Act / Assess
    for (const name of ['Prefect-Csrf-Token', 'prefect-csrf-client', 'Authorization', 'Host']) {
      expect(() =>
        resolveClientOptions({ apiUrl: 'http://localhost:4200/api', headers: { [name]: 'x' } })
      ).toThrow(`may not set ${name}`);
    }
  });
});
