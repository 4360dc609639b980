/**
 * Secrets stay in their lane (DESIGN.md invariant 5). The poller, the launcher and the reporter run
 * as deployed (their handlers, Powertools loggers, real SDK clients and the Prefect client) against
 * the Prefect, AWS and SQS stand-ins, with distinctive credentials:
 *
 * - the Prefect API key and auth string live in Secrets Manager; the poller and the launcher
 *   authenticate with the auth string, the reporter with the API key;
 * - the work pool's template references an AWS Credentials block (`aws_credentials`, read with
 *   `include_secrets=true`) whose secret key the launcher holds in memory while it renders.
 *
 * Every line written to stdout/stderr, every request the Prefect stand-in received, every AWS call
 * and every queued message is searched: a secret may appear only in the `Authorization` header and
 * in Secrets Manager's own answers. The second half pins the leaks the audit found, one test each.
 */
import { randomUUID } from 'node:crypto';
import { Logger } from '@aws-lambda-powertools/logger';
import { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import { EC2Client } from '@aws-sdk/client-ec2';
import { CreateClusterCommand, ECSClient } from '@aws-sdk/client-ecs';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { type Message, ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { SQSRecord } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createLauncherHandler, type LauncherHandler } from '../../functions/launcher/handler.ts';
import { createLauncherDeps } from '../../functions/launcher/launcher-deps.ts';
import {
  createPollerHandler,
  POLLER_PREFECT_TIMEOUTS,
} from '../../functions/poller/create-handler.ts';
import { createReporterHandler, type ReporterHandler } from '../../functions/reporter/handler.ts';
import { createReporterDeps } from '../../functions/reporter/reporter-deps.ts';
import { loadConfig } from '../../shared/config.ts';
import { createEcsClient } from '../../shared/ecs/ecs-client.ts';
import { buildLaunchMessage } from '../../shared/launch/launch-message.ts';
import { loadPollerConfig, pollOptionsFromConfig } from '../../shared/poll/poller-config.ts';
import { createPrefectClient, type PrefectClient } from '../../shared/prefect/client.ts';
import { REDACTED } from '../../shared/prefect/redact.ts';
import { createSqsQueueSender } from '../../shared/queue/sqs-queue-sender.ts';
import { loadReporterConfig } from '../../shared/report/reporter-config.ts';
import { resolvePrefectCredentials } from '../../shared/secrets/prefect-credentials.ts';
import { createSecretsManagerReader } from '../../shared/secrets/secrets-manager-reader.ts';
import { credentials } from '../standins/ecs/fixtures.ts';
import { startAwsStandin } from '../standins/ecs/server.ts';
import type { AwsStandin } from '../standins/ecs/types.ts';
import { engine, proposeState, readFlowRun, seed } from '../standins/prefect/actors.ts';
import { type PrefectStandin, startPrefectStandin } from '../standins/prefect/server.ts';
import { sqsRecord } from '../standins/sqs/esm-record.ts';
import { type SqsStandin, startSqsStandin } from '../standins/sqs/server.ts';

const API_KEY = 'pnu_NoLeakApiKey0a1b2c3d4e5f6a7b8c9d0e1f2a3b';
const AUTH_PASSWORD = 'NoLeakPassword7c5e3a1f9d8b';
const AUTH_STRING = `ecs-admin:${AUTH_PASSWORD}`;
const BLOCK_SECRET = 'NoLeakBlockSecret4d2f8a6c0e9b7d5f3a1c';
/** A secret some deployment puts in its command; it has a quote, as real passwords do. */
const COMMAND_SECRET = `NoLeakCommand'Secret3e7b9d1f`;
/** A secret a (JSON-valued) Secret block holds, used where the template wants a string. */
const DICT_SECRET = 'NoLeakDictSecret8f6d4b2a0c1e';

/** Every form a secret could take in text: itself, and the auth string's Basic header value. */
const NEEDLES: Readonly<Record<string, string>> = {
  'API key': API_KEY,
  'auth string password': AUTH_PASSWORD,
  'auth string (base64)': Buffer.from(AUTH_STRING, 'utf8').toString('base64'),
  'AWS Credentials block secret': BLOCK_SECRET,
  'command secret': COMMAND_SECRET.slice(0, 12),
  'command secret (tail)': COMMAND_SECRET.slice(14),
  'dict secret': DICT_SECRET,
};

type Container = { name?: string; environment?: { name: string; value: string }[] };

const POOL = 'ecs-serverless';
const CLUSTER = 'prefect';
const EXECUTION_ROLE = 'arn:aws:iam::123456789012:role/prefect-execution';
const basic = `Basic ${Buffer.from(AUTH_STRING, 'utf8').toString('base64')}`;
const actor = { headers: { authorization: basic } };

let prefect: PrefectStandin;
let aws: AwsStandin;
let sqsStandin: SqsStandin;
let queueUrl: string;
let apiKeyArn: string;
let authStringArn: string;
let admin: PrefectClient;
let credentialsBlockId: string;
const clients: { destroy(): void }[] = [];

/** Which needles occur in `text`. */
const leaksIn = (text: string): string[] =>
  Object.entries(NEEDLES)
    .filter(([, needle]) => text.includes(needle))
    .map(([name]) => name);

/** Everything written to stdout, stderr and the console while `act` runs (nothing reaches the terminal). */
const captureOutput = async <T>(act: () => Promise<T>): Promise<{ result: T; output: string }> => {
  const chunks: string[] = [];
  const spies = [
    ...[process.stdout, process.stderr].map((stream) =>
      vi.spyOn(stream, 'write').mockImplementation(((chunk: unknown) => {
        chunks.push(Buffer.isBuffer(chunk) ? chunk.toString('utf8') : String(chunk));
        return true;
      }) as typeof stream.write)
    ),
    ...(['log', 'info', 'warn', 'error', 'debug'] as const).map((level) =>
      vi.spyOn(console, level).mockImplementation((...args: unknown[]) => {
        chunks.push(args.map((arg) => (typeof arg === 'string' ? arg : String(arg))).join(' '));
      })
    ),
  ];
  try {
    return { result: await act(), output: chunks.join('') };
  } finally {
    for (const spy of spies) spy.mockRestore();
  }
};

/** A Powertools logger as the Lambdas make it, at DEBUG so every line is written. */
const powertoolsLogger = (component: string) =>
  new Logger({ serviceName: 'no-secret-leaks', logLevel: 'DEBUG', persistentKeys: { component } });

const endpoint = () => ({ region: aws.region, endpoint: aws.url, credentials });

const track = <C extends { destroy(): void }>(client: C): C => {
  clients.push(client);
  return client;
};

/** The Lambdas' environment: credentials from Secrets Manager only. */
const lambdaEnv = (credentialArns: Record<string, string>): Record<string, string> => ({
  PREFECT_API_URL: prefect.apiUrl,
  PREFECT_WORK_POOLS: POOL,
  LAUNCH_QUEUE_URL: queueUrl,
  TICK_QUEUE_URL: sqsStandin.queues.tick?.url ?? '',
  AWS_REGION: aws.region,
  ECS_EXECUTION_ROLE_ARN: EXECUTION_ROLE,
  ...credentialArns,
});

/** The poller as `functions/poller/handler.ts` wires it, its credential read from Secrets Manager. */
const createPoller = () => {
  const config = loadPollerConfig(
    lambdaEnv({
      PREFECT_API_AUTH_STRING_SECRET_ARN: authStringArn,
      PREFECT_API_KEY_SECRET_ARN: apiKeyArn,
    })
  );
  const logger = powertoolsLogger('poller');
  const sqs = track(new SQSClient({ region: 'us-east-1', endpoint: sqsStandin.url, credentials }));
  const ecs = track(new ECSClient({ ...endpoint(), maxAttempts: 2 }));
  const secretsManager = track(new SecretsManagerClient(endpoint()));
  return createPollerHandler(async () => {
    const resolved = await resolvePrefectCredentials(
      config.prefectCredentials,
      createSecretsManagerReader(secretsManager)
    );
    return {
      prefect: createPrefectClient(
        { apiUrl: config.prefectApiUrl, ...resolved, ...POLLER_PREFECT_TIMEOUTS },
        { sleep: async () => {} }
      ),
      queue: createSqsQueueSender(sqs, { sleep: async () => {} }),
      ecs: createEcsClient(ecs, { region: config.awsRegion }),
      options: pollOptionsFromConfig(config),
      logger,
      tickQueueUrl: undefined,
    };
  }, logger);
};

/** The launcher as deployed: both credential ARNs (it authenticates with the auth string). */
const createLauncher = async (): Promise<LauncherHandler> => {
  const config = loadConfig(
    lambdaEnv({
      PREFECT_API_AUTH_STRING_SECRET_ARN: authStringArn,
      PREFECT_API_KEY_SECRET_ARN: apiKeyArn,
    })
  );
  const deps = await createLauncherDeps(config, {
    logger: powertoolsLogger('launcher'),
    clients: {
      ecs: track(new ECSClient({ ...endpoint(), maxAttempts: 2 })),
      ec2: track(new EC2Client(endpoint())),
      secretsManager: track(new SecretsManagerClient(endpoint())),
      sqs: track(new SQSClient({ region: 'us-east-1', endpoint: sqsStandin.url, credentials })),
    },
    prefectDeps: { sleep: async () => {} },
  });
  return createLauncherHandler(deps);
};

/** The reporter as deployed, authenticating with the API key. */
const createReporter = async (): Promise<ReporterHandler> => {
  const env = lambdaEnv({ PREFECT_API_KEY_SECRET_ARN: apiKeyArn });
  const logs = track(new CloudWatchLogsClient(endpoint()));
  const deps = await createReporterDeps(
    loadConfig(env, { role: 'reporter' }),
    loadReporterConfig(env),
    {
      logger: powertoolsLogger('reporter'),
      clients: {
        ecs: track(new ECSClient({ ...endpoint(), maxAttempts: 2 })),
        secretsManager: track(new SecretsManagerClient(endpoint())),
        logs: () => logs,
      },
      prefectDeps: { sleep: async () => {} },
    }
  );
  return createReporterHandler(deps);
};

const toRecord = (message: Pick<Message, 'MessageId' | 'ReceiptHandle' | 'Body'>): SQSRecord =>
  sqsRecord(
    {
      ...message,
      MessageId: message.MessageId ?? randomUUID(),
      ReceiptHandle: message.ReceiptHandle ?? 'receipt',
    },
    { arn: sqsStandin.queues.launch?.arn ?? '' }
  );

/** The launch messages waiting in the queue. */
const receiveLaunches = async (): Promise<Message[]> => {
  const sqs = track(new SQSClient({ region: 'us-east-1', endpoint: sqsStandin.url, credentials }));
  const { Messages = [] } = await sqs.send(
    new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1 })
  );
  return Messages;
};

