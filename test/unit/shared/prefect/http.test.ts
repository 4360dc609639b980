import { afterEach, describe, expect, it } from 'vitest';
import { createPrefectClient } from '../../../../shared/prefect/client.ts';
import {
  isNotFound,
  PrefectApiError,
  PrefectNotFoundError,
} from '../../../../shared/prefect/prefect-api-error.ts';
import { PrefectConnectionError } from '../../../../shared/prefect/prefect-connection-error.ts';
import { isRetryablePrefectError } from '../../../../shared/prefect/prefect-error.ts';
import { PrefectResponseError } from '../../../../shared/prefect/prefect-response-error.ts';
import { IDS, orchestrationBody, workPoolBody } from './fixtures.ts';
import {
  dropConnection,
  empty,
  hang,
  json,
  type Responder,
  recordingSleep,
  startTestServer,
  type TestServer,
  unusedPort,
} from './test-server.ts';

const API_KEY = 'pnu_0123456789abcdefSECRETKEY';
const AUTH_STRING = 'admin:hunter2-very-secret';
const BASIC = Buffer.from(AUTH_STRING).toString('base64');

let server: TestServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

const serve = async (...script: Responder[]): Promise<TestServer> => {
  server = await startTestServer(script);
  return server;
};

/** A client against `apiUrl` that records its waits and never really sleeps. */
const clientFor = (apiUrl: string, options: Record<string, unknown> = {}) => {
  const { sleep, delays } = recordingSleep();
  const client = createPrefectClient(
    { apiUrl, apiKey: API_KEY, ...options },
    { sleep, random: () => 0.5, randomUUID: () => 'fixed-transition-id' }
  );
  return { client, delays };
};

const caught = async (promise: Promise<unknown>): Promise<unknown> => {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected the call to fail');
};

