/**
 * The Prefect client against the strict Prefect stand-in (test/standins/prefect/server.ts): every
 * typed call round-trips, seeded through the client's own admin calls; the claim protocol; retries
 * on injected faults; strict-body 422s.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createPrefectClient, type PrefectClient } from '../../shared/prefect/client.ts';
import { resolveClientOptions } from '../../shared/prefect/client-options.ts';
import { createHttpTransport } from '../../shared/prefect/http.ts';
import { PrefectApiError } from '../../shared/prefect/prefect-api-error.ts';
import { user } from '../standins/prefect/actors.ts';
import { type PrefectStandin, startPrefectStandin } from '../standins/prefect/server.ts';

const AUTH_STRING = 'admin:integration-secret-pass';
const POOL = 'ecs-serverless';

const baseJobTemplate = JSON.parse(
  readFileSync(
    new URL('../fixtures/prefect/ecs-base-job-template.current.json', import.meta.url),
    'utf8'
  )
) as Record<string, unknown>;

let prefect: PrefectStandin;
let client: PrefectClient;
const delays: number[] = [];

/** A client that records its waits instead of sleeping. */
const clientFor = (options: { authString?: string; maxRetries?: number } = {}): PrefectClient =>
  createPrefectClient(
    { apiUrl: prefect.apiUrl, authString: AUTH_STRING, ...options },
    {
      sleep: async (ms) => {
        delays.push(ms);
      },
    }
  );

/** Seeds a flow, a deployment on the pool and one scheduled run through the client. */
const seedRun = async (name: string) => {
  const flow = await client.createFlow({ name: `flow-${name}` });
  const deployment = await client.createDeployment({
    name,
    flowId: flow.id,
    workPoolName: POOL,
    workQueueName: 'default',
    jobVariables: { image: 'acct.dkr.ecr.eu-west-1.amazonaws.com/etl:1' },
  });
  const run = await client.createFlowRunFromDeployment(deployment.id, {
    parameters: {},
    jobVariables: { cpu: 1024 },
  });
  return { flow, deployment, run };
};

beforeAll(async () => {
  prefect = await startPrefectStandin({ authString: AUTH_STRING });
  client = clientFor();
  await client.createWorkPool({ name: POOL, type: 'ecs', baseJobTemplate });
});

afterAll(async () => {
  await prefect.close();
});

beforeEach(() => {
  prefect.faults.clear();
  delays.length = 0;
});

