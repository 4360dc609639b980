/**
 * Every attempt of a flow run, not only the first (DESIGN.md "Attempts"), through the deployed
 * design: poller → SQS → launcher → ECS stand-in → EventBridge pattern → reporter → Prefect
 * stand-in, driven step by step. A run keeps its id across the UI's Retry and a Spot task
 * rescheduling itself; Prefect keeps the old `infrastructure_pid`; each attempt must get a task of
 * its own, exactly one, and an older attempt's task must never touch the current one.
 */
import { ReceiveMessageCommand, SendMessageCommand } from '@aws-sdk/client-sqs';
import { afterEach, describe, expect, it } from 'vitest';
import { ATTEMPT_VARIABLE } from '../../shared/ecs/attempt-marker.ts';
import { parseLaunchMessage } from '../../shared/launch/launch-message.ts';
import type { EcsTaskStateChangeEvent } from '../standins/ecs/types.ts';
import {
  engine,
  type FlowRun,
  readFlowRun,
  readFlowRunStates,
  seed,
  user,
} from '../standins/prefect/actors.ts';
import {
  CLUSTER,
  connectEventBridge,
  consumeQueue,
  type EndToEndWorld,
  type EventBridgeLink,
  type QueueConsumer,
  scheduledEvent,
  startEndToEndWorld,
  taskStateRulePattern,
} from './end-to-end-fixtures.ts';

let world: EndToEndWorld | undefined;
let bridge: EventBridgeLink | undefined;

afterEach(async () => {
  bridge?.disconnect();
  bridge = undefined;
  await world?.close();
  world = undefined;
});

interface Stage {
  w: EndToEndWorld;
  launcher: QueueConsumer;
  runId: string;
}

/** The world, the EventBridge link to the reporter, and one run due now whose tasks wait for us. */
const stage = async (
  options: { jobVariables?: Record<string, unknown>; scheduledTime?: Date } = {},
  launchVisibilityTimeout = 30
): Promise<Stage> => {
  const w = await startEndToEndWorld({ launchVisibilityTimeout });
  world = w;
  bridge = connectEventBridge(w, await taskStateRulePattern());
  const run = await seed.flowRun(
    w.prefect.apiUrl,
    w.deploymentId,
    {
      name: 'attempts',
      scheduledTime: options.scheduledTime ?? new Date(),
      ...(options.jobVariables ? { jobVariables: options.jobVariables } : {}),
    },
    w.auth
  );
  w.aws.ecs.setPlan({ startedBy: `prefect/${run.id}` }, { outcome: { kind: 'keepRunning' } });
  return { w, launcher: consumeQueue(w, w.launchQueue, 5, w.launcher), runId: run.id };
};

/** The launch messages waiting in the queue (bodies), without taking them. */
const queuedBodies = (w: EndToEndWorld): string[] => {
  const inspected = w.sqs.fauxqs.inspectQueue('launch');
  return [...(inspected?.messages.ready ?? []), ...(inspected?.messages.delayed ?? [])].map(
    (message) => message.body
  );
};

/** Runs the launcher on everything the launch queue holds now, as the event source mapping does. */
const drainLaunches = async ({ w, launcher }: Stage): Promise<void> => {
  for (let round = 0; round < 10; round += 1) {
    const { Messages = [] } = await w.sqsClient.send(
      new ReceiveMessageCommand({
        QueueUrl: w.launchQueue.url,
        MaxNumberOfMessages: 10,
        WaitTimeSeconds: 0,
        MessageSystemAttributeNames: ['All'],
      })
    );
    if (Messages.length === 0) return;
    await launcher.invoke(Messages);
  }
};

/** A poll (the schedule's invocation), then the launcher on what it enqueued. */
const pollAndLaunch = async (s: Stage): Promise<string[]> => {
  await s.w.poller(scheduledEvent());
  const bodies = queuedBodies(s.w);
  await drainLaunches(s);
  await s.w.aws.ecs.settled();
  return bodies;
};

const tasksOf = ({ w, runId }: Stage) =>
  w.aws.ecs.tasks().filter((task) => task.startedBy === `prefect/${runId}`);

const readRun = ({ w, runId }: Stage): Promise<FlowRun> =>
  readFlowRun(w.prefect.apiUrl, runId, w.auth);

const pidOf = (taskArn: string | undefined) => `${CLUSTER}::${taskArn}`;

const stoppedEventOf = (w: EndToEndWorld, taskArn: string): EcsTaskStateChangeEvent => {
  const event = w.aws.events.find(
    (candidate) => candidate.detail.taskArn === taskArn && candidate.detail.lastStatus === 'STOPPED'
  );
  if (!event) throw new Error(`No STOPPED event for ${taskArn}`);
  return event;
};

