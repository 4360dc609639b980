import { randomUUID } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { engine, proposeState, readFlowRun, seed, user } from './actors.ts';
import { createManualClock, type ManualClock } from './manual-clock.ts';
import { rawCall } from './raw-http.ts';
import { type PrefectStandin, startPrefectStandin } from './server.ts';

describe('Prefect stand-in: POST /flow_runs/{id}/set_state', () => {
  let prefect: PrefectStandin;
  let clock: ManualClock;

  beforeEach(async () => {
    clock = createManualClock('2026-08-21T12:00:00Z');
    prefect = await startPrefectStandin({ now: clock.now });
    await seed.workPool(prefect.apiUrl, { name: 'pool' });
  });
  afterEach(async () => {
    await prefect.close();
  });

  const newRun = async (deployment: Parameters<typeof seed.deployment>[1] = { name: 'etl' }) => {
    const { id } = await seed.deployment(prefect.apiUrl, { workPoolName: 'pool', ...deployment });
    return (await seed.flowRun(prefect.apiUrl, id, { scheduledTime: clock.isoIn(0) })).id;
  };
  const setState = (runId: string, state: Record<string, unknown>, force = false) =>
    rawCall(prefect.apiUrl, 'POST', `/flow_runs/${runId}/set_state`, { body: { state, force } });

  it('accepts the first PENDING claim with 201 and copies the scheduled time', async () => {
    // Prepare
    const runId = await newRun();
    const transitionId = randomUUID();
    // Act
    const response = await setState(runId, {
      type: 'PENDING',
      state_details: { transition_id: transitionId },
    });
    // Assess
    expect(response.status).toBe(201);
    expect(response.body).toMatchObject({
      status: 'ACCEPT',
      details: { type: 'accept_details' },
      state: {
        type: 'PENDING',
        name: 'Pending',
        timestamp: '2026-08-21T12:00:00.001000Z',
        state_details: {
          flow_run_id: runId,
          transition_id: transitionId,
          scheduled_time: '2026-08-21T12:00:00Z',
        },
      },
    });
    expect(await readFlowRun(prefect.apiUrl, runId)).toMatchObject({
      state_type: 'PENDING',
      state_name: 'Pending',
      next_scheduled_start_time: null,
    });
  });

  it('aborts a second PENDING proposal (the claim is a lock) and answers 200', async () => {
    // Prepare
    const runId = await newRun();
    await proposeState(prefect.apiUrl, runId, { type: 'PENDING' });
    // Act
    const second = await setState(runId, {
      type: 'PENDING',
      state_details: { transition_id: randomUUID() },
    });
    // Assess
    expect(second.status).toBe(200);
    expect(second.body).toMatchObject({
      status: 'ABORT',
      details: { type: 'abort_details' },
      state: { type: 'PENDING' },
    });
  });

  it('accepts exactly one of many concurrent claims', async () => {
    // Prepare
    const runId = await newRun();
    // Act
    const results = await Promise.all(
      Array.from({ length: 8 }, () => proposeState(prefect.apiUrl, runId, { type: 'PENDING' }))
    );
    // Assess
    expect(results.map((r) => r.status).sort()).toEqual([
      'ABORT',
      'ABORT',
      'ABORT',
      'ABORT',
      'ABORT',
      'ABORT',
      'ABORT',
      'ACCEPT',
    ]);
  });

  it('answers a replayed transition_id with REJECT and the current state', async () => {
    // Prepare
    const runId = await newRun();
    const body = { type: 'PENDING', state_details: { transition_id: randomUUID() } };
    const first = (await setState(runId, body)).body as { state: { id: string } };
    // Act
    const replay = await setState(runId, body);
    // Assess
    expect(replay.status).toBe(200);
    expect(replay.body).toMatchObject({
      status: 'REJECT',
      state: { id: first.state.id, type: 'PENDING' },
    });
  });

  it('accepts a named PENDING sub-state (InfrastructurePending) from PENDING', async () => {
    // Prepare
    const runId = await newRun();
    await proposeState(prefect.apiUrl, runId, { type: 'PENDING' });
    // Act
    const result = await proposeState(prefect.apiUrl, runId, {
      type: 'PENDING',
      name: 'InfrastructurePending',
      message: 'ECS task is pending.',
    });
    // Assess
    expect(result).toMatchObject({
      status: 'ACCEPT',
      state: { type: 'PENDING', name: 'InfrastructurePending' },
    });
    expect((await readFlowRun(prefect.apiUrl, runId)).state_name).toBe('InfrastructurePending');
  });

  it('rejects CRASHED on a CANCELLING run and keeps it CANCELLING', async () => {
    // Prepare
    const runId = await newRun();
    await proposeState(prefect.apiUrl, runId, { type: 'PENDING' });
    await user.cancel(prefect.apiUrl, runId);
    // Act
    const crashed = await proposeState(prefect.apiUrl, runId, {
      type: 'CRASHED',
      message: 'task stopped',
    });
    const cancelled = await proposeState(prefect.apiUrl, runId, { type: 'CANCELLED' });
    // Assess
    expect(crashed).toMatchObject({
      status: 'REJECT',
      state: { type: 'CANCELLING', name: 'Cancelling' },
    });
    expect(cancelled).toMatchObject({ status: 'ACCEPT', state: { type: 'CANCELLED' } });
  });

  it('sets start_time on the first RUNNING only, and end_time on a final state', async () => {
    // Prepare
    const runId = await newRun();
    await proposeState(prefect.apiUrl, runId, { type: 'PENDING' });
    // Act
    clock.advance(5);
    const started = await engine.start(prefect.apiUrl, runId);
    const afterStart = await readFlowRun(prefect.apiUrl, runId);
    clock.advance(30);
    await engine.complete(prefect.apiUrl, runId);
    const finished = await readFlowRun(prefect.apiUrl, runId);
    // Assess
    expect(started.status).toBe('ACCEPT');
    expect(afterStart).toMatchObject({
      state_type: 'RUNNING',
      start_time: '2026-08-21T12:00:05Z',
      end_time: null,
      run_count: 1,
    });
    expect(finished).toMatchObject({
      state_type: 'COMPLETED',
      start_time: '2026-08-21T12:00:05Z',
      end_time: '2026-08-21T12:00:35Z',
      total_run_time: 30,
    });
  });

  it('keeps the first start_time across an in-process retry and counts the runs', async () => {
    // Prepare
    const { id } = await seed.deployment(prefect.apiUrl, { name: 'etl', workPoolName: 'pool' });
    const runId = (
      await seed.flowRun(prefect.apiUrl, id, {
        scheduledTime: clock.isoIn(0),
        empiricalPolicy: { retries: 1, retry_delay: 0 },
      })
    ).id;
    await proposeState(prefect.apiUrl, runId, { type: 'PENDING' });
    await engine.start(prefect.apiUrl, runId);
    // Act
    clock.advance(10);
    const failed = await engine.fail(prefect.apiUrl, runId);
    clock.advance(1);
    const retried = await engine.start(prefect.apiUrl, runId);
    // Assess
    expect(failed).toMatchObject({ status: 'REJECT', state: { name: 'AwaitingRetry' } });
    expect(retried.status).toBe('ACCEPT');
    expect(await readFlowRun(prefect.apiUrl, runId)).toMatchObject({
      state_type: 'RUNNING',
      // Scheduled, Pending and Running were written at 12:00:00 on a frozen clock (+1 ms each).
      start_time: '2026-08-21T12:00:00.002000Z',
      run_count: 2,
    });
  });

  it('answers WAIT to RUNNING before the scheduled time (prefetch is safe)', async () => {
    // Prepare
    const { id } = await seed.deployment(prefect.apiUrl, { name: 'etl', workPoolName: 'pool' });
    const runId = (await seed.flowRun(prefect.apiUrl, id, { scheduledTime: clock.isoIn(10) })).id;
    await proposeState(prefect.apiUrl, runId, { type: 'PENDING' });
    // Act
    const early = await engine.start(prefect.apiUrl, runId);
    // Assess
    expect(early).toMatchObject({
      status: 'WAIT',
      state: { type: 'PENDING' },
      details: { type: 'wait_details' },
    });
    expect((early.details.delay_seconds ?? 0) > 0).toBe(true);
    expect((await readFlowRun(prefect.apiUrl, runId)).start_time).toBeNull();
  });

  describe('deployment concurrency', () => {
    it('rejects a claim over the limit to AwaitingConcurrencySlot, which the run then shows', async () => {
      // Prepare
      const { id } = await seed.deployment(prefect.apiUrl, {
        name: 'limited',
        workPoolName: 'pool',
        concurrencyLimit: 1,
      });
      const first = (await seed.flowRun(prefect.apiUrl, id, { scheduledTime: clock.isoIn(0) })).id;
      const second = (await seed.flowRun(prefect.apiUrl, id, { scheduledTime: clock.isoIn(0) })).id;
      await proposeState(prefect.apiUrl, first, { type: 'PENDING' });
      // Act
      const response = await setState(second, { type: 'PENDING' });
      const run = await readFlowRun(prefect.apiUrl, second);
      const deployment = (await rawCall(prefect.apiUrl, 'GET', `/deployments/${id}`)).body;
      // Assess
      expect(response.status).toBe(201);
      expect(response.body).toMatchObject({
        status: 'REJECT',
        state: { type: 'SCHEDULED', name: 'AwaitingConcurrencySlot' },
        details: { type: 'reject_details' },
      });
      expect(run).toMatchObject({
        state_type: 'SCHEDULED',
        state_name: 'AwaitingConcurrencySlot',
        next_scheduled_start_time: '2026-08-21T12:00:30Z',
      });
      expect(deployment).toMatchObject({
        concurrency_limit: null,
        global_concurrency_limit: { name: `deployment:${id}`, limit: 1, active_slots: 1 },
      });
    });

    it('frees the slot when the holder finishes', async () => {
      // Prepare
      const { id } = await seed.deployment(prefect.apiUrl, {
        name: 'limited',
        workPoolName: 'pool',
        concurrencyLimit: 1,
      });
      const first = (await seed.flowRun(prefect.apiUrl, id, { scheduledTime: clock.isoIn(0) })).id;
      const second = (await seed.flowRun(prefect.apiUrl, id, { scheduledTime: clock.isoIn(0) })).id;
      await proposeState(prefect.apiUrl, first, { type: 'PENDING' });
      await proposeState(prefect.apiUrl, first, { type: 'CRASHED', message: 'image pull failed' });
      // Act
      const claim = await proposeState(prefect.apiUrl, second, { type: 'PENDING' });
      // Assess
      expect(claim).toMatchObject({ status: 'ACCEPT', state: { type: 'PENDING' } });
      expect(claim.state?.state_details.deployment_concurrency_lease_id).toEqual(
        expect.any(String)
      );
    });

    it('cancels the new run with collision strategy CANCEL_NEW', async () => {
      // Prepare
      const { id } = await seed.deployment(prefect.apiUrl, {
        name: 'limited',
        workPoolName: 'pool',
        concurrencyLimit: 1,
        collisionStrategy: 'CANCEL_NEW',
      });
      const first = (await seed.flowRun(prefect.apiUrl, id, { scheduledTime: clock.isoIn(0) })).id;
      const second = (await seed.flowRun(prefect.apiUrl, id, { scheduledTime: clock.isoIn(0) })).id;
      await proposeState(prefect.apiUrl, first, { type: 'PENDING' });
      // Act
      const claim = await proposeState(prefect.apiUrl, second, { type: 'PENDING' });
      // Assess
      expect(claim).toMatchObject({ status: 'REJECT', state: { type: 'CANCELLED' } });
      // Timestamps are unique per run: on a frozen clock each new state is 1 ms later.
      expect((await readFlowRun(prefect.apiUrl, second)).end_time).toBe(
        '2026-08-21T12:00:00.001000Z'
      );
    });

    it('releases a slot whose lease lapsed while the run sat in PENDING', async () => {
      // Prepare
      const { id } = await seed.deployment(prefect.apiUrl, {
        name: 'limited',
        workPoolName: 'pool',
        concurrencyLimit: 1,
        gracePeriodSeconds: 60,
      });
      const stuck = (await seed.flowRun(prefect.apiUrl, id, { scheduledTime: clock.isoIn(0) })).id;
      const next = (await seed.flowRun(prefect.apiUrl, id, { scheduledTime: clock.isoIn(0) })).id;
      await proposeState(prefect.apiUrl, stuck, { type: 'PENDING' });
      // Act
      clock.advance(61);
      const claim = await proposeState(prefect.apiUrl, next, { type: 'PENDING' });
      // Assess
      expect(claim.status).toBe('ACCEPT');
    });

    it('deletes the scheduled runs with their deployment and keeps claimed ones dangling', async () => {
      // Prepare
      const { id } = await seed.deployment(prefect.apiUrl, { name: 'gone', workPoolName: 'pool' });
      const claimed = (await seed.flowRun(prefect.apiUrl, id, { scheduledTime: clock.isoIn(0) }))
        .id;
      const waiting = (await seed.flowRun(prefect.apiUrl, id, { scheduledTime: clock.isoIn(0) }))
        .id;
      await proposeState(prefect.apiUrl, claimed, { type: 'PENDING' });
      // Act
      const deleted = await rawCall(prefect.apiUrl, 'DELETE', `/deployments/${id}`);
      const lateClaim = await setState(waiting, { type: 'PENDING' });
      // Assess
      expect(deleted.status).toBe(204);
      expect((await rawCall(prefect.apiUrl, 'GET', `/deployments/${id}`)).status).toBe(404);
      expect(lateClaim.status).toBe(404);
      expect((await readFlowRun(prefect.apiUrl, claimed)).deployment_id).toBe(id);
    });

    it('aborts the claim of a run whose deployment does not exist', async () => {
      // Prepare
      const flow = await rawCall(prefect.apiUrl, 'POST', '/flows/', { body: { name: 'orphans' } });
      const created = await rawCall(prefect.apiUrl, 'POST', '/flow_runs/', {
        body: {
          flow_id: (flow.body as { id: string }).id,
          deployment_id: randomUUID(),
          work_pool_name: 'pool',
          state: { type: 'SCHEDULED' },
        },
      });
      const runId = (created.body as { id: string }).id;
      // Act
      const claim = await setState(runId, { type: 'PENDING' });
      // Assess
      expect(created.status).toBe(201);
      expect(claim.status).toBe(200);
      expect(claim.body).toMatchObject({
        status: 'ABORT',
        details: { type: 'abort_details', reason: 'Deployment not found.' },
        state: { type: 'SCHEDULED' },
      });
    });
  });

  it('lets the UI cancel: a run with infrastructure goes CANCELLING, one without straight to Cancelled', async () => {
    // Prepare
    const withInfra = await newRun();
    await proposeState(prefect.apiUrl, withInfra, { type: 'PENDING' });
    await rawCall(prefect.apiUrl, 'PATCH', `/flow_runs/${withInfra}`, {
      body: { infrastructure_pid: 'cluster::arn:aws:ecs:eu-west-1:123:task/cluster/abc' },
    });
    const neverClaimed = await newRun({ name: 'other' });
    // Act
    const cancelling = await user.cancel(prefect.apiUrl, withInfra);
    const bypassed = await user.cancel(prefect.apiUrl, neverClaimed);
    // Assess
    expect(cancelling).toMatchObject({
      status: 'ACCEPT',
      state: { type: 'CANCELLING', name: 'Cancelling' },
    });
    expect(bypassed).toMatchObject({ status: 'REJECT', state: { type: 'CANCELLED' } });
  });

  it('lets the UI pause a running run (forced Suspended)', async () => {
    // Prepare
    const runId = await newRun();
    await proposeState(prefect.apiUrl, runId, { type: 'PENDING' });
    await engine.start(prefect.apiUrl, runId);
    // Act
    const paused = await user.pause(prefect.apiUrl, runId, { now: clock.now() });
    // Assess
    expect(paused).toMatchObject({
      status: 'ACCEPT',
      state: { type: 'PAUSED', name: 'Suspended', state_details: { pause_reschedule: true } },
    });
    expect(await readFlowRun(prefect.apiUrl, runId)).toMatchObject({ state_type: 'PAUSED' });
  });

  it('writes states with unique, increasing timestamps even on a frozen clock', async () => {
    // Prepare
    const runId = await newRun();
    // Act
    const pending = await proposeState(prefect.apiUrl, runId, { type: 'PENDING' });
    const named = await proposeState(prefect.apiUrl, runId, {
      type: 'PENDING',
      name: 'Submitting',
    });
    // Assess
    const t1 = Date.parse(String(pending.state?.timestamp));
    const t2 = Date.parse(String(named.state?.timestamp));
    expect(t2).toBeGreaterThan(t1);
  });
});