describe('Prefect client against the stand-in: round trips', () => {
  it('health and server version', async () => {
    // Prepare / Act
    const healthy = await client.health();
    const version = await client.readServerVersion();
    // Assess
    expect(healthy).toBe(true);
    expect(version).toMatch(/^3\.\d+\.\d+/);
  });

  it('work pool: read, update, heartbeat makes the worker ONLINE', async () => {
    // Prepare
    await client.updateWorkPool(POOL, { concurrencyLimit: 5, description: 'serverless' });
    // Act
    await client.sendWorkerHeartbeat(POOL, {
      name: 'serverless-ecs',
      heartbeatIntervalSeconds: 60,
    });
    const pool = await client.readWorkPool(POOL);
    const workers = await client.readWorkers(POOL);
    // Assess
    expect(pool).toMatchObject({ name: POOL, type: 'ecs', concurrency_limit: 5, is_paused: false });
    expect(pool.base_job_template).toEqual(baseJobTemplate);
    expect(pool.status).toBe('READY');
    expect(workers).toEqual([
      expect.objectContaining({
        name: 'serverless-ecs',
        status: 'ONLINE',
        heartbeat_interval_seconds: 60,
      }),
    ]);
  });

  it('work queues: create and read', async () => {
    // Prepare
    await client.createWorkQueue(POOL, { name: 'gpu', priority: 5, concurrencyLimit: 2 });
    // Act
    const queue = await client.readWorkQueue(POOL, 'gpu');
    // Assess
    expect(queue).toMatchObject({
      name: 'gpu',
      priority: 5,
      concurrency_limit: 2,
      work_pool_name: POOL,
    });
  });

  it('scheduled runs, deployment, flow and flow run', async () => {
    // Prepare
    const { flow, deployment, run } = await seedRun('round-trip');
    // Act
    const scheduled = await client.getScheduledFlowRuns(POOL, {
      workQueueNames: ['default'],
      scheduledBefore: new Date(Date.now() + 10_000),
      limit: 200,
    });
    const readDeployment = await client.readDeployment(deployment.id);
    const readFlow = await client.readFlow(flow.id);
    const readRun = await client.readFlowRun(run.id);
    // Assess
    expect(scheduled.map((item) => item.flow_run.id)).toContain(run.id);
    expect(readDeployment).toMatchObject({
      id: deployment.id,
      flow_id: flow.id,
      work_pool_name: POOL,
      job_variables: { image: 'acct.dkr.ecr.eu-west-1.amazonaws.com/etl:1' },
    });
    expect(readFlow).toMatchObject({ id: flow.id, name: 'flow-round-trip' });
    expect(readRun).toMatchObject({
      id: run.id,
      deployment_id: deployment.id,
      state_type: 'SCHEDULED',
      work_pool_name: POOL,
      job_variables: { cpu: 1024 },
    });
  });

  it('updateFlowRun sets infrastructure_pid; updateFlowRunLabels merges labels', async () => {
    // Prepare
    const { run } = await seedRun('updates');
    // Act
    await client.updateFlowRun(run.id, {
      infrastructurePid: 'cluster::arn:aws:ecs:eu-west-1:1:task/c/abc',
    });
    const outcome = await client.updateFlowRunLabels(run.id, {
      'prefect.worker.name': 'serverless-ecs',
    });
    const updated = await client.readFlowRun(run.id);
    // Assess
    expect(outcome).toBe('updated');
    expect(updated.infrastructure_pid).toBe('cluster::arn:aws:ecs:eu-west-1:1:task/c/abc');
    expect(updated.labels).toMatchObject({ 'prefect.worker.name': 'serverless-ecs' });
  });

  it('filterFlowRuns and filterAllFlowRuns find runs by pool and state', async () => {
    // Prepare
    const seeded = [
      await seedRun('filter-a'),
      await seedRun('filter-b'),
      await seedRun('filter-c'),
    ];
    const ids = seeded.map((s) => s.run.id);
    // Act
    const page = await client.filterFlowRuns({
      ids,
      stateTypes: ['SCHEDULED'],
      startTimeIsNull: true,
      workPoolNames: [POOL],
      workQueueNames: ['default'],
      sort: 'ID_DESC',
      limit: 2,
    });
    const all = await client.filterAllFlowRuns({ ids, workPoolNames: [POOL] }, { pageSize: 2 });
    const none = await client.filterFlowRuns({ ids, excludeIds: ids });
    // Assess
    expect(page).toHaveLength(2);
    expect(all.map((r) => r.id).sort()).toEqual([...ids].sort());
    expect(none).toEqual([]);
  });

  it('variables: create, read, missing → undefined', async () => {
    // Prepare
    await client.createVariable({ name: 'ecs_image', value: { repo: 'etl', tag: '1' } });
    // Act
    const found = await client.readVariableByName('ecs_image');
    const missing = await client.readVariableByName('no_such_variable');
    // Assess
    expect(found?.value).toEqual({ repo: 'etl', tag: '1' });
    expect(missing).toBeUndefined();
  });

  it('blocks: create a type, schema and document; read by id and by name with secrets', async () => {
    // Prepare
    const blockType = await client.createBlockType({ name: 'Test Secret', slug: 'test-secret' });
    const blockSchema = await client.createBlockSchema({
      blockTypeId: blockType.id,
      fields: {
        title: 'TestSecret',
        type: 'object',
        properties: {
          value: { title: 'Value', type: 'string', format: 'password', writeOnly: true },
        },
        required: ['value'],
        secret_fields: ['value'],
        block_schema_references: {},
      },
    });
    const document = await client.createBlockDocument({
      name: 'ecs-creds',
      data: { value: 'very-secret' },
      blockSchemaId: blockSchema.id,
      blockTypeId: blockType.id,
    });
    // Act
    const byId = await client.readBlockDocument(document.id, { includeSecrets: true });
    const byName = await client.readBlockDocumentByName('test-secret', 'ecs-creds', {
      includeSecrets: true,
    });
    const masked = await client.readBlockDocument(document.id);
    // Assess
    expect(byId.data).toEqual({ value: 'very-secret' });
    expect(byName.id).toBe(document.id);
    expect(masked.data.value).not.toBe('very-secret');
  });

  it('createLogs stores LogCreate lines', async () => {
    // Prepare
    const { run } = await seedRun('logs');
    // Act
    await client.createLogs([
      {
        name: 'prefect.flow_runs.worker',
        level: 20,
        message: 'submitted',
        timestamp: new Date(),
        flowRunId: run.id,
      },
    ]);
    // Assess
    expect(
      prefect.logs.some((log) => log.flow_run_id === run.id && log.message === 'submitted')
    ).toBe(true);
  });
});

