/**
 * The orphan sweep through the stand-ins: a claimed run whose launch message never led to a task is
 * re-enqueued (recognised by the claim marker, or by the worker label under a PENDING sub-state),
 * at most ORPHAN_MAX_REQUEUES times, then CRASHED saying what was tried.
 */
import { ECSClient, RunTaskCommand } from '@aws-sdk/client-ecs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ATTEMPT_VARIABLE } from '../../shared/ecs/attempt-marker.ts';
import { checkClaim } from '../../shared/launch/claim.ts';
import type { LaunchMessage } from '../../shared/launch/launch-message.ts';
import { pollPools } from '../../shared/poll/poll-pools.ts';
import { summarizePoll } from '../../shared/poll/poll-result.ts';
import { LAST_REQUEUE_LABEL, REQUEUES_LABEL } from '../../shared/poll/run-labels.ts';
import type { QueueSender } from '../../shared/queue/queue-sender.ts';
import { credentials, type FargateSetup, setUpFargate } from '../standins/ecs/fixtures.ts';
import type { AwsStandin } from '../standins/ecs/types.ts';
import { engine, proposeState, user } from '../standins/prefect/actors.ts';
import { type PollerWorld, seedRuns, startPollerWorld } from './poller-fixtures.ts';

/** SQS refusing everything (an outage longer than the sender's retries). */
const failingQueue: QueueSender = {
  sendMessages: async (_url, messages) => ({
    sent: [],
    failed: messages.map((message) => ({
      id: message.id,
      code: 'InternalError',
      message: 'We encountered an internal error. Please try again.',
      senderFault: false,
    })),
    requests: 3,
  }),
};

