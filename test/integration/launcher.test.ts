/**
 * The launcher end to end through the real code path: handler → shared → real SDK clients and the
 * Prefect client → the Prefect, AWS (ECS, EC2, Secrets Manager) and SQS stand-ins over HTTP.
 * Each scenario seeds its own deployment and runs, claims them as the poller does (PENDING with a
 * known transition id), enqueues the launch messages on the real queue, receives them, and invokes
 * the handler with the SQS event Lambda would build; acknowledged records are deleted, as the
 * event source mapping does.
 */
import { randomUUID } from 'node:crypto';
import { Logger } from '@aws-lambda-powertools/logger';
import {
  ChangeMessageVisibilityCommand,
  DeleteMessageCommand,
  type Message,
  ReceiveMessageCommand,
  SendMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import type { SQSEvent, SQSRecord } from 'aws-lambda';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { createLauncherHandler, type LauncherHandler } from '../../functions/launcher/handler.ts';
import { createLauncherDeps } from '../../functions/launcher/launcher-deps.ts';
import { loadConfig } from '../../shared/config.ts';
import { claimClientToken } from '../../shared/ecs/client-token.ts';
import { DEREGISTER_TAG_KEY } from '../../shared/ecs/ecs-tags.ts';
import { buildLaunchMessage } from '../../shared/launch/launch-message.ts';
import { claimLabels } from '../../shared/poll/run-labels.ts';
import type { AwsStandin } from '../standins/ecs/types.ts';
import {
  type ActorOptions,
  labelFlowRun,
  proposeState,
  readFlowRun,
  readWorkPool,
  seed,
  user,
} from '../standins/prefect/actors.ts';
import type { PrefectStandin } from '../standins/prefect/server.ts';
import { sqsRecord } from '../standins/sqs/esm-record.ts';
import { type LauncherWorld, startLauncherWorld } from './launcher-world.ts';

const API_KEY = 'pnu_launcher-integration-key';
const POOL = 'ecs-serverless';
const CLUSTER = 'prefect';
const auth: ActorOptions = { headers: { authorization: `Bearer ${API_KEY}` } };

let world: LauncherWorld;
let prefect: PrefectStandin;
let aws: AwsStandin;
let sqs: SQSClient;
let queueUrl: string;
let secretArn: string;

/** JSON log lines Powertools wrote (stdout and stderr), captured per test. */
const logLines: Record<string, unknown>[] = [];

const captureLogs = () => {
  for (const stream of [process.stdout, process.stderr]) {
    const original = stream.write.bind(stream);
    vi.spyOn(stream, 'write').mockImplementation(((chunk: unknown, ...rest: unknown[]) => {
      const text = String(chunk);
      if (text.startsWith('{"level"')) {
        for (const line of text.trim().split('\n')) logLines.push(JSON.parse(line));
        return true;
      }
      return (original as (...args: unknown[]) => boolean)(chunk, ...rest);
    }) as typeof stream.write);
  }
};

beforeAll(async () => {
  world = await startLauncherWorld({
    apiKey: API_KEY,
    pool: POOL,
    cluster: CLUSTER,
    capacityProviders: ['FARGATE', 'FARGATE_SPOT'],
  });
  ({ prefect, aws, sqs, queueUrl, secretArn } = world);
});

afterAll(async () => {
  await world?.close();
});

beforeEach(() => {
  prefect.faults.clear();
  logLines.length = 0;
  vi.restoreAllMocks();
  captureLogs();
});

/** A launcher as deployed: config from the environment, real SDK clients aimed at the stand-ins. */
const createLauncher = async (
  env: Record<string, string> = {}
): Promise<{ handler: LauncherHandler }> => {
  const deps = await createLauncherDeps(loadConfig(world.environment(env)), {
    logger: new Logger({ serviceName: 'launcher-test', logLevel: 'DEBUG' }),
    clients: world.launcherClients(),
    prefectDeps: { sleep: async () => {} },
  });
  return { handler: createLauncherHandler(deps) };
};

/** A deployment of the pool with its own flow. */
const seedDeployment = (jobVariables: Record<string, unknown> = {}, name = randomUUID()) =>
  seed.deployment(
    prefect.apiUrl,
    {
      name,
      workPoolName: POOL,
      jobVariables: {
        cluster: CLUSTER,
        image: 'acct.dkr.ecr.us-east-1.amazonaws.com/etl:1',
        ...jobVariables,
      },
    },
    auth
  );

/** A scheduled run of the deployment, claimed as the poller claims it; returns the message body. */
const claimedRun = async (deploymentId: string) => {
  const run = await seed.flowRun(prefect.apiUrl, deploymentId, { scheduledTime: new Date() }, auth);
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

/** Claims a run again as the poller does after a retry or reschedule (a new attempt). */
const claimAgain = async (flowRunId: string) => {
  const transitionId = randomUUID();
  const claim = await proposeState(
    prefect.apiUrl,
    flowRunId,
    { type: 'PENDING', name: 'Pending', state_details: { transition_id: transitionId } },
    false,
    auth
  );
  expect(claim.status).toBe('ACCEPT');
  const message = buildLaunchMessage({
    flowRunId,
    workPool: POOL,
    transitionId,
    scheduledTime: new Date(),
    claimedAt: String(claim.state?.timestamp),
  });
  return { transitionId, body: JSON.stringify(message) };
};

/** Sends bodies to the launch queue and receives exactly those messages. */
const enqueue = async (bodies: readonly string[]): Promise<Message[]> => {
  const ids = new Set<string>();
  for (const body of bodies) {
    const sent = await sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: body }));
    ids.add(sent.MessageId ?? '');
  }
  return receive(ids);
};