describe('Prefect client against the stand-in: claiming a run', () => {
  it('PENDING is accepted once; a second proposer is aborted; a replay is rejected with the current state', async () => {
    // Prepare
    const { run } = await seedRun('claim');
    // Act
    const claim = await client.setFlowRunState(run.id, { type: 'PENDING' });
    const rival = await client.setFlowRunState(run.id, { type: 'PENDING' });
    const replay = await client.setFlowRunState(run.id, {
      type: 'PENDING',
      stateDetails: { transitionId: claim.transitionId },
    });
    // Assess
    expect(claim).toMatchObject({
      status: 'ACCEPT',
      stateWritten: true,
      details: { type: 'accept_details' },
    });
    expect(claim.state?.type).toBe('PENDING');
    expect(claim.state?.state_details.transition_id).toBe(claim.transitionId);
    expect(rival).toMatchObject({
      status: 'ABORT',
      stateWritten: false,
      details: { type: 'abort_details' },
    });
    expect(rival.transitionId).not.toBe(claim.transitionId);
    expect(replay).toMatchObject({ status: 'REJECT', stateWritten: false });
    expect(replay.state?.type).toBe('PENDING');
    expect(replay.state?.state_details.transition_id).toBe(claim.transitionId);
  });

  it('a forced CANCELLED is written; CRASHED after that is aborted', async () => {
    // Prepare
    const { run } = await seedRun('cancel');
    // Act
    const cancelled = await client.setFlowRunState(
      run.id,
      { type: 'CANCELLED', message: 'Deployment no longer exists, cancelled run.' },
      { force: true }
    );
    const crashed = await client.setFlowRunState(run.id, { type: 'CRASHED', message: 'late' });
    // Assess
    expect(cancelled).toMatchObject({ status: 'ACCEPT', stateWritten: true });
    expect(cancelled.state).toMatchObject({
      type: 'CANCELLED',
      message: 'Deployment no longer exists, cancelled run.',
    });
    expect(crashed.status).toBe('ABORT');
  });
});

describe('Prefect client against the stand-in: attempts of one run', () => {
  it('readFlowRunStates lists the claims of every attempt; endTimeAfter finds ended runs, not retried ones', async () => {
    // Prepare
    const { run } = await seedRun('attempts');
    const since = new Date(Date.now() - 60_000);
    const auth = {
      headers: { authorization: `Basic ${Buffer.from(AUTH_STRING).toString('base64')}` },
    };
    const firstClaim = await client.setFlowRunState(run.id, { type: 'PENDING' });
    await client.setFlowRunState(run.id, { type: 'RUNNING' });
    await client.setFlowRunState(run.id, { type: 'CRASHED', message: 'Task stopped' });
    const ended = await client.filterFlowRuns({ ids: [run.id], endTimeAfter: since });
    await user.retry(prefect.apiUrl, run.id, auth);
    const retried = await client.filterFlowRuns({ ids: [run.id], endTimeAfter: since });
    const secondClaim = await client.setFlowRunState(run.id, { type: 'PENDING' });
    // Act
    const states = await client.readFlowRunStates(run.id);
    const none = await client.readFlowRunStates('00000000-0000-4000-8000-00000000abcd');
    // Assess
    expect(ended.map((r) => r.id)).toEqual([run.id]);
    expect(retried).toEqual([]);
    expect(states.map((s) => `${s.type}/${s.name}`)).toEqual([
      'SCHEDULED/Scheduled',
      'PENDING/Pending',
      'RUNNING/Running',
      'CRASHED/Crashed',
      'SCHEDULED/AwaitingRetry',
      'PENDING/Pending',
    ]);
    expect(
      states.filter((s) => s.type === 'PENDING').map((s) => s.state_details.transition_id)
    ).toEqual([firstClaim.transitionId, secondClaim.transitionId]);
    expect(states.at(-1)?.id).toBe(secondClaim.state?.id);
    expect(none).toEqual([]);
  });
});

