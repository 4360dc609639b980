/**
 * Prefect's worker events through the real handlers: the launcher (SQS batch → RunTask → one
 * `POST /events` with the batch's `prefect.worker.submitted-flow-run`), the reporter (STOPPED →
 * `prefect.worker.executed-flow-run`) and the poller (a container's first poll →
 * `prefect.worker.started`), against the Prefect, AWS and SQS stand-ins over HTTP. The Prefect
 * stand-in validates `POST /events` against the server's OpenAPI `Event` schema and keeps one event
 * per id, as the server does. Shapes are checked against test/fixtures/prefect/worker-events.json.
 */
import { randomUUID } from 'node:crypto';
import { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import { ECSClient } from '@aws-sdk/client-ecs';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import {
  DeleteMessageCommand,
  type Message,
  ReceiveMessageCommand,
  SendMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import type { SQSEvent, SQSRecord } from 'aws-lambda';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createLauncherHandler, type LauncherHandler } from '../../functions/launcher/handler.ts';
import { createLauncherDeps } from '../../functions/launcher/launcher-deps.ts';
import { createPollerHandler } from '../../functions/poller/create-handler.ts';
import { createReporterHandler, type ReporterHandler } from '../../functions/reporter/handler.ts';
import { createReporterDeps } from '../../functions/reporter/reporter-deps.ts';
import { DEFAULT_WORKER_NAME, loadConfig } from '../../shared/config.ts';
import { createWorkerEventPublisher } from '../../shared/events/worker-event-publisher.ts';
import { flowRunEventId, WorkerEventName } from '../../shared/events/worker-events.ts';
import { createWorkerStartedAnnouncer } from '../../shared/events/worker-started-announcer.ts';
import { DEFAULT_PREFECT_VERSION } from '../../shared/jobs/resolve-job-configuration.ts';
import { buildLaunchMessage } from '../../shared/launch/launch-message.ts';
import { loadReporterConfig } from '../../shared/report/reporter-config.ts';
import fixture from '../fixtures/prefect/worker-events.json' with { type: 'json' };
import type { AwsStandin, EcsTaskStateChangeEvent } from '../standins/ecs/types.ts';
import {
  type ActorOptions,
  engine,
  proposeState,
  readFlowRun,
  seed,
} from '../standins/prefect/actors.ts';
import type { PrefectStandin } from '../standins/prefect/server.ts';
import type { EventRecord } from '../standins/prefect/store.ts';
import { sqsRecord } from '../standins/sqs/esm-record.ts';
import { type LauncherWorld, startLauncherWorld } from './launcher-world.ts';
import { createMemoryLogger, seedRuns, startPollerWorld, WORKER } from './poller-fixtures.ts';

const API_KEY = 'pnu_worker-events-key';
const POOL = 'ecs-events';
const CLUSTER = 'prefect';
const auth: ActorOptions = { headers: { authorization: `Bearer ${API_KEY}` } };
const WORKER_RESOURCE = {
  'prefect.resource.id': `prefect.worker.ecs.${DEFAULT_WORKER_NAME}`,
  'prefect.resource.name': DEFAULT_WORKER_NAME,
  'prefect.version': DEFAULT_PREFECT_VERSION,
  'prefect.worker-type': 'ecs',
};

let world: LauncherWorld;
let prefect: PrefectStandin;
let aws: AwsStandin;
let sqs: SQSClient;
let queueUrl: string;
let poolId: string;
const clients: { destroy(): void }[] = [];
let reporterHandler: ReporterHandler | undefined;
/** Whether the AWS stand-in's task events reach the reporter as they happen. */
let live = false;
const reporterLog = createMemoryLogger();

beforeAll(async () => {
  world = await startLauncherWorld({
    apiKey: API_KEY,
    pool: POOL,
    cluster: CLUSTER,
    capacityProviders: ['FARGATE'],
  });
  ({ prefect, aws, sqs, queueUrl, poolId } = world);
  reporterHandler = await createReporter();
  aws.subscribe((event) => (live ? reporterHandler?.(event) : undefined));
});

afterAll(async () => {
  for (const client of clients) client.destroy();
  await world?.close();
});

beforeEach(() => {
  prefect.faults.clear();
  reporterLog.lines.length = 0;
});

const environment = () => world.environment();
const endpoint = () => world.awsEndpoint();

/** A launcher as deployed (worker events on by default), with a logger the test reads. */
const createLauncher = async () => {
  const logger = createMemoryLogger();
  const deps = await createLauncherDeps(loadConfig(environment()), {
    logger,
    clients: world.launcherClients(),
    prefectDeps: { sleep: async () => {} },
  });
  return { handler: createLauncherHandler(deps), logger };
};

/** A reporter as deployed (worker events on by default). */
const createReporter = async (): Promise<ReporterHandler> => {
  const ecs = new ECSClient({ ...endpoint(), maxAttempts: 2 });
  const secretsManager = new SecretsManagerClient(endpoint());
  const logs = new CloudWatchLogsClient(endpoint());
  clients.push(ecs, secretsManager, logs);
  const env = environment();
  const deps = await createReporterDeps(
    loadConfig(env, { role: 'reporter' }),
    loadReporterConfig(env),
    {
      logger: reporterLog,
      clients: { ecs, secretsManager, logs: () => logs },
      prefectDeps: { sleep: async () => {} },
    }
  );
  return createReporterHandler(deps);
};

/** A deployment of the pool, tagged, with its own flow. */
const seedDeployment = () =>
  seed.deployment(
    prefect.apiUrl,
    {
      name: `etl-${randomUUID().slice(0, 8)}`,
      workPoolName: POOL,
      tags: ['etl'],
      jobVariables: { cluster: CLUSTER, image: 'acct.dkr.ecr.us-east-1.amazonaws.com/etl:1' },
    },
    auth
  );

/** A scheduled run claimed as the poller claims it; returns the launch message body. */
const claimedRun = async (deploymentId: string) => {
  const run = await seed.flowRun(
    prefect.apiUrl,
    deploymentId,
    { scheduledTime: new Date(), tags: ['adhoc'] },
    auth
  );
  const transitionId = randomUUID();
  const claim = await proposeState(
    prefect.apiUrl,
    run.id,
    { type: 'PENDING', name: 'Pending', state_details: { transition_id: transitionId } },
    false,
    auth
  );
  expect(claim.status).toBe('ACCEPT');
  const message = buildLaunchMessage({
    flowRunId: run.id,
    workPool: POOL,
    transitionId,
    scheduledTime: new Date(),
    claimedAt: String(claim.state?.timestamp),
  });
  return { run, transitionId, body: JSON.stringify(message) };
};

const enqueue = async (bodies: readonly string[]): Promise<Message[]> => {
  const ids = new Set<string>();
  for (const body of bodies) {
    const sent = await sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: body }));
    ids.add(sent.MessageId ?? '');
  }
  const received: Message[] = [];
  for (let round = 0; round < 50 && received.length < ids.size; round++) {
    const { Messages = [] } = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: queueUrl,
        MaxNumberOfMessages: 10,
        WaitTimeSeconds: 0,
        MessageSystemAttributeNames: ['All'],
      })
    );
    received.push(...Messages.filter((message) => ids.has(message.MessageId ?? '')));
  }
  expect(received).toHaveLength(ids.size);
  return received;
};