const receive = async (ids: ReadonlySet<string>): Promise<Message[]> => {
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

/** Makes failed messages visible at once (as if their retry delay had passed) and receives them. */
const redeliver = async (messages: readonly Message[]): Promise<Message[]> => {
  for (const message of messages) {
    await sqs.send(
      new ChangeMessageVisibilityCommand({
        QueueUrl: queueUrl,
        ReceiptHandle: message.ReceiptHandle,
        VisibilityTimeout: 0,
      })
    );
  }
  return receive(new Set(messages.map((message) => message.MessageId ?? '')));
};

const toRecord = (message: Message): SQSRecord =>
  sqsRecord(message, { arn: world.sqsStandin.queues.launch?.arn ?? '' });

/** Invokes the handler as Lambda's event source mapping does, deleting acknowledged records. */
const invoke = async (handler: LauncherHandler, messages: readonly Message[]) => {
  const event: SQSEvent = { Records: messages.map(toRecord) };
  const response = await handler(event);
  const failed = new Set(response.batchItemFailures.map((failure) => failure.itemIdentifier));
  for (const message of messages) {
    if (failed.has(message.MessageId ?? '')) continue;
    await sqs
      .send(new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: message.ReceiptHandle }))
      .catch(() => undefined);
  }
  return { failed: [...failed] };
};

const tasksOf = (flowRunId: string) =>
  aws.ecs.tasks().filter((task) => task.startedBy === `prefect/${flowRunId}`);

const runTaskCallsFor = (flowRunId: string) =>
  aws
    .callsTo('RunTask')
    .filter((call) => (call.input as { startedBy?: string }).startedBy === `prefect/${flowRunId}`);

const prefectRequestsFor = (flowRunId: string) =>
  prefect.requests.filter(
    (request) =>
      request.path.includes(flowRunId) ||
      (request.path === '/logs/' && JSON.stringify(request.body).includes(flowRunId))
  );

const logsFor = (flowRunId: string) =>
  prefect.logs.filter((line) => line.flow_run_id === flowRunId);

