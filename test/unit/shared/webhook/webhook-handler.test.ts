/**
 * The webhook handler end to end with fakes: the auth matrix, the body rules and the route, each
 * checked on status, body and whether Prefect (the injected poll) was called.
 */
import { afterEach, beforeEach, describe, expect, it, onTestFinished, vi } from 'vitest';
import {
  createWebhookHandler,
  handler as lambdaHandler,
  logger as lambdaLogger,
  type WebhookHandler,
  type WebhookPoll,
} from '../../../../functions/webhook/handler.ts';
import { SecretReadError } from '../../../../shared/secrets/secret-read-error.ts';
import { signWebhookRequest } from '../../../../shared/webhook/authenticate.ts';
import { createReplayCache } from '../../../../shared/webhook/replay-cache.ts';
import { MAX_BODY_BYTES } from '../../../../shared/webhook/webhook-limits.ts';
import type { WebhookCredentials } from '../../../../shared/webhook/webhook-secret.ts';
import {
  apiGatewayEvent,
  type EventOptions,
  lambdaContext,
  recordingLogger,
} from './webhook-fixtures.ts';

const SECRET = 'whsec-0123456789abcdef0123456789abcdef';
const OTHER_KEY = 'not-the-secret-0123456789abcdef';
const NOW = new Date('2026-08-21T12:00:00Z');
const NOW_SECONDS = NOW.getTime() / 1000;
const POOLS = ['ecs-serverless', 'ecs-gpu'];
const UNAUTHORIZED = { statusCode: 401, body: '{"message":"Unauthorized"}' };

/** The body Prefect's "call webhook" action sends with the README's payload template. */
const AUTOMATION_BODY = JSON.stringify({
  flow_run_id: '7f0e2d4e-1111-4aaa-8bbb-000000000005',
  event: 'prefect.flow-run.Scheduled',
  event_id: '91aa2d4e-1111-4aaa-8bbb-000000000006',
  expected_start_time: '2026-08-21T12:00:00.123456+00:00',
  work_pool: 'ecs-serverless',
  work_queue: 'default',
  deployment_id: 'e5f62d4e-1111-4aaa-8bbb-000000000004',
});

let polls: (readonly string[] | undefined)[];
let clock: Date;
let credentials: WebhookCredentials;
let log: ReturnType<typeof recordingLogger>;
let poll: WebhookPoll;
let handler: WebhookHandler;

const build = (): WebhookHandler =>
  createWebhookHandler({
    workPools: POOLS,
    credentials: async () => {
      return credentials;
    },
    poll: (pools) => poll(pools),
    now: () => clock,
    replayCache: createReplayCache(),
    logger: log.logger,
  });

beforeEach(() => {
  polls = [];
  clock = NOW;
  credentials = { token: SECRET, signingKey: SECRET };
  log = recordingLogger();
  poll = async (pools) => {
    polls.push(pools);
    return { claimed: 1, enqueued: 1 };
  };
  handler = build();
});

const send = (options: EventOptions = {}) => handler(apiGatewayEvent(options), lambdaContext());

const bearer = (token = SECRET) => ({ authorization: `Bearer ${token}` });

const signed = (body: string, key = SECRET, timestamp = NOW_SECONDS) =>
  signWebhookRequest(key, body, timestamp);

/** What a caller sees, headers lowercased. */
const seen = (result: Awaited<ReturnType<WebhookHandler>>) => ({
  statusCode: result.statusCode,
  body: result.body,
});

