import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { engine, proposeState, seed } from './actors.ts';
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
});