describe('launcher: one launch', () => {
  it('starts exactly one task, records infrastructure_pid and logs the task to Prefect', async () => {
    // Prepare
    const { handler } = await createLauncher();
    const deployment = await seedDeployment();
    const { run, body, transitionId } = await claimedRun(deployment.id);
    const messages = await enqueue([body]);
    // Act
    const response = await invoke(handler, messages);
    // Assess
    expect(response.failed).toEqual([]);
    const calls = runTaskCallsFor(run.id);
    expect(calls).toHaveLength(1);
    const input = calls[0]?.input as Record<string, unknown>;
    expect(input.clientToken).toBe(claimClientToken(run.id, transitionId));
    expect(input.startedBy).toBe(`prefect/${run.id}`);
    expect(input.cluster).toBe(CLUSTER);
    const [task] = tasksOf(run.id);
    expect(tasksOf(run.id)).toHaveLength(1);
    const after = await readFlowRun(prefect.apiUrl, run.id, auth);
    expect(after.infrastructure_pid).toBe(`${CLUSTER}::${task?.taskArn}`);
    expect(after.state_type).toBe('PENDING');
    expect(after.labels).toMatchObject({
      'prefect.worker.name': 'prefect-ecs-serverless',
      'prefect.worker.type': 'ecs',
      'prefect.work-pool.name': POOL,
    });
    const launchLog = logsFor(run.id).find((line) => line.message.includes('Created ECS task'));
    expect(launchLog?.message).toContain(task?.taskArn ?? 'no task');
    expect(launchLog?.message).toContain(task?.taskDefinitionArn ?? 'no task definition');
    expect(launchLog?.name).toBe('prefect.flow_runs.worker');
  });

  it('gives the task the Prefect API key only as a task-definition secret', async () => {
    // Prepare
    const { handler } = await createLauncher();
    const deployment = await seedDeployment({ image: `etl:${randomUUID().slice(0, 8)}` });
    const { run, body } = await claimedRun(deployment.id);
    // Act
    await invoke(handler, await enqueue([body]));
    // Assess
    const [task] = tasksOf(run.id);
    const registration = aws
      .callsTo('RegisterTaskDefinition')
      .find(
        (call) =>
          (call.output as { taskDefinition?: { taskDefinitionArn?: string } })?.taskDefinition
            ?.taskDefinitionArn === task?.taskDefinitionArn
      );
    const input = registration?.input as
      | { containerDefinitions: Record<string, unknown>[] }
      | undefined;
    const container = input?.containerDefinitions[0];
    expect(container?.secrets).toEqual([{ name: 'PREFECT_API_KEY', valueFrom: secretArn }]);
    expect(JSON.stringify(runTaskCallsFor(run.id)[0]?.input)).not.toContain(API_KEY);
    expect(JSON.stringify(registration?.input)).not.toContain(API_KEY);
  });

  it('reads the key from an SSM SecureString parameter (the default) and injects the parameter ARN', async () => {
    // Prepare: the stack's default credential store; the reader finds SSM through its endpoint variable
    const parameterArn = aws.parameters.putSecureString(
      `/prefect-ecs-serverless/test/${randomUUID().slice(0, 8)}/prefect-api-key`,
      API_KEY
    );
    vi.stubEnv('AWS_ENDPOINT_URL_SSM', aws.url);
    try {
      const { handler } = await createLauncher({ PREFECT_API_KEY_SECRET_ARN: parameterArn });
      const deployment = await seedDeployment({ image: `etl:${randomUUID().slice(0, 8)}` });
      const { run, body } = await claimedRun(deployment.id);
      // Act
      await invoke(handler, await enqueue([body]));
      // Assess
      const [task] = tasksOf(run.id);
      expect(task?.lastStatus).toBeDefined();
      const reads = aws.calls.filter((call) => call.service === 'ssm');
      expect(reads.map((call) => [call.operation, call.input])).toEqual([
        ['GetParameter', { Name: parameterArn, WithDecryption: true }],
      ]);
      const registration = aws
        .callsTo('RegisterTaskDefinition')
        .find(
          (call) =>
            (call.output as { taskDefinition?: { taskDefinitionArn?: string } })?.taskDefinition
              ?.taskDefinitionArn === task?.taskDefinitionArn
        );
      const output = registration?.output as
        | {
            taskDefinition: {
              containerDefinitions: Record<string, unknown>[];
              requiresAttributes?: { name: string }[];
            };
          }
        | undefined;
      expect(output?.taskDefinition.containerDefinitions[0]?.secrets).toEqual([
        { name: 'PREFECT_API_KEY', valueFrom: parameterArn },
      ]);
      expect(output?.taskDefinition.requiresAttributes).toContainEqual({
        name: 'ecs.capability.secrets.ssm.environment-variables',
      });
      expect(JSON.stringify(registration?.input)).not.toContain(API_KEY);
    } finally {
      vi.unstubAllEnvs();
    }
  });

  it('logs every line of a record with its flow_run_id', async () => {
    // Prepare
    const { handler } = await createLauncher();
    const deployment = await seedDeployment();
    const { run, body } = await claimedRun(deployment.id);
    // Act
    await invoke(handler, await enqueue([body]));
    // Assess
    const lines = logLines.filter((line) => line.service === 'launcher-test');
    expect(lines.length).toBeGreaterThan(0);
    expect(lines.every((line) => line.flow_run_id === run.id)).toBe(true);
  });
});

