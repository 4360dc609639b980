import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { seed } from './actors.ts';
import { rawCall } from './raw-http.ts';
import { type PrefectStandin, startPrefectStandin } from './server.ts';

/**
 * Prefect 3.8 answers request validation errors with its own handler: 422
 * `{"exception_message": "Invalid request received.", "exception_detail": [<FastAPI detail items>],
 * "request_body": ...}` (server/api/server.py), not FastAPI's bare `{"detail": [...]}`.
 */
describe('Prefect stand-in: request validation against the OpenAPI document', () => {
  let prefect: PrefectStandin;
  beforeEach(async () => {
    prefect = await startPrefectStandin();
  });
  afterEach(async () => {
    await prefect.close();
  });

  it('rejects an unknown field in a create body (extra="forbid") with 422', async () => {
    // Prepare
    const body = { name: 'pool', type: 'ecs', colour: 'blue' };
    // Act
    const response = await rawCall(prefect.apiUrl, 'POST', '/work_pools/', { body });
    // Assess
    expect(response.status).toBe(422);
    expect(response.body).toEqual({
      exception_message: 'Invalid request received.',
      exception_detail: [
        {
          type: 'extra_forbidden',
          loc: ['body', 'colour'],
          msg: 'Extra inputs are not permitted',
          input: 'blue',
        },
      ],
      request_body: body,
    });
  });

  it('rejects a missing required field with 422 "missing"', async () => {
    // Act
    const response = await rawCall(prefect.apiUrl, 'POST', '/work_pools/', {
      body: { type: 'ecs' },
    });
    // Assess
    expect(response.status).toBe(422);
    expect(response.body).toMatchObject({
      exception_detail: [
        { type: 'missing', loc: ['body', 'name'], msg: 'Field required', input: { type: 'ecs' } },
      ],
    });
  });

  it('rejects wrong types with pydantic error types', async () => {
    // Act
    const response = await rawCall(prefect.apiUrl, 'POST', '/work_pools/', {
      body: { name: 'pool', concurrency_limit: 'ten', is_paused: 'nope' },
    });
    // Assess
    expect(response.status).toBe(422);
    const detail = (response.body as { exception_detail: Array<{ type: string; loc: unknown[] }> })
      .exception_detail;
    expect(detail).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ type: 'int_type', loc: ['body', 'concurrency_limit'] }),
        expect.objectContaining({ type: 'bool_type', loc: ['body', 'is_paused'] }),
      ])
    );
  });

  it('rejects malformed JSON with json_invalid at the error position', async () => {
    // Act
    const response = await rawCall(prefect.apiUrl, 'POST', '/work_pools/', {
      rawBody: '{"name": "pool",}',
    });
    // Assess
    expect(response.status).toBe(422);
    expect(response.body).toMatchObject({
      exception_message: 'Invalid request received.',
      exception_detail: [
        { type: 'json_invalid', loc: ['body', 16], msg: 'JSON decode error', input: {} },
      ],
      request_body: '{"name": "pool",}',
    });
  });

  it('rejects a missing body of a required model with 422 at ["body"]', async () => {
    // Act
    const response = await rawCall(prefect.apiUrl, 'POST', '/flows/');
    // Assess
    expect(response.status).toBe(422);
    expect(response.body).toMatchObject({
      exception_detail: [{ type: 'missing', loc: ['body'], msg: 'Field required', input: null }],
    });
  });

  it('rejects id and timestamp inside a proposed state (StateCreate forbids them)', async () => {
    // Prepare
    const runId = '7f0e3c1a-1111-4222-8333-444455556666';
    // Act
    const response = await rawCall(prefect.apiUrl, 'POST', `/flow_runs/${runId}/set_state`, {
      body: {
        state: { type: 'PENDING', id: runId, timestamp: '2026-08-21T12:00:00Z' },
        force: false,
      },
    });
    // Assess
    expect(response.status).toBe(422);
    expect(response.body).toMatchObject({
      exception_detail: [
        { type: 'extra_forbidden', loc: ['body', 'state', 'id'] },
        { type: 'extra_forbidden', loc: ['body', 'state', 'timestamp'] },
      ],
    });
  });

  it('rejects an unknown state type with an enum error', async () => {
    // Act
    const response = await rawCall(
      prefect.apiUrl,
      'POST',
      '/flow_runs/7f0e3c1a-1111-4222-8333-444455556666/set_state',
      { body: { state: { type: 'STARTED' } } }
    );
    // Assess
    expect(response.status).toBe(422);
    expect(response.body).toMatchObject({
      exception_detail: [{ type: 'enum', loc: ['body', 'state', 'type'], input: 'STARTED' }],
    });
  });

  it('rejects worker_id in a log line as OSS does (only Cloud accepts it)', async () => {
    // Prepare
    const log = {
      name: 'prefect.workers.ecs',
      level: 20,
      message: 'Submitting flow run',
      timestamp: '2026-08-21T12:00:00Z',
      worker_id: '5c1e3c1a-1111-4222-8333-444455556666',
    };
    // Act
    const response = await rawCall(prefect.apiUrl, 'POST', '/logs/', { body: [log] });
    // Assess
    expect(response.status).toBe(422);
    expect(response.body).toMatchObject({
      exception_detail: [{ type: 'extra_forbidden', loc: ['body', 0, 'worker_id'] }],
    });
  });

  it('accepts the heartbeat keys OSS ignores (return_id, metadata)', async () => {
    // Prepare
    await seed.workPool(prefect.apiUrl, { name: 'pool' });
    // Act
    const response = await rawCall(prefect.apiUrl, 'POST', '/work_pools/pool/workers/heartbeat', {
      body: {
        name: 'worker',
        heartbeat_interval_seconds: 30,
        return_id: true,
        metadata: { integrations: [{ name: 'prefect-aws', version: '0.7.11' }] },
      },
    });
    // Assess
    expect([response.status, response.body]).toEqual([204, undefined]);
  });

  it('treats embedded body parameters sent as null like absent ones, as FastAPI does', async () => {
    // Prepare
    await seed.workPool(prefect.apiUrl, { name: 'pool' });
    // Act
    const poll = await rawCall(prefect.apiUrl, 'POST', '/work_pools/pool/get_scheduled_flow_runs', {
      body: { work_queue_names: null, scheduled_before: null, limit: null },
    });
    const heartbeat = await rawCall(prefect.apiUrl, 'POST', '/work_pools/pool/workers/heartbeat', {
      body: { name: null },
    });
    // Assess
    expect([poll.status, poll.body]).toEqual([200, []]);
    expect(heartbeat.status).toBe(422);
    expect(heartbeat.body).toMatchObject({
      exception_detail: [{ type: 'missing', loc: ['body', 'name'] }],
    });
  });

  it('rejects a naive datetime (stand-in strictness) and accepts a space separator', async () => {
    // Prepare
    await seed.workPool(prefect.apiUrl, { name: 'pool' });
    const poll = (scheduled_before: string) =>
      rawCall(prefect.apiUrl, 'POST', '/work_pools/pool/get_scheduled_flow_runs', {
        body: { scheduled_before },
      });
    // Act
    const naive = await poll('2026-08-21T12:00:00');
    const spaced = await poll('2026-08-21 12:00:00+00:00');
    // Assess
    expect(naive.status).toBe(422);
    expect(naive.body).toMatchObject({
      exception_detail: [{ loc: ['body', 'scheduled_before'], type: 'datetime_from_date_parsing' }],
    });
    expect(spaced.status).toBe(200);
  });

  it.each([
    [201, 'Invalid limit: must be less than or equal to 200.'],
    [-1, 'Invalid limit: must be greater than or equal to 0.'],
  ])("rejects limit %s with the server's 422 detail string", async (limit, detail) => {
    // Prepare
    await seed.workPool(prefect.apiUrl, { name: 'pool' });
    // Act
    const response = await rawCall(
      prefect.apiUrl,
      'POST',
      '/work_pools/pool/get_scheduled_flow_runs',
      {
        body: { limit },
      }
    );
    // Assess
    expect(response.status).toBe(422);
    expect(response.body).toEqual({ detail });
  });

  it("validates query parameters with pydantic's boolean parsing", async () => {
    // Act
    const response = await rawCall(
      prefect.apiUrl,
      'GET',
      '/block_documents/7f0e3c1a-1111-4222-8333-444455556666?include_secrets=maybe'
    );
    // Assess
    expect(response.status).toBe(422);
    expect(response.body).toMatchObject({
      exception_detail: [
        { type: 'bool_parsing', loc: ['query', 'include_secrets'], input: 'maybe' },
      ],
    });
  });

  it('treats a non-JSON content type as a body that is not an object', async () => {
    // Act
    const response = await rawCall(prefect.apiUrl, 'POST', '/flows/', {
      rawBody: 'name=my-flow',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    // Assess
    expect(response.status).toBe(422);
    expect(response.body).toMatchObject({
      exception_detail: [{ type: 'model_attributes_type', loc: ['body'] }],
    });
  });

  it('answers 404 {"detail"} for an unknown id', async () => {
    // Act
    const response = await rawCall(
      prefect.apiUrl,
      'GET',
      '/flow_runs/7f0e3c1a-1111-4222-8333-444455556666'
    );
    // Assess
    expect(response.status).toBe(404);
    expect(response.body).toEqual({ detail: 'Flow run not found' });
  });

  it('answers 404 {"exception_message"} for set_state on an unknown run (ObjectNotFoundError)', async () => {
    // Prepare
    const runId = '7f0e3c1a-1111-4222-8333-444455556666';
    // Act
    const response = await rawCall(prefect.apiUrl, 'POST', `/flow_runs/${runId}/set_state`, {
      body: { state: { type: 'PENDING' }, force: false },
    });
    // Assess
    expect(response.status).toBe(404);
    expect(response.body).toEqual({ exception_message: `Flow run with id ${runId} not found` });
  });
});
