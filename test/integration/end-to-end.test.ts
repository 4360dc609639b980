/**
 * The deployed design end to end, with the real SQS wire in the middle (DESIGN.md "Data flow"):
 * EventBridge schedule → poller → launch queue (SQS stand-in, with DLQ) → launcher → ECS stand-in →
 * EventBridge rule → reporter → Prefect stand-in, and the poller's tick queue → poller. The test
 * plays the AWS plumbing around the Lambdas (`end-to-end-fixtures.ts`), the flow engine in each
 * container and the user, then checks the invariants of DESIGN.md on what the stand-ins recorded.
 */
import { type Message, ReceiveMessageCommand, SendMessageCommand } from '@aws-sdk/client-sqs';
import { afterEach, describe, expect, it } from 'vitest';
import { parseLaunchMessage } from '../../shared/launch/launch-message.ts';
import { CANCEL_MESSAGES } from '../../shared/poll/cancel-decision.ts';
import { crashMessage, diagnoseStoppedTask } from '../../shared/report/diagnose-stopped-task.ts';
import { TaskStateChangeEventSchema } from '../../shared/report/task-state-change-event.ts';
import { type FlowRun, readFlowRun, seed, user } from '../standins/prefect/actors.ts';
import {
  API_KEY,
  type Behaviour,
  CLUSTER,
  connectEventBridge,
  consumeQueue,
  type EndToEndWorld,
  FINAL_STATES,
  FOREIGN_STARTED_BY,
  inspectQueue,
  OOM_REASON,
  PULL_REASON,
  playEngine,
  runTaskCallsByRun,
  runTaskCallsByToken,
  scheduledEvent,
  serialize,
  startEndToEndWorld,
  startForeignTask,
  taskStateRulePattern,
  waitFor,
} from './end-to-end-fixtures.ts';

let world: EndToEndWorld | undefined;

afterEach(async () => {
  await world?.close();
  world = undefined;
});

const readRun = (w: EndToEndWorld, id: string): Promise<FlowRun> =>
  readFlowRun(w.prefect.apiUrl, id, w.auth);

const tasksOf = (w: EndToEndWorld, flowRunId: string) =>
  w.aws.ecs.tasks().filter((task) => task.startedBy === `prefect/${flowRunId}`);

/** The crash message the reporter derives from the task's STOPPED event. */
const expectedCrash = (w: EndToEndWorld, taskArn: string): string => {
  const stopped = w.aws.events.find(
    (event) => event.detail.taskArn === taskArn && event.detail.lastStatus === 'STOPPED'
  );
  return crashMessage(diagnoseStoppedTask(TaskStateChangeEventSchema.parse(stopped)));
};

