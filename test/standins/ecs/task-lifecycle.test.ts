import { readFileSync } from 'node:fs';
import {
  DescribeTasksCommand,
  type ECSClient,
  InvalidParameterException,
  RunTaskCommand,
  StopTaskCommand,
} from '@aws-sdk/client-ecs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ecsClient, eventually, type FargateSetup, setUpFargate } from './fixtures.ts';
import { startAwsStandin } from './server.ts';
import type { AwsStandin, EcsTaskStateChangeEvent } from './types.ts';

/**
 * The official "ECS Task State Change" sample (Fargate, RUNNING) from the AWS docs
 * (awsdocs/amazon-ecs-developer-guide, sample code under LICENSE-SAMPLECODE), vendored in
 * test/fixtures/aws-events/official/. Our events must carry the same keys.
 */
const officialRunning = JSON.parse(
  readFileSync(
    new URL(
      '../../fixtures/aws-events/official/task-running-fargate.awsdocs.json',
      import.meta.url
    ),
    'utf8'
  )
) as EcsTaskStateChangeEvent;
const keysOf = (object: object): string[] => Object.keys(object).sort();
const OFFICIAL_ENVELOPE_KEYS = keysOf(officialRunning);
const OFFICIAL_RUNNING_DETAIL_KEYS = keysOf(officialRunning.detail);
const OFFICIAL_RUNNING_CONTAINER_KEYS = keysOf(officialRunning.detail.containers[0] ?? {});
/** Fields the registry schema (or the Task API) has that the 2020 sample lacks. */
const SCHEMA_DETAIL_KEYS = [
  'startedBy',
  'stopCode',
  'stoppedReason',
  'stoppingAt',
  'stoppedAt',
  'executionStoppedAt',
  'containerInstanceArn',
  'attributes',
  'capacityProviderName',
  'platformFamily',
];

const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

