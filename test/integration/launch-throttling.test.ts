/**
 * The launcher against ECS's token buckets, through the real code path: the launcher handler (with
 * the pacing the Lambda reads from its environment) → real SDK clients → the AWS stand-in with
 * throttling on, fed by Lambda's SQS event source (several containers, batches of 5) from the real
 * launch queue. Buckets are scaled down (10 launches/s) so each burst takes seconds.
 */
import { randomUUID } from 'node:crypto';
import { Logger } from '@aws-lambda-powertools/logger';
import { EC2Client } from '@aws-sdk/client-ec2';
import { CreateClusterCommand, ECSClient } from '@aws-sdk/client-ecs';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import {
  type Message,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import type { SQSRecord } from 'aws-lambda';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { createLauncherHandler } from '../../functions/launcher/handler.ts';
import { createLauncherDeps, LAUNCHER_ECS_RETRY } from '../../functions/launcher/launcher-deps.ts';
import { loadConfig } from '../../shared/config.ts';
import { buildLaunchMessage } from '../../shared/launch/launch-message.ts';
import type { LaunchPacing } from '../../shared/launch/launch-pacing.ts';
import { startAwsStandin } from '../standins/ecs/server.ts';
import type { AwsStandin } from '../standins/ecs/types.ts';
import { type ActorOptions, proposeState, readFlowRun, seed } from '../standins/prefect/actors.ts';
import { type PrefectStandin, startPrefectStandin } from '../standins/prefect/server.ts';
import { sqsRecord } from '../standins/sqs/esm-record.ts';
import { type SqsStandin, startSqsStandin } from '../standins/sqs/server.ts';
import { startSqsEventSource } from './sqs-event-source.ts';

const API_KEY = 'pnu_launch-throttling-key';
const POOL = 'ecs-throttled';
const CLUSTER = 'prefect';
const EXECUTION_ROLE = 'arn:aws:iam::123456789012:role/prefect-execution';
const credentials = { accessKeyId: 'test', secretAccessKey: 'test' };
const auth: ActorOptions = { headers: { authorization: `Bearer ${API_KEY}` } };
/** Fargate's quotas scaled down: 10 launches/s, a burst of one second's worth. */
const RATE = 10;
const PACING: LaunchPacing = { ratePerSecond: RATE, maxConcurrency: 2, batchSize: 5 };
const SCALED_BUCKETS = {
  fargateRunTaskCalls: { capacity: RATE, refillPerSecond: RATE },
  fargateOnDemandTasks: { capacity: RATE, refillPerSecond: RATE },
};

let prefect: PrefectStandin;
let sqsStandin: SqsStandin;
let sqs: SQSClient;
let queueUrl: string;
let queueArn: string;
const clients: { destroy(): void }[] = [];

beforeAll(async () => {
  prefect = await startPrefectStandin({ apiKey: API_KEY });
  sqsStandin = await startSqsStandin({
    queues: [{ name: 'launch', visibilityTimeout: 120, maxReceiveCount: 11 }],
  });
  queueUrl = sqsStandin.queues.launch?.url ?? '';
  queueArn = sqsStandin.queues.launch?.arn ?? '';
  sqs = new SQSClient({ region: 'us-east-1', endpoint: sqsStandin.url, credentials });
  await seed.workPool(prefect.apiUrl, { name: POOL }, auth);
});

afterAll(async () => {
  for (const client of clients) client.destroy();
  sqs?.destroy();
  await sqsStandin?.close();
  await prefect?.close();
});

afterEach(() => {
  vi.restoreAllMocks();
});

/** Keeps the launchers' JSON logs off the terminal. */
const quietLogs = () => {
  for (const stream of [process.stdout, process.stderr]) {
    const original = stream.write.bind(stream);
    vi.spyOn(stream, 'write').mockImplementation(((chunk: unknown, ...rest: unknown[]) =>
      String(chunk).startsWith('{"level"')
        ? true
        : (original as (...args: unknown[]) => boolean)(chunk, ...rest)) as typeof stream.write);
  }
};

const startAws = async (
  throttling: NonNullable<Parameters<typeof startAwsStandin>[0]>['throttling']
) => {
  const aws = await startAwsStandin(throttling ? { throttling } : {});
  const ecs = new ECSClient({ region: aws.region, endpoint: aws.url, credentials });
  await ecs.send(
    new CreateClusterCommand({ clusterName: CLUSTER, capacityProviders: ['FARGATE'] })
  );
  ecs.destroy();
  return aws;
};

/** One launcher container as deployed (ECS client with the launcher's retry mode), on `aws`. */
const launcherContainer = async (
  aws: AwsStandin,
  options: { pacing?: LaunchPacing; env?: Record<string, string>; ecsMaxAttempts?: number } = {}
) => {
  const secretArn = aws.secrets.putSecret(`prefect/api-key-${randomUUID()}`, API_KEY);
  const config = loadConfig({
    PREFECT_API_URL: prefect.apiUrl,
    PREFECT_API_KEY_SECRET_ARN: secretArn,
    PREFECT_WORK_POOLS: POOL,
    LAUNCH_QUEUE_URL: queueUrl,
    AWS_REGION: aws.region,
    ECS_EXECUTION_ROLE_ARN: EXECUTION_ROLE,
    ...options.env,
  });
  const endpoint = { region: aws.region, endpoint: aws.url, credentials };
  const ecs = new ECSClient({
    ...endpoint,
    ...LAUNCHER_ECS_RETRY,
    ...(options.ecsMaxAttempts ? { maxAttempts: options.ecsMaxAttempts } : {}),
  });
  const ec2 = new EC2Client(endpoint);
  const secretsManager = new SecretsManagerClient(endpoint);
  const queue = new SQSClient({ region: 'us-east-1', endpoint: sqsStandin.url, credentials });
  clients.push(ecs, ec2, secretsManager, queue);
  const deps = await createLauncherDeps(config, {
    logger: new Logger({ serviceName: 'launcher-throttling-test', logLevel: 'INFO' }),
    clients: { ecs, ec2, secretsManager, sqs: queue },
    prefectDeps: { sleep: async () => {} },
    ...(options.pacing ? { pacing: options.pacing } : {}),
  });
  return createLauncherHandler(deps);
};

/** `count` runs of a new deployment, claimed as the poller claims them, their messages queued. */
const claimedBurst = async (count: number, claimedAt?: Date) => {
  const deployment = await seed.deployment(
    prefect.apiUrl,
    {
      name: randomUUID(),
      workPoolName: POOL,
      jobVariables: { cluster: CLUSTER, image: 'acct.dkr.ecr.us-east-1.amazonaws.com/etl:1' },
    },
    auth
  );
  const scheduledTime = claimedAt ?? new Date();
  const runs = await Promise.all(
    Array.from({ length: count }, async () => {
      const run = await seed.flowRun(prefect.apiUrl, deployment.id, { scheduledTime }, auth);
      const transitionId = randomUUID();
      const claim = await proposeState(
        prefect.apiUrl,
        run.id,
        { type: 'PENDING', name: 'Pending', state_details: { transition_id: transitionId } },
        false,
        auth
      );
      expect(claim.status).toBe('ACCEPT');
      return {
        id: run.id,
        body: JSON.stringify(
          buildLaunchMessage({
            flowRunId: run.id,
            workPool: POOL,
            transitionId,
            scheduledTime,
            claimedAt: claimedAt ?? String(claim.state?.timestamp),
          })
        ),
      };
    })
  );
  for (let start = 0; start < runs.length; start += 10) {
    await sqs.send(
      new SendMessageBatchCommand({
        QueueUrl: queueUrl,
        Entries: runs
          .slice(start, start + 10)
          .map((run, index) => ({ Id: String(index), MessageBody: run.body })),
      })
    );
  }
  return runs.map((run) => run.id);
};

const waitFor = async (predicate: () => Promise<boolean>, timeoutMs: number): Promise<void> => {
  const deadline = Date.now() + timeoutMs;
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error(`not done within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
};

/** Per run: its tasks (by `startedBy`), state and pid. */
const outcomes = async (aws: AwsStandin, runIds: readonly string[]) => {
  const tasks = aws.ecs.tasks();
  return Promise.all(
    runIds.map(async (id) => {
      const run = await readFlowRun(prefect.apiUrl, id, auth);
      return {
        tasks: tasks.filter((task) => task.startedBy === `prefect/${id}`).length,
        state: run.state?.type,
        pid: run.infrastructure_pid,
      };
    })
  );
};

const runTaskCounts = (aws: AwsStandin) => {
  const calls = aws.callsTo('RunTask');
  const throttled = calls.filter((call) => call.error?.code === 'ThrottlingException').length;
  return { calls: calls.length, throttled };
};

describe('launcher under ECS throttling: a burst', () => {
  it('launches every run once at the allowed rate, nearly unthrottled, none crashed', async () => {
    // Prepare
    quietLogs();
    const aws = await startAws({ buckets: SCALED_BUCKETS });
    const runIds = await claimedBurst(40);
    const started = Date.now();
    // Act
    const source = await startSqsEventSource({
      sqs,
      queueUrl,
      queueArn,
      maxConcurrency: PACING.maxConcurrency,
      batchSize: PACING.batchSize,
      createHandler: () => launcherContainer(aws, { pacing: PACING }),
    });
    try {
      await waitFor(async () => aws.ecs.tasks().length >= runIds.length, 20_000);
    } finally {
      await source.stop();
    }
    const seconds = (Date.now() - started) / 1000;
    // Assess: (40 − 10 burst) / 10 per second = 3 s at the least
    const results = await outcomes(aws, runIds);
    expect(results.every((result) => result.tasks === 1)).toBe(true);
    expect(results.every((result) => result.state === 'PENDING' && result.pid)).toBe(true);
    expect(seconds).toBeGreaterThanOrEqual(2.9);
    const { calls, throttled } = runTaskCounts(aws);
    expect(throttled / calls).toBeLessThanOrEqual(0.05);
    await aws.close();
  }, 40_000);

  it('without pacing, the same burst is throttled, and throttled runs still all launch within seconds', async () => {
    // Prepare
    quietLogs();
    const aws = await startAws({ buckets: SCALED_BUCKETS });
    const runIds = await claimedBurst(40);
    // Act
    const source = await startSqsEventSource({
      sqs,
      queueUrl,
      queueArn,
      maxConcurrency: PACING.maxConcurrency,
      batchSize: PACING.batchSize,
      createHandler: () => launcherContainer(aws, { ecsMaxAttempts: 1 }),
    });
    try {
      await waitFor(async () => aws.ecs.tasks().length >= runIds.length, 30_000);
    } finally {
      await source.stop();
    }
    // Assess
    const results = await outcomes(aws, runIds);
    expect(results.every((result) => result.tasks === 1)).toBe(true);
    expect(results.every((result) => result.state === 'PENDING' && result.pid)).toBe(true);
    expect(runTaskCounts(aws).throttled).toBeGreaterThan(0);
    expect(source.stats.failedRecords).toBeGreaterThan(0);
    await aws.close();
  }, 40_000);
});

describe('launcher under ECS throttling: one run', () => {
  let aws: AwsStandin;

  beforeAll(async () => {
    aws = await startAws(undefined);
  });

  afterAll(async () => {
    await aws?.close();
  });

  const receiveOne = async (waitTimeSeconds: number): Promise<Message | undefined> => {
    const { Messages = [] } = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: queueUrl,
        MaxNumberOfMessages: 1,
        WaitTimeSeconds: waitTimeSeconds,
        MessageSystemAttributeNames: ['All'],
      })
    );
    return Messages[0];
  };

  const toRecord = (message: Message): SQSRecord => sqsRecord(message, { arn: queueArn });

  it('goes back to the queue for seconds, not CRASHED, while its deadline has not passed', async () => {
    // Prepare
    quietLogs();
    const handler = await launcherContainer(aws, { pacing: PACING, ecsMaxAttempts: 1 });
    const [runId] = await claimedBurst(1);
    const message = await receiveOne(1);
    if (!message) throw new Error('no message');
    aws.ecs.throttle('RunTask', 1);
    // Act
    const response = await handler({ Records: [toRecord(message)] });
    const failedAt = Date.now();
    const again = await receiveOne(5);
    const backAfterMs = Date.now() - failedAt;
    // Assess: reported failed, still PENDING without a task, delivered again within 1–3 s
    expect(response.batchItemFailures).toEqual([{ itemIdentifier: message.MessageId }]);
    const [before] = await outcomes(aws, [runId ?? '']);
    expect(before).toMatchObject({ tasks: 0, state: 'PENDING', pid: null });
    expect(again?.MessageId).toBe(message.MessageId);
    expect(backAfterMs).toBeLessThanOrEqual(3_500);
    // … and the next delivery launches it
    const retried = await handler({ Records: [toRecord(again as Message)] });
    expect(retried.batchItemFailures).toEqual([]);
    const [after] = await outcomes(aws, [runId ?? '']);
    expect(after).toMatchObject({ tasks: 1, state: 'PENDING' });
  }, 20_000);

  it('is CRASHED with the reason once its retry deadline has passed', async () => {
    // Prepare
    quietLogs();
    const handler = await launcherContainer(aws, {
      pacing: PACING,
      ecsMaxAttempts: 1,
      env: { LAUNCH_RETRY_DEADLINE_SECONDS: '60' },
    });
    const [runId] = await claimedBurst(1, new Date(Date.now() - 120_000));
    const message = await receiveOne(1);
    if (!message) throw new Error('no message');
    aws.ecs.throttle('RunTask', 1);
    // Act
    const response = await handler({ Records: [toRecord(message)] });
    // Assess
    expect(response.batchItemFailures).toEqual([]);
    const run = await readFlowRun(prefect.apiUrl, runId ?? '', auth);
    expect(run.state?.type).toBe('CRASHED');
    expect(run.state?.message).toMatch(/ThrottlingException/);
  }, 20_000);
});