describe('Prefect client against the stand-in: faults', () => {
  it.each([429, 503])('retries %i with Retry-After and succeeds', async (status) => {
    // Prepare
    prefect.faults.inject({
      method: 'GET',
      path: `/work_pools/${POOL}`,
      status,
      retryAfter: 1,
      times: 2,
    });
    const before = prefect.requests.length;
    // Act
    const pool = await client.readWorkPool(POOL);
    // Assess
    expect(pool.name).toBe(POOL);
    expect(prefect.requests.length - before).toBe(3);
    expect(delays).toHaveLength(2);
    for (const delay of delays) {
      expect(delay).toBeGreaterThanOrEqual(1000);
      expect(delay).toBeLessThanOrEqual(1200);
    }
  });

  it('retries a dropped connection on set_state with the same transition_id', async () => {
    // Prepare
    const { run } = await seedRun('drop');
    prefect.faults.inject({
      method: 'POST',
      path: /\/set_state$/,
      status: 0,
      dropConnection: true,
    });
    const before = prefect.requests.length;
    // Act
    const claim = await client.setFlowRunState(run.id, { type: 'PENDING' });
    // Assess
    const attempts = prefect.requests.slice(before);
    expect(attempts).toHaveLength(2);
    expect(attempts[0]?.body).toEqual(attempts[1]?.body);
    expect(claim.status).toBe('ACCEPT');
  });

  it('does not retry a 422 for an unknown field; the error names the call and the field', async () => {
    // Prepare: send a body the typed client would never build, through the same transport
    const { run } = await seedRun('strict');
    const http = createHttpTransport(
      resolveClientOptions({ apiUrl: prefect.apiUrl, authString: AUTH_STRING }),
      {
        sleep: async (ms) => {
          delays.push(ms);
        },
      }
    );
    const before = prefect.requests.length;
    // Act
    const error = await http
      .send({
        operation: 'setFlowRunState',
        method: 'POST',
        path: `/flow_runs/${run.id}/set_state`,
        body: { state: { type: 'PENDING', timestamp: new Date().toISOString() }, force: false },
      })
      .catch((e: unknown) => e);
    // Assess
    expect(error).toBeInstanceOf(PrefectApiError);
    expect(error).toMatchObject({ status: 422, retryable: false, operation: 'setFlowRunState' });
    expect((error as Error).message).toMatch(
      /^Prefect setFlowRunState failed: POST \/flow_runs\/.+\/set_state → 422 /
    );
    expect((error as Error).message).toContain('state.timestamp');
    expect(prefect.requests.length - before).toBe(1);
    expect(delays).toEqual([]);
  });

  it('a wrong auth string gets 401, not retried, and the secret stays out of the error', async () => {
    // Prepare
    const wrong = clientFor({ authString: 'admin:wrong-password-xyz' });
    const before = prefect.requests.length;
    // Act
    const error = await wrong.readWorkPool(POOL).catch((e: unknown) => e);
    // Assess
    expect(error).toMatchObject({ status: 401, retryable: false });
    expect(prefect.requests.length - before).toBe(1);
    const surfaces = [JSON.stringify(error), String(error), (error as Error).stack ?? ''].join(
      '\n'
    );
    expect(surfaces).not.toContain('wrong-password-xyz');
    expect(surfaces).not.toContain(Buffer.from('admin:wrong-password-xyz').toString('base64'));
  });
});