const toRecord = (message: Message): SQSRecord =>
  sqsRecord(message, { arn: world.sqsStandin.queues.launch?.arn ?? '' });

/** Invokes the handler as the event source mapping does; returns the Prefect requests it made. */
const invoke = async (handler: LauncherHandler, messages: readonly Message[]) => {
  const before = prefect.requests.length;
  const started = performance.now();
  const response = await handler({ Records: messages.map(toRecord) } satisfies SQSEvent);
  const ms = performance.now() - started;
  for (const message of messages) {
    await sqs
      .send(new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: message.ReceiptHandle }))
      .catch(() => undefined);
  }
  return {
    failed: response.batchItemFailures.map((failure) => failure.itemIdentifier),
    requests: prefect.requests.slice(before),
    ms,
  };
};

const eventsOf = (name: string, flowRunId: string): EventRecord[] =>
  prefect.events.filter(
    (event) =>
      event.event === name &&
      event.related.some((r) => r['prefect.resource.id'] === `prefect.flow-run.${flowRunId}`)
  );

const taskOf = (flowRunId: string) => {
  const tasks = aws.ecs.tasks().filter((task) => task.startedBy === `prefect/${flowRunId}`);
  expect(tasks).toHaveLength(1);
  return tasks[0]?.taskArn ?? '';
};

