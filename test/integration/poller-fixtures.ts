/**
 * The poller's integration world: the Prefect stand-in on a manual (or the real) clock, the SQS
 * stand-in with the launch and tick queues, optionally the AWS stand-in for ECS, the real clients
 * aimed at them, and helpers to seed runs and read what reached the launch queue.
 */

import { ECSClient } from '@aws-sdk/client-ecs';
import { SQSClient } from '@aws-sdk/client-sqs';
import type { EcsApi, EcsTaskControl } from '../../shared/ecs/ecs-api.ts';
import { createEcsClient } from '../../shared/ecs/ecs-client.ts';
import { type LaunchMessage, parseLaunchMessage } from '../../shared/launch/launch-message.ts';
import type { PollOptions } from '../../shared/poll/poll-deps.ts';
import { POLLER_DEFAULTS } from '../../shared/poll/poller-config.ts';
import type { PollerDeps } from '../../shared/poll/run-poller.ts';
import { createPrefectClient, type PrefectClient } from '../../shared/prefect/client.ts';
import type { QueueSender } from '../../shared/queue/queue-sender.ts';
import { createSqsQueueSender } from '../../shared/queue/sqs-queue-sender.ts';
import { startAwsStandin } from '../standins/ecs/server.ts';
import type { AwsStandin } from '../standins/ecs/types.ts';
import { seed } from '../standins/prefect/actors.ts';
import { createManualClock, type ManualClock } from '../standins/prefect/manual-clock.ts';
import { type PrefectStandin, startPrefectStandin } from '../standins/prefect/server.ts';
import { type SqsStandin, startSqsStandin } from '../standins/sqs/server.ts';

export const WORKER = 'prefect-ecs-serverless-test';
export const credentials = { accessKeyId: 'test', secretAccessKey: 'test' };