describe('webhook: authentication', () => {
  it.each<[string, () => EventOptions]>([
    ['no credentials', () => ({ body: '{}' })],
    ['a wrong bearer token', () => ({ body: '{}', headers: bearer('wrong-token-0123456789') })],
    ['a bearer token that differs in length', () => ({ body: '{}', headers: bearer('x') })],
    ['another auth scheme', () => ({ body: '{}', headers: { authorization: `Basic ${SECRET}` } })],
    ['an empty Authorization header', () => ({ body: '{}', headers: { authorization: '' } })],
    ['a signature made with another key', () => ({ body: '{}', headers: signed('{}', OTHER_KEY) })],
    [
      'a signature over another body',
      () => ({ body: '{"work_pool":"ecs-gpu"}', headers: signed('{}') }),
    ],
    [
      'a signature with an expired timestamp (5 min 1 s old)',
      () => ({ body: '{}', headers: signed('{}', SECRET, NOW_SECONDS - 301) }),
    ],
    [
      'a signature with a future timestamp (5 min 1 s ahead)',
      () => ({ body: '{}', headers: signed('{}', SECRET, NOW_SECONDS + 301) }),
    ],
    [
      'a signature that is not hex',
      () => ({
        body: '{}',
        headers: {
          'x-prefect-ecs-timestamp': String(NOW_SECONDS),
          'x-prefect-ecs-signature': 'sha256=zz',
        },
      }),
    ],
    [
      'a signature with another algorithm',
      () => ({
        body: '{}',
        headers: {
          ...signed('{}'),
          'x-prefect-ecs-signature': signed('{}')['x-prefect-ecs-signature'].replace(
            'sha256=',
            'sha1='
          ),
        },
      }),
    ],
    [
      'a signature without its timestamp',
      () => ({
        body: '{}',
        headers: { 'x-prefect-ecs-signature': signed('{}')['x-prefect-ecs-signature'] },
      }),
    ],
    [
      'a timestamp without a signature',
      () => ({ body: '{}', headers: { 'x-prefect-ecs-timestamp': String(NOW_SECONDS) } }),
    ],
    [
      'a timestamp in milliseconds',
      () => ({ body: '{}', headers: signed('{}', SECRET, NOW.getTime()) }),
    ],
    [
      'a non-numeric timestamp',
      () => ({
        body: '{}',
        headers: { ...signed('{}'), 'x-prefect-ecs-timestamp': '2026-08-21T12:00:00Z' },
      }),
    ],
    [
      'a right token with a wrong signature',
      () => ({ body: '{}', headers: { ...bearer(), ...signed('{}', OTHER_KEY) } }),
    ],
    [
      'a right signature with a wrong token',
      () => ({ body: '{}', headers: { ...bearer('wrong-token-0123456789'), ...signed('{}') } }),
    ],
  ])('refuses %s with the one 401, without calling Prefect', async (_name, request) => {
    // Prepare
    const options = request();
    // Act
    const result = await send(options);
    // Assess
    expect(seen(result)).toEqual(UNAUTHORIZED);
    expect(result.headers).toEqual({
      'content-type': 'application/json; charset=utf-8',
      'cache-control': 'no-store',
      'www-authenticate': 'Bearer',
    });
    expect(polls).toEqual([]);
  });

  it('accepts the right bearer token (any case of the scheme)', async () => {
    // Prepare / Act
    const first = await send({ body: '{}', headers: bearer() });
    const second = await send({ body: '{}', headers: { authorization: `bearer ${SECRET}` } });
    // Assess
    expect(seen(first)).toEqual({ statusCode: 202, body: '{"claimed":1,"enqueued":1}' });
    expect(second.statusCode).toBe(202);
    expect(polls).toEqual([undefined, undefined]);
  });

  it('accepts the right signature, and both credentials together', async () => {
    // Prepare
    const body = '{"work_pool":"ecs-gpu"}';
    // Act
    const alone = await send({ body, headers: signed(body) });
    const both = await send({
      body,
      headers: { ...bearer(), ...signed(body, SECRET, NOW_SECONDS - 1) },
    });
    // Assess
    expect(seen(alone)).toEqual({ statusCode: 202, body: '{"claimed":1,"enqueued":1}' });
    expect(both.statusCode).toBe(202);
    expect(polls).toEqual([['ecs-gpu'], ['ecs-gpu']]);
  });

  it('accepts timestamps exactly 5 minutes old or ahead, and upper-case hex', async () => {
    // Prepare
    const old = signed('{}', SECRET, NOW_SECONDS - 300);
    const ahead = signed('{}', SECRET, NOW_SECONDS + 300);
    const upper = signed('{}', SECRET, NOW_SECONDS + 1);
    upper['x-prefect-ecs-signature'] =
      `sha256=${upper['x-prefect-ecs-signature'].slice(7).toUpperCase()}`;
    // Act
    const results = [
      await send({ body: '{}', headers: old }),
      await send({ body: '{}', headers: ahead }),
      await send({ body: '{}', headers: upper }),
    ];
    // Assess
    expect(results.map((result) => result.statusCode)).toEqual([202, 202, 202]);
  });

  it('refuses a replayed signature for as long as its timestamp is valid', async () => {
    // Prepare: a signature 4 minutes ahead stays valid until 9 minutes from now
    const headers = signed('{}', SECRET, NOW_SECONDS + 240);
    // Act
    const first = await send({ body: '{}', headers });
    const replay = await send({ body: '{}', headers });
    clock = new Date(NOW.getTime() + 360_000);
    const later = await send({ body: '{}', headers });
    clock = new Date(NOW.getTime() + 541_000);
    const expired = await send({ body: '{}', headers });
    // Assess
    expect(first.statusCode).toBe(202);
    expect(seen(replay)).toEqual(UNAUTHORIZED);
    expect(seen(later)).toEqual(UNAUTHORIZED);
    expect(seen(expired)).toEqual(UNAUTHORIZED);
    expect(polls).toHaveLength(1);
    expect(
      log.spies.warn.mock.calls.map(([, attributes]) => (attributes as { reason: string }).reason)
    ).toEqual(['signature-replayed', 'signature-replayed', 'timestamp-out-of-window']);
  });

  it('does not remember a signature that failed, nor a bearer request', async () => {
    // Prepare: the same signature with a wrong bearer first
    const headers = signed('{}');
    // Act
    const wrong = await send({
      body: '{}',
      headers: { ...headers, ...bearer('wrong-token-0123456789') },
    });
    const right = await send({ body: '{}', headers });
    // Assess
    expect(wrong.statusCode).toBe(401);
    expect(right.statusCode).toBe(202);
  });

  it('refuses a method the secret does not enable', async () => {
    // Prepare: a JSON secret with a signing key only
    credentials = { signingKey: SECRET };
    // Act
    const token = await send({ body: '{}', headers: bearer() });
    const signature = await send({ body: '{}', headers: signed('{}') });
    // Assess
    expect(seen(token)).toEqual(UNAUTHORIZED);
    expect(signature.statusCode).toBe(202);
  });

  it('logs the reason of a refusal, never the credential', async () => {
    // Prepare
    const headers = signed('{}');
    // Act
    await send({ body: '{}', headers: bearer('wrong-token-0123456789') });
    await send({ body: '{}', headers });
    await send({ body: '{}', headers });
    await send({ body: '{}', headers: bearer() });
    // Assess
    expect(log.spies.warn.mock.calls).toEqual([
      [
        'Webhook request refused',
        expect.objectContaining({ reason: 'bearer-mismatch', sourceIp: '203.0.113.7' }),
      ],
      ['Webhook request refused', expect.objectContaining({ reason: 'signature-replayed' })],
    ]);
    const text = log.text();
    expect(text).not.toContain(SECRET);
    expect(text).not.toContain('wrong-token-0123456789');
    expect(text).not.toContain(headers['x-prefect-ecs-signature'].slice(7));
  });

  it('never logs the event (its credential headers), even with POWERTOOLS_LOGGER_LOG_EVENT=true', async () => {
    // Prepare: the Powertools switch an operator turns on to debug; the Logger reads it when made
    vi.stubEnv('POWERTOOLS_LOGGER_LOG_EVENT', 'true');
    onTestFinished(() => {
      vi.unstubAllEnvs();
    });
    log = recordingLogger();
    handler = build();
    const headers = signed('{}');
    // Act
    const token = await send({ body: '{}', headers: bearer() });
    const signature = await send({ body: '{}', headers });
    // Assess
    expect([token.statusCode, signature.statusCode]).toEqual([202, 202]);
    const text = log.text();
    expect(text).not.toContain(SECRET);
    expect(text).not.toContain(headers['x-prefect-ecs-signature'].slice(7));
  });
});