describe('worker events: the launcher', () => {
  it('sends one POST /events per SQS batch, after the launches, with one submitted-flow-run per attempt shaped as Prefect’s', async () => {
    // Prepare
    const { handler } = await createLauncher();
    const deployment = await seedDeployment();
    const runs = await Promise.all([1, 2, 3].map(() => claimedRun(deployment.id)));
    const messages = await enqueue(runs.map((run) => run.body));
    // Act
    const { failed, requests } = await invoke(handler, messages);
    // Assess
    expect(failed).toEqual([]);
    const posts = requests.filter((r) => r.method === 'POST' && r.path === '/events');
    expect(posts).toHaveLength(1);
    expect(posts[0]?.status).toBe(204);
    expect(posts[0]?.body).toHaveLength(3);
    // The POST is the invocation's last Prefect call: every run's pid was recorded before it.
    expect(requests.at(-1)?.path).toBe('/events');
    const flow = (await readFlowRun(prefect.apiUrl, runs[0]?.run.id ?? '', auth)).flow_id;
    for (const { run, transitionId } of runs) {
      const [event, ...more] = eventsOf(WorkerEventName.SubmittedFlowRun, run.id);
      expect(more).toEqual([]);
      expect(event?.id).toBe(
        flowRunEventId(WorkerEventName.SubmittedFlowRun, run.id, transitionId)
      );
      expect(event?.resource).toEqual(WORKER_RESOURCE);
      expect(event?.payload).toEqual({});
      expect(event?.follows).toBeNull();
      expect(event?.related).toEqual([
        {
          'prefect.resource.id': `prefect.deployment.${deployment.id}`,
          'prefect.resource.role': 'deployment',
          'prefect.resource.name': deployment.name,
        },
        {
          'prefect.resource.id': `prefect.flow.${flow}`,
          'prefect.resource.role': 'flow',
          'prefect.resource.name': `${deployment.name}-flow`,
        },
        {
          'prefect.resource.id': `prefect.flow-run.${run.id}`,
          'prefect.resource.role': 'flow-run',
          'prefect.resource.name': run.name,
        },
        { 'prefect.resource.id': 'prefect.tag.adhoc', 'prefect.resource.role': 'tag' },
        { 'prefect.resource.id': 'prefect.tag.etl', 'prefect.resource.role': 'tag' },
        {
          'prefect.resource.id': `prefect.work-pool.${poolId}`,
          'prefect.resource.role': 'work-pool',
          'prefect.resource.name': POOL,
        },
      ]);
      const roles = event?.related.map((r) => r['prefect.resource.role']);
      expect([...new Set(roles)].map((role) => (role === 'tag' ? 'tag*' : role))).toEqual(
        fixture.events[WorkerEventName.SubmittedFlowRun].related_roles
      );
    }
  });

  it('adds no second submitted-flow-run when the launch is delivered again', async () => {
    // Prepare
    const { handler } = await createLauncher();
    const deployment = await seedDeployment();
    const { run, body } = await claimedRun(deployment.id);
    await invoke(handler, await enqueue([body]));
    // Act
    const again = await invoke(handler, await enqueue([body]));
    // Assess
    expect(again.failed).toEqual([]);
    expect(again.requests.filter((r) => r.path === '/events')).toEqual([]);
    expect(eventsOf(WorkerEventName.SubmittedFlowRun, run.id)).toHaveLength(1);
  });

  it('sends the same event, not a second one, when two launchers launch the same attempt at once', async () => {
    // Prepare
    const [first, second] = await Promise.all([createLauncher(), createLauncher()]);
    const deployment = await seedDeployment();
    const { run, body } = await claimedRun(deployment.id);
    const messages = await enqueue([body]);
    const before = prefect.requests.length;
    // Act
    await Promise.all([invoke(first.handler, messages), invoke(second.handler, messages)]);
    // Assess: whichever of them sent it, the server holds one event for the attempt.
    const sent = prefect.requests
      .slice(before)
      .filter((r) => r.path === '/events')
      .flatMap((r) => r.body as { id: string }[]);
    expect(sent.length).toBeGreaterThanOrEqual(1);
    expect(new Set(sent.map((event) => event.id)).size).toBe(1);
    expect(eventsOf(WorkerEventName.SubmittedFlowRun, run.id)).toHaveLength(1);
  });

  it('launches as usual when POST /events fails, logging what it dropped', async () => {
    // Prepare
    const { handler, logger } = await createLauncher();
    const deployment = await seedDeployment();
    const { run, body } = await claimedRun(deployment.id);
    prefect.faults.inject({ method: 'POST', path: '/events', status: 500, times: 10 });
    // Act
    const { failed } = await invoke(handler, await enqueue([body]));
    // Assess
    expect(failed).toEqual([]);
    const after = await readFlowRun(prefect.apiUrl, run.id, auth);
    expect(after.infrastructure_pid).toBe(`${CLUSTER}::${taskOf(run.id)}`);
    expect(eventsOf(WorkerEventName.SubmittedFlowRun, run.id)).toEqual([]);
    const dropped = logger.lines.filter((line) => line.message.startsWith('Could not send worker'));
    expect(dropped).toEqual([
      expect.objectContaining({
        level: 'warn',
        message: 'Could not send worker events to Prefect; they are dropped',
        attributes: expect.objectContaining({
          events: 1,
          event_names: [WorkerEventName.SubmittedFlowRun],
        }),
      }),
    ]);
  });

  it('waits for a slow POST /events no longer than its budget, after the launch is recorded', async () => {
    // Prepare
    const { handler } = await createLauncher();
    const deployment = await seedDeployment();
    const { run, body } = await claimedRun(deployment.id);
    let pidAtEvents: string | null | undefined;
    prefect.faults.inject({
      method: 'POST',
      path: '/events',
      onFire: async () => {
        pidAtEvents = (await readFlowRun(prefect.apiUrl, run.id, auth)).infrastructure_pid;
        await new Promise((resolve) => setTimeout(resolve, 6_000));
      },
    });
    // Act
    const { failed, ms } = await invoke(handler, await enqueue([body]));
    // Assess: the launch was complete when the events were sent, and the handler gave up at 2 s.
    expect(failed).toEqual([]);
    expect(pidAtEvents).toBe(`${CLUSTER}::${taskOf(run.id)}`);
    expect(ms).toBeLessThan(4_500);
  });
});