/** A deployment of the pool whose runs use the AWS Credentials block, plus `jobVariables`. */
const seedDeployment = (jobVariables: Record<string, unknown> = {}) =>
  seed.deployment(
    prefect.apiUrl,
    {
      name: `no-leaks-${randomUUID().slice(0, 8)}`,
      workPoolName: POOL,
      jobVariables: {
        cluster: CLUSTER,
        image: 'acct.dkr.ecr.us-east-1.amazonaws.com/etl:1',
        configure_cloudwatch_logs: true,
        execution_role_arn: EXECUTION_ROLE,
        aws_credentials: { $ref: { block_document_id: credentialsBlockId } },
        ...jobVariables,
      },
    },
    actor
  );

/** A run claimed as the poller claims it, and its launch message as the launcher receives it. */
const claimedRecord = async (
  deploymentId: string
): Promise<{ runId: string; record: SQSRecord }> => {
  const run = await seed.flowRun(
    prefect.apiUrl,
    deploymentId,
    { scheduledTime: new Date(Date.now() - 1000) },
    actor
  );
  const transitionId = randomUUID();
  const claim = await proposeState(
    prefect.apiUrl,
    run.id,
    { type: 'PENDING', name: 'Pending', state_details: { transition_id: transitionId } },
    false,
    actor
  );
  expect(claim.status).toBe('ACCEPT');
  const message = buildLaunchMessage({
    flowRunId: run.id,
    workPool: POOL,
    transitionId,
    scheduledTime: new Date(),
  });
  return { runId: run.id, record: toRecord({ Body: JSON.stringify(message) }) };
};

