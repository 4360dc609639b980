import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { engine, proposeState, readFlowRun, seed, user } from './actors.ts';
import { createManualClock, type ManualClock } from './manual-clock.ts';
import { rawCall } from './raw-http.ts';
import { type PrefectStandin, startPrefectStandin } from './server.ts';

type Item = {
  work_pool_id: string;
  work_queue_id: string;
  flow_run: Record<string, unknown> & { id: string };
};

describe('Prefect stand-in: get_scheduled_flow_runs', () => {
  let prefect: PrefectStandin;
  let clock: ManualClock;
  let deploymentId: string;

  beforeEach(async () => {
    clock = createManualClock('2026-08-21T12:00:00Z');
    prefect = await startPrefectStandin({ now: clock.now });
    await seed.workPool(prefect.apiUrl, { name: 'pool' });
    deploymentId = (await seed.deployment(prefect.apiUrl, { name: 'etl', workPoolName: 'pool' }))
      .id;
  });
  afterEach(async () => {
    await prefect.close();
  });

  const poll = async (body: Record<string, unknown> = {}) => {
    const response = await rawCall(
      prefect.apiUrl,
      'POST',
      '/work_pools/pool/get_scheduled_flow_runs',
      {
        body,
      }
    );
    expect(response.status).toBe(200);
    return response.body as Item[];
  };
  const ids = (items: Item[]) => items.map((item) => item.flow_run.id);
  const scheduleRun = async (inSeconds = 0, extra: Parameters<typeof seed.flowRun>[2] = {}) =>
    (
      await seed.flowRun(prefect.apiUrl, deploymentId, {
        scheduledTime: clock.isoIn(inSeconds),
        ...extra,
      })
    ).id;
  const claim = (runId: string) => proposeState(prefect.apiUrl, runId, { type: 'PENDING' });

  it('returns scheduled runs with the real item shape and flow_run.state null', async () => {
    // Prepare
    const runId = await scheduleRun(5);
    // Act
    const items = await poll();
    // Assess
    const pool = (await rawCall(prefect.apiUrl, 'GET', '/work_pools/pool')).body as {
      id: string;
      default_queue_id: string;
    };
    expect(items).toHaveLength(1);
    expect(items[0]).toMatchObject({
      work_pool_id: pool.id,
      work_queue_id: pool.default_queue_id,
      flow_run: {
        id: runId,
        state: null,
        state_type: 'SCHEDULED',
        state_name: 'Scheduled',
        next_scheduled_start_time: '2026-08-21T12:00:05Z',
        work_queue_name: 'default',
      },
    });
    expect(items[0]?.flow_run).not.toHaveProperty('work_pool_name');
  });

  it('claims nothing: a second poll returns the same runs', async () => {
    // Prepare
    const runId = await scheduleRun();
    // Act
    const first = await poll();
    const second = await poll();
    // Assess
    expect(ids(first)).toEqual([runId]);
    expect(ids(second)).toEqual([runId]);
  });

  it('returns every SCHEDULED-type state name but no PENDING or RUNNING run', async () => {
    // Prepare
    const scheduled = await scheduleRun();
    const late = await scheduleRun();
    await proposeState(prefect.apiUrl, late, { type: 'SCHEDULED', name: 'Late' }, true);
    const pending = await scheduleRun();
    await claim(pending);
    const running = await scheduleRun();
    await claim(running);
    await engine.start(prefect.apiUrl, running);
    // Act
    const items = await poll();
    // Assess
    expect(ids(items).sort()).toEqual([scheduled, late].sort());
  });

  it('excludes an in-process AwaitingRetry run (the engine retries it itself)', async () => {
    // Prepare
    const runId = await scheduleRun(0, { empiricalPolicy: { retries: 2, retry_delay: 0 } });
    await claim(runId);
    await engine.start(prefect.apiUrl, runId);
    const failed = await engine.fail(prefect.apiUrl, runId);
    // Act
    const items = await poll();
    // Assess
    const run = await readFlowRun(prefect.apiUrl, runId);
    expect(failed).toMatchObject({
      status: 'REJECT',
      state: { type: 'SCHEDULED', name: 'AwaitingRetry' },
    });
    expect(run).toMatchObject({
      state_type: 'SCHEDULED',
      empirical_policy: { retry_type: 'in_process' },
    });
    expect(items).toEqual([]);
  });

  it('excludes runs of a paused pool and of a paused queue', async () => {
    // Prepare
    await seed.workQueue(prefect.apiUrl, 'pool', { name: 'gpu' });
    const inDefault = await scheduleRun();
    const inGpu = await scheduleRun(0, { workQueueName: 'gpu' });
    // Act
    await user.pauseWorkQueue(prefect.apiUrl, 'pool', 'gpu');
    const queuePaused = await poll();
    await user.pauseWorkPool(prefect.apiUrl, 'pool');
    const poolPaused = await poll();
    await user.pauseWorkPool(prefect.apiUrl, 'pool', false);
    await user.pauseWorkQueue(prefect.apiUrl, 'pool', 'gpu', false);
    const resumed = await poll();
    // Assess
    expect(ids(queuePaused)).toEqual([inDefault]);
    expect(poolPaused).toEqual([]);
    expect(ids(resumed).sort()).toEqual([inDefault, inGpu].sort());
  });

  it('filters by work_queue_names and answers 404 for an unknown queue', async () => {
    // Prepare
    await seed.workQueue(prefect.apiUrl, 'pool', { name: 'gpu' });
    await scheduleRun();
    const inGpu = await scheduleRun(0, { workQueueName: 'gpu' });
    // Act
    const gpuOnly = await poll({ work_queue_names: ['gpu'] });
    const unknown = await rawCall(
      prefect.apiUrl,
      'POST',
      '/work_pools/pool/get_scheduled_flow_runs',
      {
        body: { work_queue_names: ['gpu', 'nope'] },
      }
    );
    // Assess
    expect(ids(gpuOnly)).toEqual([inGpu]);
    expect(unknown).toMatchObject({
      status: 404,
      body: { detail: "Work pool queue 'pool/nope' not found." },
    });
  });

  it('treats scheduled_before and scheduled_after as inclusive bounds', async () => {
    // Prepare
    const early = await scheduleRun(10);
    const onTime = await scheduleRun(20);
    const later = await scheduleRun(30);
    // Act
    const window = await poll({
      scheduled_after: clock.isoIn(20),
      scheduled_before: clock.isoIn(30),
    });
    const upTo = await poll({ scheduled_before: clock.isoIn(10) });
    // Assess
    expect(ids(window)).toEqual([onTime, later]);
    expect(ids(upTo)).toEqual([early]);
  });

  it('orders by queue priority, then by scheduled time, then applies limit', async () => {
    // Prepare
    await seed.workQueue(prefect.apiUrl, 'pool', { name: 'urgent', priority: 1 });
    const defaultLate = await scheduleRun(30);
    const defaultEarly = await scheduleRun(10);
    const urgent = await scheduleRun(50, { workQueueName: 'urgent' });
    // Act
    const all = await poll();
    const limited = await poll({ limit: 2 });
    // Assess
    expect(ids(all)).toEqual([urgent, defaultEarly, defaultLate]);
    expect(ids(limited)).toEqual([urgent, defaultEarly]);
  });

  it('caps by the queue concurrency limit, counting PENDING and RUNNING runs', async () => {
    // Prepare
    await rawCall(prefect.apiUrl, 'PATCH', '/work_pools/pool/queues/default', {
      body: { concurrency_limit: 2 },
    });
    const runs = [await scheduleRun(1), await scheduleRun(2), await scheduleRun(3)];
    const [first, second, third] = runs as [string, string, string];
    // Act
    const free = await poll();
    await claim(first);
    const oneTaken = await poll();
    await engine.start(prefect.apiUrl, first);
    await claim(second);
    const full = await poll();
    await engine.complete(prefect.apiUrl, first);
    const released = await poll();
    // Assess
    expect(ids(free)).toEqual([first, second]);
    expect(ids(oneTaken)).toEqual([second]);
    expect(full).toEqual([]);
    expect(ids(released)).toEqual([third]);
  });

  it('caps by the pool concurrency limit across its queues', async () => {
    // Prepare
    await rawCall(prefect.apiUrl, 'PATCH', '/work_pools/pool', { body: { concurrency_limit: 2 } });
    await seed.workQueue(prefect.apiUrl, 'pool', { name: 'gpu' });
    const inGpu = await scheduleRun(1, { workQueueName: 'gpu' });
    const a = await scheduleRun(2);
    const b = await scheduleRun(3);
    // Act
    await claim(inGpu);
    const items = await poll();
    const pool = (await rawCall(prefect.apiUrl, 'GET', '/work_pools/pool')).body;
    // Assess
    expect(ids(items)).toEqual([a]);
    expect(ids(items)).not.toContain(b);
    expect(pool).toMatchObject({ active_slots: 1 });
  });

  it('marks the polled queues and their deployments READY', async () => {
    // Prepare
    const before = (await rawCall(prefect.apiUrl, 'GET', `/deployments/${deploymentId}`)).body;
    // Act
    await poll({ work_queue_names: [] });
    const after = (await rawCall(prefect.apiUrl, 'GET', `/deployments/${deploymentId}`)).body;
    clock.advance(61);
    const stale = (await rawCall(prefect.apiUrl, 'GET', `/deployments/${deploymentId}`)).body;
    // Assess
    expect(before).toMatchObject({ status: 'NOT_READY', last_polled: null });
    expect(after).toMatchObject({ status: 'READY', last_polled: '2026-08-21T12:00:00Z' });
    expect(stale).toMatchObject({ status: 'NOT_READY' });
  });

  it('answers 404 for an unknown pool', async () => {
    // Act
    const response = await rawCall(
      prefect.apiUrl,
      'POST',
      '/work_pools/nope/get_scheduled_flow_runs',
      {
        body: {},
      }
    );
    // Assess
    expect(response).toMatchObject({
      status: 404,
      body: { detail: 'Work pool "nope" not found.' },
    });
  });
});