describe('worker events: the reporter', () => {
  beforeAll(() => {
    live = true;
  });
  afterAll(() => {
    live = false;
  });

  /** Launches one run through the launcher; returns it with its attempt and task. */
  const launched = async () => {
    const { handler } = await createLauncher();
    const deployment = await seedDeployment();
    const { run, transitionId, body } = await claimedRun(deployment.id);
    await invoke(handler, await enqueue([body]));
    await aws.ecs.settled();
    return { run, transitionId, taskArn: taskOf(run.id) };
  };

  const withoutInfrastructure = (related: readonly Record<string, string>[]) =>
    related.map(
      ({
        'prefect.infrastructure.identifier': _identifier,
        'prefect.infrastructure.status-code': _status,
        ...rest
      }) => rest
    );

  it('sends executed-flow-run when the task stops, with the pid and exit code, following the submitted event', async () => {
    // Prepare
    const { run, transitionId, taskArn } = await launched();
    await aws.ecs.advance(taskArn, 'RUNNING');
    await engine.start(prefect.apiUrl, run.id, auth);
    await engine.complete(prefect.apiUrl, run.id, auth);
    // Act
    await aws.ecs.runToCompletion(taskArn, { exitCode: 0 });
    await aws.ecs.settled();
    // Assess
    const [submitted] = eventsOf(WorkerEventName.SubmittedFlowRun, run.id);
    const executed = eventsOf(WorkerEventName.ExecutedFlowRun, run.id);
    expect(executed).toHaveLength(1);
    const [event] = executed;
    expect(event?.id).toBe(flowRunEventId(WorkerEventName.ExecutedFlowRun, run.id, transitionId));
    expect(event?.follows).toBe(submitted?.id);
    expect(event?.resource).toEqual(WORKER_RESOURCE);
    expect(event?.payload).toEqual({});
    const flowRun = event?.related.find((r) => r['prefect.resource.role'] === 'flow-run');
    expect(flowRun).toMatchObject({
      'prefect.infrastructure.identifier': `${CLUSTER}::${taskArn}`,
      'prefect.infrastructure.status-code': '0',
    });
    // The same related resources as at submission (names from the task's environment).
    expect(withoutInfrastructure(event?.related ?? [])).toEqual(submitted?.related);
  });

  it('reports the flow container’s exit code, and -1 for a task that never started it', async () => {
    // Prepare
    const failing = await launched();
    const unstarted = await launched();
    // Act
    await aws.ecs.runToCompletion(failing.taskArn, { exitCode: 1 });
    await aws.ecs.failToStart(unstarted.taskArn, {
      stoppedReason: 'CannotPullContainerError: pull image manifest has been retried 7 time(s)',
    });
    await aws.ecs.settled();
    // Assess
    const status = (flowRunId: string) =>
      eventsOf(WorkerEventName.ExecutedFlowRun, flowRunId)[0]?.related.find(
        (r) => r['prefect.resource.role'] === 'flow-run'
      )?.['prefect.infrastructure.status-code'];
    expect(status(failing.run.id)).toBe('1');
    expect(status(unstarted.run.id)).toBe('-1');
    expect((await readFlowRun(prefect.apiUrl, failing.run.id, auth)).state?.type).toBe('CRASHED');
  });

  it('keeps one executed-flow-run when EventBridge delivers the STOPPED event twice', async () => {
    // Prepare
    const { run, taskArn } = await launched();
    const stopped: EcsTaskStateChangeEvent[] = [];
    const unsubscribe = aws.subscribe((event) => {
      if (event.detail.lastStatus === 'STOPPED') stopped.push(event);
    });
    await aws.ecs.runToCompletion(taskArn, { exitCode: 0 });
    await aws.ecs.settled();
    unsubscribe();
    expect(stopped).toHaveLength(1);
    const before = prefect.requests.length;
    // Act
    await reporterHandler?.(stopped[0]);
    // Assess: sent again, stored once.
    expect(
      prefect.requests.slice(before).filter((r) => r.method === 'POST' && r.path === '/events')
    ).toHaveLength(1);
    expect(eventsOf(WorkerEventName.ExecutedFlowRun, run.id)).toHaveLength(1);
  });

  it('reports the stopped task as usual when POST /events fails', async () => {
    // Prepare
    const { run, taskArn } = await launched();
    prefect.faults.inject({ method: 'POST', path: '/events', status: 503, times: 10 });
    // Act
    await aws.ecs.runToCompletion(taskArn, { exitCode: 1 });
    await aws.ecs.settled();
    // Assess
    expect((await readFlowRun(prefect.apiUrl, run.id, auth)).state?.type).toBe('CRASHED');
    expect(eventsOf(WorkerEventName.ExecutedFlowRun, run.id)).toEqual([]);
    expect(reporterLog.lines.filter((line) => line.level === 'error')).toEqual([]);
    expect(reporterLog.lines).toContainEqual(
      expect.objectContaining({
        level: 'warn',
        message: 'Could not send worker events to Prefect; they are dropped',
      })
    );
  });
});