/** What a component sent to Prefect, minus the `Authorization` header (checked separately). */
const prefectTraffic = (from: number): string =>
  JSON.stringify(
    prefect.requests.slice(from).map(({ headers, ...request }) => {
      const { authorization: _authorization, ...rest } = headers;
      return { ...request, headers: rest };
    })
  );

/** Every AWS call's input, output and error, except what Secrets Manager answered (its own state). */
const awsTraffic = (from: number): string =>
  JSON.stringify(
    aws.calls
      .slice(from)
      .map((call) => (call.service === 'secretsmanager' ? { ...call, output: undefined } : call))
  );

beforeAll(async () => {
  prefect = await startPrefectStandin({ apiKey: API_KEY, authString: AUTH_STRING });
  aws = await startAwsStandin();
  // The pool's AWS Credentials block (static keys) now signs the launch's ECS calls: its clients
  // resolve their endpoint from the environment, as in Lambda.
  vi.stubEnv('AWS_ENDPOINT_URL', aws.url);
  sqsStandin = await startSqsStandin({
    queues: [{ name: 'launch', visibilityTimeout: 120, maxReceiveCount: 5 }, { name: 'tick' }],
  });
  queueUrl = sqsStandin.queues.launch?.url ?? '';
  apiKeyArn = aws.secrets.putSecret('prefect/api-key', API_KEY);
  authStringArn = aws.secrets.putSecret('prefect/auth-string', AUTH_STRING);
  const ecs = track(new ECSClient(endpoint()));
  await ecs.send(
    new CreateClusterCommand({
      clusterName: CLUSTER,
      capacityProviders: ['FARGATE', 'FARGATE_SPOT'],
    })
  );
  admin = createPrefectClient({ apiUrl: prefect.apiUrl, authString: AUTH_STRING });
  const awsType = await admin.createBlockType({ name: 'AWS Credentials', slug: 'aws-credentials' });
  const awsSchema = await admin.createBlockSchema({
    blockTypeId: awsType.id,
    fields: {
      properties: {
        aws_access_key_id: { type: 'string' },
        aws_secret_access_key: { type: 'string', format: 'password', writeOnly: true },
        region_name: { type: 'string' },
      },
      secret_fields: ['aws_secret_access_key'],
    },
  });
  const block = await admin.createBlockDocument({
    name: 'prod',
    data: {
      aws_access_key_id: 'AKIAIOSFODNN7EXAMPLE',
      aws_secret_access_key: BLOCK_SECRET,
      region_name: 'us-east-1',
    },
    blockSchemaId: awsSchema.id,
    blockTypeId: awsType.id,
  });
  credentialsBlockId = block.id;
  const secretType = await admin.createBlockType({ name: 'Secret', slug: 'secret' });
  const secretSchema = await admin.createBlockSchema({
    blockTypeId: secretType.id,
    fields: {
      properties: { value: { anyOf: [{ type: 'string' }, { type: 'object' }] } },
      secret_fields: ['value'],
    },
  });
  for (const [name, value] of [
    ['db-password', COMMAND_SECRET],
    ['db-credentials', { username: 'etl', password: DICT_SECRET }],
  ] as const) {
    await admin.createBlockDocument({
      name,
      data: { value },
      blockSchemaId: secretSchema.id,
      blockTypeId: secretType.id,
    });
  }
  await seed.workPool(prefect.apiUrl, { name: POOL }, actor);
});

