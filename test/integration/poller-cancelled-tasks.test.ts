/**
 * The cancellation sweep's second part through the real poller handler, the Prefect stand-in and
 * the AWS stand-in (real ECS adapter): runs that reached CANCELLED without the engine being told
 * (a person forcing the state, or Prefect forcing CANCELLING → CANCELLED after 300 s) get their
 * still-running task stopped, once, with a line in the run's logs; nothing else is touched.
 */
import { RunTaskCommand } from '@aws-sdk/client-ecs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPollerHandler, type PollerResponse } from '../../functions/poller/create-handler.ts';
import { PREFECT_LOGGER_NAME } from '../../shared/launch/launch-deps.ts';
import { POLLER_DEFAULTS } from '../../shared/poll/poller-config.ts';
import type { FlowRun } from '../../shared/prefect/schemas.ts';
import { setUpFargate } from '../standins/ecs/fixtures.ts';
import { engine, proposeState } from '../standins/prefect/actors.ts';
import { type PollerWorld, seedRuns, startPollerWorld } from './poller-fixtures.ts';

/** What a person does with "Change state → Cancelled": CANCELLED, forced. */
const forceCancelled = (world: PollerWorld, flowRunId: string) =>
  proposeState(world.prefect.apiUrl, flowRunId, { type: 'CANCELLED', name: 'Cancelled' }, true);

describe('poller: tasks of cancelled runs', () => {
  let world: PollerWorld;
  let polls: PollerResponse[];
  const runIds: Record<string, string> = {};
  const tasks: Record<string, string> = {};
  const read = (key: string): Promise<FlowRun> => world.admin.readFlowRun(runIds[key] ?? '');
  const stopCalls = () =>
    (world.aws?.callsTo('StopTask') ?? []).map(
      (call) => call.input as { cluster: string; task: string; reason: string }
    );
  const describedArns = () =>
    (world.aws?.callsTo('DescribeTasks') ?? []).flatMap(
      (call) => (call.input as { tasks: string[] }).tasks
    );

  beforeAll(async () => {
    // Prepare
    world = await startPollerWorld({ aws: true });
    const { aws, ecsSdk, clock } = world;
    if (!aws || !ecsSdk || !clock) throw new Error('no AWS stand-in or manual clock');
    const fargate = await setUpFargate(aws, ecsSdk);
    const handler = createPollerHandler(async () => world.deps(), world.deps().logger);
    const startTask = async (key: string): Promise<void> => {
      const { tasks: started } = await ecsSdk.send(new RunTaskCommand(fargate.runInput()));
      tasks[key] = started?.[0]?.taskArn ?? '';
      await aws.ecs.advance(tasks[key], 'RUNNING');
      await world.admin.updateFlowRun(runIds[key] ?? '', {
        infrastructurePid: `${fargate.cluster}::${tasks[key]}`,
      });
      await engine.start(world.prefect.apiUrl, runIds[key] ?? '');
    };
    const cases = ['longAgo', 'forcedAlive', 'alreadyStopped', 'noPid', 'foreignPid'];
    const { runs } = await seedRuns(world, { count: cases.length });
    cases.forEach((key, index) => {
      runIds[key] = runs[index]?.id ?? '';
    });
    // Claimed by a first poll, as in production.
    await handler({});
    world.purge();

    // Cancelled (task still running) longer ago than the lookback.
    await startTask('longAgo');
    await forceCancelled(world, runIds.longAgo ?? '');
    clock.advance(POLLER_DEFAULTS.cancelLookbackSeconds + 60);

    // Cancelled just now: a live task, a task that already stopped, no pid, a pid not ours.
    await startTask('forcedAlive');
    await startTask('alreadyStopped');
    await aws.ecs.runToCompletion(tasks.alreadyStopped ?? '');
    await world.admin.updateFlowRun(runIds.foreignPid ?? '', { infrastructurePid: '12345' });
    for (const key of ['forcedAlive', 'alreadyStopped', 'noPid', 'foreignPid']) {
      await forceCancelled(world, runIds[key] ?? '');
    }
    for (const key of cases) expect((await read(key)).state?.type).toBe('CANCELLED');
    expect(world.aws?.ecs.task(tasks.forcedAlive ?? '')?.lastStatus).toBe('RUNNING');

    // Act: two polls, as two ticks would.
    polls = [];
    for (let poll = 0; poll < 2; poll += 1) {
      polls.push((await handler({})) as PollerResponse);
      clock.advance(POLLER_DEFAULTS.pollIntervalSeconds);
    }
  });

  afterAll(async () => {
    await world?.close();
  });

  it('stops the live task of a run forced to CANCELLED exactly once, naming the run', () => {
    // Assess
    expect(stopCalls().map((call) => call.task)).toEqual([tasks.forcedAlive]);
    const [stop] = stopCalls();
    expect(stop?.reason).toContain(runIds.forcedAlive);
    expect(stop?.reason.length).toBeLessThanOrEqual(255);
    expect(world.aws?.ecs.task(tasks.forcedAlive ?? '')?.desiredStatus).toBe('STOPPED');
    expect(polls.map((poll) => poll.stopped)).toEqual([1, 0]);
    expect(polls.map((poll) => poll.errors)).toEqual([0, 0]);
  });

  it("says so in the run's Prefect logs, and leaves its state alone", async () => {
    // Assess
    const lines = world.prefect.logs.filter((log) => log.flow_run_id === runIds.forcedAlive);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ name: PREFECT_LOGGER_NAME, level: 20 });
    expect(lines[0]?.message).toContain(`Stopped ECS task ${tasks.forcedAlive}`);
    expect((await read('forcedAlive')).state?.type).toBe('CANCELLED');
  });

  it('looks at a CANCELLED run whose task already stopped, and calls no StopTask for it', () => {
    // Assess
    expect(describedArns()).toContain(tasks.alreadyStopped);
    expect(stopCalls().map((call) => call.task)).not.toContain(tasks.alreadyStopped);
  });

  it('does not look at a run cancelled longer ago than CANCEL_LOOKBACK_SECONDS', () => {
    // Assess
    expect(describedArns()).not.toContain(tasks.longAgo);
    expect(world.aws?.ecs.task(tasks.longAgo ?? '')?.desiredStatus).toBe('RUNNING');
  });

  it('leaves runs without a pid, or with a pid not ours, alone', async () => {
    // Assess
    for (const key of ['noPid', 'foreignPid']) {
      expect((await read(key)).state?.type).toBe('CANCELLED');
      expect(world.prefect.logs.filter((log) => log.flow_run_id === runIds[key])).toEqual([]);
    }
    expect(describedArns()).not.toContain('12345');
  });

  it('sends the lookback to Prefect as an end_time filter on CANCELLED runs of the pool', () => {
    // Assess
    const filters = world.prefect.requests
      .filter((request) => request.path.endsWith('/flow_runs/filter'))
      .map((request) => request.body as { flow_runs?: { state?: unknown; end_time?: unknown } })
      .filter((body) => JSON.stringify(body.flow_runs?.state).includes('CANCELLED'));
    expect(filters.length).toBeGreaterThanOrEqual(2);
    expect(filters.every((body) => body.flow_runs?.end_time !== undefined)).toBe(true);
  });
});