describe('ECS stand-in: task lifecycle and events', () => {
  let standin: AwsStandin;
  let ecs: ECSClient;
  let fargate: FargateSetup;

  beforeAll(async () => {
    standin = await startAwsStandin();
    ecs = ecsClient(standin);
    fargate = await setUpFargate(standin, ecs);
  });

  afterEach(() => {
    standin.ecs.clearPlans();
  });

  afterAll(async () => {
    ecs.destroy();
    await standin.close();
  });

  const start = async (startedBy?: string): Promise<string> => {
    const { tasks } = await ecs.send(
      new RunTaskCommand(fargate.runInput(startedBy ? { startedBy } : {}))
    );
    return tasks?.[0]?.taskArn ?? '';
  };

  const eventsOf = (taskArn: string): EcsTaskStateChangeEvent[] =>
    standin.events.filter((event) => event.resources[0] === taskArn);

  it('stays PROVISIONING until the test advances it', async () => {
    // Prepare
    const taskArn = await start();
    await standin.ecs.settled();
    // Act
    await new Promise((done) => setTimeout(done, 30));
    // Assess
    expect(standin.ecs.task(taskArn)?.lastStatus).toBe('PROVISIONING');
    expect(eventsOf(taskArn).map((event) => event.detail.lastStatus)).toEqual(['PROVISIONING']);
  });

  it('emits one event per transition, in lifecycle order, in the official envelope', async () => {
    // Prepare
    const taskArn = await start('prefect-lifecycle');
    const received: EcsTaskStateChangeEvent[] = [];
    const unsubscribe = standin.subscribe(async (event) => {
      await new Promise((done) => setTimeout(done, 2));
      if (event.resources[0] === taskArn) received.push(event);
    });
    // Act
    await standin.ecs.advance(taskArn);
    await standin.ecs.advance(taskArn);
    const stopped = await standin.ecs.runToCompletion(taskArn, { exitCode: 0 });
    unsubscribe();
    // Assess
    const events = eventsOf(taskArn);
    expect(events.map((event) => [event.detail.lastStatus, event.detail.desiredStatus])).toEqual([
      ['PROVISIONING', 'RUNNING'],
      ['PENDING', 'RUNNING'],
      ['RUNNING', 'RUNNING'],
      ['RUNNING', 'STOPPED'],
      ['STOPPED', 'STOPPED'],
    ]);
    expect(events.map((event) => event.detail.version)).toEqual([1, 2, 3, 4, 5]);
    expect(received.map((event) => event.id)).toEqual(events.slice(1).map((event) => event.id));
    expect(stopped).toMatchObject({ lastStatus: 'STOPPED', stopCode: 'EssentialContainerExited' });
    for (const event of events) {
      expect(keysOf(event)).toEqual(OFFICIAL_ENVELOPE_KEYS);
      expect(event).toMatchObject({
        version: '0',
        'detail-type': 'ECS Task State Change',
        source: 'aws.ecs',
        account: '123456789012',
        region: 'us-east-1',
        resources: [taskArn],
      });
      expect(event.id).toMatch(/^[0-9a-f-]{36}$/);
      expect(event.time).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/);
      expect(event.detail.createdAt).toMatch(ISO);
      expect(event.detail.updatedAt).toMatch(ISO);
    }
    const running = events[2]?.detail;
    expect(running).toBeDefined();
    expect(keysOf(running ?? {})).toEqual(expect.arrayContaining(OFFICIAL_RUNNING_DETAIL_KEYS));
    const extra = keysOf(running ?? {}).filter(
      (key) => !OFFICIAL_RUNNING_DETAIL_KEYS.includes(key)
    );
    expect(SCHEMA_DETAIL_KEYS).toEqual(expect.arrayContaining(extra));
    expect(keysOf(running?.containers[0] ?? {})).toEqual(OFFICIAL_RUNNING_CONTAINER_KEYS);
    expect(running?.attachments?.[0]).toMatchObject({ type: 'eni', status: 'ATTACHED' });
    expect(running?.startedBy).toBe('prefect-lifecycle');
    const last = events[4]?.detail;
    expect(last).toMatchObject({
      stopCode: 'EssentialContainerExited',
      stoppedReason: 'Essential container in task exited',
      containers: [expect.objectContaining({ lastStatus: 'STOPPED', exitCode: 0 })],
      attachments: [expect.objectContaining({ status: 'DELETED' })],
    });
    for (const key of ['stoppingAt', 'executionStoppedAt', 'stoppedAt'] as const) {
      expect(last?.[key]).toMatch(ISO);
    }
  });

  it('ends with OutOfMemoryError and exit 137 when told to', async () => {
    // Prepare
    const taskArn = await start();
    // Act
    await standin.ecs.runToCompletion(taskArn, {
      exitCode: 137,
      containerReason: 'OutOfMemoryError: Container killed due to memory usage',
    });
    // Assess
    const last = eventsOf(taskArn).at(-1)?.detail;
    expect(eventsOf(taskArn).map((event) => event.detail.lastStatus)).toEqual([
      'PROVISIONING',
      'PENDING',
      'RUNNING',
      'RUNNING',
      'STOPPED',
    ]);
    expect(last?.containers[0]).toMatchObject({
      exitCode: 137,
      reason: 'OutOfMemoryError: Container killed due to memory usage',
    });
  });

  it('fails to start with TaskFailedToStart and no exit codes (or no containers at all)', async () => {
    // Prepare
    const pull = await start();
    const eni = await start();
    await standin.ecs.advance(pull);
    // Act
    await standin.ecs.failToStart(pull, {
      stoppedReason:
        'CannotPullContainerError: pull image manifest has been retried 7 time(s): failed to resolve ref docker.io/prefecthq/prefect:nope: not found',
    });
    await standin.ecs.failToStart(eni, {
      stoppedReason: 'ResourceInitializationError: failed to configure ENI',
      withoutContainers: true,
    });
    // Assess
    const pulled = eventsOf(pull).at(-1)?.detail;
    expect(pulled).toMatchObject({ lastStatus: 'STOPPED', stopCode: 'TaskFailedToStart' });
    expect(pulled?.containers[0]?.reason).toMatch(/^CannotPullContainerError/);
    expect(pulled?.containers[0]).not.toHaveProperty('exitCode');
    expect(pulled?.startedAt).toBeUndefined();
    const noContainers = eventsOf(eni).at(-1)?.detail;
    expect(noContainers).toMatchObject({
      lastStatus: 'STOPPED',
      stopCode: 'TaskFailedToStart',
      stoppedReason: 'ResourceInitializationError: failed to configure ENI',
      containers: [],
    });
    await expect(standin.ecs.failToStart(eni, { stoppedReason: 'again' })).rejects.toThrow(
      /STOPPED/
    );
  });

  it('StopTask: desired STOPPED at once, then a STOPPED event with UserInitiated and the reason', async () => {
    // Prepare
    const taskArn = await start();
    await standin.ecs.advance(taskArn, 'RUNNING');
    // Act
    const { task } = await ecs.send(
      new StopTaskCommand({ cluster: 'prefect', task: taskArn, reason: 'Cancelled by Prefect' })
    );
    await eventually(() => standin.ecs.task(taskArn)?.lastStatus === 'STOPPED');
    await standin.ecs.settled();
    // Assess
    expect(task).toMatchObject({ lastStatus: 'RUNNING', desiredStatus: 'STOPPED' });
    const last = eventsOf(taskArn).at(-1)?.detail;
    expect(last).toMatchObject({
      lastStatus: 'STOPPED',
      desiredStatus: 'STOPPED',
      stopCode: 'UserInitiated',
      stoppedReason: 'Cancelled by Prefect',
      containers: [expect.objectContaining({ exitCode: 143 })],
    });
    const { tasks } = await ecs.send(
      new DescribeTasksCommand({ cluster: 'prefect', tasks: [taskArn] })
    );
    expect(tasks?.[0]).toMatchObject({ lastStatus: 'STOPPED', stopCode: 'UserInitiated' });
    expect(tasks?.[0]?.stoppedAt).toBeInstanceOf(Date);
  });

  it('StopTask on an unknown task is InvalidParameterException', async () => {
    // Prepare
    const unknown =
      'arn:aws:ecs:us-east-1:123456789012:task/prefect/0123456789abcdef0123456789abcdef';
    // Act
    const error = await ecs
      .send(new StopTaskCommand({ cluster: 'prefect', task: unknown }))
      .catch((caught: unknown) => caught);
    // Assess
    expect(error).toBeInstanceOf(InvalidParameterException);
    expect((error as Error).message).toBe('The referenced task was not found.');
  });

  it('follows a plan automatically: family tasks go to STOPPED with exit 137 and OutOfMemoryError', async () => {
    // Prepare
    standin.ecs.setPlan(
      { family: 'prefect-flow-run', startedBy: /^prefect-oom/ },
      {
        outcome: {
          kind: 'exit',
          exitCode: 137,
          containerReason: 'OutOfMemoryError: Container killed due to memory usage',
        },
        autoAdvance: { delayMs: 1 },
      }
    );
    // Act
    const taskArn = await start('prefect-oom-1');
    const other = await start('prefect-other');
    await eventually(() => standin.ecs.task(taskArn)?.lastStatus === 'STOPPED');
    await standin.ecs.settled();
    // Assess
    expect(eventsOf(taskArn).map((event) => event.detail.lastStatus)).toEqual([
      'PROVISIONING',
      'PENDING',
      'RUNNING',
      'RUNNING',
      'STOPPED',
    ]);
    expect(standin.ecs.task(taskArn)?.containers[0]).toMatchObject({ exitCode: 137 });
    expect(standin.ecs.task(other)?.lastStatus).toBe('PROVISIONING');
  });

  it('follows a manual plan step by step and keeps a keepRunning task until StopTask', async () => {
    // Prepare
    standin.ecs.setPlan(
      { startedBy: 'prefect-pull' },
      {
        outcome: { kind: 'failToStart', stoppedReason: 'CannotPullContainerError: not found' },
      }
    );
    standin.ecs.setPlan(
      { startedBy: 'prefect-forever' },
      {
        outcome: { kind: 'keepRunning' },
        autoAdvance: { delayMs: 1 },
      }
    );
    const pull = await start('prefect-pull');
    const forever = await start('prefect-forever');
    // Act
    await standin.ecs.advance(pull);
    const failed = await standin.ecs.advance(pull);
    await eventually(() => standin.ecs.task(forever)?.lastStatus === 'RUNNING');
    await new Promise((done) => setTimeout(done, 20));
    const stillRunning = standin.ecs.task(forever)?.lastStatus;
    await ecs.send(new StopTaskCommand({ cluster: 'prefect', task: forever }));
    await eventually(() => standin.ecs.task(forever)?.lastStatus === 'STOPPED');
    // Assess
    expect(failed).toMatchObject({ lastStatus: 'STOPPED', stopCode: 'TaskFailedToStart' });
    expect(stillRunning).toBe('RUNNING');
    expect(standin.ecs.task(forever)).toMatchObject({
      stopCode: 'UserInitiated',
      stoppedReason: 'Task stopped by user',
    });
  });

  it('redelivers an event with the same id, and surfaces a listener error from settled()', async () => {
    // Prepare
    const taskArn = await start();
    await standin.ecs.settled();
    const [first] = eventsOf(taskArn);
    const seen: string[] = [];
    const unsubscribe = standin.subscribe((event) => {
      seen.push(event.id);
      if (event.detail.lastStatus === 'PENDING') throw new Error('listener broke');
    });
    // Act
    if (first) await standin.ecs.redeliver(first);
    const advanced = standin.ecs.advance(taskArn);
    // Assess
    await expect(advanced).rejects.toThrow('listener broke');
    unsubscribe();
    expect(seen[0]).toBe(first?.id);
    expect(standin.events.filter((event) => event.id === first?.id)).toHaveLength(1);
  });
});

describe('ECS stand-in: a default plan for every task (sandbox)', () => {
  it('runs each task to exit 0 with no manual steps', async () => {
    // Prepare
    const standin = await startAwsStandin({ taskPlan: { autoAdvance: { delayMs: 1 } } });
    const ecs = ecsClient(standin);
    const fargate = await setUpFargate(standin, ecs);
    // Act
    const { tasks } = await ecs.send(new RunTaskCommand(fargate.runInput()));
    const taskArn = tasks?.[0]?.taskArn ?? '';
    await eventually(() => standin.ecs.task(taskArn)?.lastStatus === 'STOPPED');
    await standin.ecs.settled();
    ecs.destroy();
    await standin.close();
    // Assess
    expect(standin.events.map((event) => event.detail.lastStatus)).toEqual([
      'PROVISIONING',
      'PENDING',
      'RUNNING',
      'RUNNING',
      'STOPPED',
    ]);
    expect(standin.events.at(-1)?.detail.containers[0]?.exitCode).toBe(0);
  });
});
