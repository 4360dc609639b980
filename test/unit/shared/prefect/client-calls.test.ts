import { afterEach, describe, expect, it } from 'vitest';
import { createPrefectClient } from '../../../../shared/prefect/client.ts';
import {
  blockDocumentBody,
  deploymentBody,
  flowRunBody,
  IDS,
  orchestrationBody,
  stateBody,
  workPoolBody,
  workQueueBody,
} from './fixtures.ts';
import { bodyProblems } from './openapi-body.ts';
import { empty, json, type Responder, startTestServer, type TestServer } from './test-server.ts';

let server: TestServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

const setup = async (...script: Responder[]) => {
  server = await startTestServer(script);
  const client = createPrefectClient(
    { apiUrl: server.apiUrl },
    { sleep: async () => {}, randomUUID: () => '00000000-0000-4000-8000-000000000001' }
  );
  return { client, requests: server.requests, bodies: server.bodies };
};

const NOW = '2026-08-21T12:00:00Z';

describe('Prefect client calls: work pools', () => {
  it('readWorkPool: GET /work_pools/{name}', async () => {
    // Prepare
    const { client, requests } = await setup(json(200, workPoolBody({ concurrency_limit: 10 })));
    // Act
    const pool = await client.readWorkPool('ecs-serverless');
    // Assess
    expect(requests[0]).toMatchObject({ method: 'GET', url: '/api/work_pools/ecs-serverless' });
    expect(pool).toMatchObject({
      id: IDS.pool,
      type: 'ecs',
      concurrency_limit: 10,
      status: 'READY',
    });
    expect(pool.base_job_template).toHaveProperty('job_configuration');
  });

  it('sendWorkerHeartbeat: POST the two-key body, 204', async () => {
    // Prepare
    const { client, requests, bodies } = await setup(empty(204));
    // Act
    await client.sendWorkerHeartbeat('ecs-serverless', {
      name: 'serverless-ecs',
      heartbeatIntervalSeconds: 60,
    });
    // Assess
    expect(requests[0]).toMatchObject({
      method: 'POST',
      url: '/api/work_pools/ecs-serverless/workers/heartbeat',
    });
    expect(bodies()[0]).toEqual({ name: 'serverless-ecs', heartbeat_interval_seconds: 60 });
    expect(
      bodyProblems('post', '/work_pools/{work_pool_name}/workers/heartbeat', bodies()[0])
    ).toEqual([]);
  });

  it('getScheduledFlowRuns: sends ISO datetimes with Z and parses the items', async () => {
    // Prepare
    const item = {
      work_pool_id: IDS.pool,
      work_queue_id: IDS.queue,
      flow_run: flowRunBody({ state: null, work_pool_name: undefined, job_variables: null }),
    };
    const { client, requests, bodies } = await setup(json(200, [item]));
    // Act
    const runs = await client.getScheduledFlowRuns('ecs-serverless', {
      workQueueNames: ['default'],
      scheduledBefore: new Date('2026-08-21T12:00:10.000Z'),
      scheduledAfter: '2026-08-21T11:00:00+00:00',
      limit: 50,
    });
    // Assess
    expect(requests[0]?.url).toBe('/api/work_pools/ecs-serverless/get_scheduled_flow_runs');
    expect(bodies()[0]).toEqual({
      work_queue_names: ['default'],
      scheduled_before: '2026-08-21T12:00:10.000Z',
      scheduled_after: '2026-08-21T11:00:00+00:00',
      limit: 50,
    });
    expect(runs[0]?.flow_run).toMatchObject({
      id: IDS.run,
      state: null,
      work_pool_name: null,
      job_variables: {},
    });
  });

  it('getScheduledFlowRuns: refuses a limit over 200 and naive datetimes before sending', async () => {
    // Prepare
    const { client, requests } = await setup(json(200, []));
    // Act / Assess
    await expect(client.getScheduledFlowRuns('p', { limit: 201 })).rejects.toThrow(RangeError);
    await expect(
      client.getScheduledFlowRuns('p', { scheduledBefore: '2026-08-21T12:00:00' })
    ).rejects.toThrow(/offset/);
    expect(requests).toHaveLength(0);
  });

  it('readWorkQueue and readWorkers', async () => {
    // Prepare
    const worker = {
      id: IDS.worker,
      created: NOW,
      updated: NOW,
      name: 'serverless-ecs',
      work_pool_id: IDS.pool,
      last_heartbeat_time: NOW,
      heartbeat_interval_seconds: 60,
      status: 'ONLINE',
    };
    const { client, requests, bodies } = await setup(
      json(200, workQueueBody()),
      json(200, [worker])
    );
    // Act
    const queue = await client.readWorkQueue('ecs-serverless', 'default');
    const workers = await client.readWorkers('ecs-serverless', { limit: 10 });
    // Assess
    expect(requests[0]).toMatchObject({
      method: 'GET',
      url: '/api/work_pools/ecs-serverless/queues/default',
    });
    expect(queue).toMatchObject({ name: 'default', priority: 1, status: 'NOT_READY' });
    expect(requests[1]).toMatchObject({
      method: 'POST',
      url: '/api/work_pools/ecs-serverless/workers/filter',
    });
    expect(bodies()[1]).toEqual({ limit: 10 });
    expect(workers[0]).toMatchObject({ name: 'serverless-ecs', status: 'ONLINE' });
  });

  it('createWorkPool, updateWorkPool, createWorkQueue send only allowed keys', async () => {
    // Prepare
    const { client, requests, bodies } = await setup(
      json(201, workPoolBody()),
      empty(204),
      json(201, workQueueBody({ name: 'gpu', priority: 2 }))
    );
    // Act
    await client.createWorkPool({ name: 'ecs-serverless', type: 'ecs', baseJobTemplate: {} });
    await client.updateWorkPool('ecs-serverless', { isPaused: true, concurrencyLimit: null });
    const queue = await client.createWorkQueue('ecs-serverless', { name: 'gpu', priority: 2 });
    // Assess
    expect(requests.map((r) => `${r.method} ${r.url}`)).toEqual([
      'POST /api/work_pools/',
      'PATCH /api/work_pools/ecs-serverless',
      'POST /api/work_pools/ecs-serverless/queues',
    ]);
    expect(bodies()).toEqual([
      { name: 'ecs-serverless', type: 'ecs', base_job_template: {} },
      { is_paused: true, concurrency_limit: null },
      { name: 'gpu', priority: 2 },
    ]);
    expect(bodyProblems('post', '/work_pools/', bodies()[0])).toEqual([]);
    expect(bodyProblems('patch', '/work_pools/{name}', bodies()[1])).toEqual([]);
    expect(bodyProblems('post', '/work_pools/{work_pool_name}/queues', bodies()[2])).toEqual([]);
    expect(queue.priority).toBe(2);
  });
});