/** The engine in the task: RUNNING, then COMPLETED, then the container exits 0. */
const completeIn = async (s: Stage, taskArn: string): Promise<void> => {
  await s.w.aws.ecs.advance(taskArn, 'RUNNING');
  expect((await engine.start(s.w.prefect.apiUrl, s.runId, s.w.auth)).status).toBe('ACCEPT');
  expect((await engine.complete(s.w.prefect.apiUrl, s.runId, s.w.auth)).status).toBe('ACCEPT');
  await s.w.aws.ecs.runToCompletion(taskArn, { exitCode: 0 });
  await s.w.aws.ecs.settled();
};

/** The environment of every container override of the last RunTask request. */
const lastRunTaskEnvironment = (w: EndToEndWorld): { name: string; value: string }[] => {
  const input = w.aws.callsTo('RunTask').at(-1)?.input as
    | { overrides?: { containerOverrides?: { environment?: { name: string; value: string }[] }[] } }
    | undefined;
  return (input?.overrides?.containerOverrides ?? []).flatMap(
    (override) => override.environment ?? []
  );
};

/** The types the run went through, from its state history. */
const historyOf = async ({ w, runId }: Stage): Promise<string[]> =>
  (await readFlowRunStates(w.prefect.apiUrl, runId, w.auth)).map(
    (state: { type: string; name: string }) => `${state.type}:${state.name}`
  );

describe('attempts: a crashed run retried from the UI', () => {
  it('gets a second, distinct task and the new pid; the old STOPPED event and duplicate messages change nothing', async () => {
    // Prepare: the first attempt crashes (the container exits 1 while the flow runs).
    const s = await stage();
    const [firstBody] = await pollAndLaunch(s);
    const [first] = tasksOf(s);
    await s.w.aws.ecs.advance(first?.taskArn ?? '', 'RUNNING');
    await engine.start(s.w.prefect.apiUrl, s.runId, s.w.auth);
    await s.w.aws.ecs.runToCompletion(first?.taskArn ?? '', { exitCode: 1 });
    await s.w.aws.ecs.settled();
    expect((await readRun(s)).state_type).toBe('CRASHED');
    const oldStopped = stoppedEventOf(s.w, first?.taskArn ?? '');

    // Act 1: Retry from the UI (forced AwaitingRetry; Prefect keeps the pid), then a poll.
    expect((await user.retry(s.w.prefect.apiUrl, s.runId, s.w.auth)).status).toBe('ACCEPT');
    const retried = await readRun(s);
    const [secondBody] = await pollAndLaunch(s);

    // Assess 1: a second task, its own token and marker, recorded as the pid
    expect(retried).toMatchObject({
      state_type: 'SCHEDULED',
      state_name: 'AwaitingRetry',
      infrastructure_pid: pidOf(first?.taskArn),
      run_count: 1,
    });
    const firstClaim = parseLaunchMessage(firstBody ?? '');
    const secondClaim = parseLaunchMessage(secondBody ?? '');
    expect(secondClaim.transition_id).not.toBe(firstClaim.transition_id);
    const tasks = tasksOf(s);
    expect(tasks).toHaveLength(2);
    const second = tasks.find((task) => task.taskArn !== first?.taskArn);
    expect(second?.clientToken).not.toBe(first?.clientToken);
    const secondEnv = lastRunTaskEnvironment(s.w);
    expect(secondEnv).toContainEqual({ name: ATTEMPT_VARIABLE, value: secondClaim.transition_id });
    expect((await readRun(s)).infrastructure_pid).toBe(pidOf(second?.taskArn));

    // Act 2: the old task's STOPPED event is delivered again after the second attempt started,
    // and the second attempt's message is delivered twice more.
    await s.w.aws.ecs.redeliver(oldStopped);
    await s.w.aws.ecs.settled();
    for (const body of [secondBody, secondBody]) {
      await s.w.sqsClient.send(
        new SendMessageCommand({ QueueUrl: s.w.launchQueue.url, MessageBody: body })
      );
    }
    await drainLaunches(s);

    // Assess 2: ignored, and still one task for the attempt
    const afterLate = await readRun(s);
    expect(afterLate.state_type).toBe('PENDING');
    expect(afterLate.infrastructure_pid).toBe(pidOf(second?.taskArn));
    expect(tasksOf(s)).toHaveLength(2);
    expect(
      s.w.lines.some(
        (line) =>
          line.lambda === 'reporter' &&
          String(line.attributes.reason).includes('an older attempt of the run')
      )
    ).toBe(true);

    // Act 3: the second attempt runs to the end
    await completeIn(s, second?.taskArn ?? '');

    // Assess 3
    const final = await readRun(s);
    expect(final).toMatchObject({ state_type: 'COMPLETED', run_count: 2 });
    expect(bridge?.errors).toEqual([]);
    const history = await historyOf(s);
    expect(history.filter((state) => state === 'CRASHED:Crashed')).toHaveLength(1);
  });
});

