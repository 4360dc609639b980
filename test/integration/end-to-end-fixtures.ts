/**
 * The deployed design in one test process: the four AWS-side pieces the Lambdas never see replaced
 * by small, faithful stand-ins of their behaviour, and the Lambdas' own handlers in between.
 *
 * | deployed                                      | here                                                        |
 * |-----------------------------------------------|-------------------------------------------------------------|
 * | EventBridge schedule → poller                 | the test invokes the poller with a "Scheduled Event"        |
 * | tick queue → poller (event source mapping)    | {@link consumeQueue} on the SQS stand-in's tick queue, batch 1 |
 * | launch queue → launcher (event source mapping) | {@link consumeQueue} on the launch queue, batch 5, long poll, partial batch failures |
 * | EventBridge rule (infra/events.yml) → reporter | {@link connectEventBridge}: the ECS stand-in's events, filtered by the rule's pattern |
 * | `prefect flow-run execute` in the container   | {@link playEngine}: RUNNING, then COMPLETED (or the container dies) |
 *
 * Every Lambda gets its own SDK clients (as separate containers would), aimed at the stand-ins, and
 * its Prefect credential from the Secrets Manager stand-in (`PREFECT_API_KEY_SECRET_ARN`).
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import { EC2Client } from '@aws-sdk/client-ec2';
import {
  CreateClusterCommand,
  ECSClient,
  type ECSClientConfig,
  RegisterTaskDefinitionCommand,
  RunTaskCommand,
} from '@aws-sdk/client-ecs';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import {
  DeleteMessageBatchCommand,
  type Message,
  ReceiveMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import type { SQSEvent, SQSRecord } from 'aws-lambda';
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
import { flowRunIdFromStartedBy } from '../../shared/ecs/started-by.ts';
import { createPollAws } from '../../shared/poll/poll-aws.ts';
import { loadPollerConfig, pollOptionsFromConfig } from '../../shared/poll/poller-config.ts';
import type { PollerDeps } from '../../shared/poll/run-poller.ts';
import { createPrefectClient } from '../../shared/prefect/client.ts';
import { createSqsQueueSender } from '../../shared/queue/sqs-queue-sender.ts';
import { loadReporterConfig } from '../../shared/report/reporter-config.ts';
import { resolvePrefectCredentials } from '../../shared/secrets/prefect-credentials.ts';
import { createSecretsManagerReader } from '../../shared/secrets/secrets-manager-reader.ts';
import { defaultSubnetIds, fargateTaskDefinition } from '../standins/ecs/fixtures.ts';
import { startAwsStandin } from '../standins/ecs/server.ts';
import type {
  AwsStandin,
  AwsStandinOptions,
  EcsTaskSnapshot,
  EcsTaskStateChangeEvent,
} from '../standins/ecs/types.ts';
import { type ActorOptions, engine, seed } from '../standins/prefect/actors.ts';
import {
  type PrefectStandin,
  type PrefectStandinOptions,
  startPrefectStandin,
} from '../standins/prefect/server.ts';
import { sqsRecord } from '../standins/sqs/esm-record.ts';
import { type SqsQueue, type SqsStandin, startSqsStandin } from '../standins/sqs/server.ts';

export const POOL = 'ecs-e2e';
export const CLUSTER = 'prefect-e2e';
export const API_KEY = 'pnu_end-to-end-secret-key';
export const EXECUTION_ROLE = 'arn:aws:iam::123456789012:role/prefect-execution';
export const OOM_REASON = 'OutOfMemoryError: Container killed due to memory usage';
export const PULL_REASON =
  'CannotPullContainerError: pull image manifest has been retried 7 time(s): failed to resolve ref docker.io/prefecthq/prefect:nope: not found';
export const FINAL_STATES: ReadonlySet<string> = new Set([
  'COMPLETED',
  'FAILED',
  'CRASHED',
  'CANCELLED',
]);

const REGION = 'us-east-1';

/** The SDK clients' middleware stacks differ only in their command types; one shape serves all. */
type AnyClient = Pick<ECSClient, 'middlewareStack'>;

/** The SDK's token-based retry strategy interface, as its client configurations accept it. */
type AwsRetryStrategy = Extract<
  NonNullable<ECSClientConfig['retryStrategy']>,
  { acquireInitialRetryToken: unknown }
>;

/**
 * The SDK's standard retries (`maxAttempts` in all; waits of 100 ms × 2^n, or 500 ms × 2^n when
 * throttled, at most 20 s) with every wait multiplied by `scale` and no jitter, and without the
 * retry quota: a world that compresses time compresses the SDK's waits as much as the rest.
 */