describe('poller: orphan sweep', () => {
  let world: PollerWorld;
  beforeEach(async () => {
    world = await startPollerWorld();
  });
  afterEach(async () => {
    await world.close();
  });

  it('re-enqueues a claim whose message was lost, at most N times, then CRASHES it with what was tried', async () => {
    // Prepare: the claim succeeds, the enqueue does not.
    const { runs } = await seedRuns(world, { count: 2 });
    const ids = runs.map((run) => run.id).sort();
    const lost = await pollPools({}, world.deps({ queue: failingQueue }));
    expect(summarizePoll(lost)).toMatchObject({ claimed: 2, enqueued: 0 });
    expect(lost.pools[0]?.errors.map((error) => error.stage)).toEqual(['enqueue', 'enqueue']);
    expect(lost.pools[0]?.errors[0]?.message).toMatch(/orphan sweep re-enqueues it 300 s after/);
    const claimIds = new Map(
      await Promise.all(
        ids.map(
          async (id) =>
            [id, (await world.admin.readFlowRun(id)).state?.state_details.transition_id] as const
        )
      )
    );
    const deps = world.deps({ options: { maxRequeues: 2 } });

    // Act / Assess: not an orphan before ORPHAN_AFTER_SECONDS.
    world.clock?.advance(299);
    expect(summarizePoll(await pollPools({}, deps)).requeued).toBe(0);
    expect(world.launches()).toHaveLength(0);

    // First re-enqueue: same claim, attempt 2, counted in the labels.
    world.clock?.advance(2);
    expect(summarizePoll(await pollPools({}, deps)).requeued).toBe(2);
    const first = world.launches();
    expect(first.map((q) => q.message.flow_run_id).sort()).toEqual(ids);
    for (const queued of first) {
      expect(queued.message.attempt).toBe(2);
      expect(queued.delaySeconds).toBe(0);
      expect(queued.message.transition_id).toBe(claimIds.get(queued.message.flow_run_id));
      const run = await world.admin.readFlowRun(queued.message.flow_run_id);
      expect(run.labels[REQUEUES_LABEL]).toBe(1);
      expect(run.labels[LAST_REQUEUE_LABEL]).toBe(world.now().toISOString());
      expect(checkClaim(run, queued.message)).toEqual({ owned: true, via: 'transition_id' });
    }
    // The wait restarts from the re-enqueue.
    world.purge();
    world.clock?.advance(100);
    expect(summarizePoll(await pollPools({}, deps)).requeued).toBe(0);

    // Second re-enqueue, lost again (say, the launcher crashed on it until the DLQ took it).
    world.clock?.advance(201);
    expect(summarizePoll(await pollPools({}, deps)).requeued).toBe(2);
    expect(world.launches().map((q) => q.message.attempt)).toEqual([3, 3]);
    world.purge();

    // Give up: CRASHED, saying what was tried.
    world.clock?.advance(301);
    const gaveUp = await pollPools({}, deps);
    expect(summarizePoll(gaveUp)).toMatchObject({ requeued: 0, crashed: 2, errors: 0 });
    expect(world.launches()).toHaveLength(0);
    for (const id of ids) {
      const run = await world.admin.readFlowRun(id);
      expect(run.state?.type).toBe('CRASHED');
      expect(run.state?.message).toMatch(/^Launch never completed\./);
      expect(run.state?.message).toMatch(
        /sent 3 times \(once when claimed, then re-enqueued 2 times by the orphan sweep, last at /
      );
      expect(run.state?.message).toMatch(/no infrastructure_pid/);
      expect(run.state?.message).toMatch(/dead-letter queue/);
    }
  });

  it('recognises its run under a PENDING sub-state by the worker label, and re-enqueues it', async () => {
    // Prepare
    const { runs } = await seedRuns(world, { count: 1 });
    const id = runs[0]?.id ?? '';
    await pollPools({}, world.deps());
    world.purge(); // the message is gone
    const sub = await proposeState(world.prefect.apiUrl, id, {
      type: 'PENDING',
      name: 'InfrastructurePending',
    });
    expect(sub.status).toBe('ACCEPT');
    // Act
    world.clock?.advance(301);
    const result = await pollPools({}, world.deps());
    // Assess
    expect(summarizePoll(result).requeued).toBe(1);
    const [queued] = world.launches();
    const run = await world.admin.readFlowRun(id);
    expect(queued?.message.transition_id).toBe(run.state?.state_details.transition_id);
    if (queued) expect(checkClaim(run, queued.message)).toMatchObject({ owned: true });
  });

  it("leaves another worker's claim, runs with infrastructure, and prefetched runs not yet due alone", async () => {
    // Prepare: a world with ECS, where the launched run's task is still starting
    await world.close();
    world = await startPollerWorld({ aws: true });
    const ecsSdk = world.ecsSdk as ECSClient;
    const fargate = await setUpFargate(world.aws as AwsStandin, ecsSdk);
    const { runs } = await seedRuns(world, { count: 2 });
    const later = new Date(world.now().getTime() + 600_000);
    const { runs: ahead } = await seedRuns(world, {
      count: 1,
      scheduledTime: later,
      deployment: 'later',
      createPool: false,
    });
    const foreign = runs[0]?.id ?? '';
    const launched = runs[1]?.id ?? '';
    await proposeState(world.prefect.apiUrl, foreign, { type: 'PENDING', name: 'Pending' });
    const deps = world.deps({ options: { prefetchSeconds: 900 } });
    await pollPools({}, deps);
    expect(
      world
        .launches()
        .map((q) => q.message.flow_run_id)
        .sort()
    ).toEqual([launched, ahead[0]?.id ?? ''].sort());
    // Launched: its task recorded, and the reporter's InfrastructurePending on top.
    const { tasks } = await ecsSdk.send(new RunTaskCommand(fargate.runInput()));
    await world.admin.updateFlowRun(launched, {
      infrastructurePid: `${fargate.cluster}::${tasks?.[0]?.taskArn}`,
    });
    await proposeState(world.prefect.apiUrl, launched, {
      type: 'PENDING',
      name: 'InfrastructurePending',
    });
    world.purge();
    // Act: long past the threshold for the due runs, still before the prefetched one is due.
    world.clock?.advance(400);
    const result = await pollPools({}, deps);
    // Assess
    expect(summarizePoll(result)).toMatchObject({ requeued: 0, crashed: 0, errors: 0 });
    expect(world.launches()).toHaveLength(0);
    // Once it is overdue, the prefetched run is recovered too.
    world.clock?.advance(501);
    expect(summarizePoll(await pollPools({}, deps)).requeued).toBe(1);
    expect(world.launches()[0]?.message.flow_run_id).toBe(ahead[0]?.id);
  });
});

describe('poller: orphan sweep, attempts', () => {
  let world: PollerWorld;
  let ecs: ECSClient;
  let fargate: FargateSetup;
  beforeEach(async () => {
    world = await startPollerWorld({ aws: true });
    ecs = new ECSClient({ region: world.aws?.region, endpoint: world.aws?.url, credentials });
    fargate = await setUpFargate(world.aws as AwsStandin, ecs);
  });
  afterEach(async () => {
    ecs.destroy();
    await world.close();
  });

  /** RunTask for an attempt, as the launcher starts it, and its pid recorded on the run. */
  const launchAttempt = async (flowRunId: string, attempt: string): Promise<string> => {
    const { tasks } = await ecs.send(
      new RunTaskCommand(
        fargate.runInput({
          startedBy: `prefect/${flowRunId}`,
          overrides: {
            containerOverrides: [
              { name: 'prefect', environment: [{ name: ATTEMPT_VARIABLE, value: attempt }] },
            ],
          },
        })
      )
    );
    const taskArn = tasks?.[0]?.taskArn ?? '';
    await world.admin.updateFlowRun(flowRunId, {
      infrastructurePid: `${fargate.cluster}::${taskArn}`,
    });
    return taskArn;
  };

  it("re-enqueues a claimed second attempt that carries the first attempt's pid, and leaves one with its own task", async () => {
    // Prepare: two runs, each launched, crashed and retried from the UI, then claimed again.
    const { runs } = await seedRuns(world, { count: 2 });
    const [stale, own] = runs.map((run) => run.id) as [string, string];
    await pollPools({}, world.deps());
    for (const queued of world.launches()) {
      const id = queued.message.flow_run_id;
      const taskArn = await launchAttempt(id, queued.message.transition_id);
      await world.aws?.ecs.runToCompletion(taskArn, { exitCode: 1 });
      await proposeState(world.prefect.apiUrl, id, { type: 'CRASHED', name: 'Crashed' });
      expect((await user.retry(world.prefect.apiUrl, id)).status).toBe('ACCEPT');
    }
    world.purge();
    await pollPools({}, world.deps());
    const second = new Map(world.launches().map((q) => [q.message.flow_run_id, q.message]));
    expect([...second.keys()].sort()).toEqual([stale, own].sort());
    // The second attempt of `own` got its task; the message of `stale` was lost.
    await launchAttempt(own, second.get(own)?.transition_id ?? '');
    world.purge();
    const describedBefore = world.aws?.callsTo('DescribeTasks').length ?? 0;
    // Act
    world.clock?.advance(301);
    const result = await pollPools({}, world.deps());
    // Assess
    expect(summarizePoll(result)).toMatchObject({ requeued: 1, crashed: 0, errors: 0 });
    const [requeued] = world.launches();
    expect(requeued?.message).toMatchObject({
      flow_run_id: stale,
      transition_id: second.get(stale)?.transition_id,
      attempt: 2,
    });
    expect(requeued?.message.claimed_at).toBe(second.get(stale)?.claimed_at);
    const run = await world.admin.readFlowRun(stale);
    expect(run.infrastructure_pid).not.toBeNull();
    expect(checkClaim(run, requeued?.message as LaunchMessage)).toEqual({
      owned: true,
      via: 'transition_id',
    });
    expect((world.aws?.callsTo('DescribeTasks').length ?? 0) - describedBefore).toBe(1);
  });

  it('counts re-enqueues per attempt: a retried run starts again from none', async () => {
    // Prepare: the first attempt used up its re-enqueues and was crashed by the sweep.
    const { runs } = await seedRuns(world, { count: 1 });
    const id = runs[0]?.id ?? '';
    await pollPools({}, world.deps());
    world.purge();
    const deps = world.deps({ options: { maxRequeues: 1 } });
    world.clock?.advance(301);
    expect(summarizePoll(await pollPools({}, deps)).requeued).toBe(1);
    world.purge();
    world.clock?.advance(301);
    expect(summarizePoll(await pollPools({}, deps)).crashed).toBe(1);
    expect((await user.retry(world.prefect.apiUrl, id)).status).toBe('ACCEPT');
    // Act: the retry is claimed; its message is lost too
    await pollPools({}, deps);
    world.purge();
    world.clock?.advance(301);
    const result = await pollPools({}, deps);
    // Assess: re-enqueued, not crashed at once
    expect(summarizePoll(result)).toMatchObject({ requeued: 1, crashed: 0 });
    expect((await world.admin.readFlowRun(id)).labels[REQUEUES_LABEL]).toBe(1);
  });

  it('restores the final state a late PENDING proposal undid, and crashes a run whose task stopped unreported', async () => {
    // Prepare: two claimed, launched runs. The first completes, then a PENDING sub-state decided
    // earlier lands after COMPLETED (Prefect accepts it). The second's task stops, and its STOPPED
    // event never reaches the reporter.
    const { runs } = await seedRuns(world, { count: 2 });
    const [undone, unreported] = runs.map((run) => run.id) as [string, string];
    await pollPools({}, world.deps());
    const taskOf = new Map<string, string>();
    for (const queued of world.launches()) {
      const id = queued.message.flow_run_id;
      taskOf.set(id, await launchAttempt(id, queued.message.transition_id));
    }
    world.purge();
    await engine.start(world.prefect.apiUrl, undone);
    await engine.complete(world.prefect.apiUrl, undone);
    await world.aws?.ecs.runToCompletion(taskOf.get(undone) ?? '', { exitCode: 0 });
    expect(
      (
        await proposeState(world.prefect.apiUrl, undone, {
          type: 'PENDING',
          name: 'InfrastructurePending',
        })
      ).status
    ).toBe('ACCEPT');
    await world.aws?.ecs.runToCompletion(taskOf.get(unreported) ?? '', {
      exitCode: 1,
      stopCode: 'EssentialContainerExited',
      stoppedReason: 'Essential container in task exited',
    });
    // Act
    world.clock?.advance(301);
    const result = await pollPools({}, world.deps());
    // Assess
    expect(summarizePoll(result)).toMatchObject({ requeued: 0, crashed: 1, errors: 0 });
    expect((await world.admin.readFlowRun(undone)).state).toMatchObject({
      type: 'COMPLETED',
      name: 'Completed',
    });
    const crashed = await world.admin.readFlowRun(unreported);
    expect(crashed.state?.type).toBe('CRASHED');
    expect(crashed.state?.message).toMatch(
      /stopped \(EssentialContainerExited: Essential container in task exited\), but the run stayed Pending/
    );
    expect(world.launches()).toHaveLength(0);
  });

  it('gives a rescheduled Spot run back its AwaitingRetry when a late PENDING landed on it, so it is claimed again', async () => {
    // Prepare: launched; the flow runs; Spot SIGTERM: the engine reschedules; the task stops; then
    // a PENDING sub-state decided before lands (Prefect accepts PENDING from SCHEDULED).
    const { runs } = await seedRuns(world, { count: 1 });
    const id = runs[0]?.id ?? '';
    await pollPools({}, world.deps());
    const [queued] = world.launches();
    const taskArn = await launchAttempt(id, queued?.message.transition_id ?? '');
    world.purge();
    await engine.start(world.prefect.apiUrl, id);
    expect((await engine.reschedule(world.prefect.apiUrl, id, { now: world.now() })).status).toBe(
      'ACCEPT'
    );
    await world.aws?.ecs.runToCompletion(taskArn, { exitCode: 0, stopCode: 'SpotInterruption' });
    await proposeState(world.prefect.apiUrl, id, {
      type: 'PENDING',
      name: 'InfrastructurePending',
    });
    // Act
    world.clock?.advance(301);
    const settled = await pollPools({}, world.deps());
    const next = await pollPools({}, world.deps());
    // Assess: AwaitingRetry again, never CRASHED, and the next poll claims a second attempt
    expect(summarizePoll(settled)).toMatchObject({ crashed: 0, errors: 0 });
    expect(summarizePoll(next).claimed).toBe(1);
    const states = (await world.admin.readFlowRunStates(id)).map(
      (state) => `${state.type}:${state.name}`
    );
    expect(states).toContain('SCHEDULED:AwaitingRetry');
    expect(states.some((state) => state.startsWith('CRASHED'))).toBe(false);
    expect(world.launches().map((q) => q.message.flow_run_id)).toEqual([id]);
  });
});