describe('attempts: a Spot task interrupted while its flow runs', () => {
  it('is rescheduled, claimed and launched again, and the old STOPPED event never crashes it', async () => {
    // Prepare: the first attempt runs on Fargate Spot.
    const s = await stage({
      jobVariables: {
        capacity_provider_strategy: [{ capacityProvider: 'FARGATE_SPOT', weight: 1, base: 0 }],
      },
    });
    await pollAndLaunch(s);
    const [first] = tasksOf(s);
    const firstEnv = lastRunTaskEnvironment(s.w);
    expect(firstEnv).toContainEqual({
      name: 'PREFECT_FLOW_RUN_EXECUTE_SIGTERM_BEHAVIOR',
      value: 'reschedule',
    });
    await s.w.aws.ecs.advance(first?.taskArn ?? '', 'RUNNING');
    await engine.start(s.w.prefect.apiUrl, s.runId, s.w.auth);

    // Act 1: SIGTERM: the engine reschedules the run; the poller claims it again before the old
    // task has stopped; then the old task stops (SpotInterruption, exit 0 after the reschedule).
    expect((await engine.reschedule(s.w.prefect.apiUrl, s.runId, s.w.auth)).status).toBe('ACCEPT');
    await s.w.poller(scheduledEvent());
    const claimed = await readRun(s);
    await s.w.aws.ecs.runToCompletion(first?.taskArn ?? '', {
      exitCode: 0,
      stopCode: 'SpotInterruption',
      stoppedReason: 'Your Spot Task was interrupted.',
    });
    await s.w.aws.ecs.settled();
    const afterOldStop = await readRun(s);
    await drainLaunches(s);
    await s.w.aws.ecs.settled();

    // Assess 1: the new claim kept the old pid; the old STOPPED left it alone; a second task
    expect(claimed).toMatchObject({
      state_type: 'PENDING',
      state_name: 'Pending',
      infrastructure_pid: pidOf(first?.taskArn),
    });
    expect(afterOldStop.state_type).toBe('PENDING');
    const tasks = tasksOf(s);
    expect(tasks).toHaveLength(2);
    const second = tasks.find((task) => task.taskArn !== first?.taskArn);
    expect((await readRun(s)).infrastructure_pid).toBe(pidOf(second?.taskArn));

    // Act 2: the old STOPPED event again, now that the second attempt has its task
    await s.w.aws.ecs.redeliver(stoppedEventOf(s.w, first?.taskArn ?? ''));
    await s.w.aws.ecs.settled();
    await completeIn(s, second?.taskArn ?? '');

    // Assess 2: completed on the second attempt, never CRASHED
    expect(await readRun(s)).toMatchObject({ state_type: 'COMPLETED', run_count: 2 });
    const history = await historyOf(s);
    expect(history).toContain('SCHEDULED:AwaitingRetry');
    expect(history.some((state) => state.startsWith('CRASHED'))).toBe(false);
    expect(bridge?.errors).toEqual([]);
  });
});

describe('attempts: a run claimed late', () => {
  it('still gets its whole retry deadline, counted from the claim, not from the scheduled time', async () => {
    // Prepare: scheduled 40 minutes ago (a paused pool, an outage); ECS has no capacity at first.
    const s = await stage({ scheduledTime: new Date(Date.now() - 40 * 60_000) }, 1);
    s.w.aws.ecs.failNextRunTask('RESOURCE:MEMORY');
    // Act: the first launch fails; the redelivery a second later launches
    await s.w.poller(scheduledEvent());
    await drainLaunches(s);
    const afterFailure = await readRun(s);
    await new Promise((resolve) => setTimeout(resolve, 1_200));
    await drainLaunches(s);
    await s.w.aws.ecs.settled();
    // Assess
    expect(afterFailure.state_type).toBe('PENDING');
    expect(tasksOf(s)).toHaveLength(1);
    expect((await readRun(s)).infrastructure_pid).toBe(pidOf(tasksOf(s)[0]?.taskArn));
    expect(
      s.w.lines.some(
        (line) => line.lambda === 'launcher' && line.message === 'Launch failed; trying again later'
      )
    ).toBe(true);
  });
});