/** A log sink that keeps every line, for assertions. */
export const createMemoryLogger = () => {
  const lines: { level: string; message: string; attributes: Record<string, unknown> }[] = [];
  const at =
    (level: string) =>
    (message: string, ...attributes: Record<string, unknown>[]) => {
      lines.push({ level, message, attributes: Object.assign({}, ...attributes) });
    };
  return { lines, debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
};

/** A launch message as it sits in the queue. */
export interface QueuedLaunch {
  message: LaunchMessage;
  /** The timer SQS was given, in whole seconds (from fauxqs' `delayUntil - sentTimestamp`). */
  delaySeconds: number;
  state: 'ready' | 'delayed' | 'inflight';
}

export interface PollerWorld {
  /** The clock the Prefect (and AWS) stand-ins and the poller share; undefined on real time. */
  clock: ManualClock | undefined;
  now: () => Date;
  prefect: PrefectStandin;
  sqs: SqsStandin;
  aws: AwsStandin | undefined;
  /** A client for seeding and reading (not the poller's). */
  admin: PrefectClient;
  sqsClient: SQSClient;
  launchQueueUrl: string;
  tickQueueUrl: string;
  /** The poller's real queue sender over the SQS stand-in. */
  queue: QueueSender;
  /** The real ECS adapter over the AWS stand-in (a stub that throws when there is none). */
  ecs: EcsApi & EcsTaskControl;
  ecsSdk: ECSClient | undefined;
  /** A fresh Prefect client for a poller (its own connections), retrying without real waits. */
  pollerClient(options?: { maxRetries?: number; fetch?: typeof fetch }): PrefectClient;
  /** Poller dependencies over the world; `options` override the defaults. */
  deps(
    overrides?: Partial<Omit<PollerDeps, 'options'>> & { options?: Partial<PollOptions> }
  ): PollerDeps & { logger: ReturnType<typeof createMemoryLogger> };
  /** Every launch message in the queue (ready, delayed or in flight), oldest first. */
  launches(): QueuedLaunch[];
  /** Empties every queue. */
  purge(): void;
  close(): Promise<void>;
}

export interface WorldOptions {
  /** The pools `PREFECT_WORK_POOLS` lists (default `['ecs-pool']`). */
  pools?: string[];
  /** Default: a manual clock at 2026-08-21T12:00:00Z. `'real'` uses the system clock. */
  clock?: 'manual' | 'real';
  /** Start the AWS stand-in too (for the cancellation sweep). */
  aws?: boolean;
}

const noEcs: EcsApi & EcsTaskControl = new Proxy({} as EcsApi & EcsTaskControl, {
  get: (_target, name) => () => {
    throw new Error(`This world has no ECS stand-in (called ${String(name)})`);
  },
});

export const startPollerWorld = async (options: WorldOptions = {}): Promise<PollerWorld> => {
  const clock = options.clock === 'real' ? undefined : createManualClock('2026-08-21T12:00:00Z');
  const now = clock ? clock.now : () => new Date();
  const prefect = await startPrefectStandin({ now });
  const sqs = await startSqsStandin({
    queues: [{ name: 'launch', visibilityTimeout: 300, maxReceiveCount: 5 }, { name: 'tick' }],
  });
  const aws = options.aws ? await startAwsStandin({ now }) : undefined;
  const sqsClient = new SQSClient({ region: 'us-east-1', endpoint: sqs.url, credentials });
  const ecsSdk = aws
    ? new ECSClient({ region: aws.region, endpoint: aws.url, credentials, maxAttempts: 1 })
    : undefined;
  const ecs = ecsSdk ? createEcsClient(ecsSdk, { region: 'us-east-1' }) : noEcs;
  const queue = createSqsQueueSender(sqsClient, { sleep: async () => {} });
  const launchQueueUrl = sqs.queues.launch?.url ?? '';
  const tickQueueUrl = sqs.queues.tick?.url ?? '';
  const pollerClient = (clientOptions: { maxRetries?: number; fetch?: typeof fetch } = {}) =>
    createPrefectClient(
      { apiUrl: prefect.apiUrl, maxRetries: clientOptions.maxRetries ?? 2 },
      { sleep: async () => {}, ...(clientOptions.fetch ? { fetch: clientOptions.fetch } : {}) }
    );
  const admin = pollerClient();
  const pools = options.pools ?? ['ecs-pool'];

  return {
    clock,
    now,
    prefect,
    sqs,
    aws,
    admin,
    sqsClient,
    launchQueueUrl,
    tickQueueUrl,
    queue,
    ecs,
    ecsSdk,
    pollerClient,
    deps(overrides = {}) {
      const { options: optionOverrides, ...rest } = overrides;
      return {
        prefect: pollerClient(),
        queue,
        ecs,
        now,
        tickQueueUrl,
        logger: createMemoryLogger(),
        ...rest,
        options: {
          workPools: pools,
          workQueues: [],
          workerName: WORKER,
          launchQueueUrl,
          pollIntervalSeconds: POLLER_DEFAULTS.pollIntervalSeconds,
          prefetchSeconds: POLLER_DEFAULTS.prefetchSeconds,
          leadSeconds: POLLER_DEFAULTS.leadSeconds,
          limit: POLLER_DEFAULTS.limit,
          orphanAfterSeconds: POLLER_DEFAULTS.orphanAfterSeconds,
          maxRequeues: POLLER_DEFAULTS.maxRequeues,
          cancelLookbackSeconds: POLLER_DEFAULTS.cancelLookbackSeconds,
          ...optionOverrides,
        },
      } as PollerDeps & { logger: ReturnType<typeof createMemoryLogger> };
    },
    launches() {
      const inspected = sqs.fauxqs.inspectQueue('launch');
      if (!inspected) return [];
      const toLaunch = (
        message: { body: string; sentTimestamp: number; delayUntil?: number },
        state: QueuedLaunch['state']
      ): QueuedLaunch => ({
        message: parseLaunchMessage(message.body),
        delaySeconds:
          message.delayUntil === undefined
            ? 0
            : Math.round((message.delayUntil - message.sentTimestamp) / 1000),
        state,
      });
      return [
        ...inspected.messages.ready.map((m) => toLaunch(m, 'ready')),
        ...inspected.messages.delayed.map((m) => toLaunch(m, 'delayed')),
        ...inspected.messages.inflight.map((m) => toLaunch(m.message, 'inflight')),
      ];
    },
    purge() {
      sqs.fauxqs.reset();
    },
    async close() {
      sqsClient.destroy();
      ecsSdk?.destroy();
      await sqs.close();
      await prefect.close();
      await aws?.close();
    },
  };
};

/** Seeds an ECS pool, a deployment on it and `count` runs at `scheduledTime` (default now). */
export const seedRuns = async (
  world: PollerWorld,
  options: {
    pool?: string;
    poolType?: string;
    concurrencyLimit?: number | null;
    paused?: boolean;
    deployment?: string;
    deploymentConcurrencyLimit?: number;
    count: number;
    scheduledTime?: Date;
    createPool?: boolean;
  }
) => {
  const poolName = options.pool ?? 'ecs-pool';
  if (options.createPool ?? true) {
    await seed.workPool(world.prefect.apiUrl, {
      name: poolName,
      type: options.poolType ?? 'ecs',
      ...(options.concurrencyLimit === undefined
        ? {}
        : { concurrency_limit: options.concurrencyLimit }),
      ...(options.paused === undefined ? {} : { is_paused: options.paused }),
    });
  }
  const deployment = await seed.deployment(world.prefect.apiUrl, {
    name: options.deployment ?? `etl-${poolName}`,
    workPoolName: poolName,
    ...(options.deploymentConcurrencyLimit
      ? { concurrencyLimit: options.deploymentConcurrencyLimit }
      : {}),
  });
  const runs = [];
  for (let i = 0; i < options.count; i += 1) {
    runs.push(
      await seed.flowRun(world.prefect.apiUrl, deployment.id, {
        scheduledTime: options.scheduledTime ?? world.now(),
      })
    );
  }
  return { deployment, runs, poolName };
};

/** Counts per flow run id. */
export const countBy = (ids: readonly string[]): Map<string, number> => {
  const counts = new Map<string, number>();
  for (const id of ids) counts.set(id, (counts.get(id) ?? 0) + 1);
  return counts;
};
