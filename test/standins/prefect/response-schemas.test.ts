import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { engine, proposeState, seed, user } from './actors.ts';
import { createManualClock } from './manual-clock.ts';
import { rawCall } from './raw-http.ts';
import { responseShapeErrors } from './response-shapes.ts';
import { expectMatchesSchema } from './schema-assertions.ts';
import { type PrefectStandin, startPrefectStandin } from './server.ts';

describe('Prefect stand-in: responses have the exact shapes of the OpenAPI document', () => {
  const clock = createManualClock('2026-08-21T12:00:00Z');
  let prefect: PrefectStandin;
  let deploymentId: string;
  let limitedId: string;

  beforeAll(async () => {
    prefect = await startPrefectStandin({ now: clock.now });
    await seed.workPool(prefect.apiUrl, { name: 'pool', concurrency_limit: 5 });
    deploymentId = (await seed.deployment(prefect.apiUrl, { name: 'etl', workPoolName: 'pool' }))
      .id;
    limitedId = (
      await seed.deployment(prefect.apiUrl, {
        name: 'limited',
        workPoolName: 'pool',
        concurrencyLimit: 1,
        collisionStrategy: 'ENQUEUE',
      })
    ).id;
  });
  afterAll(async () => {
    await prefect.close();
  });

  const get = async (path: string) => (await rawCall(prefect.apiUrl, 'GET', path)).body;
  const post = async (path: string, body: unknown = {}) =>
    (await rawCall(prefect.apiUrl, 'POST', path, { body })).body;

  it('catches a missing and an undeclared field (the checker itself)', () => {
    // Prepare
    const flow = {
      id: '7f0e3c1a-1111-4222-8333-444455556666',
      created: null,
      updated: null,
      name: 'f',
      tags: [],
    };
    // Act
    const errors = responseShapeErrors('Flow', { ...flow, colour: 'blue' });
    // Assess
    expect(errors).toEqual([
      "(root) must have required property 'labels'",
      "(root) must NOT have additional properties 'colour'",
    ]);
  });

  it('work pool, queue and worker', async () => {
    // Prepare
    await post('/work_pools/pool/workers/heartbeat', {
      name: 'lambda',
      heartbeat_interval_seconds: 30,
    });
    // Act
    const pool = await get('/work_pools/pool');
    const queue = await get('/work_pools/pool/queues/default');
    const workers = await post('/work_pools/pool/workers/filter');
    const queues = await post('/work_pools/pool/queues/filter');
    // Assess
    expectMatchesSchema(pool, 'WorkPoolResponse');
    expectMatchesSchema(queue, 'WorkQueueResponse');
    expectMatchesSchema(queues, 'WorkQueueResponse[]');
    expectMatchesSchema(workers, 'WorkerResponse[]');
  });

  it('flow and deployments, with and without a concurrency limit, with schedules', async () => {
    // Prepare
    const flowId = ((await get(`/deployments/${deploymentId}`)) as { flow_id: string }).flow_id;
    const scheduled = await post('/deployments/', {
      name: 'scheduled',
      flow_id: flowId,
      work_pool_name: 'pool',
      schedules: [
        { schedule: { interval: 3600 } },
        { schedule: { cron: '0 * * * *' }, slug: 'hourly' },
      ],
    });
    // Act
    const deployment = (await get(`/deployments/${deploymentId}`)) as { flow_id: string };
    const limited = await get(`/deployments/${limitedId}`);
    const flow = await get(`/flows/${deployment.flow_id}`);
    // Assess
    expectMatchesSchema(flow, 'Flow');
    expectMatchesSchema(deployment, 'DeploymentResponse');
    expectMatchesSchema(limited, 'DeploymentResponse');
    expectMatchesSchema(scheduled, 'DeploymentResponse');
  });

  it('flow runs, scheduled runs and every orchestration status', async () => {
    // Prepare
    const a = await seed.flowRun(prefect.apiUrl, limitedId, { scheduledTime: clock.isoIn(10) });
    const b = await seed.flowRun(prefect.apiUrl, limitedId, { scheduledTime: clock.isoIn(10) });
    // Act
    const scheduled = await post('/work_pools/pool/get_scheduled_flow_runs');
    const accept = await proposeState(prefect.apiUrl, a.id, { type: 'PENDING' });
    const reject = await proposeState(prefect.apiUrl, b.id, { type: 'PENDING' });
    const abort = await proposeState(prefect.apiUrl, a.id, { type: 'PENDING' });
    const wait = await engine.start(prefect.apiUrl, a.id);
    const run = await get(`/flow_runs/${a.id}`);
    const runs = await post('/flow_runs/filter');
    // Assess
    expect([accept.status, reject.status, abort.status, wait.status]).toEqual([
      'ACCEPT',
      'REJECT',
      'ABORT',
      'WAIT',
    ]);
    expectMatchesSchema(a, 'FlowRunResponse');
    expectMatchesSchema(run, 'FlowRunResponse');
    expectMatchesSchema(runs, 'FlowRunResponse[]');
    expectMatchesSchema(scheduled, 'WorkerFlowRunResponse[]');
    for (const result of [accept, reject, abort, wait])
      expectMatchesSchema(result, 'OrchestrationResult');
  });

  it('blocks, variables and logs', async () => {
    // Prepare
    const blockType = (await post('/block_types/', { name: 'Webhook', slug: 'webhook' })) as {
      id: string;
    };
    const schema = (await post('/block_schemas/', {
      block_type_id: blockType.id,
      fields: { properties: { url: { type: 'string' } }, secret_fields: ['url'] },
    })) as { id: string };
    const document = (await post('/block_documents/', {
      name: 'poll',
      data: { url: 'https://example.invalid/hook' },
      block_schema_id: schema.id,
      block_type_id: blockType.id,
    })) as { id: string };
    await post('/variables/', { name: 'image_tag', value: 'v1' });
    await post('/logs/', [
      { name: 'worker', level: 20, message: 'hello', timestamp: '2026-08-21T12:00:00Z' },
    ]);
    // Act
    const readDocument = await get(`/block_documents/${document.id}?include_secrets=true`);
    const variable = await get('/variables/name/image_tag');
    const logs = await post('/logs/filter');
    // Assess
    expectMatchesSchema(blockType, 'BlockType');
    expectMatchesSchema(schema, 'BlockSchema');
    expectMatchesSchema(document, 'BlockDocument');
    expectMatchesSchema(readDocument, 'BlockDocument');
    expectMatchesSchema(variable, 'Variable');
    expectMatchesSchema(logs, 'Log[]');
  });

  it('runs as the poller, the launcher and the reporter read and leave them', async () => {
    // Prepare: a run with its own job variables, parameters and tags, claimed as the poller claims
    const run = await seed.flowRun(prefect.apiUrl, deploymentId, {
      scheduledTime: clock.isoIn(5),
      name: 'shaped-run',
      jobVariables: { memory: 4096, env: { STAGE: 'prod' } },
      parameters: { day: '2026-08-21' },
      tags: ['nightly'],
    });
    const other = await seed.flowRun(prefect.apiUrl, deploymentId, {
      scheduledTime: clock.isoIn(5),
    });
    const transitionId = '3f7c1f0e-6a7a-4a3b-9c1e-1b2c3d4e5f60';
    const claim = {
      type: 'PENDING',
      name: 'Pending',
      state_details: { transition_id: transitionId },
    };
    // Act
    const scheduled = await post('/work_pools/pool/get_scheduled_flow_runs', {
      scheduled_before: clock.isoIn(60),
    });
    const claimed = await proposeState(prefect.apiUrl, run.id, claim);
    const replayed = await proposeState(prefect.apiUrl, run.id, claim);
    const patched = await rawCall(prefect.apiUrl, 'PATCH', `/flow_runs/${run.id}`, {
      body: { infrastructure_pid: 'prefect::arn:aws:ecs:us-east-1:123456789012:task/prefect/0a1b' },
    });
    const labelled = await rawCall(prefect.apiUrl, 'PATCH', `/flow_runs/${run.id}/labels`, {
      body: { 'prefect.worker.name': 'lambda', 'prefect.worker.type': 'ecs' },
    });
    const launched = await get(`/flow_runs/${run.id}`);
    const infrastructurePending = await proposeState(prefect.apiUrl, run.id, {
      type: 'PENDING',
      name: 'InfrastructurePending',
    });
    const crashed = await proposeState(prefect.apiUrl, run.id, {
      type: 'CRASHED',
      name: 'Crashed',
      message: 'ECS task 0a1b could not pull its image',
    });
    const crashedRun = await get(`/flow_runs/${run.id}`);
    await proposeState(prefect.apiUrl, other.id, { type: 'PENDING' });
    await engine.start(prefect.apiUrl, other.id);
    await user.cancel(prefect.apiUrl, other.id);
    const cancelling = await get(`/flow_runs/${other.id}`);
    const cancelled = await proposeState(
      prefect.apiUrl,
      other.id,
      { type: 'CANCELLED', name: 'Cancelled', message: 'Deployment no longer exists' },
      true
    );
    const swept = await post('/flow_runs/filter', {
      flow_runs: { state: { type: { any_: ['PENDING', 'CANCELLING', 'CANCELLED', 'CRASHED'] } } },
      sort: 'EXPECTED_START_TIME_ASC',
      limit: 50,
    });
    // Assess
    expect([patched.status, labelled.status]).toEqual([204, 204]);
    expect([claimed.status, replayed.status, infrastructurePending.status]).toEqual([
      'ACCEPT',
      'REJECT',
      'ACCEPT',
    ]);
    const scheduledIds = (scheduled as { flow_run: { id: string } }[]).map(
      (item) => item.flow_run.id
    );
    expect(scheduledIds).toContain(run.id);
    expectMatchesSchema(scheduled, 'WorkerFlowRunResponse[]');
    for (const result of [claimed, replayed, infrastructurePending, crashed, cancelled]) {
      expectMatchesSchema(result, 'OrchestrationResult');
    }
    for (const body of [launched, crashedRun, cancelling]) {
      expectMatchesSchema(body, 'FlowRunResponse');
    }
    expectMatchesSchema(swept, 'FlowRunResponse[]');
  });

  it('paused and foreign pools, variables of every JSON type, block documents by name', async () => {
    // Prepare
    await seed.workPool(prefect.apiUrl, { name: 'paused', is_paused: true, concurrency_limit: 2 });
    await seed.workPool(prefect.apiUrl, { name: 'procs', type: 'process', base_job_template: {} });
    const values = { n: 5, f: 0.5, o: { a: [1, 2] }, b: true, l: [1, 'x'], s: 'str', z: null };
    for (const [name, value] of Object.entries(values)) {
      await post('/variables/', { name: `shape_${name}`, value, tags: ['t'] });
    }
    const blockType = (await post('/block_types/', { name: 'Secret', slug: 'secret' })) as {
      id: string;
    };
    const schema = (await post('/block_schemas/', {
      block_type_id: blockType.id,
      fields: { properties: { value: { type: 'string' } }, secret_fields: ['value'] },
    })) as { id: string };
    await post('/block_documents/', {
      name: 'registry',
      data: { value: 'acct.dkr.ecr.eu-west-1.amazonaws.com' },
      block_schema_id: schema.id,
      block_type_id: blockType.id,
    });
    // Act
    const pools = [await get('/work_pools/paused'), await get('/work_pools/procs')];
    const variables = await Promise.all(
      Object.keys(values).map((name) => get(`/variables/name/shape_${name}`))
    );
    const byName = '/block_types/slug/secret/block_documents/name/registry';
    const withSecrets = await get(`${byName}?include_secrets=true`);
    const obfuscated = await get(byName);
    // Assess
    for (const pool of pools) expectMatchesSchema(pool, 'WorkPoolResponse');
    for (const variable of variables) expectMatchesSchema(variable, 'Variable');
    expectMatchesSchema(withSecrets, 'BlockDocument');
    expectMatchesSchema(obfuscated, 'BlockDocument');
    expect((withSecrets as { data: unknown }).data).toEqual({
      value: 'acct.dkr.ecr.eu-west-1.amazonaws.com',
    });
    expect((obfuscated as { data: unknown }).data).toEqual({ value: '********' });
  });
});