describe('end to end: schedule → poller → SQS → launcher → ECS → EventBridge → reporter → Prefect', () => {
  it('ends six runs as the design says, with one task per launched run and nothing left queued', async () => {
    // Prepare: six runs of one deployment, each with what its container will do
    const w = await startEndToEndWorld({ launchVisibilityTimeout: 30 });
    world = w;
    const pattern = await taskStateRulePattern();
    const eventBridge = connectEventBridge(w, pattern);
    const aheadAt = new Date(Date.now() + 6_000);
    const seedRun = async (name: string, scheduledTime = new Date(), image?: string) =>
      (
        await seed.flowRun(
          w.prefect.apiUrl,
          w.deploymentId,
          { name, scheduledTime, ...(image ? { jobVariables: { image } } : {}) },
          w.auth
        )
      ).id;
    const runs = {
      complete1: await seedRun('complete-1'),
      complete2: await seedRun('complete-2'),
      oom: await seedRun('oom'),
      pull: await seedRun('pull', new Date(), 'prefecthq/prefect:nope'),
      cancelled: await seedRun('cancelled'),
      ahead: await seedRun('ahead', aheadAt),
    };
    const behaviours = new Map<string, Behaviour>([
      [runs.complete1, 'complete'],
      [runs.complete2, 'complete'],
      [runs.oom, 'oom'],
      [runs.pull, 'pull'],
      [runs.ahead, 'complete'],
    ]);
    const running = { autoAdvance: { delayMs: 100 }, outcome: { kind: 'keepRunning' } } as const;
    for (const id of [runs.complete1, runs.complete2, runs.oom, runs.ahead]) {
      w.aws.ecs.setPlan({ startedBy: `prefect/${id}` }, running);
    }
    // No autoAdvance: the engine writes the container's log lines first, then lets it fail.
    w.aws.ecs.setPlan(
      { startedBy: `prefect/${runs.pull}` },
      { outcome: { kind: 'failToStart', stoppedReason: PULL_REASON } }
    );
    const ids = Object.values(runs);
    // A task something else started on the cluster: the rule keeps it from the reporter
    const foreignTask = await startForeignTask(w);
    const launcherEsm = consumeQueue(w, w.launchQueue, 5, w.launcher);
    const tickEsm = consumeQueue(w, w.tickQueue, 1, w.poller);

    // Act 1: the schedule invokes the poller
    const polled = (await w.poller(scheduledEvent())) as {
      claimed: number;
      ticks_enqueued: number;
    };
    const launchesAfterPoll = inspectQueue(w, 'launch');
    const ticksAfterPoll = inspectQueue(w, 'tick');
    // Act 2: the user cancels one claimed run before any launcher has seen it
    await user.cancel(w.prefect.apiUrl, runs.cancelled, w.auth);
    // Act 3: the event source mappings run, the containers do their thing, EventBridge delivers
    const engine = playEngine(w, behaviours);
    launcherEsm.start();
    tickEsm.start();
    try {
      await waitFor(
        'every run final and the launch queue empty',
        async () =>
          inspectQueue(w, 'launch').depth === 0 &&
          (await Promise.all(ids.map((id) => readRun(w, id)))).every((run) =>
            FINAL_STATES.has(run.state_type ?? '')
          ),
        25_000
      );
    } finally {
      await Promise.all([launcherEsm.stop(), tickEsm.stop(), engine.stop()]);
      await w.aws.ecs.settled();
      eventBridge.disconnect();
    }

    // Assess: the poll claimed all six and timed their launch messages (lead 1 s)
    expect(polled.claimed).toBe(6);
    const delays = new Map(
      [...launchesAfterPoll.ready, ...launchesAfterPoll.delayed].map((message) => [
        parseLaunchMessage(message.body).flow_run_id,
        launchesAfterPoll.delaySeconds(message),
      ])
    );
    expect(new Set(delays.keys())).toEqual(new Set(ids));
    for (const id of ids.filter((id) => id !== runs.ahead)) expect(delays.get(id)).toBe(0);
    expect(delays.get(runs.ahead)).toBeGreaterThanOrEqual(4);
    expect(delays.get(runs.ahead)).toBeLessThanOrEqual(5);
    // Assess: the ticks of the minute landed on the tick queue, one per poll interval (5 s)
    const tickDelays = [5, 10, 15, 20, 25, 30, 35, 40, 45, 50, 55];
    expect(polled.ticks_enqueued).toBe(tickDelays.length);
    expect(ticksAfterPoll.ready).toHaveLength(0);
    expect(
      ticksAfterPoll.delayed
        .map((message) => {
          const body = JSON.parse(message.body) as { kind: string; delay_seconds: number };
          expect(body.kind).toBe('poll-tick');
          expect(ticksAfterPoll.delaySeconds(message)).toBe(body.delay_seconds);
          return body.delay_seconds;
        })
        .sort((a, b) => a - b)
    ).toEqual(tickDelays);
    // ... and the tick queue invoked the poller (one record each), which never fails a tick
    expect(tickEsm.invocations.length).toBeGreaterThanOrEqual(1);
    for (const invocation of tickEsm.invocations) {
      expect(invocation.records).toHaveLength(1);
      expect(invocation.failed).toEqual([]);
      expect(invocation.error).toBeUndefined();
    }

    // Assess: no actor, event delivery or launcher invocation failed
    expect(engine.errors).toEqual([]);
    expect(eventBridge.errors).toEqual([]);
    expect(launcherEsm.invocations.every((invocation) => invocation.failed.length === 0)).toBe(
      true
    );
    expect(Math.max(...launcherEsm.invocations.map((i) => i.records.length))).toBeLessThanOrEqual(
      5
    );
    // Assess: the rule delivered every event of our tasks, and none of the foreign one
    expect(eventBridge.delivered.length + eventBridge.filtered.length).toBe(w.aws.events.length);
    expect(eventBridge.delivered.every((e) => e.detail.startedBy?.startsWith('prefect/'))).toBe(
      true
    );
    expect(new Set(eventBridge.filtered.map((event) => event.detail.taskArn))).toEqual(
      new Set([foreignTask])
    );
    expect(eventBridge.filtered.map((event) => event.detail.lastStatus)).toContain('STOPPED');
    // Assess: a tick's poll (not the schedule's, which ran before the user cancelled) cancelled
    expect(
      w.lines.filter(
        (line) =>
          line.message === 'Poll finished' &&
          line.attributes.trigger === 'tick' &&
          line.attributes.cancelled === 1
      )
    ).toHaveLength(1);

    // Invariant 1: exactly one ECS task per launched run, none for the cancelled one
    const launched = [runs.complete1, runs.complete2, runs.oom, runs.pull, runs.ahead];
    const byToken = runTaskCallsByToken(w.aws);
    // (the SDK gives a RunTask without clientToken one of its own)
    const foreignCalls = [...byToken].filter(([, call]) => call.startedBy === FOREIGN_STARTED_BY);
    expect(foreignCalls.map(([, call]) => call.taskArns)).toEqual([[foreignTask]]);
    for (const [token] of foreignCalls) byToken.delete(token);
    const byRun = runTaskCallsByRun(w.aws);
    byRun.delete(FOREIGN_STARTED_BY);
    expect(new Set(byRun.keys())).toEqual(new Set(launched));
    for (const id of launched) {
      // one attempt: one token of its own (not the bare flow run id), one task
      expect(byRun.get(id)).toEqual({
        tokens: new Set([expect.not.stringMatching(id)]),
        taskArns: [expect.any(String)],
        errors: [],
      });
      expect(tasksOf(w, id)).toHaveLength(1);
    }
    expect(tasksOf(w, runs.cancelled)).toHaveLength(0);

    // Invariant 2: every claimed run ended with its task as infrastructure_pid, or without a task
    // in a final state that says why
    const final = new Map<string, FlowRun>();
    for (const id of ids) final.set(id, await readRun(w, id));
    for (const id of ids) {
      const run = final.get(id);
      const [task] = tasksOf(w, id);
      expect(FINAL_STATES.has(run?.state_type ?? '')).toBe(true);
      if (task) expect(run?.infrastructure_pid).toBe(`${CLUSTER}::${task.taskArn}`);
      else expect(run?.state?.message).toEqual(expect.stringMatching(/\w/));
    }

    // Final states
    for (const id of [runs.complete1, runs.complete2, runs.ahead]) {
      expect(final.get(id)?.state).toMatchObject({ type: 'COMPLETED', name: 'Completed' });
    }
    const oomTask = tasksOf(w, runs.oom)[0]?.taskArn ?? '';
    expect(final.get(runs.oom)?.state).toMatchObject({
      type: 'CRASHED',
      name: 'Crashed',
      message: expectedCrash(w, oomTask),
    });
    expect(final.get(runs.oom)?.state?.message).toMatch(
      /ran out of memory: container 'prefect' was killed \(exit code 137, OutOfMemoryError/
    );
    expect(final.get(runs.oom)?.state?.message).toContain(OOM_REASON);
    const pullTask = tasksOf(w, runs.pull)[0]?.taskArn ?? '';
    expect(final.get(runs.pull)?.state).toMatchObject({
      type: 'CRASHED',
      name: 'Crashed',
      message: expectedCrash(w, pullTask),
    });
    expect(final.get(runs.pull)?.state?.message).toMatch(
      /could not pull the image of container 'prefect'/
    );
    // ... with the container's last CloudWatch lines posted as the run's Prefect logs
    const pullLogs = w.prefect.logs
      .filter((line) => line.flow_run_id === runs.pull)
      .map((line) => line.message)
      .filter((message) => !message.startsWith('Created ECS task'));
    expect(pullLogs).toEqual([
      expect.stringMatching(/stopped before the flow started\. The last 3 line\(s\) container/),
      ...(engine.logLines.get(pullTask) ?? ['no lines written']),
    ]);
    expect(final.get(runs.cancelled)?.state).toMatchObject({
      type: 'CANCELLED',
      name: 'Cancelled',
      message: CANCEL_MESSAGES.noInfrastructure,
    });
    // The run scheduled ahead was launched no earlier than its time minus the lead (1 s) − 1 s
    const aheadRunTask = w.aws
      .callsTo('RunTask')
      .find((call) => (call.input as { startedBy?: string }).startedBy === `prefect/${runs.ahead}`);
    expect(aheadRunTask?.at.getTime()).toBeGreaterThanOrEqual(aheadAt.getTime() - 2_000);

    // Nothing left in the launch queue or its dead-letter queue
    expect(inspectQueue(w, 'launch').depth).toBe(0);
    expect(inspectQueue(w, 'launch-dlq').depth).toBe(0);

    // Invariant 5: the API key reaches tasks only as a task-definition secret
    for (const call of w.aws.callsTo('RunTask'))
      expect(serialize(call.input)).not.toContain(API_KEY);
    const ourDefinitions = new Set(launched.map((id) => tasksOf(w, id)[0]?.taskDefinitionArn));
    const registrations = w.aws
      .callsTo('RegisterTaskDefinition')
      .filter((call) =>
        ourDefinitions.has(
          (call.output as { taskDefinition?: { taskDefinitionArn?: string } } | undefined)
            ?.taskDefinition?.taskDefinitionArn
        )
      );
    expect(registrations.length).toBeGreaterThan(0);
    for (const call of registrations) {
      const input = call.input as { containerDefinitions: { secrets?: unknown }[] };
      expect(input.containerDefinitions[0]?.secrets).toEqual([
        { name: 'PREFECT_API_KEY', valueFrom: w.secretArn },
      ]);
      expect(serialize(input)).not.toContain(API_KEY);
    }
    // ... and is never logged by any of the Lambdas
    expect(w.lines.length).toBeGreaterThan(0);
    expect(serialize(w.lines)).not.toContain(API_KEY);
  }, 40_000);
});

describe('end to end: duplicated and interrupted launches', () => {
  it('keeps one task per run when a message is delivered twice and a launcher dies before recording the pid', async () => {
    // Prepare: two runs due now, claimed; their tasks wait in PROVISIONING until released
    const w = await startEndToEndWorld({ launchVisibilityTimeout: 2 });
    world = w;
    const eventBridge = connectEventBridge(w, await taskStateRulePattern());
    const seedRun = async (name: string) =>
      (await seed.flowRun(w.prefect.apiUrl, w.deploymentId, { name }, w.auth)).id;
    const duplicated = await seedRun('duplicated');
    const interrupted = await seedRun('interrupted');
    const polled = (await w.poller({})) as { claimed: number };
    const launcherEsm = consumeQueue(w, w.launchQueue, 5, w.launcher);
    const engine = playEngine(
      w,
      new Map<string, Behaviour>([
        [duplicated, 'complete'],
        [interrupted, 'complete'],
      ])
    );
    try {
      // The mapping's first batch: both messages
      const first: Message[] = [];
      for (let round = 0; round < 5 && first.length < 2; round += 1) {
        const { Messages = [] } = await w.sqsClient.send(
          new ReceiveMessageCommand({
            QueueUrl: w.launchQueue.url,
            MaxNumberOfMessages: 5,
            WaitTimeSeconds: 1,
            MessageSystemAttributeNames: ['All'],
          })
        );
        first.push(...Messages);
      }
      const bodyOf = (id: string) =>
        first.find((message) => parseLaunchMessage(message.Body ?? '').flow_run_id === id);
      // SQS delivers at least once: the same launch message is in the queue again
      await w.sqsClient.send(
        new SendMessageCommand({
          QueueUrl: w.launchQueue.url,
          MessageBody: bodyOf(duplicated)?.Body ?? '',
        })
      );
      // The launcher dies after RunTask and before the pid PATCH of one run
      w.prefect.faults.inject({ method: 'PATCH', path: `/flow_runs/${interrupted}`, status: 500 });
      // Act: the first invocation, then the mapping keeps polling (redeliveries, duplicate)
      const firstInvocation = await launcherEsm.invoke(first);
      await w.aws.ecs.settled();
      const afterFailure = await readRun(w, interrupted);
      launcherEsm.start();
      await waitFor(
        'both pids recorded and the launch queue empty',
        async () =>
          inspectQueue(w, 'launch').depth === 0 &&
          (await Promise.all([readRun(w, duplicated), readRun(w, interrupted)])).every(
            (run) => run.infrastructure_pid !== null
          ),
        15_000
      );
      await launcherEsm.stop();
      const pidWriters = w.prefect.requests
        .filter(
          (request) => request.method === 'PATCH' && request.path === `/flow_runs/${interrupted}`
        )
        .map((request) => request.status);
      // Then the tasks start and the engine completes both runs
      for (const id of [duplicated, interrupted]) {
        for (const task of tasksOf(w, id)) await w.aws.ecs.advance(task.taskArn, 'RUNNING');
      }
      await waitFor(
        'both runs COMPLETED',
        async () =>
          (await Promise.all([readRun(w, duplicated), readRun(w, interrupted)])).every(
            (run) => run.state_type === 'COMPLETED'
          ),
        10_000
      );

      // Assess: the first invocation failed exactly the interrupted record, after its RunTask
      expect(polled.claimed).toBe(2);
      expect(first).toHaveLength(2);
      expect(firstInvocation.failed).toEqual([bodyOf(interrupted)?.MessageId]);
      // ... while its task was PROVISIONING, which the reporter had reported: the redelivery
      // finds the run in the reporter's sub-state, not in the claim
      expect(afterFailure.infrastructure_pid).toBeNull();
      expect(afterFailure.state).toMatchObject({ type: 'PENDING', name: 'InfrastructurePending' });
      // ... asked SQS for its backoff (15 s ± 20 %), and came back with a higher receive count
      expect(w.visibilityRequests).toHaveLength(1);
      expect(w.visibilityRequests[0]).toBeGreaterThanOrEqual(12);
      expect(w.visibilityRequests[0]).toBeLessThanOrEqual(18);
      const redelivered = launcherEsm.invocations
        .slice(1)
        .flatMap((invocation) => invocation.records)
        .filter((record) => record.messageId === bodyOf(interrupted)?.MessageId);
      expect(redelivered.map((record) => record.attributes.ApproximateReceiveCount)).toEqual(['2']);
      // ... and the duplicate was acknowledged without a second launch
      const duplicates = launcherEsm.invocations
        .slice(1)
        .flatMap((invocation) => invocation.records)
        .filter((record) => parseLaunchMessage(record.body).flow_run_id === duplicated);
      expect(duplicates).toHaveLength(1);
      expect(launcherEsm.invocations.slice(1).every((i) => i.failed.length === 0)).toBe(true);
      // Invariant 1: one task per run; the retried RunTask got the same task back (clientToken)
      const byRun = runTaskCallsByRun(w.aws);
      expect(new Set(byRun.get(duplicated)?.taskArns)).toHaveProperty('size', 1);
      expect(byRun.get(duplicated)?.tokens.size).toBe(1);
      expect(byRun.get(interrupted)?.tokens.size).toBe(1);
      const retried = byRun.get(interrupted)?.taskArns ?? [];
      expect(retried).toHaveLength(2);
      expect(new Set(retried).size).toBe(1);
      expect(tasksOf(w, duplicated)).toHaveLength(1);
      expect(tasksOf(w, interrupted)).toHaveLength(1);
      // Invariant 2: the pid recorded after the redelivery, by the launcher
      expect(pidWriters).toEqual([500, 204]);
      for (const id of [duplicated, interrupted]) {
        const run = await readRun(w, id);
        expect(run.infrastructure_pid).toBe(`${CLUSTER}::${tasksOf(w, id)[0]?.taskArn}`);
        expect(run.state).toMatchObject({ type: 'COMPLETED' });
      }
      expect(inspectQueue(w, 'launch').depth).toBe(0);
      expect(inspectQueue(w, 'launch-dlq').depth).toBe(0);
      expect(engine.errors).toEqual([]);
      expect(eventBridge.errors).toEqual([]);
    } finally {
      await launcherEsm.stop();
      await engine.stop();
      await w.aws.ecs.settled();
      eventBridge.disconnect();
    }
  }, 40_000);
});
