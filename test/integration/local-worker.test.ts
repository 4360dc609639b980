/**
 * The local worker (`npm start` against a real Prefect) end to end against the stand-ins: the real
 * poller, launcher and reporter handlers in one process, the in-process launch queue, and ECS task
 * state changes built by following the launched tasks with DescribeTasks. Nothing subscribes to
 * the AWS stand-in's event bus; its `events` (what EventBridge would have delivered) are only read
 * afterwards to check that the deployed design would have ended each run the same way.
 *
 * The test plays the flow engine (RUNNING, then COMPLETED, then the container exits) by watching
 * the stand-in's tasks, and the user (cancel) through the Prefect API.
 */
import { randomUUID } from 'node:crypto';
import { CreateClusterCommand, ECSClient } from '@aws-sdk/client-ecs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { flowRunIdFromStartedBy } from '../../shared/ecs/started-by.ts';
import { loadLocalWorkerConfig } from '../../shared/local/local-config.ts';
import {
  createLocalWorker,
  describeStop,
  type LocalWorker,
} from '../../shared/local/local-worker.ts';
import { followedEventId } from '../../shared/local/task-event.ts';
import { createTextLogger } from '../../shared/local/text-logger.ts';
import { crashMessage, diagnoseStoppedTask } from '../../shared/report/diagnose-stopped-task.ts';
import { TaskStateChangeEventSchema } from '../../shared/report/task-state-change-event.ts';
import { transitionIdFromEventId } from '../../shared/report/transition-id.ts';
import { startAwsStandin } from '../standins/ecs/server.ts';
import type { AwsStandin, RecordedCall, TaskPlan } from '../standins/ecs/types.ts';
import { engine, type FlowRun, readFlowRun, seed, user } from '../standins/prefect/actors.ts';
import { type PrefectStandin, startPrefectStandin } from '../standins/prefect/server.ts';

const POOL = 'local-ecs';
const CLUSTER = 'prefect-local';
const credentials = { accessKeyId: 'test', secretAccessKey: 'test' };
const OOM_REASON = 'OutOfMemoryError: Container killed due to memory usage';
const PULL_REASON =
  'CannotPullContainerError: pull image manifest has been retried 7 time(s): failed to resolve ref docker.io/prefecthq/prefect:nope: not found';
const FINAL = new Set(['COMPLETED', 'FAILED', 'CRASHED', 'CANCELLED']);

let prefect: PrefectStandin;
let aws: AwsStandin;
let deploymentId: string;

beforeAll(async () => {
  prefect = await startPrefectStandin();
  aws = await startAwsStandin();
  const ecs = new ECSClient({ region: aws.region, endpoint: aws.url, credentials });
  await ecs.send(
    new CreateClusterCommand({
      clusterName: CLUSTER,
      capacityProviders: ['FARGATE', 'FARGATE_SPOT'],
    })
  );
  ecs.destroy();
  await seed.workPool(prefect.apiUrl, { name: POOL });
  deploymentId = (
    await seed.deployment(prefect.apiUrl, {
      name: 'etl',
      workPoolName: POOL,
      jobVariables: { cluster: CLUSTER },
    })
  ).id;
});

afterAll(async () => {
  await aws?.close();
  await prefect?.close();
});

/** A worker as `npm start` builds it, aimed at the stand-ins; its log lines are kept. */
const startWorker = async () => {
  const lines: string[] = [];
  const config = loadLocalWorkerConfig({
    PREFECT_API_URL: prefect.apiUrl,
    PREFECT_WORK_POOLS: POOL,
    AWS_REGION: aws.region,
    ECS_EXECUTION_ROLE_ARN: 'arn:aws:iam::123456789012:role/prefect-execution',
    POLL_INTERVAL_SECONDS: '5',
    TASK_FOLLOW_INTERVAL_SECONDS: '1',
    LOG_LEVEL: 'DEBUG',
  });
  const worker = await createLocalWorker({
    config,
    logger: createTextLogger({ write: (line) => lines.push(line), level: 'debug' }),
    aws: { endpoint: aws.url, credentials },
    prefectDeps: { sleep: async () => {} },
    reporterRetryDelaysMs: [200, 200],
  });
  await worker.start();
  return { worker, config, lines };
};

