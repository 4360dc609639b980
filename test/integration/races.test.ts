/**
 * The four races of issue 11, each driven step by step through the real handlers and stand-ins
 * (poller → SQS → launcher → ECS → EventBridge → reporter → Prefect). Prefect's state machine does
 * not protect us here: it accepts PENDING after COMPLETED and RUNNING after CANCELLED. Each test
 * holds one Lambda at the exact moment the race needs (a gate on a launcher's RunTask, a Prefect
 * fault whose hook moves the world while a proposal is in flight), then checks the run's whole state
 * history and the tasks ECS ran.
 */
import { randomUUID } from 'node:crypto';
import { EC2Client } from '@aws-sdk/client-ec2';
import { ECSClient } from '@aws-sdk/client-ecs';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { type Message, ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { afterEach, describe, expect, it } from 'vitest';
import { createLauncherHandler, type LauncherHandler } from '../../functions/launcher/handler.ts';
import { createLauncherDeps } from '../../functions/launcher/launcher-deps.ts';
import { loadConfig } from '../../shared/config.ts';
import type { RunTaskInput } from '../../shared/ecs/ecs-api.ts';
import {
  engine,
  type FlowRun,
  readFlowRun,
  readFlowRunStates,
  seed,
  user,
} from '../standins/prefect/actors.ts';
import {
  connectEventBridge,
  type EndToEndWorld,
  type EventBridgeLink,
  scheduledEvent,
  startEndToEndWorld,
  taskStateRulePattern,
  toSqsRecord,
} from './end-to-end-fixtures.ts';

let world: EndToEndWorld | undefined;
let bridge: EventBridgeLink | undefined;
const destroyers: (() => void)[] = [];

afterEach(async () => {
  bridge?.disconnect();
  bridge = undefined;
  for (const destroy of destroyers.splice(0)) destroy();
  await world?.close();
  world = undefined;
});

const quiet = { debug() {}, info() {}, warn() {}, error() {} };

/** A launcher Lambda of its own, whose RunTask waits at a gate the test opens. */
const gatedLauncher = async (w: EndToEndWorld, options: { dieAfterRunTask?: boolean } = {}) => {
  const endpoint = {
    region: 'us-east-1',
    endpoint: w.aws.url,
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  };
  const ecs = new ECSClient({ ...endpoint, maxAttempts: 1 });
  const ec2 = new EC2Client(endpoint);
  const secretsManager = new SecretsManagerClient(endpoint);
  const sqs = new SQSClient({ ...endpoint, endpoint: w.sqs.url });
  destroyers.push(() => {
    for (const client of [ecs, ec2, secretsManager, sqs]) client.destroy();
  });
  const deps = await createLauncherDeps(loadConfig(w.env), {
    logger: quiet,
    clients: { ecs, ec2, secretsManager, sqs },
    prefectDeps: { sleep: async () => {} },
  });
  let open: () => void = () => {};
  const gate = new Promise<void>((resolve) => {
    open = resolve;
  });
  let reached: () => void = () => {};
  const atGate = new Promise<void>((resolve) => {
    reached = resolve;
  });
  const handler: LauncherHandler = createLauncherHandler({
    ...deps,
    ecs: {
      ...deps.ecs,
      runTask: async (input: RunTaskInput) => {
        reached();
        await gate;
        const result = await deps.ecs.runTask(input);
        // A Lambda killed right after RunTask (timeout, OOM): its invocation never goes on.
        if (options.dieAfterRunTask) await new Promise(() => {});
        return result;
      },
    },
  });
  return { handler, open, atGate };
};

interface Stage {
  w: EndToEndWorld;
  runId: string;
}

/** The world, EventBridge → reporter, and one run due now whose task waits for the test. */
const stage = async (): Promise<Stage> => {
  const w = await startEndToEndWorld({ launchVisibilityTimeout: 30 });
  world = w;
  bridge = connectEventBridge(w, await taskStateRulePattern());
  const run = await seed.flowRun(w.prefect.apiUrl, w.deploymentId, { name: 'race' }, w.auth);
  w.aws.ecs.setPlan({ startedBy: `prefect/${run.id}` }, { outcome: { kind: 'keepRunning' } });
  return { w, runId: run.id };
};

/** Polls once and takes the launch message it enqueued (nobody else consumes the queue). */
const pollForMessage = async ({ w }: Stage): Promise<Message> => {
  await w.poller(scheduledEvent());
  const { Messages = [] } = await w.sqsClient.send(
    new ReceiveMessageCommand({
      QueueUrl: w.launchQueue.url,
      MaxNumberOfMessages: 1,
      WaitTimeSeconds: 1,
      MessageSystemAttributeNames: ['All'],
    })
  );
  const [message] = Messages;
  if (!message) throw new Error('no launch message');
  return message;
};

/** The message as a Lambda batch, delivered to `handler` (as the event source mapping would). */
const deliver = (s: Stage, handler: LauncherHandler, message: Message) =>
  handler({ Records: [toSqsRecord({ ...message, MessageId: randomUUID() }, s.w.launchQueue)] });

const tasksOf = ({ w, runId }: Stage) =>
  w.aws.ecs.tasks().filter((task) => task.startedBy === `prefect/${runId}`);

const readRun = ({ w, runId }: Stage): Promise<FlowRun> =>
  readFlowRun(w.prefect.apiUrl, runId, w.auth);

const historyOf = async ({ w, runId }: Stage): Promise<string[]> =>
  (await readFlowRunStates(w.prefect.apiUrl, runId, w.auth)).map(
    (state: { type: string; name: string }) => `${state.type}:${state.name}`
  );

/** Whatever the run went through, nothing came after its first final state. */
const expectNothingAfterFinal = (history: string[], final: string) => {
  const index = history.indexOf(final);
  expect(index).toBeGreaterThan(-1);
  expect(history.slice(index + 1)).toEqual([]);
};

describe('race 1: a proposal fails while the flow finishes', () => {
  it.each([
    ['answered 503 before the write', false],
    ['written, then the answer was lost (503 after the write)', true],
  ])(
    'InfrastructurePending %s: the run stays COMPLETED, never PENDING again',
    async (_case, after) => {
      // Prepare: a claimed, launched run; the reporter's InfrastructurePending (for the PROVISIONING
      // event) fails, and while it is in flight the flow runs to COMPLETED.
      const s = await stage();
      const message = await pollForMessage(s);
      const { w } = s;
      w.prefect.faults.inject({
        method: 'POST',
        path: `/flow_runs/${s.runId}/set_state`,
        status: 503,
        afterHandling: after,
        onFire: async () => {
          await engine.start(w.prefect.apiUrl, s.runId, w.auth);
          await engine.complete(w.prefect.apiUrl, s.runId, w.auth);
        },
      });
      // Act
      await deliver(s, w.launcher, message);
      await w.aws.ecs.settled();
      const [task] = tasksOf(s);
      await w.aws.ecs.runToCompletion(task?.taskArn ?? '', { exitCode: 0 });
      await w.aws.ecs.settled();
      // ... and EventBridge delivers the STOPPED event a second time
      const stopped = w.aws.events.filter((event) => event.detail.lastStatus === 'STOPPED').at(-1);
      if (stopped) await w.aws.ecs.redeliver(stopped);
      await w.aws.ecs.settled();
      // Assess
      expect((await readRun(s)).state_type).toBe('COMPLETED');
      expectNothingAfterFinal(await historyOf(s), 'COMPLETED:Completed');
      expect(bridge?.errors).toEqual([]);
    }
  );
});

describe('race 1, the window Prefect leaves open: a slow InfrastructurePending lands after the run ended', () => {
  it('gets the final state back when the duplicate STOPPED arrives, instead of CRASHED', async () => {
    // Prepare: the reporter's InfrastructurePending (decided from a PENDING read) is held by a slow
    // server while the flow runs to COMPLETED; then it lands (Prefect accepts PENDING after
    // COMPLETED). Prefect has no compare-and-set that could refuse it.
    const s = await stage();
    const { w } = s;
    const message = await pollForMessage(s);
    w.prefect.faults.inject({
      method: 'POST',
      path: `/flow_runs/${s.runId}/set_state`,
      // (the engine's proposals only: the ECS stand-in delivers events one at a time, and the
      // reporter is waiting on this very request)
      onFire: async () => {
        await engine.start(w.prefect.apiUrl, s.runId, w.auth);
        await engine.complete(w.prefect.apiUrl, s.runId, w.auth);
      },
    });
    await deliver(s, w.launcher, message);
    await w.aws.ecs.settled();
    const undone = await readRun(s);
    // Act: the container exits 0; EventBridge delivers the STOPPED event, then again
    const [task] = tasksOf(s);
    await w.aws.ecs.runToCompletion(task?.taskArn ?? '', { exitCode: 0 });
    await w.aws.ecs.settled();
    const stopped = w.aws.events.filter((event) => event.detail.lastStatus === 'STOPPED').at(-1);
    if (stopped) await w.aws.ecs.redeliver(stopped);
    await w.aws.ecs.settled();
    // Assess
    expect(undone.state?.type).toBe('PENDING');
    const final = await readRun(s);
    expect(final.state).toMatchObject({ type: 'COMPLETED', name: 'Completed' });
    expect((await historyOf(s)).filter((state) => state.startsWith('CRASHED'))).toEqual([]);
  });
});

describe('race 2: two launchers take the same message; one waits while the other’s task runs the flow', () => {
  it.each([
    ['the same request (the token gives back the finished task)', false],
    ['a different request (another revision: ConflictException)', true],
  ])(
    'starts no second task with %s, and the finished flow is not rerun',
    async (_case, newRevision) => {
      // Prepare: launcher B reads PENDING and waits at RunTask; launcher A launches, its task runs
      // the flow to COMPLETED and stops.
      const s = await stage();
      const { w } = s;
      const message = await pollForMessage(s);
      const b = await gatedLauncher(w);
      const waiting = deliver(s, b.handler, message);
      await b.atGate;
      if (newRevision) {
        const deployment = await readDeploymentVariables(s);
        await seed.deployment(
          w.prefect.apiUrl,
          {
            ...deployment,
            jobVariables: {
              ...deployment.jobVariables,
              image: 'acct.dkr.ecr.us-east-1.amazonaws.com/etl:2',
            },
          },
          w.auth
        );
      }
      await deliver(s, w.launcher, message);
      await w.aws.ecs.settled();
      const [first] = tasksOf(s);
      await w.aws.ecs.advance(first?.taskArn ?? '', 'RUNNING');
      await engine.start(w.prefect.apiUrl, s.runId, w.auth);
      await engine.complete(w.prefect.apiUrl, s.runId, w.auth);
      await w.aws.ecs.runToCompletion(first?.taskArn ?? '', { exitCode: 0 });
      await w.aws.ecs.settled();
      // Act: B's RunTask goes through now
      b.open();
      const response = await waiting;
      await w.aws.ecs.settled();
      // Assess
      expect(response.batchItemFailures).toEqual([]);
      expect(tasksOf(s)).toHaveLength(1);
      expect((await readRun(s)).state_type).toBe('COMPLETED');
      expectNothingAfterFinal(await historyOf(s), 'COMPLETED:Completed');
    }
  );
});

describe('race 3: the user cancels while a slow launch is under way', () => {
  it('stops the task the launch started after the sweep had cancelled the run; the flow never runs', async () => {
    // Prepare: the launcher reads PENDING and waits at RunTask; the user cancels; the poller's
    // sweep finds no task (none exists yet) and writes CANCELLED.
    const s = await stage();
    const { w } = s;
    const message = await pollForMessage(s);
    const b = await gatedLauncher(w);
    const waiting = deliver(s, b.handler, message);
    await b.atGate;
    await user.cancel(w.prefect.apiUrl, s.runId, w.auth);
    await w.poller(scheduledEvent());
    expect((await readRun(s)).state_type).toBe('CANCELLED');
    // Act: the launch goes on
    b.open();
    await waiting;
    await w.aws.ecs.settled();
    // Assess: the task was stopped at once, the run stays CANCELLED
    const tasks = tasksOf(s);
    expect(tasks).toHaveLength(1);
    expect(tasks[0]?.desiredStatus).toBe('STOPPED');
    // (the launcher stops it after its read; the reporter may too, on the task's first event)
    const stops = w.aws.callsTo('StopTask').map((call) => (call.input as { task: string }).task);
    expect(stops.length).toBeGreaterThan(0);
    expect(new Set(stops)).toEqual(new Set([tasks[0]?.taskArn]));
    expect((await readRun(s)).state_type).toBe('CANCELLED');
    expectNothingAfterFinal(await historyOf(s), 'CANCELLED:Cancelled');
  });
});

describe('race 3, and the launcher dies right after RunTask', () => {
  it('has the reporter stop the task as soon as ECS reports it for the CANCELLED run', async () => {
    // Prepare: as above, but the launcher never gets to read the run again after RunTask
    const s = await stage();
    const { w } = s;
    const message = await pollForMessage(s);
    const b = await gatedLauncher(w, { dieAfterRunTask: true });
    void deliver(s, b.handler, message);
    await b.atGate;
    await user.cancel(w.prefect.apiUrl, s.runId, w.auth);
    await w.poller(scheduledEvent());
    expect((await readRun(s)).state_type).toBe('CANCELLED');
    // Act
    b.open();
    await new Promise((resolve) => setTimeout(resolve, 200));
    await w.aws.ecs.settled();
    // Assess: stopped by the reporter on the task's first event; the flow never ran
    const tasks = tasksOf(s);
    expect(tasks).toHaveLength(1);
    expect(tasks[0]?.desiredStatus).toBe('STOPPED');
    expect((await readRun(s)).state_type).toBe('CANCELLED');
    expectNothingAfterFinal(await historyOf(s), 'CANCELLED:Cancelled');
    expect(bridge?.errors).toEqual([]);
  });
});

describe('a cancel while the engine is starting: its RUNNING lands after the sweep’s CANCELLED', () => {
  it('ends CANCELLED when the stopped task is reported, not CRASHED', async () => {
    // Prepare: launched; the container runs, its engine is starting; the user cancels; the sweep
    // stops the task and writes CANCELLED; the engine's RUNNING, already on its way, lands after it.
    const s = await stage();
    const { w } = s;
    const message = await pollForMessage(s);
    await deliver(s, w.launcher, message);
    await w.aws.ecs.settled();
    const [task] = tasksOf(s);
    await w.aws.ecs.advance(task?.taskArn ?? '', 'RUNNING');
    await w.aws.ecs.settled();
    bridge?.disconnect(); // EventBridge delivers the STOPPED later
    await user.cancel(w.prefect.apiUrl, s.runId, w.auth);
    await w.poller(scheduledEvent());
    expect((await readRun(s)).state_type).toBe('CANCELLED');
    expect((await engine.start(w.prefect.apiUrl, s.runId, w.auth)).status).toBe('ACCEPT');
    await w.aws.ecs.settled();
    const stopped = w.aws.events.find(
      (event) => event.detail.taskArn === task?.taskArn && event.detail.lastStatus === 'STOPPED'
    );
    if (!stopped) throw new Error('no STOPPED event');
    // Act
    await w.reporter(stopped);
    // Assess
    expect((await readRun(s)).state).toMatchObject({ type: 'CANCELLED' });
    expect((await historyOf(s)).some((state) => state.startsWith('CRASHED'))).toBe(false);
  });
});

describe('race 4: the pid write fails, then the user cancels', () => {
  it('finds the task through ECS and stops it before writing CANCELLED', async () => {
    // Prepare: RunTask succeeds, the infrastructure_pid PATCH gets a 500; the user cancels.
    const s = await stage();
    const { w } = s;
    const message = await pollForMessage(s);
    w.prefect.faults.inject({ method: 'PATCH', path: `/flow_runs/${s.runId}`, status: 500 });
    await deliver(s, w.launcher, message);
    await w.aws.ecs.settled();
    expect((await readRun(s)).infrastructure_pid).toBeNull();
    await user.cancel(w.prefect.apiUrl, s.runId, w.auth);
    // Act
    await w.poller(scheduledEvent());
    await w.aws.ecs.settled();
    // Assess
    const [task] = tasksOf(s);
    expect(task?.desiredStatus).toBe('STOPPED');
    expect((await readRun(s)).state).toMatchObject({
      type: 'CANCELLED',
      message: 'Flow run cancelled by worker while pending.',
    });
  });
});

/** The stage's deployment as `seed.deployment` takes it (to register it again with a change). */
const readDeploymentVariables = async ({ w }: Stage) => {
  const response = await fetch(`${w.prefect.apiUrl}/deployments/${w.deploymentId}`, {
    headers: w.auth.headers as Record<string, string>,
  });
  const deployment = (await response.json()) as {
    name: string;
    job_variables: Record<string, unknown>;
  };
  return {
    name: deployment.name,
    workPoolName: 'ecs-e2e',
    jobVariables: deployment.job_variables,
  };
};