describe('launcher: exactly one task per claim', () => {
  it('starts one task when the same message is delivered three times', async () => {
    // Prepare
    const { handler } = await createLauncher();
    const deployment = await seedDeployment();
    const { run, body } = await claimedRun(deployment.id);
    const messages = await enqueue([body]);
    // Act
    for (let i = 0; i < 3; i++) await invoke(handler, messages);
    // Assess: each delivery asks ECS with the attempt's token and gets the same task back; only
    // the first records it and logs it.
    expect(tasksOf(run.id)).toHaveLength(1);
    const tokens = runTaskCallsFor(run.id).map(
      (call) => (call.input as { clientToken?: string }).clientToken
    );
    expect(tokens).toHaveLength(3);
    expect(new Set(tokens).size).toBe(1);
    const after = await readFlowRun(prefect.apiUrl, run.id, auth);
    expect(after.infrastructure_pid).toBe(`${CLUSTER}::${tasksOf(run.id)[0]?.taskArn}`);
    const pidWrites = prefectRequestsFor(run.id).filter(
      (request) => request.method === 'PATCH' && request.path === `/flow_runs/${run.id}`
    );
    expect(pidWrites).toHaveLength(1);
    expect(logsFor(run.id).filter((line) => /Created ECS task/.test(line.message))).toHaveLength(1);
  });

  it('starts one task when two launchers take the same message at once', async () => {
    // Prepare
    const [first, second] = await Promise.all([createLauncher(), createLauncher()]);
    const deployment = await seedDeployment();
    const { run, body } = await claimedRun(deployment.id);
    const messages = await enqueue([body]);
    const event: SQSEvent = { Records: messages.map(toRecord) };
    // Act
    const responses = await Promise.all([first.handler(event), second.handler(event)]);
    // Assess
    expect(responses.map((response) => response.batchItemFailures)).toEqual([[], []]);
    expect(tasksOf(run.id)).toHaveLength(1);
    const after = await readFlowRun(prefect.apiUrl, run.id, auth);
    expect(after.infrastructure_pid).toBe(`${CLUSTER}::${tasksOf(run.id)[0]?.taskArn}`);
  });

  it('starts no second task when a launcher died after RunTask, before recording the pid', async () => {
    // Prepare
    const { handler } = await createLauncher();
    const deployment = await seedDeployment();
    const { run, body } = await claimedRun(deployment.id);
    const messages = await enqueue([body]);
    prefect.faults.inject({ method: 'PATCH', path: `/flow_runs/${run.id}`, status: 500 });
    // Act
    const crashed = await invoke(handler, messages);
    const before = await readFlowRun(prefect.apiUrl, run.id, auth);
    const again = await invoke(handler, await redeliver(messages));
    // Assess
    expect(crashed.failed).toEqual(messages.map((message) => message.MessageId));
    expect(before.infrastructure_pid).toBeNull();
    expect(again.failed).toEqual([]);
    expect(tasksOf(run.id)).toHaveLength(1);
    expect(runTaskCallsFor(run.id)).toHaveLength(2);
    const after = await readFlowRun(prefect.apiUrl, run.id, auth);
    expect(after.infrastructure_pid).toBe(`${CLUSTER}::${tasksOf(run.id)[0]?.taskArn}`);
  });

  it('adopts the live task when the redelivery renders another request (ConflictException)', async () => {
    // Prepare: the launcher dies after RunTask; the deployment's image changes before redelivery.
    const { handler } = await createLauncher();
    const name = randomUUID();
    const deployment = await seedDeployment({}, name);
    const { run, body } = await claimedRun(deployment.id);
    const messages = await enqueue([body]);
    prefect.faults.inject({ method: 'PATCH', path: `/flow_runs/${run.id}`, status: 500 });
    await invoke(handler, messages);
    await seed.deployment(
      prefect.apiUrl,
      {
        name,
        flowName: `${name}-flow`,
        workPoolName: POOL,
        jobVariables: { cluster: CLUSTER, image: 'acct.dkr.ecr.us-east-1.amazonaws.com/etl:9' },
      },
      auth
    );
    // Act
    const again = await invoke(handler, await redeliver(messages));
    // Assess
    expect(again.failed).toEqual([]);
    expect(runTaskCallsFor(run.id).map((call) => call.error?.code)).toEqual([
      undefined,
      'ConflictException',
    ]);
    expect(tasksOf(run.id)).toHaveLength(1);
    const after = await readFlowRun(prefect.apiUrl, run.id, auth);
    expect(after.infrastructure_pid).toBe(`${CLUSTER}::${tasksOf(run.id)[0]?.taskArn}`);
  });

  it('starts a new task when a crashed run is retried, whatever pid the first attempt left', async () => {
    // Prepare: a run launched and crashed; the user presses Retry (forced AwaitingRetry; Prefect
    // keeps the old infrastructure_pid) and the poller claims it again.
    const { handler } = await createLauncher();
    const deployment = await seedDeployment();
    const first = await claimedRun(deployment.id);
    await invoke(handler, await enqueue([first.body]));
    const [oldTask] = tasksOf(first.run.id);
    await aws.ecs.runToCompletion(oldTask?.taskArn ?? '', { exitCode: 1 });
    await proposeState(
      prefect.apiUrl,
      first.run.id,
      { type: 'CRASHED', name: 'Crashed' },
      false,
      auth
    );
    expect((await user.retry(prefect.apiUrl, first.run.id, auth)).status).toBe('ACCEPT');
    const retried = await readFlowRun(prefect.apiUrl, first.run.id, auth);
    expect(retried.infrastructure_pid).toBe(`${CLUSTER}::${oldTask?.taskArn}`);
    const second = await claimAgain(first.run.id);
    // Act
    const response = await invoke(handler, await enqueue([second.body]));
    // Assess
    expect(response.failed).toEqual([]);
    const tasks = tasksOf(first.run.id);
    expect(tasks).toHaveLength(2);
    const newTask = tasks.find((task) => task.taskArn !== oldTask?.taskArn);
    expect(newTask?.lastStatus).not.toBe('STOPPED');
    expect(newTask?.clientToken).toBe(claimClientToken(first.run.id, second.transitionId));
    const after = await readFlowRun(prefect.apiUrl, first.run.id, auth);
    expect(after.infrastructure_pid).toBe(`${CLUSTER}::${newTask?.taskArn}`);
  });

  it('launches a message of the previous release (no claimed_at), finding again a task its launcher started', async () => {
    // Prepare: the previous launcher ran RunTask with the flow run id as token, then died.
    const { handler } = await createLauncher();
    const deployment = await seedDeployment();
    const { run, transitionId } = await claimedRun(deployment.id);
    const legacyBody = JSON.stringify({
      flow_run_id: run.id,
      work_pool: POOL,
      transition_id: transitionId,
      scheduled_time: new Date().toISOString(),
      attempt: 1,
    });
    const messages = await enqueue([legacyBody]);
    prefect.faults.inject({ method: 'PATCH', path: `/flow_runs/${run.id}`, status: 500 });
    expect((await invoke(handler, messages)).failed).toHaveLength(1);
    const [task] = tasksOf(run.id);
    // Act: the same old-shape message delivered again
    const response = await invoke(handler, await redeliver(messages));
    // Assess: its token was the flow run id, and no second task was started
    expect(response.failed).toEqual([]);
    expect(task?.clientToken).toBe(run.id);
    expect(tasksOf(run.id)).toHaveLength(1);
    const after = await readFlowRun(prefect.apiUrl, run.id, auth);
    expect(after.infrastructure_pid).toBe(`${CLUSTER}::${task?.taskArn}`);
  });
});