type Behaviour = 'complete' | 'oom' | 'pull' | 'pending' | 'hold';

/** Seeds a run whose task follows `behaviour`. */
const seedRun = async (behaviour: Behaviour, scheduledTime = new Date()) => {
  const run = await seed.flowRun(prefect.apiUrl, deploymentId, {
    name: `${behaviour}-${randomUUID().slice(0, 8)}`,
    scheduledTime,
    ...(behaviour === 'pull' ? { jobVariables: { image: 'prefecthq/prefect:nope' } } : {}),
  });
  const autoAdvance = { delayMs: 200 };
  const plans: Record<Behaviour, TaskPlan> = {
    complete: { autoAdvance, outcome: { kind: 'keepRunning' } },
    oom: { autoAdvance, outcome: { kind: 'keepRunning' } },
    hold: { autoAdvance, outcome: { kind: 'keepRunning' } },
    pull: { autoAdvance, outcome: { kind: 'failToStart', stoppedReason: PULL_REASON } },
    pending: {},
  };
  aws.ecs.setPlan({ startedBy: `prefect/${run.id}` }, plans[behaviour]);
  return { id: run.id, behaviour };
};

/** Plays the engine of RUNNING tasks (by watching the stand-in, not its events) and the user. */
const playActors = (runs: { id: string; behaviour: Behaviour }[]) => {
  const byId = new Map(runs.map((run) => [run.id, run]));
  const done = new Set<string>();
  const errors: unknown[] = [];
  let stopped = false;
  const act = async (): Promise<void> => {
    for (const task of aws.ecs.tasks()) {
      const run = byId.get(flowRunIdFromStartedBy(task.startedBy) ?? '');
      if (!run || done.has(run.id) || task.lastStatus !== 'RUNNING') continue;
      if (run.behaviour !== 'complete' && run.behaviour !== 'oom') continue;
      done.add(run.id);
      await engine.start(prefect.apiUrl, run.id);
      if (run.behaviour === 'oom') {
        await aws.ecs.runToCompletion(task.taskArn, { exitCode: 137, containerReason: OOM_REASON });
      } else {
        await engine.complete(prefect.apiUrl, run.id);
        await aws.ecs.runToCompletion(task.taskArn, { exitCode: 0 });
      }
    }
    for (const run of runs) {
      if (run.behaviour !== 'pending' || done.has(run.id)) continue;
      const current = await readFlowRun(prefect.apiUrl, run.id);
      if (current.infrastructure_pid && current.state?.type === 'PENDING') {
        done.add(run.id);
        await user.cancel(prefect.apiUrl, run.id);
      }
    }
  };
  const loop = async (): Promise<void> => {
    while (!stopped) {
      await act().catch((error: unknown) => errors.push(error));
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  };
  const running = loop();
  return {
    errors,
    stop: async () => {
      stopped = true;
      await running;
    },
  };
};

const waitFor = async (predicate: () => Promise<boolean>, timeoutMs: number): Promise<void> => {
  const deadline = Date.now() + timeoutMs;
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
};

const readAll = (ids: readonly string[]): Promise<FlowRun[]> =>
  Promise.all(ids.map((id) => readFlowRun(prefect.apiUrl, id)));

const allFinal = async (ids: readonly string[], worker: LocalWorker): Promise<boolean> =>
  (await readAll(ids)).every((run) => FINAL.has(run.state?.type ?? '')) && worker.idle();

/** DescribeTasks calls made by the follower: no `include` (the reporter's tag reads have TAGS). */
const followerCalls = (since: number): RecordedCall[] =>
  aws
    .callsTo('DescribeTasks')
    .slice(since)
    .filter((call) => (call.input as { include?: string[] }).include === undefined);

const tasksOf = (call: RecordedCall): string[] => (call.input as { tasks: string[] }).tasks;

const taskOfRun = (runId: string) =>
  aws.ecs.tasks().find((task) => task.startedBy === `prefect/${runId}`);

describe('local worker: poller, launcher and reporter in one process, task states by following', () => {
  it('ends each run as the deployed design does, from events built by following the tasks', async () => {
    // Prepare
    const runCalls = aws.callsTo('RunTask').length;
    const describeCalls = aws.callsTo('DescribeTasks').length;
    const runs = [
      await seedRun('complete'),
      await seedRun('complete'),
      await seedRun('complete'),
      await seedRun('oom'),
      await seedRun('pull'),
    ];
    const actors = playActors(runs);
    // Act
    const { worker } = await startWorker();
    try {
      await waitFor(
        () =>
          allFinal(
            runs.map((run) => run.id),
            worker
          ),
        30_000
      );
    } finally {
      await worker.stop(10_000);
      await actors.stop();
    }
    // Assess: the states and messages the deployed reporter would have written
    expect(actors.errors).toEqual([]);
    const final = await readAll(runs.map((run) => run.id));
    const [c1, c2, c3, oom, pull] = final;
    for (const run of [c1, c2, c3]) {
      expect(run?.state).toMatchObject({ type: 'COMPLETED', name: 'Completed' });
    }
    for (const run of final) {
      const task = taskOfRun(run.id);
      expect(run.infrastructure_pid).toBe(`${CLUSTER}::${task?.taskArn}`);
    }
    const deployedMessage = (runId: string): string => {
      const task = taskOfRun(runId);
      const stopped = aws.events.find(
        (event) => event.detail.taskArn === task?.taskArn && event.detail.lastStatus === 'STOPPED'
      );
      return crashMessage(diagnoseStoppedTask(TaskStateChangeEventSchema.parse(stopped)));
    };
    expect(oom?.state).toMatchObject({ type: 'CRASHED', name: 'Crashed' });
    expect(oom?.state?.message).toBe(deployedMessage(oom?.id ?? ''));
    expect(oom?.state?.message).toMatch(
      /ran out of memory: container 'prefect' was killed \(exit code 137/
    );
    expect(pull?.state).toMatchObject({ type: 'CRASHED', name: 'Crashed' });
    expect(pull?.state?.message).toBe(deployedMessage(pull?.id ?? ''));
    expect(pull?.state?.message).toMatch(/could not pull the image of container 'prefect'/);
    // Assess: the CRASHED proposals came from the followed events (ids → transition ids)
    for (const run of [oom, pull]) {
      const task = taskOfRun(run?.id ?? '');
      const eventId = followedEventId(task?.taskArn ?? '', task?.version ?? 0, 'STOPPED');
      const crash = prefect.requests.find(
        (request) =>
          request.path === `/flow_runs/${run?.id}/set_state` &&
          (request.body as { state?: { type?: string } }).state?.type === 'CRASHED'
      );
      expect(crash?.body).toMatchObject({
        state: { state_details: { transition_id: transitionIdFromEventId(eventId) } },
      });
    }
    // Assess: DescribeTasks in batches, one call per interval for every task followed then
    const launched = aws
      .callsTo('RunTask')
      .slice(runCalls)
      .flatMap((call) =>
        ((call.output as { tasks?: { taskArn: string }[] }).tasks ?? []).map((task) => ({
          arn: task.taskArn,
          at: call.at.getTime(),
        }))
      );
    expect(launched).toHaveLength(5);
    const calls = followerCalls(describeCalls);
    const stoppedBefore = new Set<string>();
    for (const [index, call] of calls.entries()) {
      const at = call.at.getTime();
      const asked = tasksOf(call);
      const live = launched.filter((task) => task.at < at && !stoppedBefore.has(task.arn));
      // Never a task twice, never one not launched or already seen STOPPED.
      expect(new Set(asked).size).toBe(asked.length);
      expect(asked.every((arn) => live.some((task) => task.arn === arn))).toBe(true);
      // Every task launched a moment before is in the call: one call for all of them.
      const settled = live.filter((task) => task.at < at - 500).map((task) => task.arn);
      expect(asked).toEqual(expect.arrayContaining(settled));
      const previous = calls[index - 1];
      if (previous) expect(at - previous.at.getTime()).toBeGreaterThanOrEqual(900);
      for (const task of (call.output as { tasks?: { taskArn: string; lastStatus: string }[] })
        .tasks ?? []) {
        if (task.lastStatus === 'STOPPED') stoppedBefore.add(task.taskArn);
      }
    }
    expect(Math.max(...calls.map((call) => tasksOf(call).length))).toBe(5);
    expect(calls.length).toBeLessThan(launched.length * 4);
  }, 60_000);

  it('cancels a run whose task is still pending, as the deployed poller and reporter do', async () => {
    // Prepare
    const run = await seedRun('pending');
    const actors = playActors([run]);
    // Act
    const { worker } = await startWorker();
    try {
      await waitFor(() => allFinal([run.id], worker), 30_000);
    } finally {
      await worker.stop(10_000);
      await actors.stop();
    }
    // Assess
    const final = await readFlowRun(prefect.apiUrl, run.id);
    expect(final.state).toMatchObject({
      type: 'CANCELLED',
      name: 'Cancelled',
      message: 'Flow run cancelled by worker while pending.',
    });
    const task = taskOfRun(run.id);
    expect(task).toMatchObject({ lastStatus: 'STOPPED', stopCode: 'UserInitiated' });
    expect(
      aws
        .callsTo('StopTask')
        .some((call) => JSON.stringify(call.input).includes(task?.taskArn ?? '-'))
    ).toBe(true);
  }, 60_000);

  it('stops cleanly: queued claims stay PENDING for the orphan sweep, and the next start follows the running task', async () => {
    // Prepare: one run launched and running, one claimed for later (its message still queued)
    const running = await seedRun('hold');
    const later = await seedRun('complete', new Date(Date.now() + 45_000));
    const first = await startWorker();
    await waitFor(async () => taskOfRun(running.id)?.lastStatus === 'RUNNING', 10_000);
    await waitFor(
      async () => (await readFlowRun(prefect.apiUrl, later.id)).state?.type === 'PENDING',
      10_000
    );
    // Act: stop, then the task ends while no worker runs
    const report = await first.worker.stop(10_000);
    const taskArn = taskOfRun(running.id)?.taskArn ?? '';
    await aws.ecs.runToCompletion(taskArn, { exitCode: 1 });
    const whileStopped = await readFlowRun(prefect.apiUrl, running.id);
    const second = await startWorker();
    try {
      await waitFor(
        async () => second.worker.status().following === 0 && second.worker.idle(),
        15_000
      );
    } finally {
      await second.worker.stop(10_000);
    }
    // Assess: what the stop reported
    expect(report.queued).toEqual([{ flowRunId: later.id, receiveCount: 0 }]);
    expect(report.following).toEqual([taskArn]);
    expect(report.drained).toBe(true);
    const text = describeStop(report, first.config).join('\n');
    expect(text).toContain(`1 claimed flow run(s) were not launched yet (${later.id})`);
    expect(text).toContain('orphan sweep re-enqueues each 300 s after it was due');
    expect(text).toContain('the next `npm start` follows them again');
    // Assess: the claim is kept in Prefect, not lost
    const claimed = await readFlowRun(prefect.apiUrl, later.id);
    expect(claimed.state?.type).toBe('PENDING');
    expect(claimed.infrastructure_pid).toBeNull();
    // Assess: the next start adopted the task and reported its end
    expect(whileStopped.state?.type).not.toBe('CRASHED');
    expect(second.lines.join('')).toContain(
      'Following the ECS tasks of runs launched before this start'
    );
    const final = await readFlowRun(prefect.apiUrl, running.id);
    expect(final.state).toMatchObject({ type: 'CRASHED' });
    expect(final.state?.message).toContain("the flow container 'prefect' exited with code 1");
  }, 60_000);
});
