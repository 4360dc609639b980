/**
 * The cancellation sweep through the Prefect stand-in and the AWS stand-in (real ECS adapter):
 * every case of issue 4 §3, in one pool, in one poll.
 */
import { RunTaskCommand } from '@aws-sdk/client-ecs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CANCEL_MESSAGES } from '../../shared/poll/cancel-decision.ts';
import { pollPools } from '../../shared/poll/poll-pools.ts';
import type { PollResult } from '../../shared/poll/poll-result.ts';
import type { FlowRun } from '../../shared/prefect/schemas.ts';
import { setUpFargate } from '../standins/ecs/fixtures.ts';
import { engine, proposeState, user } from '../standins/prefect/actors.ts';
import { type PollerWorld, seedRuns, startPollerWorld } from './poller-fixtures.ts';

describe('poller: cancellation sweep', () => {
  let world: PollerWorld;
  let result: PollResult;
  const runIds: Record<string, string> = {};
  const tasks: Record<string, string> = {};
  const read = (key: string): Promise<FlowRun> => world.admin.readFlowRun(runIds[key] ?? '');

  beforeAll(async () => {
    world = await startPollerWorld({ aws: true });
    const aws = world.aws;
    const ecsSdk = world.ecsSdk;
    if (!aws || !ecsSdk) throw new Error('no AWS stand-in');
    const fargate = await setUpFargate(aws, ecsSdk);
    const runTask = async (): Promise<string> => {
      const { tasks: started } = await ecsSdk.send(new RunTaskCommand(fargate.runInput()));
      return started?.[0]?.taskArn ?? '';
    };
    const cases = [
      'pendingAlive',
      'pendingNoPid',
      'pendingStopped',
      'pendingMissing',
      'startedGone',
      'startedAlive',
      'foreignPid',
      'retriedPendingAlive',
    ];
    const { runs } = await seedRuns(world, { count: cases.length });
    cases.forEach((key, index) => {
      runIds[key] = runs[index]?.id ?? '';
    });
    // Claimed by a first poll, as in production.
    await pollPools({}, world.deps());
    world.purge();

    tasks.pendingAlive = await runTask();
    tasks.pendingStopped = await runTask();
    tasks.startedGone = await runTask();
    tasks.startedAlive = await runTask();
    tasks.pendingMissing = `arn:aws:ecs:us-east-1:123456789012:task/${fargate.cluster}/0123456789abcdef0123456789abcdef`;
    await aws.ecs.runToCompletion(tasks.pendingStopped);
    await aws.ecs.runToCompletion(tasks.startedGone);
    for (const key of [
      'pendingAlive',
      'pendingStopped',
      'pendingMissing',
      'startedGone',
      'startedAlive',
    ]) {
      await world.admin.updateFlowRun(runIds[key] ?? '', {
        infrastructurePid: `${fargate.cluster}::${tasks[key]}`,
      });
    }
    await world.admin.updateFlowRun(runIds.foreignPid ?? '', { infrastructurePid: '12345' });
    // A run whose first attempt ran (start_time set) and crashed, retried from the UI, claimed
    // again, with its second task still starting.
    const retried = runIds.retriedPendingAlive ?? '';
    tasks.retriedFirst = await runTask();
    await world.admin.updateFlowRun(retried, {
      infrastructurePid: `${fargate.cluster}::${tasks.retriedFirst}`,
    });
    await engine.start(world.prefect.apiUrl, retried);
    await aws.ecs.runToCompletion(tasks.retriedFirst, { exitCode: 1 });
    await proposeState(world.prefect.apiUrl, retried, { type: 'CRASHED', name: 'Crashed' });
    await user.retry(world.prefect.apiUrl, retried);
    world.clock?.advance(1);
    await proposeState(world.prefect.apiUrl, retried, { type: 'PENDING', name: 'Pending' });
    tasks.retriedPendingAlive = await runTask();
    await world.admin.updateFlowRun(retried, {
      infrastructurePid: `${fargate.cluster}::${tasks.retriedPendingAlive}`,
    });
    for (const key of ['startedGone', 'startedAlive']) {
      await engine.start(world.prefect.apiUrl, runIds[key] ?? '');
    }
    for (const key of cases) await user.cancel(world.prefect.apiUrl, runIds[key] ?? '');
    for (const key of cases) expect((await read(key)).state?.type).toBe('CANCELLING');

    // Act
    result = await pollPools({}, world.deps());
  });

  afterAll(async () => {
    await world.close();
  });

  it('never started, with a live task: StopTask, then CANCELLED', async () => {
    const run = await read('pendingAlive');
    expect(run.state).toMatchObject({ type: 'CANCELLED', message: CANCEL_MESSAGES.whilePending });
    const stops = world.aws?.callsTo('StopTask') ?? [];
    expect(stops.map((call) => (call.input as { task: string }).task).sort()).toEqual(
      [tasks.pendingAlive, tasks.retriedPendingAlive].sort()
    );
    expect(world.aws?.ecs.task(tasks.pendingAlive ?? '')?.desiredStatus).toBe('STOPPED');
  });

  it('never started, without infrastructure_pid: CANCELLED', async () => {
    const run = await read('pendingNoPid');
    expect(run.state).toMatchObject({
      type: 'CANCELLED',
      message: CANCEL_MESSAGES.noInfrastructure,
    });
  });

  it('task already gone (STOPPED, or MISSING in DescribeTasks): CANCELLED without StopTask', async () => {
    for (const key of ['pendingStopped', 'pendingMissing']) {
      const run = await read(key);
      expect(run.state).toMatchObject({
        type: 'CANCELLED',
        message: CANCEL_MESSAGES.taskAlreadyStopped,
      });
    }
  });

  it('started, task gone: CANCELLED', async () => {
    const run = await read('startedGone');
    expect(run.start_time).not.toBeNull();
    expect(run.state).toMatchObject({
      type: 'CANCELLED',
      message: CANCEL_MESSAGES.taskGone(tasks.startedGone ?? ''),
    });
  });

  it('started, task alive: left to the engine', async () => {
    const run = await read('startedAlive');
    expect(run.state?.type).toBe('CANCELLING');
    expect(world.aws?.ecs.task(tasks.startedAlive ?? '')?.desiredStatus).toBe('RUNNING');
  });

  it("a retried run whose second task is still starting is stopped and CANCELLED, though start_time is the first attempt's", async () => {
    const run = await read('retriedPendingAlive');
    expect(run.start_time).not.toBeNull();
    expect(run.state).toMatchObject({ type: 'CANCELLED', message: CANCEL_MESSAGES.whilePending });
    expect(world.aws?.ecs.task(tasks.retriedPendingAlive ?? '')?.desiredStatus).toBe('STOPPED');
  });

  it('an infrastructure_pid that is not <cluster>::<task ARN> is left alone', async () => {
    expect((await read('foreignPid')).state?.type).toBe('CANCELLING');
  });

  it('counts the cancellations, asks ECS once per cluster, forces CANCELLED after re-reading', () => {
    expect(result.pools[0]).toMatchObject({ cancelled: 6, stopped: 0, errors: [] });
    // Once for the CANCELLING runs, once for the runs now CANCELLED (whose tasks it stops no more).
    expect(world.aws?.callsTo('DescribeTasks')).toHaveLength(2);
    const cancels = world.prefect.requests.filter(
      (r) =>
        r.path.endsWith('/set_state') &&
        (r.body as { state: { type: string } }).state.type === 'CANCELLED'
    );
    expect(cancels).toHaveLength(6);
    expect(cancels.every((r) => (r.body as { force: boolean }).force)).toBe(true);
  });

  it('a second sweep changes nothing', async () => {
    const again = await pollPools({}, world.deps());
    expect(again.pools[0]).toMatchObject({ cancelled: 0, errors: [] });
    expect(world.aws?.callsTo('StopTask')).toHaveLength(2);
  });
});