describe('launcher: task definitions are registered by content', () => {
  it('registers one task definition for 100 runs, and exactly one more for a new image', async () => {
    // Prepare
    const { handler } = await createLauncher();
    const name = randomUUID();
    const deployment = await seedDeployment({}, name);
    const claimed = [];
    for (let i = 0; i < 100; i++) claimed.push(await claimedRun(deployment.id));
    const registrationsBefore = aws.callsTo('RegisterTaskDefinition').length;
    const ecsCallsBefore = aws.calls.filter((call) => call.service === 'ecs').length;
    const prefectBefore = prefect.requests.length;
    // Act
    for (let i = 0; i < claimed.length; i += 10) {
      const batch = claimed.slice(i, i + 10);
      const response = await invoke(handler, await enqueue(batch.map((run) => run.body)));
      expect(response.failed).toEqual([]);
    }
    const registrations = aws.callsTo('RegisterTaskDefinition').length - registrationsBefore;
    const ecsCalls = aws.calls.filter((call) => call.service === 'ecs').length - ecsCallsBefore;
    const prefectCalls = prefect.requests.length - prefectBefore;
    await seed.deployment(
      prefect.apiUrl,
      {
        name,
        flowName: `${name}-flow`,
        workPoolName: POOL,
        jobVariables: { cluster: CLUSTER, image: 'acct.dkr.ecr.us-east-1.amazonaws.com/etl:2' },
      },
      auth
    );
    const next = [await claimedRun(deployment.id), await claimedRun(deployment.id)];
    await invoke(handler, await enqueue(next.map((run) => run.body)));
    // Assess
    expect(registrations).toBe(1);
    expect(aws.callsTo('RegisterTaskDefinition').length - registrationsBefore).toBe(2);
    for (const { run } of [...claimed, ...next]) expect(tasksOf(run.id)).toHaveLength(1);
    // Steady state: RunTask only (the first run adds one Describe and one Register).
    expect(ecsCalls).toBe(100 + 2);
    // readFlowRun, readDeployment, labels (no poller wrote them here), readFlowRun after RunTask,
    // updateFlowRun, logs (+ flow and pool once), and one POST /events per batch of 10.
    expect(prefectCalls).toBe(100 * 6 + 2 + 10);
    console.info(
      `100 runs: ${registrations} registration(s), ${ecsCalls} ECS calls, ${prefectCalls} Prefect calls`
    );
  });
});

