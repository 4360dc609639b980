import { randomUUID } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  engine,
  type FlowRun,
  proposeState,
  readFlowRun,
  readFlowRunStates,
  seed,
  user,
} from './actors.ts';
import { createManualClock, type ManualClock } from './manual-clock.ts';
import { rawCall } from './raw-http.ts';
import { expectMatchesSchema } from './schema-assertions.ts';
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

  describe('attempts: one run id, several claims', () => {
    const PID = 'cluster::arn:aws:ecs:eu-west-1:123:task/cluster/attempt-1';

    /** Claimed at 12:00:01, task recorded, started at 12:00:02; the clock is then at 12:00:02. */
    const startedRun = async (empiricalPolicy?: Record<string, unknown>) => {
      const run = await seed.flowRun(prefect.apiUrl, deployment.id, {
        scheduledTime: clock.isoIn(0),
        ...(empiricalPolicy ? { empiricalPolicy } : {}),
      });
      clock.advance(1);
      await proposeState(prefect.apiUrl, run.id, { type: 'PENDING' });
      await rawCall(prefect.apiUrl, 'PATCH', `/flow_runs/${run.id}`, {
        body: { infrastructure_pid: PID },
      });
      clock.advance(1);
      await engine.start(prefect.apiUrl, run.id);
      return run.id;
    };

    /** Each way a started run reaches a terminal state, as the actors involved propose it. */
    const finish: Record<string, (runId: string) => Promise<unknown>> = {
      CRASHED: (runId) =>
        proposeState(prefect.apiUrl, runId, {
          type: 'CRASHED',
          name: 'Crashed',
          message: 'Essential container in task exited',
        }),
      FAILED: (runId) => engine.fail(prefect.apiUrl, runId),
      COMPLETED: (runId) => engine.complete(prefect.apiUrl, runId),
      CANCELLED: async (runId) => {
        await user.cancel(prefect.apiUrl, runId);
        await proposeState(prefect.apiUrl, runId, { type: 'CANCELLED', name: 'Cancelled' });
      },
    };

    it.each(Object.keys(finish))(
      "UI Retry from %s: forced AwaitingRetry is accepted and keeps the run's pid, run_count and start_time",
      async (terminal) => {
        // Prepare
        const runId = await startedRun({ retries: 0, retry_delay: 0 });
        clock.advance(10);
        await finish[terminal]?.(runId);
        const before = await readFlowRun(prefect.apiUrl, runId);
        clock.advance(60);
        // Act
        const retried = await user.retry(prefect.apiUrl, runId);
        // Assess
        expect(before.state_type).toBe(terminal);
        expect(before.end_time).toBe(before.state?.timestamp);
        expect(retried).toMatchObject({
          status: 'ACCEPT',
          state: {
            type: 'SCHEDULED',
            name: 'AwaitingRetry',
            message: 'Retry from the UI',
            state_details: { scheduled_time: '2026-08-21T12:01:12Z', transition_id: null },
          },
        });
        expect(await readFlowRun(prefect.apiUrl, runId)).toMatchObject({
          state_type: 'SCHEDULED',
          state_name: 'AwaitingRetry',
          infrastructure_pid: PID,
          run_count: 1,
          start_time: '2026-08-21T12:00:02Z',
          end_time: null,
          total_run_time: 10,
          expected_start_time: '2026-08-21T12:00:00Z',
          next_scheduled_start_time: '2026-08-21T12:01:12Z',
          // Forced: MinimalFlowPolicy leaves the policy alone (no retry_type 'reschedule').
          empirical_policy: before.empirical_policy,
        });
      }
    );

    it('after a retry, one new claim is accepted, RUNNING counts the attempt, start_time stays the first', async () => {
      // Prepare
      const runId = await startedRun();
      clock.advance(10);
      await finish.CRASHED?.(runId);
      clock.advance(60);
      await user.retry(prefect.apiUrl, runId);
      // Act
      clock.advance(1);
      const claim = await proposeState(prefect.apiUrl, runId, { type: 'PENDING' });
      const rival = await proposeState(prefect.apiUrl, runId, { type: 'PENDING' });
      const claimed = await readFlowRun(prefect.apiUrl, runId);
      clock.advance(1);
      const started = await engine.start(prefect.apiUrl, runId);
      const running = await readFlowRun(prefect.apiUrl, runId);
      clock.advance(5);
      await finish.CRASHED?.(runId);
      const crashedAgain = await readFlowRun(prefect.apiUrl, runId);
      // Assess
      expect(claim).toMatchObject({
        status: 'ACCEPT',
        state: { type: 'PENDING', state_details: { scheduled_time: '2026-08-21T12:01:12Z' } },
      });
      expect(rival.status).toBe('ABORT');
      expect(claimed).toMatchObject({ next_scheduled_start_time: null, run_count: 1 });
      expect(started.status).toBe('ACCEPT');
      expect(running).toMatchObject({
        run_count: 2,
        start_time: '2026-08-21T12:00:02Z',
        end_time: null,
        infrastructure_pid: PID,
      });
      expect(crashedAgain).toMatchObject({
        state_type: 'CRASHED',
        end_time: '2026-08-21T12:01:19Z',
        total_run_time: 15,
      });
    });

    it('SIGTERM reschedule from RUNNING: non-forced AwaitingRetry is accepted and the run can be claimed again', async () => {
      // Prepare
      const runId = await startedRun();
      clock.advance(10);
      // Act
      const rescheduled = await engine.reschedule(prefect.apiUrl, runId, { now: clock.now() });
      const afterReschedule = await readFlowRun(prefect.apiUrl, runId);
      clock.advance(1);
      const claim = await proposeState(prefect.apiUrl, runId, { type: 'PENDING' });
      clock.advance(1);
      const started = await engine.start(prefect.apiUrl, runId);
      // Assess
      expect(rescheduled).toMatchObject({
        status: 'ACCEPT',
        state: {
          type: 'SCHEDULED',
          name: 'AwaitingRetry',
          message: null,
          state_details: { scheduled_time: '2026-08-21T12:00:12Z' },
        },
      });
      expect(afterReschedule).toMatchObject({
        state_type: 'SCHEDULED',
        state_name: 'AwaitingRetry',
        infrastructure_pid: PID,
        run_count: 1,
        start_time: '2026-08-21T12:00:02Z',
        end_time: null,
        total_run_time: 10,
        next_scheduled_start_time: '2026-08-21T12:00:12Z',
      });
      expect(claim.status).toBe('ACCEPT');
      expect(started.status).toBe('ACCEPT');
      expect(await readFlowRun(prefect.apiUrl, runId)).toMatchObject({
        run_count: 2,
        start_time: '2026-08-21T12:00:02Z',
      });
    });

    it('SIGTERM reschedule before the engine started (PENDING) is accepted; after a cancel (CANCELLING) it is rejected', async () => {
      // Prepare
      const pending = (
        await seed.flowRun(prefect.apiUrl, deployment.id, { scheduledTime: clock.isoIn(0) })
      ).id;
      await proposeState(prefect.apiUrl, pending, { type: 'PENDING' });
      const cancelling = await startedRun();
      await user.cancel(prefect.apiUrl, cancelling);
      // Act
      const fromPending = await engine.reschedule(prefect.apiUrl, pending, { now: clock.now() });
      const fromCancelling = await engine.reschedule(prefect.apiUrl, cancelling, {
        now: clock.now(),
      });
      // Assess
      expect(fromPending).toMatchObject({
        status: 'ACCEPT',
        state: { type: 'SCHEDULED', name: 'AwaitingRetry' },
      });
      expect(fromCancelling).toMatchObject({
        status: 'REJECT',
        state: { type: 'CANCELLING' },
        details: {
          reason: 'Cannot transition flows that are cancelling to a state other than Cancelled.',
        },
      });
    });

    it("cancelling a retried run that waits in AwaitingRetry goes CANCELLING (the old attempt's pid is kept)", async () => {
      // Prepare
      const runId = await startedRun();
      clock.advance(10);
      await finish.CRASHED?.(runId);
      await user.retry(prefect.apiUrl, runId);
      // Act
      const cancel = await user.cancel(prefect.apiUrl, runId);
      // Assess
      expect(cancel).toMatchObject({ status: 'ACCEPT', state: { type: 'CANCELLING' } });
      expect(await readFlowRun(prefect.apiUrl, runId)).toMatchObject({
        state_type: 'CANCELLING',
        infrastructure_pid: PID,
        start_time: '2026-08-21T12:00:02Z',
        end_time: null,
      });
    });

    it.each([
      {
        how: 'the cancelling timeout (non-forced, CoreFlowPolicy)',
        force: false,
        message: 'Flow run cancellation timed out; marked this flow run as Cancelled.',
      },
      { how: 'a forced Cancelled (our sweep, a user by hand)', force: true, message: null },
    ])(
      'end_time (and start_time, never set) is the time a claimed run is Cancelled by $how',
      async ({ force, message }) => {
        // Prepare
        const run = await seed.flowRun(prefect.apiUrl, deployment.id, {
          scheduledTime: clock.isoIn(0),
        });
        await proposeState(prefect.apiUrl, run.id, { type: 'PENDING' });
        await rawCall(prefect.apiUrl, 'PATCH', `/flow_runs/${run.id}`, {
          body: { infrastructure_pid: PID },
        });
        await user.cancel(prefect.apiUrl, run.id);
        clock.advance(300);
        // Act
        const cancelled = await proposeState(
          prefect.apiUrl,
          run.id,
          { type: 'CANCELLED', name: 'Cancelled', message },
          force
        );
        // Assess
        expect(cancelled.status).toBe('ACCEPT');
        expect(await readFlowRun(prefect.apiUrl, run.id)).toMatchObject({
          state_type: 'CANCELLED',
          start_time: '2026-08-21T12:05:00Z',
          end_time: '2026-08-21T12:05:00Z',
        });
      }
    );

    it('a user forcing CANCELLED on a running run sets end_time; a later terminal state keeps it', async () => {
      // Prepare
      const runId = await startedRun();
      clock.advance(10);
      // Act
      const cancelled = await proposeState(
        prefect.apiUrl,
        runId,
        { type: 'CANCELLED', name: 'Cancelled' },
        true
      );
      clock.advance(10);
      const crashed = await proposeState(prefect.apiUrl, runId, { type: 'CRASHED' }, true);
      // Assess
      expect([cancelled.status, crashed.status]).toEqual(['ACCEPT', 'ACCEPT']);
      expect(await readFlowRun(prefect.apiUrl, runId)).toMatchObject({
        state_type: 'CRASHED',
        start_time: '2026-08-21T12:00:02Z',
        end_time: '2026-08-21T12:00:12Z',
      });
    });
  });

  describe('flow_run_states', () => {
    it('lists every state of every attempt, oldest first, in the State shape', async () => {
      // Prepare
      const run = await seed.flowRun(prefect.apiUrl, deployment.id, {
        scheduledTime: clock.isoIn(0),
      });
      const claims: string[] = [];
      for (let attempt = 0; attempt < 2; attempt += 1) {
        clock.advance(1);
        const claim = await proposeState(prefect.apiUrl, run.id, { type: 'PENDING' });
        claims.push(String(claim.state?.state_details.transition_id));
        clock.advance(1);
        await engine.start(prefect.apiUrl, run.id);
        clock.advance(1);
        await engine.reschedule(prefect.apiUrl, run.id, { now: clock.now() });
      }
      // Act
      const response = await rawCall(
        prefect.apiUrl,
        'GET',
        `/flow_run_states/?flow_run_id=${run.id.toUpperCase()}`
      );
      // Assess
      expect(response.status).toBe(200);
      expectMatchesSchema(response.body, 'State[]');
      const states = response.body as NonNullable<FlowRun['state']>[];
      expect(states.map((s) => `${s.type}/${s.name}`)).toEqual([
        'SCHEDULED/Scheduled',
        'PENDING/Pending',
        'RUNNING/Running',
        'SCHEDULED/AwaitingRetry',
        'PENDING/Pending',
        'RUNNING/Running',
        'SCHEDULED/AwaitingRetry',
      ]);
      const timestamps = states.map((s) => Date.parse(String(s.timestamp)));
      expect(timestamps).toEqual([...timestamps].sort((a, b) => a - b));
      expect(
        states.filter((s) => s.type === 'PENDING').map((s) => s.state_details.transition_id)
      ).toEqual(claims);
      expect(states.every((s) => s.state_details.flow_run_id === run.id)).toBe(true);
      expect(states.at(-1)?.id).toBe((await readFlowRun(prefect.apiUrl, run.id)).state?.id);
    });

    it('answers [] for an unknown run and 422 for a missing or malformed flow_run_id', async () => {
      // Act
      const unknown = await rawCall(
        prefect.apiUrl,
        'GET',
        `/flow_run_states/?flow_run_id=${randomUUID()}`
      );
      const missing = await rawCall(prefect.apiUrl, 'GET', '/flow_run_states/');
      const malformed = await rawCall(prefect.apiUrl, 'GET', '/flow_run_states/?flow_run_id=abc');
      // Assess
      expect(unknown).toMatchObject({ status: 200, body: [] });
      expect(missing).toMatchObject({
        status: 422,
        body: {
          exception_detail: [{ type: 'missing', loc: ['query', 'flow_run_id'] }],
          request_body: null,
        },
      });
      expect(malformed).toMatchObject({
        status: 422,
        body: {
          exception_detail: [{ type: 'uuid_parsing', loc: ['query', 'flow_run_id'], input: 'abc' }],
        },
      });
    });

    it('reads one state by id; 404 "Flow run state not found" for an unknown id', async () => {
      // Prepare
      const run = await seed.flowRun(prefect.apiUrl, deployment.id, {
        scheduledTime: clock.isoIn(0),
      });
      const [scheduled] = await readFlowRunStates(prefect.apiUrl, run.id);
      // Act
      const found = await rawCall(prefect.apiUrl, 'GET', `/flow_run_states/${scheduled?.id}`);
      const unknown = await rawCall(prefect.apiUrl, 'GET', `/flow_run_states/${randomUUID()}`);
      // Assess
      expect(found.status).toBe(200);
      expectMatchesSchema(found.body, 'State');
      expect(found.body).toEqual(scheduled);
      expect(unknown).toMatchObject({ status: 404, body: { detail: 'Flow run state not found' } });
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

    it('evaluates end_time after_ / before_ / is_null_; a retried run has no end_time', async () => {
      // Prepare
      const [early, late, open, retried] = await Promise.all(
        [0, 1, 2, 3].map(async () => {
          const run = await seed.flowRun(prefect.apiUrl, deployment.id, {
            scheduledTime: clock.isoIn(0),
          });
          await proposeState(prefect.apiUrl, run.id, { type: 'PENDING' });
          await engine.start(prefect.apiUrl, run.id);
          return run.id;
        })
      );
      clock.advance(10);
      await engine.complete(prefect.apiUrl, early as string);
      clock.advance(10);
      await engine.complete(prefect.apiUrl, late as string);
      await engine.complete(prefect.apiUrl, retried as string);
      await user.retry(prefect.apiUrl, retried as string);
      const filter = async (endTime: Record<string, unknown>) => {
        const response = await rawCall(prefect.apiUrl, 'POST', '/flow_runs/filter', {
          body: { flow_runs: { end_time: endTime }, sort: 'ID_DESC' },
        });
        expect(response.status).toBe(200);
        return (response.body as Run[]).map((r) => r.id).sort();
      };
      // Act
      const after = await filter({ after_: '2026-08-21T12:00:15Z' });
      const before = await filter({ before_: '2026-08-21T12:00:15+00:00' });
      const between = await filter({
        after_: '2026-08-21T12:00:10Z',
        before_: '2026-08-21T12:00:20Z',
      });
      const unfinished = await filter({ is_null_: true });
      // Assess
      expect(after).toEqual([late]);
      expect(before).toEqual([early]);
      expect(between).toEqual([early, late].sort());
      expect(unfinished).toEqual([open, retried].sort());
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