describe('Prefect client calls: flow runs', () => {
  it('readFlowRun: GET /flow_runs/{id} with job_variables null → {}', async () => {
    // Prepare
    const { client, requests } = await setup(json(200, flowRunBody({ job_variables: null })));
    // Act
    const run = await client.readFlowRun(IDS.run);
    // Assess
    expect(requests[0]?.url).toBe(`/api/flow_runs/${IDS.run}`);
    expect(run.job_variables).toEqual({});
    expect(run.state?.type).toBe('SCHEDULED');
  });

  it('readFlowRunStates: GET /flow_run_states/?flow_run_id=, parsed in the server order', async () => {
    // Prepare
    const states = [
      stateBody({ type: 'SCHEDULED', name: 'Scheduled', timestamp: '2026-08-21T12:00:00Z' }),
      stateBody({
        id: '91aa2d4e-1111-4aaa-8bbb-0000000000ff',
        name: 'Pending',
        timestamp: '2026-08-21T12:00:01.5Z',
        state_details: null,
      }),
    ];
    const { client, requests } = await setup(json(503, { detail: 'busy' }), json(200, states));
    // Act
    const read = await client.readFlowRunStates(IDS.run);
    // Assess
    expect(requests.map((r) => [r.method, r.url])).toEqual([
      ['GET', `/api/flow_run_states/?flow_run_id=${IDS.run}`],
      ['GET', `/api/flow_run_states/?flow_run_id=${IDS.run}`],
    ]);
    expect(read.map((s) => [s.type, s.name, s.timestamp])).toEqual([
      ['SCHEDULED', 'Scheduled', '2026-08-21T12:00:00Z'],
      ['PENDING', 'Pending', '2026-08-21T12:00:01.5Z'],
    ]);
    expect(read[1]?.state_details).toMatchObject({ transition_id: null, flow_run_id: null });
  });

  it('readFlowRunStates: a body that is not a list of states is a PrefectResponseError', async () => {
    // Prepare
    const { client } = await setup(json(200, [{ type: 'PENDING' }]));
    // Act
    const read = client.readFlowRunStates(IDS.run);
    // Assess
    await expect(read).rejects.toMatchObject({
      name: 'PrefectResponseError',
      operation: 'readFlowRunStates',
    });
  });

  it('setFlowRunState: sends a minimal StateCreate with flow_run_id and a generated transition_id', async () => {
    // Prepare
    const { client, requests, bodies } = await setup(json(201, orchestrationBody('ACCEPT')));
    // Act
    const result = await client.setFlowRunState(IDS.run, { type: 'PENDING' });
    // Assess
    expect(requests[0]).toMatchObject({
      method: 'POST',
      url: `/api/flow_runs/${IDS.run}/set_state`,
    });
    expect(bodies()[0]).toEqual({
      state: {
        type: 'PENDING',
        state_details: {
          flow_run_id: IDS.run,
          transition_id: '00000000-0000-4000-8000-000000000001',
        },
      },
      force: false,
    });
    expect(result).toMatchObject({
      status: 'ACCEPT',
      stateWritten: true,
      transitionId: '00000000-0000-4000-8000-000000000001',
      details: { type: 'accept_details' },
    });
  });

  it('setFlowRunState: sends every given field, the caller transition id, force; 200 → not written', async () => {
    // Prepare
    const current = stateBody({ state_details: { transition_id: 'mine' } });
    const { client, bodies } = await setup(
      json(200, orchestrationBody('REJECT', { state: current }))
    );
    // Act
    const result = await client.setFlowRunState(
      IDS.run,
      {
        type: 'CANCELLED',
        name: 'Cancelled',
        message: 'Flow run cancelled by worker while pending.',
        data: null,
        stateDetails: {
          transitionId: '11111111-1111-4111-8111-111111111111',
          scheduledTime: new Date('2026-08-21T12:00:00.000Z'),
          deploymentConcurrencyLeaseId: '22222222-2222-4222-8222-222222222222',
        },
      },
      { force: true }
    );
    // Assess
    expect(bodies()[0]).toEqual({
      state: {
        type: 'CANCELLED',
        name: 'Cancelled',
        message: 'Flow run cancelled by worker while pending.',
        data: null,
        state_details: {
          flow_run_id: IDS.run,
          transition_id: '11111111-1111-4111-8111-111111111111',
          scheduled_time: '2026-08-21T12:00:00.000Z',
          deployment_concurrency_lease_id: '22222222-2222-4222-8222-222222222222',
        },
      },
      force: true,
    });
    expect(bodyProblems('post', '/flow_runs/{id}/set_state', bodies()[0])).toEqual([]);
    expect(result).toMatchObject({
      status: 'REJECT',
      stateWritten: false,
      transitionId: '11111111-1111-4111-8111-111111111111',
      details: { type: 'reject_details', reason: 'because' },
    });
    expect(result.state?.state_details.transition_id).toBe('mine');
  });

  it('setFlowRunState: parses ABORT and WAIT details', async () => {
    // Prepare
    const { client } = await setup(
      json(200, orchestrationBody('ABORT')),
      json(200, orchestrationBody('WAIT'))
    );
    // Act
    const abort = await client.setFlowRunState(IDS.run, { type: 'PENDING' });
    const wait = await client.setFlowRunState(IDS.run, { type: 'RUNNING' });
    // Assess
    expect(abort.details).toEqual({ type: 'abort_details', reason: 'because' });
    expect(wait.details).toMatchObject({ type: 'wait_details', delay_seconds: 5 });
  });

  it('updateFlowRun: PATCHes only the given keys; nothing given → no request', async () => {
    // Prepare
    const { client, requests, bodies } = await setup(empty(204));
    // Act
    await client.updateFlowRun(IDS.run, { infrastructurePid: 'cluster::arn:aws:ecs:task/x' });
    await client.updateFlowRun(IDS.run, {});
    // Assess
    expect(requests).toHaveLength(1);
    expect(requests[0]).toMatchObject({ method: 'PATCH', url: `/api/flow_runs/${IDS.run}` });
    expect(bodies()[0]).toEqual({ infrastructure_pid: 'cluster::arn:aws:ecs:task/x' });
    expect(bodyProblems('patch', '/flow_runs/{id}', bodies()[0])).toEqual([]);
  });

  it.each([
    [204, 'updated'],
    [404, 'unsupported'],
    [405, 'unsupported'],
  ] as const)('updateFlowRunLabels: %i → %s', async (status, outcome) => {
    // Prepare
    const { client, requests, bodies } = await setup(
      status === 204 ? empty(204) : json(status, { detail: 'Not Found' })
    );
    // Act
    const result = await client.updateFlowRunLabels(IDS.run, { 'prefect.worker.name': 'w' });
    // Assess
    expect(result).toBe(outcome);
    expect(requests[0]).toMatchObject({ method: 'PATCH', url: `/api/flow_runs/${IDS.run}/labels` });
    expect(bodies()[0]).toEqual({ 'prefect.worker.name': 'w' });
  });

  it('updateFlowRunLabels: other errors still throw', async () => {
    // Prepare
    const { client } = await setup(json(422, { detail: 'bad' }));
    // Act / Assess
    await expect(client.updateFlowRunLabels(IDS.run, { a: 1 })).rejects.toMatchObject({
      status: 422,
    });
  });

  it('filterFlowRuns: builds the nested filter body', async () => {
    // Prepare
    const { client, requests, bodies } = await setup(json(200, [flowRunBody()]));
    // Act
    const runs = await client.filterFlowRuns({
      stateTypes: ['CANCELLING'],
      stateNames: ['Cancelling'],
      excludeIds: [IDS.run],
      ids: [IDS.run],
      startTimeIsNull: true,
      deploymentIds: [IDS.deployment],
      workPoolNames: ['ecs-serverless'],
      workQueueNames: ['default'],
      sort: 'ID_DESC',
      limit: 200,
      offset: 0,
    });
    // Assess
    expect(requests[0]).toMatchObject({ method: 'POST', url: '/api/flow_runs/filter' });
    expect(bodies()[0]).toEqual({
      flow_runs: {
        id: { any_: [IDS.run], not_any_: [IDS.run] },
        state: { type: { any_: ['CANCELLING'] }, name: { any_: ['Cancelling'] } },
        start_time: { is_null_: true },
        deployment_id: { any_: [IDS.deployment] },
      },
      work_pools: { name: { any_: ['ecs-serverless'] } },
      work_pool_queues: { name: { any_: ['default'] } },
      sort: 'ID_DESC',
      limit: 200,
      offset: 0,
    });
    expect(bodyProblems('post', '/flow_runs/filter', bodies()[0])).toEqual([]);
    expect(runs).toHaveLength(1);
  });

  it('filterFlowRuns: endTimeAfter → flow_runs.end_time.after_ as ISO-8601 UTC', async () => {
    // Prepare
    const { client, bodies } = await setup(json(200, []));
    // Act
    await client.filterFlowRuns({
      stateTypes: ['CANCELLED'],
      endTimeAfter: new Date('2026-08-21T11:00:00+01:00'),
    });
    // Assess
    expect(bodies()[0]).toEqual({
      flow_runs: {
        state: { type: { any_: ['CANCELLED'] } },
        end_time: { after_: '2026-08-21T10:00:00.000Z' },
      },
    });
    expect(bodyProblems('post', '/flow_runs/filter', bodies()[0])).toEqual([]);
  });

  it('filterAllFlowRuns: pages by offset until a short page, de-duplicating', async () => {
    // Prepare
    const id = (n: number) => `7f0e2d4e-1111-4aaa-8bbb-${String(n).padStart(12, '0')}`;
    const { client, bodies } = await setup(
      json(200, [flowRunBody({ id: id(1) }), flowRunBody({ id: id(2) })]),
      json(200, [flowRunBody({ id: id(2) }), flowRunBody({ id: id(3) })]),
      json(200, [flowRunBody({ id: id(4) })])
    );
    // Act
    const runs = await client.filterAllFlowRuns({ stateTypes: ['PENDING'] }, { pageSize: 2 });
    // Assess
    expect(runs.map((r) => r.id)).toEqual([id(1), id(2), id(3), id(4)]);
    expect(bodies().map((b) => (b as { offset: number }).offset)).toEqual([0, 2, 4]);
  });

  it('filterAllFlowRuns: stops at maxResults', async () => {
    // Prepare
    const id = (n: number) => `7f0e2d4e-1111-4aaa-8bbb-${String(n).padStart(12, '0')}`;
    const { client, requests } = await setup(
      json(200, [flowRunBody({ id: id(1) }), flowRunBody({ id: id(2) })]),
      json(200, [flowRunBody({ id: id(3) })])
    );
    // Act
    const runs = await client.filterAllFlowRuns({}, { pageSize: 2, maxResults: 3 });
    // Assess
    expect(runs).toHaveLength(3);
    expect(requests).toHaveLength(2);
    expect(JSON.parse(requests[1]?.body ?? '{}').limit).toBe(1);
  });
});

