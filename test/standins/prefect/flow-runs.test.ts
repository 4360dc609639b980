import { randomUUID } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { engine, proposeState, readFlowRun, seed, user } from './actors.ts';
import { createManualClock, type ManualClock } from './manual-clock.ts';
import { rawCall } from './raw-http.ts';
import { type PrefectStandin, startPrefectStandin } from './server.ts';

type Run = { id: string; state_type: string | null };

describe('Prefect stand-in: flow runs and deployments', () => {
  let prefect: PrefectStandin;
  let clock: ManualClock;
  let deployment: { id: string; flow_id: string };

  beforeEach(async () => {
    clock = createManualClock('2026-08-21T12:00:00Z');
    prefect = await startPrefectStandin({ now: clock.now });
    await seed.workPool(prefect.apiUrl, { name: 'pool' });
    deployment = await seed.deployment(prefect.apiUrl, {
      name: 'etl',
      workPoolName: 'pool',
      jobVariables: { cpu: 1024, env: { STAGE: 'prod' } },
      tags: ['team-a'],
    });
  });
  afterEach(async () => {
    await prefect.close();
  });

  describe('create_flow_run', () => {
    it('creates a SCHEDULED run carrying the deployment, queue, tags, labels and job variables', async () => {
      // Prepare
      const scheduledTime = clock.isoIn(60);
      // Act
      const run = await seed.flowRun(prefect.apiUrl, deployment.id, {
        scheduledTime,
        jobVariables: { memory: 4096 },
        tags: ['adhoc'],
        name: 'nightly',
      });
      // Assess
      expect(run).toMatchObject({
        name: 'nightly',
        deployment_id: deployment.id,
        work_queue_name: 'default',
        work_pool_name: 'pool',
        state_type: 'SCHEDULED',
        state_name: 'Scheduled',
        state: { type: 'SCHEDULED', state_details: { scheduled_time: '2026-08-21T12:01:00Z' } },
        expected_start_time: '2026-08-21T12:01:00Z',
        next_scheduled_start_time: '2026-08-21T12:01:00Z',
        job_variables: { memory: 4096 },
        tags: ['team-a', 'adhoc'],
        labels: {
          'prefect.flow.id': deployment.flow_id,
          'prefect.deployment.id': deployment.id,
        },
        infrastructure_pid: null,
        start_time: null,
        run_count: 0,
      });
    });

    it('validates the merged job variables against the pool template (422)', async () => {
      // Act
      const response = await rawCall(
        prefect.apiUrl,
        'POST',
        `/deployments/${deployment.id}/create_flow_run`,
        { body: { job_variables: { cpu: 'a lot' } } }
      );
      // Assess
      expect(response.status).toBe(422);
      expect(response.body).toEqual({
        detail:
          "Error creating flow run: Validation failed for field 'cpu'. Failure reason: must be integer",
      });
    });

    it('returns the existing run for a repeated idempotency key (200)', async () => {
      // Prepare
      const path = `/deployments/${deployment.id}/create_flow_run`;
      const first = await rawCall(prefect.apiUrl, 'POST', path, {
        body: { idempotency_key: 'k1' },
      });
      // Act
      const second = await rawCall(prefect.apiUrl, 'POST', path, {
        body: { idempotency_key: 'k1' },
      });
      // Assess
      expect(first.status).toBe(201);
      expect(second.status).toBe(200);
      expect((second.body as Run).id).toBe((first.body as Run).id);
    });

    it('answers 404 for an unknown deployment', async () => {
      // Act
      const response = await rawCall(
        prefect.apiUrl,
        'POST',
        `/deployments/${randomUUID()}/create_flow_run`,
        { body: {} }
      );
      // Assess
      expect(response).toMatchObject({ status: 404, body: { detail: 'Deployment not found' } });
    });

    it('creates runs through POST /flow_runs/ in PENDING unless a state is given', async () => {
      // Act
      const response = await rawCall(prefect.apiUrl, 'POST', '/flow_runs/', {
        body: { flow_id: deployment.flow_id, work_pool_name: 'pool' },
      });
      // Assess
      expect(response.status).toBe(201);
      expect(response.body).toMatchObject({ state_type: 'PENDING', work_queue_name: 'default' });
    });
  });

  describe('deployments', () => {
    it("defaults the queue to the pool's default queue and creates a named queue on demand", async () => {
      // Prepare
      const pool = (await rawCall(prefect.apiUrl, 'GET', '/work_pools/pool')).body as {
        default_queue_id: string;
      };
      // Act
      const gpu = await seed.deployment(prefect.apiUrl, {
        name: 'train',
        workPoolName: 'pool',
        workQueueName: 'gpu',
      });
      // Assess
      expect(deployment).toMatchObject({
        work_queue_id: pool.default_queue_id,
        work_queue_name: 'default',
      });
      expect(gpu).toMatchObject({ work_pool_name: 'pool', work_queue_name: 'gpu' });
      expect((await rawCall(prefect.apiUrl, 'GET', '/work_pools/pool/queues/gpu')).status).toBe(
        200
      );
    });

    it('upserts on flow and name (200) and answers 404 for an unknown work pool', async () => {
      // Act
      const again = await rawCall(prefect.apiUrl, 'POST', '/deployments/', {
        body: { name: 'etl', flow_id: deployment.flow_id, work_pool_name: 'pool' },
      });
      const noPool = await rawCall(prefect.apiUrl, 'POST', '/deployments/', {
        body: { name: 'x', flow_id: deployment.flow_id, work_pool_name: 'missing' },
      });
      // Assess
      expect(again.status).toBe(200);
      expect((again.body as { id: string }).id).toBe(deployment.id);
      expect(noPool).toMatchObject({
        status: 404,
        body: { detail: 'Work pool "missing" not found.' },
      });
    });
  });

  describe('PATCH', () => {
    it('records infrastructure_pid (204)', async () => {
      // Prepare
      const run = await seed.flowRun(prefect.apiUrl, deployment.id);
      // Act
      const response = await rawCall(prefect.apiUrl, 'PATCH', `/flow_runs/${run.id}`, {
        body: { infrastructure_pid: 'cluster::arn:aws:ecs:eu-west-1:123:task/cluster/abc' },
      });
      // Assess
      expect([response.status, response.body]).toEqual([204, undefined]);
      expect((await readFlowRun(prefect.apiUrl, run.id)).infrastructure_pid).toBe(
        'cluster::arn:aws:ecs:eu-west-1:123:task/cluster/abc'
      );
    });

    it('refuses job_variables once the run left SCHEDULED (400)', async () => {
      // Prepare
      const run = await seed.flowRun(prefect.apiUrl, deployment.id, {
        scheduledTime: clock.isoIn(0),
      });
      await proposeState(prefect.apiUrl, run.id, { type: 'PENDING' });
      // Act
      const response = await rawCall(prefect.apiUrl, 'PATCH', `/flow_runs/${run.id}`, {
        body: { job_variables: { cpu: 2048 } },
      });
      // Assess
      expect(response).toMatchObject({
        status: 400,
        body: { detail: 'Job variables for a flow run in state PENDING cannot be updated' },
      });
    });

    it('merges labels (204) and answers 404 for an unknown run', async () => {
      // Prepare
      const run = await seed.flowRun(prefect.apiUrl, deployment.id);
      const missing = randomUUID();
      // Act
      const merged = await rawCall(prefect.apiUrl, 'PATCH', `/flow_runs/${run.id}/labels`, {
        body: { 'prefect.worker.name': 'serverless', 'prefect.worker.type': 'ecs' },
      });
      const unknown = await rawCall(prefect.apiUrl, 'PATCH', `/flow_runs/${missing}/labels`, {
        body: { a: 'b' },
      });
      // Assess
      expect(merged.status).toBe(204);
      expect((await readFlowRun(prefect.apiUrl, run.id)).labels).toEqual({
        'prefect.flow.id': deployment.flow_id,
        'prefect.deployment.id': deployment.id,
        'prefect.worker.name': 'serverless',
        'prefect.worker.type': 'ecs',
      });
      expect(unknown).toMatchObject({
        status: 404,
        body: { exception_message: `Flow run with id ${missing} not found` },
      });
    });
  });

  describe('filter', () => {
    it("finds CANCELLING runs of a pool that never started, the poller's cancel sweep", async () => {
      // Prepare
      const other = await seed.workPool(prefect.apiUrl, { name: 'other-pool' });
      const otherDeployment = await seed.deployment(prefect.apiUrl, {
        name: 'x',
        workPoolName: other.name,
      });
      const runs = await Promise.all(
        [0, 1, 2].map(() =>
          seed.flowRun(prefect.apiUrl, deployment.id, { scheduledTime: clock.isoIn(0) })
        )
      );
      const [pendingCancelled, startedCancelled, untouched] = runs.map((r) => r.id) as [
        string,
        string,
        string,
      ];
      const elsewhere = (
        await seed.flowRun(prefect.apiUrl, otherDeployment.id, { scheduledTime: clock.isoIn(0) })
      ).id;
      for (const id of [pendingCancelled, startedCancelled, elsewhere]) {
        await proposeState(prefect.apiUrl, id, { type: 'PENDING' });
        await rawCall(prefect.apiUrl, 'PATCH', `/flow_runs/${id}`, {
          body: { infrastructure_pid: `c::${id}` },
        });
      }
      await engine.start(prefect.apiUrl, startedCancelled);
      for (const id of [pendingCancelled, startedCancelled, elsewhere])
        await user.cancel(prefect.apiUrl, id);
      // Act
      const response = await rawCall(prefect.apiUrl, 'POST', '/flow_runs/filter', {
        body: {
          flow_runs: {
            state: { type: { any_: ['CANCELLING'] } },
            start_time: { is_null_: true },
            id: { not_any_: [untouched] },
          },
          work_pools: { name: { any_: ['pool'] } },
          sort: 'ID_DESC',
          limit: 200,
          offset: 0,
        },
      });
      // Assess
      expect(response.status).toBe(200);
      expect((response.body as Run[]).map((r) => r.id)).toEqual([pendingCancelled]);
    });

    it('filters by state name, deployment and queue, with limit and offset', async () => {
      // Prepare
      const ids: string[] = [];
      for (let i = 0; i < 3; i += 1) {
        ids.push(
          (await seed.flowRun(prefect.apiUrl, deployment.id, { scheduledTime: clock.isoIn(i) })).id
        );
      }
      // Act
      const page = await rawCall(prefect.apiUrl, 'POST', '/flow_runs/filter', {
        body: {
          flow_runs: {
            state: { name: { any_: ['Scheduled'] } },
            deployment_id: { any_: [deployment.id] },
          },
          work_pool_queues: { name: { any_: ['default'] } },
          sort: 'EXPECTED_START_TIME_ASC',
          limit: 2,
          offset: 1,
        },
      });
      // Assess
      expect((page.body as Run[]).map((r) => r.id)).toEqual(ids.slice(1, 3));
    });

    it('answers 501 for a filter criterion it does not evaluate rather than ignoring it', async () => {
      // Act
      const response = await rawCall(prefect.apiUrl, 'POST', '/flow_runs/filter', {
        body: { flow_runs: { created_by: { is_null_: true } } },
      });
      // Assess
      expect(response.status).toBe(501);
    });
  });
});