describe('webhook: body', () => {
  it('polls every pool for an empty body and for {}', async () => {
    // Prepare / Act
    const empty = await send({ headers: bearer() });
    const object = await send({ body: '{}', headers: bearer() });
    // Assess
    expect([empty.statusCode, object.statusCode]).toEqual([202, 202]);
    expect(polls).toEqual([undefined, undefined]);
  });

  it('polls one pool for {"work_pool": …}', async () => {
    // Prepare / Act
    const result = await send({ body: '{"work_pool":"ecs-gpu"}', headers: bearer() });
    // Assess
    expect(result.statusCode).toBe(202);
    expect(polls).toEqual([['ecs-gpu']]);
  });

  it("accepts a Prefect automation's body (no Content-Type), with its fields logged", async () => {
    // Prepare / Act
    const result = await send({ body: AUTOMATION_BODY, headers: bearer() });
    // Assess
    expect(seen(result)).toEqual({ statusCode: 202, body: '{"claimed":1,"enqueued":1}' });
    expect(polls).toEqual([['ecs-serverless']]);
    expect(log.spies.info).toHaveBeenCalledWith(
      'Poll triggered',
      expect.objectContaining({
        pools: ['ecs-serverless'],
        claimed: 1,
        enqueued: 1,
        authenticatedBy: ['bearer'],
        flowRunId: '7f0e2d4e-1111-4aaa-8bbb-000000000005',
        event: 'prefect.flow-run.Scheduled',
      })
    );
  });

  it('treats an empty or null work_pool (a template without a pool) as every pool', async () => {
    // Prepare / Act
    await send({ body: '{"flow_run_id":"x","work_pool":""}', headers: bearer() });
    await send({ body: '{"work_pool":null}', headers: bearer() });
    // Assess
    expect(polls).toEqual([undefined, undefined]);
  });

  it('ignores unknown keys', async () => {
    // Prepare / Act
    const result = await send({
      body: '{"work_pool":"ecs-gpu","nonce":"abc","nested":{"a":[1,2]}}',
      headers: bearer(),
    });
    // Assess
    expect(result.statusCode).toBe(202);
  });

  it('reads a base64-encoded body and checks its signature over the decoded bytes', async () => {
    // Prepare
    const body = '{"work_pool":"ecs-gpu","note":"café"}';
    const encoded = Buffer.from(body, 'utf8').toString('base64');
    // Act
    const result = await send({ body: encoded, isBase64Encoded: true, headers: signed(body) });
    // Assess
    expect(result.statusCode).toBe(202);
    expect(polls).toEqual([['ecs-gpu']]);
  });

  it.each<[string, string, RegExp]>([
    ['malformed JSON', '{"work_pool": ', /^Invalid JSON body: /],
    ['a JSON array', '[1,2]', /^Invalid request body: \(body\): .*expected object/],
    ['a JSON string', '"ecs"', /^Invalid request body: \(body\): .*expected object/],
    [
      'a work_pool that is not a string',
      '{"work_pool":42}',
      /^Invalid request body: work_pool: .*expected string/,
    ],
    [
      'an unknown pool',
      '{"work_pool":"other"}',
      /^Invalid request body: work_pool: unknown work pool "other" \(this webhook serves "ecs-serverless", "ecs-gpu"\)$/,
    ],
  ])('answers 400 for %s, with the parser message and no stack', async (_name, body, message) => {
    // Prepare / Act
    const result = await send({ body, headers: bearer() });
    // Assess
    expect(result.statusCode).toBe(400);
    const answer = JSON.parse(result.body ?? '') as { message: string };
    expect(Object.keys(answer)).toEqual(['message']);
    expect(answer.message).toMatch(message);
    expect(answer.message).not.toMatch(/\n\s+at /);
    expect(polls).toEqual([]);
  });

  it('answers 400 for a body that is not UTF-8', async () => {
    // Prepare
    const encoded = Buffer.from([0x7b, 0xff, 0xfe, 0x7d]).toString('base64');
    // Act
    const result = await send({ body: encoded, isBase64Encoded: true, headers: bearer() });
    // Assess
    expect(seen(result)).toEqual({
      statusCode: 400,
      body: '{"message":"Invalid request body: not UTF-8 text"}',
    });
  });

  it('authenticates before it reads the body: bad JSON without credentials is a 401', async () => {
    // Prepare / Act
    const result = await send({ body: '{oops' });
    // Assess
    expect(seen(result)).toEqual(UNAUTHORIZED);
  });

  it('accepts exactly 64 KiB and answers 413 above, with or without credentials', async () => {
    // Prepare
    const fits = `{"work_pool":"ecs-gpu"}${' '.repeat(MAX_BODY_BYTES - 23)}`;
    const tooBig = `${fits} `;
    const tooBigEncoded = Buffer.from(tooBig).toString('base64');
    // Act
    const ok = await send({ body: fits, headers: bearer() });
    const refused = await send({ body: tooBig, headers: bearer() });
    const refusedEncoded = await send({
      body: tooBigEncoded,
      isBase64Encoded: true,
      headers: bearer(),
    });
    const anonymous = await send({ body: tooBig });
    // Assess
    expect(Buffer.byteLength(fits)).toBe(65_536);
    expect(ok.statusCode).toBe(202);
    for (const result of [refused, refusedEncoded, anonymous]) {
      expect(seen(result)).toEqual({
        statusCode: 413,
        body: '{"message":"Request body exceeds 65536 bytes"}',
      });
    }
    expect(polls).toEqual([['ecs-gpu']]);
  });

  it('counts bytes, not characters', async () => {
    // Prepare: 21 850 three-byte characters are 65 550 bytes
    const body = JSON.stringify({ note: '€'.repeat(21_850) });
    // Act
    const result = await send({ body, headers: bearer() });
    // Assess
    expect(Buffer.byteLength(body)).toBeGreaterThan(MAX_BODY_BYTES);
    expect(body.length).toBeLessThan(MAX_BODY_BYTES);
    expect(result.statusCode).toBe(413);
  });
});