describe('Prefect client calls: deployments, flows, variables, blocks, logs, server', () => {
  it('readDeployment falls back from job_variables to infra_overrides to {}', async () => {
    // Prepare
    const { client, requests } = await setup(
      json(200, deploymentBody({ job_variables: undefined, infra_overrides: { cpu: 512 } })),
      json(200, deploymentBody({ job_variables: undefined }))
    );
    // Act
    const legacy = await client.readDeployment(IDS.deployment);
    const bare = await client.readDeployment(IDS.deployment);
    // Assess
    expect(requests[0]?.url).toBe(`/api/deployments/${IDS.deployment}`);
    expect(legacy.job_variables).toEqual({ cpu: 512 });
    expect(bare.job_variables).toEqual({});
  });

  it('readFlow, createFlow, createDeployment, createFlowRunFromDeployment', async () => {
    // Prepare
    const flow = { id: IDS.flow, created: NOW, updated: NOW, name: 'etl', tags: [], labels: {} };
    const { client, requests, bodies } = await setup(
      json(200, flow),
      json(201, flow),
      json(201, deploymentBody()),
      json(201, flowRunBody())
    );
    // Act
    await client.readFlow(IDS.flow);
    await client.createFlow({ name: 'etl' });
    await client.createDeployment({
      name: 'etl',
      flowId: IDS.flow,
      workPoolName: 'ecs-serverless',
      workQueueName: 'default',
      jobVariables: { cpu: 1024 },
      concurrencyLimit: 1,
      concurrencyOptions: { collisionStrategy: 'ENQUEUE' },
    });
    await client.createFlowRunFromDeployment(IDS.deployment, {
      parameters: { x: 1 },
      jobVariables: { env: { A: '1' } },
      state: { type: 'SCHEDULED', stateDetails: { scheduledTime: NOW } },
    });
    // Assess
    expect(requests.map((r) => `${r.method} ${r.url}`)).toEqual([
      `GET /api/flows/${IDS.flow}`,
      'POST /api/flows/',
      'POST /api/deployments/',
      `POST /api/deployments/${IDS.deployment}/create_flow_run`,
    ]);
    expect(bodyProblems('post', '/flows/', bodies()[1])).toEqual([]);
    expect(bodyProblems('post', '/deployments/', bodies()[2])).toEqual([]);
    expect(bodies()[2]).toMatchObject({ concurrency_options: { collision_strategy: 'ENQUEUE' } });
    expect(bodyProblems('post', '/deployments/{id}/create_flow_run', bodies()[3])).toEqual([]);
    expect(bodies()[3]).toMatchObject({
      state: { type: 'SCHEDULED', state_details: { scheduled_time: NOW } },
    });
  });

  it('readVariableByName: found → the variable; 404 → undefined', async () => {
    // Prepare
    const variable = {
      id: IDS.variable,
      created: NOW,
      updated: NOW,
      name: 'image',
      value: { a: 1 },
      tags: [],
    };
    const { client, requests } = await setup(
      json(200, variable),
      json(404, { detail: 'Variable not found.' })
    );
    // Act
    const found = await client.readVariableByName('image');
    const missing = await client.readVariableByName('nope');
    // Assess
    expect(requests[0]?.url).toBe('/api/variables/name/image');
    expect(found?.value).toEqual({ a: 1 });
    expect(missing).toBeUndefined();
  });

  it('createVariable', async () => {
    // Prepare
    const variable = {
      id: IDS.variable,
      created: NOW,
      updated: NOW,
      name: 'n',
      value: 'v',
      tags: [],
    };
    const { client, bodies } = await setup(json(201, variable));
    // Act
    await client.createVariable({ name: 'n', value: 'v' });
    // Assess
    expect(bodies()[0]).toEqual({ name: 'n', value: 'v' });
    expect(bodyProblems('post', '/variables/', bodies()[0])).toEqual([]);
  });

  it('readBlockDocument and readBlockDocumentByName pass include_secrets', async () => {
    // Prepare
    const { client, requests } = await setup(json(200, blockDocumentBody()));
    // Act
    const byId = await client.readBlockDocument(IDS.blockDocument, { includeSecrets: true });
    await client.readBlockDocumentByName('secret', 'creds');
    // Assess
    expect(requests.map((r) => r.url)).toEqual([
      `/api/block_documents/${IDS.blockDocument}?include_secrets=true`,
      '/api/block_types/slug/secret/block_documents/name/creds?include_secrets=false',
    ]);
    expect(byId.data).toEqual({ value: 's3cr3t' });
  });

  it('createBlockType, createBlockSchema, createBlockDocument', async () => {
    // Prepare
    const { client, bodies } = await setup(
      json(201, { id: IDS.blockType, created: NOW, updated: NOW, name: 'Secret', slug: 'secret' }),
      json(201, {
        id: IDS.blockSchema,
        created: NOW,
        updated: NOW,
        checksum: 'sha256:x',
        fields: {},
        block_type_id: IDS.blockType,
        capabilities: [],
        version: 'non-versioned',
      }),
      json(201, blockDocumentBody())
    );
    // Act
    await client.createBlockType({ name: 'Secret', slug: 'secret' });
    await client.createBlockSchema({ blockTypeId: IDS.blockType, fields: { type: 'object' } });
    await client.createBlockDocument({
      name: 'creds',
      data: { value: 's3cr3t' },
      blockSchemaId: IDS.blockSchema,
      blockTypeId: IDS.blockType,
    });
    // Assess
    expect(bodyProblems('post', '/block_types/', bodies()[0])).toEqual([]);
    expect(bodyProblems('post', '/block_schemas/', bodies()[1])).toEqual([]);
    expect(bodyProblems('post', '/block_documents/', bodies()[2])).toEqual([]);
  });

  it('createLogs: POST /logs/ with LogCreate fields only (no worker_id); empty → no request', async () => {
    // Prepare
    const { client, requests, bodies } = await setup(json(201, null));
    // Act
    await client.createLogs([]);
    await client.createLogs([
      {
        name: 'prefect.worker',
        level: 20,
        message: 'hi',
        timestamp: new Date(0),
        flowRunId: IDS.run,
      },
    ]);
    // Assess
    expect(requests).toHaveLength(1);
    expect(requests[0]).toMatchObject({ method: 'POST', url: '/api/logs/' });
    expect(bodies()[0]).toEqual([
      {
        name: 'prefect.worker',
        level: 20,
        message: 'hi',
        timestamp: '1970-01-01T00:00:00.000Z',
        flow_run_id: IDS.run,
      },
    ]);
    expect(bodyProblems('post', '/logs/', bodies()[0])).toEqual([]);
  });

  it('health and readServerVersion (404 → undefined)', async () => {
    // Prepare
    const { client, requests } = await setup(
      json(200, true),
      json(200, '3.8.3'),
      json(404, { detail: 'Not Found' })
    );
    // Act
    const healthy = await client.health();
    const version = await client.readServerVersion();
    const cloud = await client.readServerVersion();
    // Assess
    expect(requests.map((r) => r.url)).toEqual([
      '/api/health',
      '/api/admin/version',
      '/api/admin/version',
    ]);
    expect(healthy).toBe(true);
    expect(version).toBe('3.8.3');
    expect(cloud).toBeUndefined();
  });
});