describe('Prefect HTTP transport: headers and URL', () => {
  it('sends the API version, Accept, our own User-Agent and a Bearer API key', async () => {
    // Prepare
    const { apiUrl, requests } = await serve(json(200, workPoolBody()));
    const { client } = clientFor(apiUrl);
    // Act
    await client.readWorkPool('ecs-serverless');
    // Assess
    const headers = requests[0]?.headers ?? {};
    expect(headers['x-prefect-api-version']).toBe('0.8.4');
    expect(headers.accept).toBe('application/json');
    expect(headers['user-agent']).toMatch(/^prefect-ecs-serverless\/\d+\.\d+\.\d+ \(\+https:\/\//);
    expect(headers['user-agent']).not.toMatch(/^prefect\//);
    expect(headers.authorization).toBe(`Bearer ${API_KEY}`);
    expect(headers['content-type']).toBeUndefined();
  });

  it('prefers the auth string over the API key, as Basic base64(user:pass)', async () => {
    // Prepare
    const { apiUrl, requests } = await serve(json(200, workPoolBody()));
    const { client } = clientFor(apiUrl, { authString: AUTH_STRING });
    // Act
    await client.readWorkPool('ecs-serverless');
    // Assess
    expect(requests[0]?.headers.authorization).toBe(`Basic ${BASIC}`);
  });

  it('sends no Authorization header without credentials', async () => {
    // Prepare
    const { apiUrl, requests } = await serve(json(200, workPoolBody()));
    const client = createPrefectClient({ apiUrl });
    // Act
    await client.readWorkPool('ecs-serverless');
    // Assess
    expect(requests[0]?.headers.authorization).toBeUndefined();
  });

  it('sends JSON with Content-Type and Content-Length when there is a body', async () => {
    // Prepare
    const { apiUrl, requests } = await serve(empty(204));
    const { client } = clientFor(apiUrl);
    // Act
    await client.sendWorkerHeartbeat('ecs-serverless', { name: 'w', heartbeatIntervalSeconds: 60 });
    // Assess
    expect(requests[0]?.headers['content-type']).toBe('application/json');
    expect(requests[0]?.headers['content-length']).toBe(String(requests[0]?.body.length));
  });

  it('sends custom headers and a custom User-Agent', async () => {
    // Prepare
    const { apiUrl, requests } = await serve(json(200, workPoolBody()));
    const { client } = clientFor(apiUrl, { headers: { 'X-Proxy': 'p1' }, userAgent: 'ua/1' });
    // Act
    await client.readWorkPool('ecs-serverless');
    // Assess
    expect(requests[0]?.headers['x-proxy']).toBe('p1');
    expect(requests[0]?.headers['user-agent']).toBe('ua/1');
  });

  it('refuses custom headers that would override protected ones', () => {
    // Prepare / Act / Assess
    expect(() =>
      createPrefectClient({ apiUrl: 'http://x/api', headers: { authorization: 'x' } })
    ).toThrow(/may not set authorization/);
  });

  it('keeps a Cloud-style path prefix and tolerates a trailing slash', async () => {
    // Prepare
    const { origin, requests } = await serve(json(200, workPoolBody()));
    const apiUrl = `${origin}/api/accounts/acc-1/workspaces/ws-2/`;
    const { client } = clientFor(apiUrl);
    // Act
    await client.readWorkPool('my pool/x');
    // Assess
    expect(requests[0]?.url).toBe('/api/accounts/acc-1/workspaces/ws-2/work_pools/my%20pool%2Fx');
  });

  it('rejects a malformed apiUrl and credentials with control characters without quoting them', () => {
    // Prepare / Act / Assess
    expect(() => createPrefectClient({ apiUrl: 'localhost:4200' })).toThrow(TypeError);
    const error = (() => {
      try {
        createPrefectClient({ apiUrl: 'http://x/api', apiKey: `${API_KEY}\n` });
      } catch (e) {
        return e as Error;
      }
      throw new Error('expected a throw');
    })();
    expect(error.message).not.toContain(API_KEY);
  });
});

describe('Prefect HTTP transport: retries', () => {
  it('retries 429 after Retry-After (1–1.2×) and succeeds', async () => {
    // Prepare
    const { apiUrl, requests } = await serve(
      json(429, { detail: 'slow down' }, { 'retry-after': '1' }),
      json(200, workPoolBody())
    );
    const { client, delays } = clientFor(apiUrl);
    // Act
    const pool = await client.readWorkPool('ecs-serverless');
    // Assess
    expect(pool.name).toBe('ecs-serverless');
    expect(requests).toHaveLength(2);
    expect(delays).toHaveLength(1);
    expect(delays[0]).toBeGreaterThanOrEqual(1000);
    expect(delays[0]).toBeLessThanOrEqual(1200);
  });

  it('honours fractional Retry-After seconds and HTTP-dates', async () => {
    // Prepare
    const inTenSeconds = new Date(Date.now() + 10_000).toUTCString();
    const { apiUrl } = await serve(
      json(503, {}, { 'retry-after': '0.25' }),
      json(503, {}, { 'retry-after': inTenSeconds }),
      json(200, workPoolBody())
    );
    const { client, delays } = clientFor(apiUrl);
    // Act
    await client.readWorkPool('ecs-serverless');
    // Assess
    expect(delays[0]).toBeCloseTo(275, 5); // 0.25 s × (1 + 0.2 × 0.5)
    expect(delays[1]).toBeGreaterThan(8_000);
    expect(delays[1]).toBeLessThanOrEqual(12_000);
  });

  it('backs off 2^n s with jitter, then fails with a retryable error and the attempt count', async () => {
    // Prepare
    const { apiUrl, requests } = await serve(json(503, { detail: 'Service Unavailable' }));
    const { client, delays } = clientFor(apiUrl, { maxRetries: 3 });
    // Act
    const error = await caught(client.readWorkPool('ecs-serverless'));
    // Assess
    expect(error).toBeInstanceOf(PrefectApiError);
    expect(error).toMatchObject({ status: 503, retryable: true, attempts: 4 });
    expect(isRetryablePrefectError(error)).toBe(true);
    expect(requests).toHaveLength(4);
    expect(delays).toEqual([2000, 4000, 8000]);
    expect(String(error)).toContain('(retryable, 4 attempts)');
  });

  it('caps each backoff at maxDelayMs', async () => {
    // Prepare
    const { apiUrl } = await serve(json(502, {}));
    const { client, delays } = clientFor(apiUrl, { maxRetries: 3, maxDelayMs: 3000 });
    // Act
    await caught(client.readWorkPool('ecs-serverless'));
    // Assess
    expect(delays).toEqual([2000, 3000, 3000]);
  });

  it('gives up at once, still retryable, when Retry-After exceeds maxDelayMs', async () => {
    // Prepare
    const { apiUrl, requests } = await serve(json(429, {}, { 'retry-after': '120' }));
    const { client, delays } = clientFor(apiUrl, { maxDelayMs: 10_000 });
    // Act
    const error = await caught(client.readWorkPool('ecs-serverless'));
    // Assess
    expect(requests).toHaveLength(1);
    expect(delays).toEqual([]);
    expect(error).toMatchObject({ status: 429, retryable: true, retryAfterMs: 120_000 });
  });

  it.each([422, 404, 409, 401, 403, 500, 504])('does not retry %i', async (status) => {
    // Prepare
    const { apiUrl, requests } = await serve(json(status, { detail: 'no' }));
    const { client, delays } = clientFor(apiUrl);
    // Act
    const error = await caught(client.readWorkPool('ecs-serverless'));
    // Assess
    expect(requests).toHaveLength(1);
    expect(delays).toEqual([]);
    expect(error).toMatchObject({ status, retryable: false, attempts: 1 });
  });

  it('retries during a Prefect-Maintenance window without counting those attempts', async () => {
    // Prepare
    const maintenance = json(503, {}, { 'prefect-maintenance': 'true', 'retry-after': '1' });
    const { apiUrl, requests } = await serve(
      maintenance,
      maintenance,
      maintenance,
      maintenance,
      json(200, workPoolBody())
    );
    const { client } = clientFor(apiUrl, { maxRetries: 1 });
    // Act
    const pool = await client.readWorkPool('ecs-serverless');
    // Assess
    expect(pool.id).toBe(IDS.pool);
    expect(requests).toHaveLength(5);
  });

  it('stops maintenance retries at the call deadline', async () => {
    // Prepare
    const { apiUrl, requests } = await serve(
      json(503, {}, { 'prefect-maintenance': 'true', 'retry-after': '10' })
    );
    let clock = 0;
    const client = createPrefectClient(
      { apiUrl, maxRetries: 1, deadlineMs: 60_000 },
      {
        now: () => clock,
        random: () => 0,
        sleep: async (ms) => {
          clock += ms;
        },
      }
    );
    // Act
    const error = await caught(client.readWorkPool('ecs-serverless'));
    // Assess
    expect(error).toMatchObject({ status: 503, retryable: true });
    expect(requests).toHaveLength(6); // waits at 0, 10, …, 50 s; the next would pass 60 s
  });

  it('resends the identical body, transition_id included, on every attempt', async () => {
    // Prepare
    const { apiUrl, requests } = await serve(
      json(503, {}),
      dropConnection(),
      json(201, orchestrationBody('ACCEPT'))
    );
    const { client } = clientFor(apiUrl);
    // Act
    const result = await client.setFlowRunState(IDS.run, { type: 'PENDING' });
    // Assess
    expect(requests).toHaveLength(3);
    expect(new Set(requests.map((r) => r.body)).size).toBe(1);
    expect(JSON.parse(requests[0]?.body ?? '{}').state.state_details.transition_id).toBe(
      'fixed-transition-id'
    );
    expect(result.transitionId).toBe('fixed-transition-id');
  });
});

describe('Prefect HTTP transport: network failures', () => {
  it('retries a refused connection, then fails with a retryable connection error', async () => {
    // Prepare
    const apiUrl = `http://127.0.0.1:${await unusedPort()}/api`;
    const { client, delays } = clientFor(apiUrl, { maxRetries: 2 });
    // Act
    const error = await caught(client.readFlowRun(IDS.run));
    // Assess
    expect(error).toBeInstanceOf(PrefectConnectionError);
    expect(error).toMatchObject({ retryable: true, timedOut: false, attempts: 3 });
    expect(delays).toHaveLength(2);
    expect(String(error)).toMatch(/readFlowRun failed: GET \/flow_runs\/.+ → connection error/);
    expect((error as Error).cause).toMatchObject({ code: 'ECONNREFUSED' });
  });

  it('retries a dropped socket and succeeds', async () => {
    // Prepare
    const { apiUrl, requests } = await serve(dropConnection(), json(200, workPoolBody()));
    const { client } = clientFor(apiUrl);
    // Act
    const pool = await client.readWorkPool('ecs-serverless');
    // Assess
    expect(pool.name).toBe('ecs-serverless');
    expect(requests).toHaveLength(2);
  });

  it('times out each attempt, retries, then reports the timeout', async () => {
    // Prepare
    const { apiUrl, requests } = await serve(hang());
    const { client } = clientFor(apiUrl, { timeoutMs: 100, maxRetries: 2 });
    // Act
    const error = await caught(client.readWorkPool('ecs-serverless'));
    // Assess
    expect(error).toBeInstanceOf(PrefectConnectionError);
    expect(error).toMatchObject({ retryable: true, timedOut: true, attempts: 3 });
    expect(requests).toHaveLength(3);
    expect(String(error)).toContain('timed out after 100 ms');
  });
});

describe('Prefect HTTP transport: errors', () => {
  it('names the call, method, path, status and the offending field of a 422', async () => {
    // Prepare
    const { apiUrl, requests } = await serve(
      json(422, {
        exception_message: 'Invalid request received.',
        exception_detail: [
          {
            type: 'extra_forbidden',
            loc: ['body', 'state', 'foo'],
            msg: 'Extra inputs are not permitted',
            input: 1,
          },
        ],
        request_body: { state: { foo: 1 } },
      })
    );
    const { client } = clientFor(apiUrl);
    // Act
    const error = await caught(client.setFlowRunState(IDS.run, { type: 'PENDING' }));
    // Assess
    expect(requests).toHaveLength(1);
    expect(error).toBeInstanceOf(PrefectApiError);
    expect((error as Error).message).toBe(
      `Prefect setFlowRunState failed: POST /flow_runs/${IDS.run}/set_state → 422 Unprocessable Entity: Invalid request received. body.state.foo: Extra inputs are not permitted (not retryable)`
    );
    expect(error).toMatchObject({
      operation: 'setFlowRunState',
      method: 'POST',
      path: `/flow_runs/${IDS.run}/set_state`,
      status: 422,
      retryable: false,
    });
  });

  it('formats FastAPI detail lists and truncates long details', async () => {
    // Prepare
    const { apiUrl } = await serve(
      json(422, {
        detail: [{ loc: ['body', 'limit'], msg: 'Input should be less than or equal to 200' }],
      }),
      json(400, { detail: 'x'.repeat(5000) })
    );
    const { client } = clientFor(apiUrl);
    // Act
    const first = await caught(client.readWorkPool('a'));
    const second = await caught(client.readWorkPool('b'));
    // Assess
    expect(first).toMatchObject({
      detail: 'body.limit: Input should be less than or equal to 200',
    });
    expect((second as PrefectApiError).detail.length).toBeLessThanOrEqual(500);
  });

  it('maps 404 to PrefectNotFoundError', async () => {
    // Prepare
    const { apiUrl } = await serve(json(404, { detail: 'Work pool not found.' }));
    const { client } = clientFor(apiUrl);
    // Act
    const error = await caught(client.readWorkPool('missing'));
    // Assess
    expect(error).toBeInstanceOf(PrefectNotFoundError);
    expect(isNotFound(error)).toBe(true);
    expect(isNotFound(new Error('x'))).toBe(false);
  });

  it('reports a response that fails its schema as a non-retryable error naming the call and field', async () => {
    // Prepare
    const { apiUrl } = await serve(json(200, workPoolBody({ is_paused: 'nope' })));
    const { client } = clientFor(apiUrl);
    // Act
    const error = await caught(client.readWorkPool('ecs-serverless'));
    // Assess
    expect(error).toBeInstanceOf(PrefectResponseError);
    expect(error).toMatchObject({ operation: 'readWorkPool', retryable: false, status: 200 });
    expect((error as Error).message).toMatch(
      /^Prefect readWorkPool returned an unexpected response: GET \/work_pools\/ecs-serverless → 200: is_paused: /
    );
  });

  it('reports a non-JSON success body as a response error', async () => {
    // Prepare
    const { apiUrl } = await serve((_request, res) => {
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end('<html>login</html>');
    });
    const { client } = clientFor(apiUrl);
    // Act
    const error = await caught(client.readWorkPool('ecs-serverless'));
    // Assess
    expect(error).toBeInstanceOf(PrefectResponseError);
  });
});

describe('Prefect HTTP transport: secrets', () => {
  const leaks = (error: unknown, secrets: readonly string[]): string[] => {
    const e = error as Error;
    const surfaces = [
      JSON.stringify(e),
      String(e),
      e.stack ?? '',
      e.message,
      JSON.stringify(e.cause ?? null),
      String(e.cause ?? ''),
      (e.cause as Error | undefined)?.stack ?? '',
      JSON.stringify(Object.entries(e)),
    ];
    return secrets.filter((secret) => surfaces.some((s) => s.includes(secret)));
  };

  it('never leaks the API key, even when the server echoes it back', async () => {
    // Prepare
    const { apiUrl } = await serve((request, res) => {
      res.writeHead(401, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ detail: `bad header ${request.headers.authorization}` }));
    });
    const { client } = clientFor(apiUrl);
    // Act
    const error = await caught(client.readWorkPool('ecs-serverless'));
    // Assess
    expect(error).toMatchObject({ status: 401 });
    expect((error as PrefectApiError).detail).toContain('[REDACTED]');
    expect(leaks(error, [API_KEY])).toEqual([]);
  });

  it('never leaks the auth string or its base64 form', async () => {
    // Prepare
    const { apiUrl } = await serve((request, res) => {
      res.writeHead(403, { 'content-type': 'text/plain' });
      res.end(
        `forbidden for ${request.headers.authorization} (${AUTH_STRING}, hunter2-very-secret)`
      );
    });
    const { client } = clientFor(apiUrl, { authString: AUTH_STRING });
    // Act
    const error = await caught(client.readWorkPool('ecs-serverless'));
    // Assess
    expect(leaks(error, [AUTH_STRING, BASIC, API_KEY, 'hunter2-very-secret'])).toEqual([]);
  });

  it('never leaks credentials through connection errors or their cause', async () => {
    // Prepare
    const apiUrl = `http://127.0.0.1:${await unusedPort()}/api`;
    const { client } = clientFor(apiUrl, { authString: AUTH_STRING, maxRetries: 0 });
    // Act
    const error = await caught(client.readWorkPool('ecs-serverless'));
    // Assess
    expect(error).toBeInstanceOf(PrefectConnectionError);
    expect(leaks(error, [AUTH_STRING, BASIC, API_KEY])).toEqual([]);
  });
});
