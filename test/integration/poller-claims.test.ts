/**
 * The poll through the Prefect and SQS stand-ins: claims are locks, launch messages are timed to the
 * scheduled time, concurrency limits hold, and each pool's problems stay its own.
 */
import { ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { checkClaim } from '../../shared/launch/claim.ts';
import { parseLaunchMessage } from '../../shared/launch/launch-message.ts';
import { isClaimTransitionIdOf } from '../../shared/poll/claim-marker.ts';
import { pollPools } from '../../shared/poll/poll-pools.ts';
import { summarizePoll } from '../../shared/poll/poll-result.ts';
import { WORKER_NAME_LABEL } from '../../shared/poll/run-labels.ts';
import { UnknownWorkPoolError } from '../../shared/poll/work-pool-errors.ts';
import { engine } from '../standins/prefect/actors.ts';
import {
  countBy,
  type PollerWorld,
  seedRuns,
  startPollerWorld,
  WORKER,
} from './poller-fixtures.ts';

describe('poller: a run scheduled ahead is launched on time', () => {
  let world: PollerWorld;
  afterEach(async () => {
    await world.close();
  });

  it('claims a run 45 s ahead and times its launch message for its scheduled time (simulated clock)', async () => {
    // Prepare
    world = await startPollerWorld();
    const scheduled = new Date(world.now().getTime() + 45_000);
    const { runs } = await seedRuns(world, { count: 1, scheduledTime: scheduled });
    const run = runs[0];
    // Act
    const result = await pollPools({}, world.deps());
    // Assess
    expect(summarizePoll(result)).toMatchObject({ claimed: 1, enqueued: 0 + 1, errors: 0 });
    const [queued] = world.launches();
    expect(queued?.message).toMatchObject({
      flow_run_id: run?.id,
      work_pool: 'ecs-pool',
      scheduled_time: scheduled.toISOString(),
      attempt: 1,
    });
    // The timer is the scheduled time minus the clock (lead 0): the launcher sees it at +45 s.
    expect(queued?.delaySeconds).toBe(45);
    expect(queued?.state).toBe('delayed');
    const claimed = await world.admin.readFlowRun(run?.id ?? '');
    expect(claimed.state?.type).toBe('PENDING');
    expect(claimed.state?.state_details.transition_id).toBe(queued?.message.transition_id);
    expect(isClaimTransitionIdOf(queued?.message.transition_id, WORKER)).toBe(true);
    expect(claimed.labels[WORKER_NAME_LABEL]).toBe(WORKER);
    // The launcher's own ownership rule accepts the message.
    if (queued)
      expect(checkClaim(claimed, queued.message)).toEqual({ owned: true, via: 'transition_id' });
  });

  it('applies the lead: DelaySeconds = scheduled − now − lead, clamped to 0…900', async () => {
    // Prepare
    world = await startPollerWorld();
    const at = (seconds: number) => new Date(world.now().getTime() + seconds * 1000);
    await seedRuns(world, { count: 1, scheduledTime: at(50), deployment: 'a' });
    await seedRuns(world, { count: 1, scheduledTime: at(-30), deployment: 'b', createPool: false });
    // Act
    await pollPools({}, world.deps({ options: { leadSeconds: 20, prefetchSeconds: 60 } }));
    // Assess
    const delays = world
      .launches()
      .map((queued) => [
        Date.parse(queued.message.scheduled_time) - world.now().getTime(),
        queued.delaySeconds,
      ]);
    expect(delays.sort((a, b) => (a[0] ?? 0) - (b[0] ?? 0))).toEqual([
      [-30_000, 0],
      [50_000, 30],
    ]);
  });

  it('makes the message receivable at the scheduled time ± 1 s (real clock, short wait)', async () => {
    // Prepare
    world = await startPollerWorld({ clock: 'real' });
    const scheduled = new Date(Date.now() + 2_500);
    const { runs } = await seedRuns(world, { count: 1, scheduledTime: scheduled });
    // Act
    await pollPools({}, world.deps());
    const early = await world.sqsClient.send(
      new ReceiveMessageCommand({ QueueUrl: world.launchQueueUrl, WaitTimeSeconds: 0 })
    );
    let received: { at: number; body: string } | undefined;
    while (!received && Date.now() < scheduled.getTime() + 5_000) {
      const answer = await world.sqsClient.send(
        new ReceiveMessageCommand({ QueueUrl: world.launchQueueUrl, WaitTimeSeconds: 1 })
      );
      const body = answer.Messages?.[0]?.Body;
      if (body) received = { at: Date.now(), body };
    }
    // Assess
    expect(early.Messages ?? []).toHaveLength(0);
    expect(received).toBeDefined();
    expect(parseLaunchMessage(received?.body ?? '').flow_run_id).toBe(runs[0]?.id);
    expect(Math.abs((received?.at ?? 0) - scheduled.getTime())).toBeLessThanOrEqual(1_000);
  });
});

describe('poller: claims are locks', () => {
  let world: PollerWorld;
  beforeEach(async () => {
    world = await startPollerWorld();
  });
  afterEach(async () => {
    await world.close();
  });

  it('two pollers at once claim and enqueue each run exactly once', async () => {
    // Prepare
    const { runs } = await seedRuns(world, { count: 30 });
    // Act
    const [first, second] = await Promise.all([
      pollPools({}, world.deps({ options: { claimConcurrency: 4 } })),
      pollPools({}, world.deps({ options: { claimConcurrency: 4 } })),
    ]);
    // Assess
    const claimed = summarizePoll(first).claimed + summarizePoll(second).claimed;
    expect(claimed).toBe(30);
    const ids = world.launches().map((queued) => queued.message.flow_run_id);
    expect(ids).toHaveLength(30);
    expect([...countBy(ids).values()].every((count) => count === 1)).toBe(true);
    expect(new Set(ids)).toEqual(new Set(runs.map((run) => run.id)));
    for (const queued of world.launches()) {
      const run = await world.admin.readFlowRun(queued.message.flow_run_id);
      expect(run.state?.state_details.transition_id).toBe(queued.message.transition_id);
    }
  });

  it('a pool with concurrency_limit 2 and 5 due runs: 2 now, the rest as slots free up', async () => {
    // Prepare
    await seedRuns(world, { count: 5, concurrencyLimit: 2 });
    const deps = world.deps();
    const claimedIds = (): string[] => world.launches().map((queued) => queued.message.flow_run_id);
    // Act / Assess
    expect(summarizePoll(await pollPools({}, deps)).claimed).toBe(2);
    expect(summarizePoll(await pollPools({}, deps)).claimed).toBe(0);
    for (const expected of [3, 4, 5]) {
      const finished = claimedIds()[expected - 3] ?? '';
      await engine.start(world.prefect.apiUrl, finished);
      await engine.complete(world.prefect.apiUrl, finished);
      world.clock?.advance(20);
      expect(summarizePoll(await pollPools({}, deps)).claimed).toBe(1);
      expect(claimedIds()).toHaveLength(expected);
    }
    expect(new Set(claimedIds()).size).toBe(5);
  });

  it('a deployment concurrency limit: AwaitingConcurrencySlot runs are picked up later', async () => {
    // Prepare
    const { runs } = await seedRuns(world, { count: 3, deploymentConcurrencyLimit: 1 });
    const deps = world.deps();
    // Act: one slot, so one claim; the others are rescheduled by the server (+30 s).
    const first = await pollPools({}, deps);
    const waiting = await Promise.all(runs.map((run) => world.admin.readFlowRun(run.id)));
    // Assess
    expect(summarizePoll(first).claimed).toBe(1);
    expect(waiting.filter((run) => run.state?.name === 'AwaitingConcurrencySlot')).toHaveLength(2);
    expect(
      deps.logger.lines.filter((line) => line.message === 'Flow run not claimed')
    ).toHaveLength(2);

    // Not yet due again: a poll does not re-propose them (no REJECT churn).
    const setStates = () =>
      world.prefect.requests.filter((request) => request.path.endsWith('/set_state')).length;
    const before = setStates();
    world.clock?.advance(10);
    expect(summarizePoll(await pollPools({}, deps)).claimed).toBe(0);
    expect(setStates()).toBe(before);

    // The slot frees up and the reschedule time comes: the next run is claimed.
    const holder = world.launches()[0]?.message.flow_run_id ?? '';
    await engine.start(world.prefect.apiUrl, holder);
    await engine.complete(world.prefect.apiUrl, holder);
    world.clock?.advance(25);
    expect(summarizePoll(await pollPools({}, deps)).claimed).toBe(1);
    const second = world.launches()[1]?.message.flow_run_id ?? '';
    await engine.start(world.prefect.apiUrl, second);
    await engine.complete(world.prefect.apiUrl, second);
    world.clock?.advance(35);
    expect(summarizePoll(await pollPools({}, deps)).claimed).toBe(1);
    expect(new Set(world.launches().map((q) => q.message.flow_run_id))).toEqual(
      new Set(runs.map((run) => run.id))
    );
  });

  it('claims across pages: 12 due runs with POLL_LIMIT 5 in one poll', async () => {
    // Prepare
    await seedRuns(world, { count: 12 });
    // Act
    const result = await pollPools({}, world.deps({ options: { limit: 5 } }));
    // Assess
    expect(summarizePoll(result)).toMatchObject({ claimed: 12, enqueued: 12, errors: 0 });
    const pages = world.prefect.requests.filter((r) => r.path.endsWith('/get_scheduled_flow_runs'));
    expect(pages).toHaveLength(3);
  });
});

describe('poller: pools', () => {
  let world: PollerWorld;
  afterEach(async () => {
    await world.close();
  });

  it('heartbeats with a stable worker name and the real cadence as the interval', async () => {
    // Prepare
    world = await startPollerWorld();
    await seedRuns(world, { count: 0 });
    // Act
    await pollPools({}, world.deps());
    await pollPools({}, world.deps());
    // Assess
    const heartbeats = world.prefect.requests.filter((r) => r.path.endsWith('/workers/heartbeat'));
    expect(heartbeats.map((r) => r.body)).toEqual([
      { name: WORKER, heartbeat_interval_seconds: 20 },
      { name: WORKER, heartbeat_interval_seconds: 20 },
    ]);
    const workers = await world.admin.readWorkers('ecs-pool');
    expect(workers.map((worker) => worker.name)).toEqual([WORKER]);
  });

  it('skips a paused pool: heartbeat, no claims', async () => {
    // Prepare
    world = await startPollerWorld();
    const { runs } = await seedRuns(world, { count: 2, paused: true });
    // Act
    const result = await pollPools({}, world.deps());
    // Assess
    expect(result.pools).toEqual([
      expect.objectContaining({ name: 'ecs-pool', skipped: 'paused', claimed: 0, errors: [] }),
    ]);
    expect(world.launches()).toHaveLength(0);
    const run = await world.admin.readFlowRun(runs[0]?.id ?? '');
    expect(run.state?.type).toBe('SCHEDULED');
    expect(world.prefect.requests.some((r) => r.path.endsWith('/workers/heartbeat'))).toBe(true);
    expect(world.prefect.requests.some((r) => r.path.endsWith('/get_scheduled_flow_runs'))).toBe(
      false
    );
  });

  it('a pool of another type and a missing pool get clear errors; the other pool is still polled', async () => {
    // Prepare
    world = await startPollerWorld({ pools: ['process-pool', 'nope', 'ecs-pool'] });
    await seedRuns(world, { pool: 'process-pool', poolType: 'process', count: 1 });
    await seedRuns(world, { pool: 'ecs-pool', count: 2 });
    // Act
    const result = await pollPools({}, world.deps());
    // Assess
    const byName = Object.fromEntries(result.pools.map((pool) => [pool.name, pool]));
    expect(byName['process-pool']?.errors).toEqual([
      {
        stage: 'read-pool',
        message: expect.stringMatching(/'process-pool' has type 'process', not 'ecs'/),
      },
    ]);
    expect(byName.nope?.errors).toEqual([
      { stage: 'read-pool', message: expect.stringMatching(/'nope' was not found.*never creates/) },
    ]);
    expect(byName['ecs-pool']).toMatchObject({ claimed: 2, enqueued: 2, errors: [] });
    // Never created, never heartbeated as a worker of the wrong pool.
    expect(
      world.prefect.requests.filter(
        (r) =>
          r.method === 'POST' &&
          r.path === '/work_pools/' &&
          (r.body as { name?: string }).name === 'nope'
      )
    ).toHaveLength(0);
    expect(
      world.prefect.requests.some((r) => r.path.startsWith('/work_pools/process-pool/workers'))
    ).toBe(false);
  });

  it('refuses a pool that is not configured before calling Prefect', async () => {
    // Prepare
    world = await startPollerWorld();
    const requests = world.prefect.requests.length;
    // Act
    const polling = pollPools({ pools: ['gpu'] }, world.deps());
    // Assess
    await expect(polling).rejects.toBeInstanceOf(UnknownWorkPoolError);
    await expect(polling).rejects.toThrow(/'gpu'.*PREFECT_WORK_POOLS/);
    expect(world.prefect.requests).toHaveLength(requests);
  });
});