describe('worker events: the poller', () => {
  it('announces prefect.worker.started once per container and pool, on its first poll', async () => {
    // Prepare
    const world = await startPollerWorld({ clock: 'real' });
    try {
      const { deployment } = await seedRuns(world, { count: 0 });
      expect(deployment.id).toBeDefined();
      const pool = await world.admin.readWorkPool('ecs-pool');
      const container = (instance: string) => {
        const client = world.pollerClient();
        const announcer = createWorkerStartedAnnouncer({
          publisher: createWorkerEventPublisher({
            worker: { name: WORKER, prefectVersion: DEFAULT_PREFECT_VERSION },
            emitEvents: client.emitEvents,
            logger: createMemoryLogger(),
          }),
          instance,
          startedAt: new Date(),
        });
        const deps = world.deps({ prefect: announcer.observe(client) });
        return createPollerHandler(async () => deps, deps.logger, { workerStarted: announcer });
      };
      const first = container('container-1');
      const second = container('container-2');
      const invocation = {}; // a direct invocation: one poll of every pool
      // Act
      await first(invocation);
      await first(invocation);
      await second(invocation);
      // Assess
      const started = world.prefect.events.filter((e) => e.event === WorkerEventName.Started);
      expect(started).toHaveLength(2);
      expect(new Set(started.map((e) => e.id)).size).toBe(2);
      for (const event of started) {
        expect(event.resource).toEqual({
          'prefect.resource.id': `prefect.worker.ecs.${WORKER}`,
          'prefect.resource.name': WORKER,
          'prefect.version': DEFAULT_PREFECT_VERSION,
          'prefect.worker-type': 'ecs',
        });
        expect(event.related).toEqual([
          {
            'prefect.resource.id': `prefect.work-pool.${pool.id}`,
            'prefect.resource.role': 'work-pool',
            'prefect.resource.name': 'ecs-pool',
          },
        ]);
        expect(event.payload).toEqual({});
      }
      expect(
        world.prefect.requests.filter((r) => r.method === 'POST' && r.path === '/events')
      ).toHaveLength(2);
    } finally {
      await world.close();
    }
  });
});