afterAll(async () => {
  for (const client of clients) client.destroy();
  await sqsStandin?.close();
  await aws?.close();
  await prefect?.close();
});

describe('no secret leaks: a launch and a crash report, end to end', () => {
  it('keeps the API key, the auth string and block secrets out of logs, Prefect, AWS and SQS', async () => {
    // Prepare
    const deployment = await seedDeployment();
    const run = await seed.flowRun(
      prefect.apiUrl,
      deployment.id,
      { scheduledTime: new Date(Date.now() - 1000) },
      actor
    );
    const prefectFrom = prefect.requests.length;
    const awsFrom = aws.calls.length;
    const taskArns: string[] = [];
    // Act: poll (claim, enqueue), launch, then the task fails to start and the reporter reports it
    const { result: messages, output } = await captureOutput(async () => {
      const poller = createPoller();
      const launcher = await createLauncher();
      const reporter = await createReporter();
      const unsubscribe = aws.subscribe((event) => reporter(event));
      try {
        await poller({ work_pool: POOL });
        const messages = await receiveLaunches();
        expect(messages.map((message) => JSON.parse(message.Body ?? '{}').flow_run_id)).toEqual([
          run.id,
        ]);
        const response = await launcher({ Records: messages.map(toRecord) });
        expect(response.batchItemFailures).toEqual([]);
        await aws.ecs.settled();
        const task = aws.ecs
          .tasks()
          .find((candidate) => candidate.startedBy === `prefect/${run.id}`);
        if (!task) throw new Error('the launcher started no task');
        taskArns.push(task.taskArn);
        const taskId = task.taskArn.split('/').at(-1) ?? '';
        aws.logs.putLogEvents(
          'prefect',
          `prefect-logs_${POOL}_${deployment.id}/prefect/${taskId}`,
          [
            {
              timestamp: Date.now() - 20,
              message: 'Pulling acct.dkr.ecr.us-east-1.amazonaws.com/etl:1',
            },
            { timestamp: Date.now() - 10, message: 'Error: manifest unknown' },
          ]
        );
        await aws.ecs.failToStart(task.taskArn, {
          stoppedReason:
            'CannotPullContainerError: pull image manifest has been retried 5 time(s): failed to resolve ref acct.dkr.ecr.us-east-1.amazonaws.com/etl:1: not found',
        });
        await aws.ecs.settled();
        return messages;
      } finally {
        unsubscribe();
      }
    });
    // Assess: the run went the whole way, and the secrets were in play
    const after = await readFlowRun(prefect.apiUrl, run.id, actor);
    expect(after.state?.type).toBe('CRASHED');
    expect(after.infrastructure_pid).toBe(`${CLUSTER}::${taskArns[0]}`);
    const traffic = prefect.requests.slice(prefectFrom);
    expect(
      traffic.some(
        (request) =>
          request.url === `/api/block_documents/${credentialsBlockId}?include_secrets=true` &&
          request.status === 200
      )
    ).toBe(true);
    expect(prefect.logs.filter((line) => line.flow_run_id === run.id).length).toBeGreaterThan(2);
    expect(output).toContain('"message":"Launch launched"');
    expect(output).toContain('Reported an ECS task state change');
    // Assess: the credentials reached Prefect only as the Authorization header
    const authorizations = new Set(traffic.map((request) => request.headers.authorization));
    expect(authorizations).toEqual(new Set([basic, `Bearer ${API_KEY}`]));
    // Assess: nowhere else
    expect(leaksIn(output), 'stdout/stderr').toEqual([]);
    expect(leaksIn(prefectTraffic(prefectFrom)), 'Prefect requests').toEqual([]);
    expect(leaksIn(awsTraffic(awsFrom)), 'AWS calls').toEqual([]);
    expect(leaksIn(JSON.stringify(messages)), 'launch messages').toEqual([]);
    expect(leaksIn(JSON.stringify(after)), 'the flow run').toEqual([]);
    const registered = aws.callsTo('RegisterTaskDefinition').at(-1)?.input as {
      containerDefinitions: { secrets?: unknown }[];
    };
    expect(registered.containerDefinitions[0]?.secrets).toEqual([
      { name: 'PREFECT_API_KEY', valueFrom: apiKeyArn },
      { name: 'PREFECT_API_AUTH_STRING', valueFrom: authStringArn },
    ]);
  });
});