describe('launcher: failures', () => {
  it('retries a throttled RunTask later and then launches', async () => {
    // Prepare
    const { handler } = await createLauncher();
    const deployment = await seedDeployment();
    const { run, body } = await claimedRun(deployment.id);
    const messages = await enqueue([body]);
    aws.ecs.throttle('RunTask', 2);
    // Act
    const first = await invoke(handler, messages);
    const hidden = await sqs.send(
      new ReceiveMessageCommand({ QueueUrl: queueUrl, WaitTimeSeconds: 0 })
    );
    const stateAfterThrottle = (await readFlowRun(prefect.apiUrl, run.id, auth)).state_type;
    const second = await invoke(handler, await redeliver(messages));
    // Assess
    expect(first.failed).toEqual(messages.map((message) => message.MessageId));
    expect(hidden.Messages ?? []).toHaveLength(0);
    expect(stateAfterThrottle).toBe('PENDING');
    expect(second.failed).toEqual([]);
    expect(tasksOf(run.id)).toHaveLength(1);
    const warning = logLines.find((line) => line.message === 'Launch failed; trying again later');
    expect(warning).toMatchObject({
      flow_run_id: run.id,
      retryable: true,
      retry_in_seconds: expect.any(Number),
    });
  });

  it.each([
    ['the same warm container', false],
    ['a new container', true],
  ])(
    "keeps an auto-deregister run's registration when its redelivery reaches %s",
    async (_, fresh) => {
      // Prepare: the run registers its own revision, then its first RunTask fails
      const first = await createLauncher();
      const deployment = await seedDeployment({ auto_deregister_task_definition: true });
      const { run, body } = await claimedRun(deployment.id);
      const messages = await enqueue([body]);
      aws.ecs.failNextRunTask('RESOURCE:MEMORY');
      const failed = await invoke(first.handler, messages);
      const registrations = aws.callsTo('RegisterTaskDefinition').length;
      // Act: the redelivery finds the revision again (memo, or DescribeTaskDefinition)
      const second = fresh ? await createLauncher() : first;
      const response = await invoke(second.handler, await redeliver(messages));
      // Another run of the deployment reuses that revision
      const other = await claimedRun(deployment.id);
      await invoke(second.handler, await enqueue([other.body]));
      // Assess: one registration; the run's task asks the reporter to deregister it, the other's not
      expect(failed.failed).toHaveLength(1);
      expect(response.failed).toEqual([]);
      expect(aws.callsTo('RegisterTaskDefinition')).toHaveLength(registrations);
      expect(tasksOf(run.id)).toHaveLength(1);
      expect(tasksOf(run.id)[0]?.tags).toContainEqual({ key: DEREGISTER_TAG_KEY, value: 'true' });
      expect(tasksOf(other.run.id)[0]?.tags?.map((tag) => tag.key)).not.toContain(
        DEREGISTER_TAG_KEY
      );
    }
  );

  it('treats RESOURCE:MEMORY as retryable', async () => {
    // Prepare
    const { handler } = await createLauncher();
    const deployment = await seedDeployment();
    const { run, body } = await claimedRun(deployment.id);
    const messages = await enqueue([body]);
    aws.ecs.failNextRunTask('RESOURCE:MEMORY');
    // Act
    const first = await invoke(handler, messages);
    const pending = await readFlowRun(prefect.apiUrl, run.id, auth);
    const second = await invoke(handler, await redeliver(messages));
    // Assess
    expect(first.failed).toHaveLength(1);
    expect(pending.state_type).toBe('PENDING');
    expect(second.failed).toEqual([]);
    expect(tasksOf(run.id)).toHaveLength(1);
  });

  it('crashes the run at once, saying what to fix, when the cluster does not exist', async () => {
    // Prepare
    const { handler } = await createLauncher();
    const deployment = await seedDeployment({ cluster: 'no-such-cluster' });
    const { run, body } = await claimedRun(deployment.id);
    // Act
    const response = await invoke(handler, await enqueue([body]));
    // Assess
    expect(response.failed).toEqual([]);
    const after = await readFlowRun(prefect.apiUrl, run.id, auth);
    expect(after.state_type).toBe('CRASHED');
    const message = String(after.state?.message);
    expect(message).toMatch(/^Failed to submit flow run to infrastructure: /);
    expect(message).toContain("ECS cluster 'no-such-cluster' was not found");
    expect(message).toContain('`cluster` job variable');
    expect(tasksOf(run.id)).toHaveLength(0);
  });

  it('crashes the run when the retry deadline has passed', async () => {
    // Prepare
    const { handler } = await createLauncher({ LAUNCH_RETRY_DEADLINE_SECONDS: '0' });
    const deployment = await seedDeployment();
    const { run, body } = await claimedRun(deployment.id);
    aws.ecs.failNextRunTask('RESOURCE:CPU');
    // Act
    const response = await invoke(handler, await enqueue([body]));
    // Assess
    expect(response.failed).toEqual([]);
    const after = await readFlowRun(prefect.apiUrl, run.id, auth);
    expect(after.state_type).toBe('CRASHED');
    expect(after.state?.message).toMatch(/RESOURCE:CPU.*and has given up/);
  });

  it('cancels the run when its deployment was deleted', async () => {
    // Prepare
    const { handler } = await createLauncher();
    const deployment = await seedDeployment();
    const { run, body } = await claimedRun(deployment.id);
    await fetch(`${prefect.apiUrl}/deployments/${deployment.id}`, {
      method: 'DELETE',
      headers: { authorization: `Bearer ${API_KEY}` },
    });
    // Act
    const response = await invoke(handler, await enqueue([body]));
    // Assess
    expect(response.failed).toEqual([]);
    const after = await readFlowRun(prefect.apiUrl, run.id, auth);
    expect(after.state_type).toBe('CANCELLED');
    expect(after.state?.message).toBe(
      `Deployment ${deployment.id} no longer exists, cancelled run.`
    );
    expect(runTaskCallsFor(run.id)).toHaveLength(0);
  });

  it('starts nothing for a run that is no longer PENDING (the user cancelled it)', async () => {
    // Prepare
    const { handler } = await createLauncher();
    const deployment = await seedDeployment();
    const { run, body } = await claimedRun(deployment.id);
    await user.cancel(prefect.apiUrl, run.id, auth);
    // Act
    const response = await invoke(handler, await enqueue([body]));
    // Assess
    expect(response.failed).toEqual([]);
    expect(runTaskCallsFor(run.id)).toHaveLength(0);
    expect((await readFlowRun(prefect.apiUrl, run.id, auth)).state_type).toBe('CANCELLING');
  });

  it('reports a malformed message as a batch item failure with one error log, never calling Prefect', async () => {
    // Prepare
    const { handler } = await createLauncher();
    const messages = await enqueue([
      JSON.stringify({ flow_run_id: 'not-a-uuid', work_pool: POOL }),
    ]);
    const before = prefect.requests.length;
    // Act
    const response = await invoke(handler, messages);
    // Assess
    expect(response.failed).toEqual([messages[0]?.MessageId]);
    expect(prefect.requests.length).toBe(before);
    const errors = logLines.filter((line) => line.level === 'ERROR');
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({
      message: expect.stringContaining('Malformed launch message'),
      message_id: messages[0]?.MessageId,
      issues: expect.arrayContaining([expect.stringMatching(/^flow_run_id: /)]),
    });
    // No hot retry: the message stays invisible.
    const again = await sqs.send(
      new ReceiveMessageCommand({ QueueUrl: queueUrl, WaitTimeSeconds: 0 })
    );
    expect(again.Messages ?? []).toHaveLength(0);
  });

  it('reports every record of a fully failed batch instead of throwing', async () => {
    // Prepare
    const { handler } = await createLauncher();
    const messages = await enqueue(['{', '[]']);
    // Act
    const response = await invoke(handler, messages);
    // Assess
    expect(response.failed.sort()).toEqual(messages.map((message) => message.MessageId).sort());
  });
});