describe('webhook: route', () => {
  it.each(['GET', 'PUT', 'DELETE', 'PATCH', 'HEAD', 'OPTIONS'])(
    'answers 405 with Allow: POST to %s',
    async (method) => {
      // Prepare / Act
      const result = await send({ method, headers: bearer() });
      // Assess
      expect(seen(result)).toEqual({ statusCode: 405, body: '{"message":"Method Not Allowed"}' });
      expect(result.headers).toMatchObject({ allow: 'POST' });
      expect(polls).toEqual([]);
    }
  );

  it.each(['/', '/triggers', '/trigger/', '/TRIGGER', '/api/trigger'])(
    'answers 404 to POST %s',
    async (path) => {
      // Prepare / Act
      const result = await send({ path, body: '{}', headers: bearer() });
      // Assess
      expect(seen(result)).toEqual({ statusCode: 404, body: '{"message":"Not Found"}' });
      expect(polls).toEqual([]);
    }
  );

  it('serves /trigger under a named stage', async () => {
    // Prepare / Act
    const result = await send({ stage: 'prod', body: '{}', headers: bearer() });
    // Assess
    expect(result.statusCode).toBe(202);
  });
});

describe('webhook: failures', () => {
  it('answers a generic 500 when the poll fails, and logs the error', async () => {
    // Prepare
    poll = async () => {
      throw new Error('Prefect said: database at 10.0.3.7 is down');
    };
    // Act
    const result = await send({ body: '{}', headers: bearer() });
    // Assess
    expect(seen(result)).toEqual({ statusCode: 500, body: '{"message":"Internal Server Error"}' });
    expect(log.spies.error).toHaveBeenCalledWith(
      'Webhook request failed',
      expect.objectContaining({ error: expect.any(Error) })
    );
    expect(log.text()).toContain('database at 10.0.3.7 is down');
    expect(log.text()).not.toContain(SECRET);
  });

  it('answers a generic 500 when the secret cannot be read, without calling Prefect', async () => {
    // Prepare
    handler = createWebhookHandler({
      workPools: POOLS,
      credentials: async () => {
        throw new SecretReadError(
          'Could not read secret arn:aws:secretsmanager:us-east-1:123456789012:secret:webhook: AccessDeniedException',
          'arn:aws:secretsmanager:us-east-1:123456789012:secret:webhook',
          'AccessDeniedException',
          false
        );
      },
      poll: (pools) => poll(pools),
      logger: log.logger,
    });
    // Act
    const result = await send({ body: '{}', headers: bearer() });
    // Assess
    expect(seen(result)).toEqual({ statusCode: 500, body: '{"message":"Internal Server Error"}' });
    expect(polls).toEqual([]);
    expect(log.text()).toContain('AccessDeniedException');
  });
});