describe('no secret leaks: what the audit found', () => {
  let launcher: LauncherHandler;

  beforeAll(async () => {
    launcher = await createLauncher();
  });

  /** Launches one claimed run of a deployment with these job variables; it cannot start. */
  const crashedLaunch = async (jobVariables: Record<string, unknown>) => {
    const deployment = await seedDeployment(jobVariables);
    const { runId, record } = await claimedRecord(deployment.id);
    const prefectFrom = prefect.requests.length;
    const awsFrom = aws.calls.length;
    const { result: response, output } = await captureOutput(() => launcher({ Records: [record] }));
    expect(response.batchItemFailures).toEqual([]);
    const run = await readFlowRun(prefect.apiUrl, runId, actor);
    expect(run.state?.type).toBe('CRASHED');
    return { run, output, prefectFrom, awsFrom };
  };

  it('a template error never quotes the secret a block placeholder rendered into a typed field', async () => {
    // Prepare: a Secret block holding a dict, put where the job configuration wants strings
    const jobVariables = { labels: { db: '{{ prefect.blocks.secret.db-credentials }}' } };
    // Act
    const { run, output, prefectFrom, awsFrom } = await crashedLaunch(jobVariables);
    // Assess
    expect(run.state?.message).toContain(
      'job_configuration.labels.db must be a string, got an object'
    );
    expect(leaksIn(JSON.stringify(run.state))).toEqual([]);
    expect(leaksIn(output), 'stdout/stderr').toEqual([]);
    expect(leaksIn(prefectTraffic(prefectFrom)), 'Prefect requests').toEqual([]);
    expect(leaksIn(awsTraffic(awsFrom)), 'AWS calls').toEqual([]);
  });

  it('a command that cannot be split is not quoted: a block may have put a password in it', async () => {
    // Prepare: the password has a quote, so the rendered command has an unbalanced one
    const jobVariables = {
      command: 'python etl.py --password {{ prefect.blocks.secret.db-password }}',
    };
    // Act
    const { run, output, prefectFrom, awsFrom } = await crashedLaunch(jobVariables);
    // Assess
    expect(run.state?.message).toContain(
      'command cannot be split into arguments (No closing quotation)'
    );
    expect(leaksIn(JSON.stringify(run.state))).toEqual([]);
    expect(leaksIn(output), 'stdout/stderr').toEqual([]);
    expect(leaksIn(prefectTraffic(prefectFrom)), 'Prefect requests').toEqual([]);
    expect(leaksIn(awsTraffic(awsFrom)), 'AWS calls').toEqual([]);
  });

  it('strips the API key pasted into the env job variable in any case, as Prefect reads any case', async () => {
    // Prepare: pydantic-settings reads prefect_api_key as PREFECT_API_KEY in the container
    const deployment = await seedDeployment({ env: { prefect_api_key: API_KEY, STAGE: 'prod' } });
    const { runId, record } = await claimedRecord(deployment.id);
    const prefectFrom = prefect.requests.length;
    const awsFrom = aws.calls.length;
    // Act
    const { result: response, output } = await captureOutput(() => launcher({ Records: [record] }));
    // Assess
    expect(response.batchItemFailures).toEqual([]);
    const runTask = aws
      .callsTo('RunTask')
      .find((call) => (call.input as { clientToken?: string }).clientToken === runId);
    if (!runTask) throw new Error('the launcher made no RunTask call for the run');
    // The pool's block's static keys signed it (the block secret was used, never shown).
    expect(runTask.accessKeyId).toBe('AKIAIOSFODNN7EXAMPLE');
    const [override] = (runTask.input as { overrides: { containerOverrides: Container[] } })
      .overrides.containerOverrides;
    expect(override?.environment).toContainEqual({ name: 'STAGE', value: 'prod' });
    expect(override?.environment?.map((item) => item.name.toUpperCase())).not.toContain(
      'PREFECT_API_KEY'
    );
    expect(
      prefect.logs.filter((line) => line.flow_run_id === runId).map((line) => line.message)
    ).toContainEqual(expect.stringMatching(/^prefect_api_key was left out of the container/));
    expect(leaksIn(output), 'stdout/stderr').toEqual([]);
    expect(leaksIn(prefectTraffic(prefectFrom)), 'Prefect requests').toEqual([]);
    expect(leaksIn(awsTraffic(awsFrom)), 'AWS calls').toEqual([]);
  });

  it('the log tail the reporter forwards never carries the Prefect credential a container printed', async () => {
    // Prepare: a launched run whose container dumps its environment before it dies
    const deployment = await seedDeployment();
    const { runId, record } = await claimedRecord(deployment.id);
    const launched = await captureOutput(() => launcher({ Records: [record] }));
    expect(launched.result.batchItemFailures).toEqual([]);
    await aws.ecs.settled();
    const task = aws.ecs.tasks().find((candidate) => candidate.startedBy === `prefect/${runId}`);
    if (!task) throw new Error('the launcher started no task');
    const taskId = task.taskArn.split('/').at(-1) ?? '';
    aws.logs.putLogEvents('prefect', `prefect-logs_${POOL}_${deployment.id}/prefect/${taskId}`, [
      { timestamp: Date.now() - 20, message: `PREFECT_API_KEY=${API_KEY}` },
      { timestamp: Date.now() - 10, message: 'ResourceInitializationError: cannot start' },
    ]);
    const reporter = await createReporter();
    const prefectFrom = prefect.requests.length;
    // Act
    const { output } = await captureOutput(async () => {
      const unsubscribe = aws.subscribe((event) => reporter(event));
      try {
        await aws.ecs.failToStart(task.taskArn, {
          stoppedReason: 'ResourceInitializationError: unable to pull secrets or registry auth',
        });
        await aws.ecs.settled();
      } finally {
        unsubscribe();
      }
    });
    // Assess
    const forwarded = prefect.logs
      .filter((line) => line.flow_run_id === runId)
      .map((line) => line.message);
    expect(forwarded).toContain(`PREFECT_API_KEY=${REDACTED}`);
    expect(forwarded).toContain('ResourceInitializationError: cannot start');
    expect(leaksIn(prefectTraffic(prefectFrom)), 'Prefect requests').toEqual([]);
    expect(leaksIn(output), 'stdout/stderr').toEqual([]);
  });

  it("a credential in an event's stopped reason or a container's reason never reaches Prefect, and huge event fields never make huge log lines", async () => {
    // Prepare: a launched run; its STOPPED event quotes the API key, a registry password and an
    // AWS key, and carries a 1 MiB cluster ARN.
    const deployment = await seedDeployment();
    const { runId, record } = await claimedRecord(deployment.id);
    const launched = await captureOutput(() => launcher({ Records: [record] }));
    expect(launched.result.batchItemFailures).toEqual([]);
    await aws.ecs.settled();
    const task = aws.ecs.tasks().find((candidate) => candidate.startedBy === `prefect/${runId}`);
    if (!task) throw new Error('the launcher started no task');
    await aws.ecs.advance(task.taskArn, 'RUNNING');
    await engine.start(prefect.apiUrl, runId, actor);
    const reporter = await createReporter();
    const prefectFrom = prefect.requests.length;
    const stopped = await aws.ecs.runToCompletion(task.taskArn, {
      exitCode: 1,
      stoppedReason: `Essential container exited: PREFECT_API_KEY=${API_KEY} https://bot:hunter2-registry@registry.example.com AKIAABCDEFGHIJKLMNOP`,
      containerReason: `Error: login failed for PREFECT_API_KEY: ${API_KEY}`,
    });
    const event = aws.events.find(
      (candidate) =>
        candidate.detail.taskArn === stopped.taskArn && candidate.detail.lastStatus === 'STOPPED'
    );
    if (!event) throw new Error('no STOPPED event');
    const huge = {
      ...event,
      id: randomUUID(),
      detail: {
        ...event.detail,
        clusterArn: `arn:aws:ecs:us-east-1:123456789012:cluster/${'c'.repeat(1 << 20)}`,
      },
    };
    // Act
    const { output } = await captureOutput(async () => {
      await reporter(event);
      await reporter(huge);
    });
    // Assess
    const run = await readFlowRun(prefect.apiUrl, runId, actor);
    expect(run.state?.type).toBe('CRASHED');
    expect(run.state?.message).toContain(REDACTED);
    for (const secret of [API_KEY, 'hunter2-registry', 'AKIAABCDEFGHIJKLMNOP']) {
      expect(JSON.stringify(prefectTraffic(prefectFrom))).not.toContain(secret);
      expect(output).not.toContain(secret);
    }
    const long = output.split('\n').filter((line) => line.length >= 16 * 1024);
    expect(long.map((line) => `${line.slice(0, 300)}… (${line.length} characters)`)).toEqual([]);
  });
});