describe('launcher: per-run requests', () => {
  it('makes five Prefect calls per run in steady state (the poller labelled the claim), plus one POST /events per batch', async () => {
    // Prepare
    const { handler } = await createLauncher();
    const deployment = await seedDeployment();
    const warm = await claimedRun(deployment.id);
    await invoke(handler, await enqueue([warm.body]));
    const { run, body, transitionId } = await claimedRun(deployment.id);
    const pool = await readWorkPool(prefect.apiUrl, POOL, auth);
    await labelFlowRun(
      prefect.apiUrl,
      run.id,
      claimLabels('prefect-ecs-serverless', { name: POOL, id: pool.id }, transitionId),
      auth
    );
    const before = prefect.requests.length;
    // Act
    await invoke(handler, await enqueue([body]));
    // Assess
    const made = prefect.requests
      .slice(before)
      .map((request) => `${request.method} ${request.path}`);
    expect(made).toEqual([
      `GET /flow_runs/${run.id}`,
      `GET /deployments/${deployment.id}`,
      `GET /flow_runs/${run.id}`, // after RunTask: did the run leave PENDING meanwhile?
      `PATCH /flow_runs/${run.id}`,
      'POST /logs/',
      'POST /events', // the batch's worker events (here a batch of one), after its launches
    ]);
    // the poller's claim and labels, then the launcher's four calls naming the run
    expect(prefectRequestsFor(run.id)).toHaveLength(6);
  });
});