describe('webhook: the Lambda entry point', () => {
  afterEach(() => {
    vi.unstubAllEnvs();
    vi.restoreAllMocks();
  });

  it('answers a generic 500 and logs every configuration problem while the environment is bad', async () => {
    // Prepare
    for (const name of ['PREFECT_API_URL', 'PREFECT_WORK_POOLS', 'LAUNCH_QUEUE_URL']) {
      vi.stubEnv(name, '');
    }
    vi.stubEnv('AWS_REGION', 'us-east-1');
    vi.stubEnv('WEBHOOK_SECRET', 'short');
    vi.stubEnv('WEBHOOK_SECRET_ARN', '');
    const logged = vi.spyOn(lambdaLogger, 'error').mockImplementation(() => undefined);
    // Act
    const result = await lambdaHandler(apiGatewayEvent({ body: '{}' }), lambdaContext());
    // Assess
    expect(seen(result)).toEqual({ statusCode: 500, body: '{"message":"Internal Server Error"}' });
    const [message, attributes] = logged.mock.calls[0] ?? [];
    expect(message).toBe('Webhook cannot start');
    const error = (attributes as { error: { issues: string[] } }).error;
    expect(error.issues).toEqual(
      expect.arrayContaining([
        'PREFECT_API_URL: required',
        'PREFECT_WORK_POOLS: required (comma-separated work pool names)',
        'LAUNCH_QUEUE_URL: required',
        'WEBHOOK_SECRET: must be at least 16 characters (e.g. openssl rand -hex 32)',
      ])
    );
    expect(JSON.stringify(logged.mock.calls)).not.toContain('"short"');
  });
});