const scaledAwsRetries = (maxAttempts: number, scale: number): AwsRetryStrategy => {
  const token = (count: number, delay: number) => ({
    getRetryCount: () => count,
    getRetryDelay: () => delay,
  });
  return {
    acquireInitialRetryToken: async () => token(0, 0),
    refreshRetryTokenForRetry: async (previous, info) => {
      const count = previous.getRetryCount() + 1;
      if (count >= maxAttempts || info.errorType === 'CLIENT_ERROR') {
        throw new Error('No retries left');
      }
      const base = info.errorType === 'THROTTLING' ? 500 : 100;
      return token(count, Math.min(20_000, base * 2 ** (count - 1)) * scale);
    },
    recordSuccess: () => {},
  };
};

const credentials = { accessKeyId: 'test', secretAccessKey: 'test' };

export const sleep = (ms: number): Promise<void> =>
  new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `predicate` until it holds; throws `what` after `timeoutMs`. */
export const waitFor = async (
  what: string,
  predicate: () => boolean | Promise<boolean>,
  timeoutMs: number
): Promise<void> => {
  const deadline = Date.now() + timeoutMs;
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await sleep(50);
  }
};

// ---------------------------------------------------------------------------------------------
// The EventBridge rule, as deployed

type EventPattern = { [key: string]: EventPattern | (string | { prefix: string })[] };

/**
 * The TaskStateChangeRule's `EventPattern` as `osls package` would write it: `source` and
 * `detail-type` from infra/events.yml, `detail` from infra/parameters.cjs evaluated with the
 * default stack parameters of serverless.yml.
 */
export const taskStateRulePattern = async (): Promise<EventPattern> => {
  const read = (path: string) => readFileSync(new URL(`../../${path}`, import.meta.url), 'utf8');
  const rule =
    /TaskStateChangeRule:[\s\S]*?EventPattern:\n\s+source:\n\s+- (.+)\n\s+detail-type:\n\s+- (.+)\n\s+detail: \$\{file\(infra\/parameters\.cjs\):(\w+)\}/.exec(
      read('infra/events.yml')
    );
  if (!rule?.[1] || !rule[2] || !rule[3]) {
    throw new Error('infra/events.yml: TaskStateChangeRule.EventPattern has an unexpected shape');
  }
  const defaults = /^params:\n {2}default:\n((?: {4}.*\n)+)/m.exec(read('serverless.yml'))?.[1];
  const params = new Map(
    [...(defaults ?? '').matchAll(/^ {4}(\w+): (?:"([^"]*)"|([^\s#]+))/gm)].map((match) => [
      match[1] ?? '',
      match[2] ?? match[3] ?? '',
    ])
  );
  const resolveParameters = createRequire(import.meta.url)(
    '../../infra/parameters.cjs'
  ) as (context: {
    resolveVariable: (expression: string) => Promise<unknown>;
  }) => Promise<Record<string, unknown>>;
  const resolved = await resolveParameters({
    resolveVariable: async (expression) => {
      if (expression === 'self:service') return 'prefect-ecs-serverless';
      if (expression === 'sls:stage') return 'e2e';
      return params.get(/^param:(\w+)/.exec(expression)?.[1] ?? '') ?? '';
    },
  });
  return {
    source: [rule[1].trim()],
    'detail-type': [rule[2].trim()],
    detail: resolved[rule[3]] as EventPattern,
  };
};

/**
 * EventBridge matching for the operators our rule uses: a list of exact values, any one of which
 * the event's value must equal (`source`, `detail-type`, `detail.lastStatus`, `detail.clusterArn`),
 * and `prefix` (`detail.startedBy`). Any other operator throws, so the rule cannot outgrow this.
 */
export const matchesEventPattern = (pattern: EventPattern, event: unknown): boolean =>
  Object.entries(pattern).every(([key, expected]) => {
    const actual =
      typeof event === 'object' && event !== null
        ? (event as Record<string, unknown>)[key]
        : undefined;
    if (!Array.isArray(expected)) return matchesEventPattern(expected, actual);
    return expected.some((candidate) => {
      if (typeof candidate === 'string') return actual === candidate;
      if (Object.keys(candidate).join() !== 'prefix') {
        throw new Error(`Unsupported EventBridge operator ${JSON.stringify(candidate)}`);
      }
      return typeof actual === 'string' && actual.startsWith(candidate.prefix);
    });
  });

// ---------------------------------------------------------------------------------------------
// The world

export interface LogLine {
  lambda: 'poller' | 'launcher' | 'reporter';
  level: string;
  message: string;
  attributes: Record<string, unknown>;
  /** When it was logged. */
  at: Date;
}

const memoryLogger = (lambda: LogLine['lambda'], lines: LogLine[]) => {
  const at =
    (level: string) =>
    (message: string, ...attributes: Record<string, unknown>[]) => {
      lines.push({
        lambda,
        level,
        message,
        attributes: Object.assign({}, ...attributes),
        at: new Date(),
      });
    };
  return { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
};

export interface WorldOptions {
  /** The launch queue's visibility timeout; also caps the retry delays the launcher asks for. */
  launchVisibilityTimeout: number;
  /** The launch queue's redrive `maxReceiveCount` (default 5; deployed: `launchMaxReceiveCount`). */
  launchMaxReceiveCount?: number;
  /** Variables set on top of the Lambdas' environment below (e.g. `ORPHAN_AFTER_SECONDS`). */
  env?: Record<string, string>;
  /**
   * How the Lambdas' Prefect clients wait between retries (default: not at all). A soak passes a
   * short real wait, so that the world can move on between a request and its retry, as it does
   * during the real backoff.
   */
  prefectRetrySleep?: (ms: number) => Promise<void>;
  /** Multiplies the waits of the Lambdas' AWS SDK retries (default: the SDK's own retries). */
  awsRetryScale?: number;
  /** A hardened Prefect server: CSRF protection and/or an access proxy's required headers. */
  prefectStandin?: Pick<PrefectStandinOptions, 'csrfProtection' | 'requiredHeaders'>;
  /** More of the AWS stand-in (e.g. the regions it serves, for pools in other accounts/regions). */
  awsStandin?: Pick<AwsStandinOptions, 'regions'>;
}

/** One AWS SDK call of a launcher container, as {@link LauncherContainerOptions} sees it. */
export interface AwsCallView {
  service: 'ecs' | 'ec2' | 'sqs' | 'secretsmanager';
  /** The command's name without `Command`, e.g. `RunTask`. */
  operation: string;
  input: unknown;
}

/** What a launcher container may have replaced or watched (a soak kills containers this way). */
export interface LauncherContainerOptions {
  /** The fetch of its Prefect client (default: the global one). */
  fetch?: typeof fetch;
  /**
   * Wraps each of its AWS SDK calls outside the SDK's own retries: call `proceed` to make the call
   * (its answer is the call's output); hold or throw to change what the launcher sees.
   */
  aroundAwsCall?: (call: AwsCallView, proceed: () => Promise<unknown>) => Promise<unknown>;
  /**
   * Runs before each HTTP request of its AWS SDK calls, the SDK's own retries included: hold it to
   * keep the request from ever being sent (a killed container's retries never go out).
   */
  beforeAwsRequest?: (call: AwsCallView) => Promise<void>;
}

/** A launcher Lambda container: its own SDK clients, Prefect client and warm caches. */
export interface LauncherContainer {
  handler: LauncherHandler;
  /** Destroys its SDK clients (a container that is gone). */
  destroy(): void;
}

export interface EndToEndWorld {
  prefect: PrefectStandin;
  aws: AwsStandin;
  sqs: SqsStandin;
  /** An SQS client of the test (the event source mappings' and the inspector's). */
  sqsClient: SQSClient;
  launchQueue: SqsQueue;
  tickQueue: SqsQueue;
  secretArn: string;
  /** Headers for the actors (the stand-in requires the API key, as Prefect Cloud does). */
  auth: ActorOptions;
  deploymentId: string;
  env: Record<string, string>;
  poller: (event: unknown) => Promise<unknown>;
  launcher: LauncherHandler;
  /**
   * Another launcher container (a Lambda scaling out, or replacing a killed one): its own clients
   * and caches, the same configuration and time compression as `launcher`.
   */
  startLauncherContainer(options?: LauncherContainerOptions): Promise<LauncherContainer>;
  reporter: ReporterHandler;
  /** Every line the three Lambdas logged. */
  lines: LogLine[];
  /** The redelivery delays (s) the launcher asked SQS for, before the test caps them. */
  visibilityRequests: number[];
  close(): Promise<void>;
}

/**
 * Starts the stand-ins (Prefect with an API key, AWS, SQS with the launch queue + DLQ and the tick
 * queue), seeds the pool (default ECS template), a cluster and one deployment logging to
 * CloudWatch, and builds the three handlers from the environment as the Lambdas do.
 */
export const startEndToEndWorld = async (options: WorldOptions): Promise<EndToEndWorld> => {
  const prefect = await startPrefectStandin({ apiKey: API_KEY, ...options.prefectStandin });
  const aws = await startAwsStandin({ region: REGION, ...options.awsStandin });
  const sqs = await startSqsStandin({
    region: REGION,
    queues: [
      {
        name: 'launch',
        visibilityTimeout: options.launchVisibilityTimeout,
        maxReceiveCount: options.launchMaxReceiveCount ?? 5,
      },
      { name: 'tick', visibilityTimeout: 60 },
    ],
  });
  const launchQueue = sqs.queues.launch as SqsQueue;
  const tickQueue = sqs.queues.tick as SqsQueue;
  const secretArn = aws.secrets.putSecret('prefect-ecs-serverless/prefect-api-key', API_KEY);
  const auth: ActorOptions = {
    headers: { authorization: `Bearer ${API_KEY}`, ...options.prefectStandin?.requiredHeaders },
  };
  if (options.prefectStandin?.csrfProtection) {
    // The actors (seeds, user, engine) are one more client of a CSRF-protected server.
    const answer = await fetch(`${prefect.apiUrl}/csrf-token?client=test-actors`, auth);
    const { token } = (await answer.json()) as { token: string };
    Object.assign(auth.headers ?? {}, {
      'prefect-csrf-token': token,
      'prefect-csrf-client': 'test-actors',
    });
  }

  const awsEndpoint = { region: REGION, endpoint: aws.url, credentials };
  /** The Lambdas' ECS and EC2 clients: 4 attempts, as deployed; waits scaled when asked. */
  const lambdaAws = {
    ...awsEndpoint,
    maxAttempts: 4,
    ...(options.awsRetryScale === undefined
      ? {}
      : { retryStrategy: scaledAwsRetries(4, options.awsRetryScale) }),
  };
  const sqsEndpoint = { region: REGION, endpoint: sqs.url, credentials };
  const clients: { destroy(): void }[] = [];
  const client = <T extends { destroy(): void }>(made: T): T => {
    clients.push(made);
    return made;
  };
  const sqsClient = client(new SQSClient(sqsEndpoint));

  const admin = client(new ECSClient(awsEndpoint));
  await admin.send(
    new CreateClusterCommand({
      clusterName: CLUSTER,
      capacityProviders: ['FARGATE', 'FARGATE_SPOT'],
    })
  );
  await seed.workPool(prefect.apiUrl, { name: POOL }, auth);
  const deployment = await seed.deployment(
    prefect.apiUrl,
    {
      name: 'etl',
      workPoolName: POOL,
      jobVariables: {
        cluster: CLUSTER,
        image: 'acct.dkr.ecr.us-east-1.amazonaws.com/etl:1',
        configure_cloudwatch_logs: true,
        // As prefect-aws, the job configuration wants the role next to configure_cloudwatch_logs.
        execution_role_arn: EXECUTION_ROLE,
      },
    },
    auth
  );

  // What serverless.yml sets (shared and per function), with short cadences for the test.
  const env: Record<string, string> = {
    AWS_REGION: REGION,
    STACK_ACCOUNT_ID: aws.accountId,
    PREFECT_API_URL: prefect.apiUrl,
    PREFECT_API_KEY_SECRET_ARN: secretArn,
    PREFECT_WORK_POOLS: POOL,
    PREFECT_WORKER_NAME: 'prefect-ecs-serverless-e2e',
    LAUNCH_QUEUE_URL: launchQueue.url,
    TICK_QUEUE_URL: tickQueue.url,
    ECS_EXECUTION_ROLE_ARN: EXECUTION_ROLE,
    POLL_INTERVAL_SECONDS: '5',
    LAUNCH_LEAD_SECONDS: '1',
    ...options.env,
  };
  const lines: LogLine[] = [];
  const noWait = { sleep: options.prefectRetrySleep ?? (async () => {}) };

  // Poller (functions/poller/handler.ts, with clients aimed at the stand-ins)
  const pollerConfig = loadPollerConfig(env);
  const pollerCredentials = await resolvePrefectCredentials(
    pollerConfig.prefectCredentials,
    createSecretsManagerReader(client(new SecretsManagerClient(awsEndpoint)))
  );
  const pollerLogger = memoryLogger('poller', lines);
  const pollerPrefect = createPrefectClient(
    {
      apiUrl: pollerConfig.prefectApiUrl,
      ...pollerCredentials,
      ...POLLER_PREFECT_TIMEOUTS,
      headers: pollerConfig.prefectCustomHeaders,
    },
    noWait
  );
  const pollerEcsClient = client(new ECSClient(lambdaAws));
  const pollerEcs = createEcsClient(pollerEcsClient, { region: REGION });
  const pollerDeps: PollerDeps = {
    prefect: pollerPrefect,
    queue: createSqsQueueSender(client(new SQSClient(sqsEndpoint))),
    ecs: pollerEcs,
    // As functions/poller/handler.ts: the sweeps reach each run's tasks with its pool's credentials.
    ecsForRun: createPollAws({
      config: pollerConfig,
      prefect: pollerPrefect,
      logger: pollerLogger,
      home: pollerEcs,
      homeCredentials: () => pollerEcsClient.config.credentials(),
    }),
    options: pollOptionsFromConfig(pollerConfig),
    logger: pollerLogger,
    tickQueueUrl: pollerConfig.tickQueueUrl,
  };
  const poller = createPollerHandler(async () => pollerDeps, pollerLogger);

  // Launcher (each container: its own clients and caches)
  const launcherConfig = loadConfig(env);
  // Time compression: the launcher asks SQS for its real backoff (15 s and up); the record comes
  // back after at most the test queue's visibility timeout instead.
  const visibilityRequests: number[] = [];
  const startLauncherContainer = async (
    container: LauncherContainerOptions = {}
  ): Promise<LauncherContainer> => {
    const own: { destroy(): void }[] = [];
    const made = <T extends { destroy(): void }>(service: AwsCallView['service'], sdk: T): T => {
      own.push(sdk);
      const around = container.aroundAwsCall;
      if (around) {
        (sdk as unknown as AnyClient).middlewareStack.add(
          (next, context) => async (args) => {
            let result: Awaited<ReturnType<typeof next>> | undefined;
            await around(
              {
                service,
                operation: (context.commandName ?? '').replace(/Command$/, ''),
                input: args.input,
              },
              async () => {
                result = await next(args);
                return result.output;
              }
            );
            if (result === undefined) throw new Error(`${service} call was not made`);
            return result;
          },
          { step: 'initialize', name: 'aroundAwsCall' }
        );
      }
      const before = container.beforeAwsRequest;
      if (before) {
        (sdk as unknown as AnyClient).middlewareStack.add(
          (next, context) => async (args) => {
            await before({
              service,
              operation: (context.commandName ?? '').replace(/Command$/, ''),
              input: args.input,
            });
            return next(args);
          },
          { step: 'deserialize', name: 'beforeAwsRequest' }
        );
      }
      return sdk;
    };
    const deps = await createLauncherDeps(launcherConfig, {
      logger: memoryLogger('launcher', lines),
      clients: {
        ecs: made('ecs', new ECSClient(lambdaAws)),
        ec2: made('ec2', new EC2Client(lambdaAws)),
        sqs: made('sqs', new SQSClient(sqsEndpoint)),
        secretsManager: made('secretsmanager', new SecretsManagerClient(awsEndpoint)),
      },
      prefectDeps: container.fetch ? { ...noWait, fetch: container.fetch } : noWait,
    });
    const handler = createLauncherHandler({
      ...deps,
      queue: {
        changeVisibility: (receiptHandle, seconds) => {
          visibilityRequests.push(seconds);
          return deps.queue.changeVisibility(
            receiptHandle,
            Math.min(seconds, options.launchVisibilityTimeout)
          );
        },
      },
    });
    clients.push(...own);
    return {
      handler,
      destroy: () => {
        for (const sdk of own) sdk.destroy();
      },
    };
  };
  const { handler: launcher } = await startLauncherContainer();

  // Reporter
  const logs = client(new CloudWatchLogsClient(awsEndpoint));
  const reporter = createReporterHandler(
    await createReporterDeps(loadConfig(env, { role: 'reporter' }), loadReporterConfig(env), {
      logger: memoryLogger('reporter', lines),
      clients: {
        ecs: client(new ECSClient(lambdaAws)),
        secretsManager: client(new SecretsManagerClient(awsEndpoint)),
        logs: () => logs,
      },
      prefectDeps: noWait,
    })
  );

  return {
    prefect,
    aws,
    sqs,
    sqsClient,
    launchQueue,
    tickQueue,
    secretArn,
    auth,
    deploymentId: deployment.id,
    env,
    poller: (event) => poller(event),
    launcher,
    startLauncherContainer,
    reporter,
    lines,
    visibilityRequests,
    close: async () => {
      for (const made of clients) made.destroy();
      await sqs.close();
      await aws.close();
      await prefect.close();
    },
  };
};

/** An EventBridge "Scheduled Event", as the poll schedule delivers it. */
export const scheduledEvent = () => ({
  version: '0',
  id: randomUUID(),
  'detail-type': 'Scheduled Event',
  source: 'aws.events',
  account: '123456789012',
  time: `${new Date().toISOString().slice(0, 19)}Z`,
  region: REGION,
  resources: ['arn:aws:events:us-east-1:123456789012:rule/prefect-ecs-serverless-e2e-poll'],
  detail: {},
});

/** Messages of a queue by state (non-destructive), with the timer each was sent with. */
export const inspectQueue = (world: EndToEndWorld, name: string) => {
  const inspected = world.sqs.fauxqs.inspectQueue(name);
  if (!inspected) throw new Error(`No queue ${name}`);
  const { ready, delayed, inflight } = inspected.messages;
  return {
    ready,
    delayed,
    inflight: inflight.map((entry) => entry.message),
    depth: ready.length + delayed.length + inflight.length,
    delaySeconds: (message: { sentTimestamp: number; delayUntil?: number }) =>
      message.delayUntil === undefined
        ? 0
        : Math.round((message.delayUntil - message.sentTimestamp) / 1000),
  };
};

// ---------------------------------------------------------------------------------------------
// Lambda's SQS event source mapping

/** The record Lambda builds from a received message. */
export const toSqsRecord = (message: Message, queue: SqsQueue): SQSRecord =>
  sqsRecord(message, queue, REGION);

/** One invocation the mapping made. */
export interface EsmInvocation {
  records: SQSRecord[];
  /** Message ids reported in `batchItemFailures` (every record when the invocation threw). */
  failed: string[];
  error?: unknown;
}

export interface QueueConsumer {
  invocations: EsmInvocation[];
  /** Invokes the handler with these messages as the mapping does, deleting what succeeded. */
  invoke(messages: readonly Message[]): Promise<EsmInvocation>;
  /** Starts long-polling the queue in the background. */
  start(): void;
  /** Stops polling (after the current long poll and invocation). */
  stop(): Promise<void>;
}

/**
 * An SQS event source mapping: long-polls `queue`, invokes `handler` with up to `batchSize`
 * records, deletes the records that succeeded and leaves the `batchItemFailures` (or the whole
 * batch, when the invocation throws) to come back after their visibility timeout.
 */
export const consumeQueue = (
  world: EndToEndWorld,
  queue: SqsQueue,
  batchSize: number,
  handler: (event: SQSEvent) => Promise<unknown>
): QueueConsumer => {
  const invocations: EsmInvocation[] = [];
  let running: Promise<void> | undefined;
  let stopping = false;

  const invoke = async (messages: readonly Message[]): Promise<EsmInvocation> => {
    const records = messages.map((message) => toSqsRecord(message, queue));
    const invocation: EsmInvocation = { records, failed: [] };
    invocations.push(invocation);
    try {
      const response = (await handler({ Records: records })) as {
        batchItemFailures?: { itemIdentifier: string }[];
      };
      invocation.failed = (response.batchItemFailures ?? []).map((item) => item.itemIdentifier);
    } catch (error) {
      invocation.error = error;
      invocation.failed = records.map((record) => record.messageId);
    }
    const done = records.filter((record) => !invocation.failed.includes(record.messageId));
    if (done.length > 0) {
      await world.sqsClient.send(
        new DeleteMessageBatchCommand({
          QueueUrl: queue.url,
          Entries: done.map((record, index) => ({
            Id: `r${index}`,
            ReceiptHandle: record.receiptHandle,
          })),
        })
      );
    }
    return invocation;
  };

  const loop = async (): Promise<void> => {
    while (!stopping) {
      const { Messages = [] } = await world.sqsClient.send(
        new ReceiveMessageCommand({
          QueueUrl: queue.url,
          MaxNumberOfMessages: batchSize,
          WaitTimeSeconds: 1,
          MessageSystemAttributeNames: ['All'],
        })
      );
      if (Messages.length > 0) await invoke(Messages);
    }
  };

  return {
    invocations,
    invoke,
    start() {
      stopping = false;
      running ??= loop();
    },
    async stop() {
      stopping = true;
      await running;
      running = undefined;
    },
  };
};

// ---------------------------------------------------------------------------------------------
// EventBridge → reporter

export interface EventBridgeLink {
  delivered: EcsTaskStateChangeEvent[];
  filtered: EcsTaskStateChangeEvent[];
  errors: unknown[];
  disconnect(): void;
}

/**
 * Delivers every "ECS Task State Change" the ECS stand-in emits that matches `pattern` to the
 * reporter (asynchronous invoke: a failure is retried twice, as Lambda does, then recorded).
 */
export const connectEventBridge = (
  world: EndToEndWorld,
  pattern: EventPattern
): EventBridgeLink => {
  const link: EventBridgeLink = { delivered: [], filtered: [], errors: [], disconnect: () => {} };
  link.disconnect = world.aws.subscribe(async (event) => {
    if (!matchesEventPattern(pattern, event)) {
      link.filtered.push(event);
      return;
    }
    link.delivered.push(event);
    for (let attempt = 1; ; attempt += 1) {
      try {
        await world.reporter(event);
        return;
      } catch (error) {
        if (attempt >= 3) {
          link.errors.push(error);
          return;
        }
        await sleep(100);
      }
    }
  });
  return link;
};

// ---------------------------------------------------------------------------------------------
// The flow engine in the container (and the container's fate)

/**
 * What a run's container does: `complete` (the engine proposes RUNNING then COMPLETED and exits
 * 0), `oom` (RUNNING, then the container is killed for memory), `pull` (the image cannot be
 * pulled: lines land in its awslogs stream, then the task fails to start), `hold` (nothing).
 */
export type Behaviour = 'complete' | 'oom' | 'pull' | 'hold';

export interface Engine {
  errors: unknown[];
  /** The log lines written to each pulled task's stream. */
  logLines: Map<string, string[]>;
  stop(): Promise<void>;
}

/** `prefect flow-run execute`: proposes RUNNING, waiting as long as Prefect says (WAIT). */
const startFlowRun = async (world: EndToEndWorld, flowRunId: string): Promise<void> => {
  for (;;) {
    const answer = await engine.start(world.prefect.apiUrl, flowRunId, world.auth);
    if (answer.status === 'ACCEPT') return;
    if (answer.status !== 'WAIT') {
      throw new Error(`RUNNING for ${flowRunId}: ${answer.status} ${answer.details.reason ?? ''}`);
    }
    await sleep(Math.max(100, (answer.details.delay_seconds ?? 0) * 1000));
  }
};

/** Writes lines to the awslogs stream the task's definition names for its flow container. */
export const writeContainerLogs = (world: EndToEndWorld, task: EcsTaskSnapshot): string[] => {
  const registration = world.aws
    .callsTo('RegisterTaskDefinition')
    .map(
      (call) =>
        (call.output as { taskDefinition?: Record<string, unknown> } | undefined)?.taskDefinition
    )
    .find((definition) => definition?.taskDefinitionArn === task.taskDefinitionArn) as
    | {
        containerDefinitions: {
          name: string;
          logConfiguration?: { options?: Record<string, string> };
        }[];
      }
    | undefined;
  const container = registration?.containerDefinitions[0];
  const group = container?.logConfiguration?.options?.['awslogs-group'];
  const prefix = container?.logConfiguration?.options?.['awslogs-stream-prefix'];
  if (!container || !group || !prefix) throw new Error(`No awslogs for ${task.taskArn}`);
  const taskId = task.taskArn.split('/').at(-1) ?? '';
  const now = Date.now();
  const messages = [
    'Pulling image prefecthq/prefect:nope',
    'Error response from daemon: manifest for prefecthq/prefect:nope not found',
    'Giving up after 7 attempts',
  ];
  world.aws.logs.putLogEvents(
    group,
    `${prefix}/${container.name}/${taskId}`,
    messages.map((message, index) => ({ timestamp: now - 30 + index, message }))
  );
  return messages;
};

/**
 * Plays each run's container by watching the ECS stand-in's tasks (not its events, so the
 * reporter's deliveries are never held up).
 */
export const playEngine = (
  world: EndToEndWorld,
  behaviours: ReadonlyMap<string, Behaviour>
): Engine => {
  const result: Engine = { errors: [], logLines: new Map(), stop: async () => {} };
  const handled = new Set<string>();
  const acting: Promise<void>[] = [];
  let stopped = false;

  const act = async (task: EcsTaskSnapshot, runId: string, behaviour: Behaviour) => {
    switch (behaviour) {
      case 'complete':
        await startFlowRun(world, runId);
        await engine.complete(world.prefect.apiUrl, runId, world.auth);
        await world.aws.ecs.runToCompletion(task.taskArn, { exitCode: 0 });
        return;
      case 'oom':
        await startFlowRun(world, runId);
        await world.aws.ecs.runToCompletion(task.taskArn, {
          exitCode: 137,
          containerReason: OOM_REASON,
        });
        return;
      case 'pull':
        result.logLines.set(task.taskArn, writeContainerLogs(world, task));
        // The task's plan fails it to start with the pull error.
        await world.aws.ecs.advance(task.taskArn, 'STOPPED');
        return;
      default:
        return;
    }
  };

  const loop = async (): Promise<void> => {
    while (!stopped) {
      for (const task of world.aws.ecs.tasks()) {
        const runId = flowRunIdFromStartedBy(task.startedBy);
        const behaviour = runId === undefined ? undefined : behaviours.get(runId);
        if (!runId || !behaviour || handled.has(task.taskArn)) continue;
        const ready =
          behaviour === 'pull' ? task.lastStatus !== 'STOPPED' : task.lastStatus === 'RUNNING';
        if (!ready) continue;
        handled.add(task.taskArn);
        acting.push(
          act(task, runId, behaviour).catch((error: unknown) => {
            result.errors.push(error);
          })
        );
      }
      await sleep(25);
    }
  };
  const running = loop();
  result.stop = async () => {
    stopped = true;
    await running;
    await Promise.all(acting);
  };
  return result;
};

/** `startedBy` of the task {@link startForeignTask} starts. */
export const FOREIGN_STARTED_BY = 'ecs-svc/nightly-report';

/** Runs a task that is not a flow run's (an ECS service's) on the cluster, through to STOPPED. */
export const startForeignTask = async (world: EndToEndWorld): Promise<string> => {
  const ecs = new ECSClient({ region: REGION, endpoint: world.aws.url, credentials });
  try {
    const { taskDefinition } = await ecs.send(
      new RegisterTaskDefinitionCommand(fargateTaskDefinition('nightly-report'))
    );
    world.aws.ecs.setPlan({ startedBy: FOREIGN_STARTED_BY }, { autoAdvance: { delayMs: 50 } });
    const { tasks } = await ecs.send(
      new RunTaskCommand({
        cluster: CLUSTER,
        taskDefinition: taskDefinition?.taskDefinitionArn,
        startedBy: FOREIGN_STARTED_BY,
        launchType: 'FARGATE',
        networkConfiguration: {
          awsvpcConfiguration: { subnets: (await defaultSubnetIds(world.aws)).slice(0, 1) },
        },
      })
    );
    return tasks?.[0]?.taskArn ?? '';
  } finally {
    ecs.destroy();
  }
};

/** Every RunTask call, grouped by its clientToken, with the task ARNs they answered. */
export const runTaskCallsByToken = (aws: AwsStandin) => {
  const byToken = new Map<string, { startedBy: string; taskArns: string[]; errors: string[] }>();
  for (const call of aws.callsTo('RunTask')) {
    const input = call.input as { clientToken?: string; startedBy?: string };
    const entry = byToken.get(input.clientToken ?? '') ?? {
      startedBy: input.startedBy ?? '',
      taskArns: [],
      errors: [],
    };
    for (const task of (call.output as { tasks?: { taskArn: string }[] } | undefined)?.tasks ??
      []) {
      entry.taskArns.push(task.taskArn);
    }
    if (call.error) entry.errors.push(call.error.code);
    byToken.set(input.clientToken ?? '', entry);
  }
  return byToken;
};

/**
 * RunTask calls grouped by flow run (`startedBy`): the clientTokens used (one per attempt), the
 * tasks answered and the errors.
 */
export const runTaskCallsByRun = (aws: AwsStandin) => {
  const byRun = new Map<string, { tokens: Set<string>; taskArns: string[]; errors: string[] }>();
  for (const [token, call] of runTaskCallsByToken(aws)) {
    const runId = flowRunIdFromStartedBy(call.startedBy) ?? call.startedBy;
    const entry = byRun.get(runId) ?? { tokens: new Set(), taskArns: [], errors: [] };
    entry.tokens.add(token);
    entry.taskArns.push(...call.taskArns);
    entry.errors.push(...call.errors);
    byRun.set(runId, entry);
  }
  return byRun;
};

/** JSON of anything logged, with errors spelled out (so a secret inside one would show). */
export const serialize = (value: unknown): string =>
  JSON.stringify(value, (_key, item: unknown) =>
    item instanceof Error ? `${item.name}: ${item.message} ${String(item.cause ?? '')}` : item
  );
