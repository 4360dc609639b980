/**
 * The whole worker in one process (`npm start`): the poller on its cadence, the launcher and the
 * reporter, through the same handlers and `shared/` code as the Lambdas. What AWS provides around
 * the Lambdas is replaced in-process:
 *
 * | deployed                                   | here                                                  |
 * |--------------------------------------------|-------------------------------------------------------|
 * | EventBridge schedule + tick queue          | a timer: a poll at once, then every `POLL_INTERVAL_SECONDS` |
 * | SQS launch queue + event source mapping    | {@link InProcessQueue} (delays, visibility, redelivery, partial batch failures) |
 * | EventBridge "ECS Task State Change" rule   | {@link TaskFollower}: one DescribeTasks per cluster per interval for the tasks it launched |
 * | Lambda async invoke of the reporter        | {@link EventDelivery} (ordered per task, two retries) |
 *
 * Stopping (`stop`) claims nothing more, lets the poll and launches in flight finish (bounded),
 * and reports what was left: claimed runs whose launch message was still queued stay PENDING in
 * Prefect, and the orphan sweep re-enqueues them (here at the next start, or by a deployed poller);
 * tasks still followed are followed again at the next start, which adopts the tasks of the pools'
 * PENDING, RUNNING and CANCELLING runs.
 *
 * This module is a composition root, as the Lambdas' `handler.ts` files are: it builds the SDK
 * clients and wires the Lambdas' handlers; what it wires in is the rest of this folder.
 */
import { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import { EC2Client } from '@aws-sdk/client-ec2';
import { DescribeTasksCommand, ECSClient, type ECSClientConfig } from '@aws-sdk/client-ecs';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { createLauncherHandler } from '../../functions/launcher/handler.ts';
import { createLauncherDeps } from '../../functions/launcher/launcher-deps.ts';
import {
  createPollerHandler,
  POLLER_PREFECT_TIMEOUTS,
  type PollerResponse,
} from '../../functions/poller/create-handler.ts';
import { createReporterHandler } from '../../functions/reporter/handler.ts';
import { createReporterDeps } from '../../functions/reporter/reporter-deps.ts';
import { createRunAwsClients } from '../aws/run-aws-clients.ts';
import { sdkClientOptionsOf } from '../aws/sdk-client-options.ts';
import { createEcsClient } from '../ecs/ecs-client.ts';
import { parseInfrastructurePid } from '../ecs/infrastructure-pid.ts';
import { createPollAws } from '../poll/poll-aws.ts';
import { describeError } from '../poll/poll-deps.ts';
import { pollOptionsFromConfig } from '../poll/poller-config.ts';
import type { PollerDeps } from '../poll/run-poller.ts';
import {
  createPrefectClient,
  type PrefectClient,
  type PrefectClientFactoryDeps,
} from '../prefect/client.ts';
import { resolvePrefectCredentials } from '../secrets/prefect-credentials.ts';
import { createSecretsManagerReader } from '../secrets/secrets-manager-reader.ts';
import { type DeliveryStats, EventDelivery } from './event-delivery.ts';
import { InProcessQueue, type QueuedMessage, type QueueStats } from './in-process-queue.ts';
import { LOCAL_LAUNCH_QUEUE_URL, type LocalWorkerConfig } from './local-config.ts';
import type { FollowedTaskEvent } from './task-event.ts';
import { type DescribeTasksCall, TaskFollower } from './task-follower.ts';
import type { ComponentLogger } from './text-logger.ts';
import { type TrackedLaunch, trackLaunches } from './track-launches.ts';

/** SDK attempts per AWS call, as the Lambdas. */
const AWS_MAX_ATTEMPTS = 4;

/** Where the AWS clients go: the default chain, or an endpoint (the sandbox's stand-in). */
export interface LocalAwsOptions {
  endpoint?: string;
  credentials?: ECSClientConfig['credentials'];
}

/** Hooks for a front end (the sandbox's table); each is optional and must not throw. */
export interface LocalWorkerObserver {
  onPoll?(response: PollerResponse): void;
  onLaunch?(launch: TrackedLaunch): void;
  onTaskEvent?(event: FollowedTaskEvent): void;
}

/** Options of {@link createLocalWorker}. */
export interface LocalWorkerOptions {
  config: LocalWorkerConfig;
  logger: ComponentLogger;
  aws?: LocalAwsOptions;
  observer?: LocalWorkerObserver;
  /** For the Prefect clients (tests: a `sleep` that does not wait). */
  prefectDeps?: PrefectClientFactoryDeps;
  /** Retry delays of reporter deliveries in ms (default 5 s, 15 s). */
  reporterRetryDelaysMs?: readonly number[];
}

/** What {@link LocalWorker.status} tells. */
export interface LocalWorkerStatus {
  polls: number;
  queue: QueueStats;
  /** Tasks followed now. */
  following: number;
  /** Follow rounds (DescribeTasks rounds) made. */
  followRounds: number;
  deliveries: DeliveryStats;
}

/** What was left when the worker stopped. */
export interface StopReport {
  /** Claimed runs whose launch message had not been processed (they stay PENDING in Prefect). */
  queued: { flowRunId: string; receiveCount: number }[];
  /** Tasks still running (or starting) that were followed. */
  following: string[];
  /** Everything in flight finished within the time allowed. */
  drained: boolean;
}

/** The running worker. */
export interface LocalWorker {
  readonly config: LocalWorkerConfig;
  /** Adopts the tasks of runs already launched, polls at once, then keeps the cadence. */
  start(): Promise<void>;
  /**
   * Stops cleanly (see the module comment); waits at most `timeoutMs` for work in flight. May be
   * called while `start` is still adopting: nothing is started then.
   */
  stop(timeoutMs?: number): Promise<StopReport>;
  status(): LocalWorkerStatus;
  /** Whether nothing is queued, launching, followed or being reported. */
  idle(): boolean;
}

/**
 * Lines that tell a person what stopping left behind and why nothing is lost.
 *
 * @example
 * for (const line of describeStop(report, config)) console.log(line);
 */
export const describeStop = (report: StopReport, config: LocalWorkerConfig): string[] => {
  const lines = ['Stopped: no more polls, nothing more claimed.'];
  if (report.queued.length > 0) {
    lines.push(
      `${report.queued.length} claimed flow run(s) were not launched yet (${report.queued.map((run) => run.flowRunId).join(', ')}). They stay PENDING in Prefect; the poller's orphan sweep re-enqueues each ${config.poller.poll.orphanAfterSeconds} s after it was due (ORPHAN_AFTER_SECONDS), at the next \`npm start\` or by a deployed poller.`
    );
  }
  if (report.following.length > 0) {
    lines.push(
      `${report.following.length} ECS task(s) are still running or starting. Their state changes are reported when the next \`npm start\` follows them again (it adopts the tasks of the pools' PENDING, RUNNING and CANCELLING runs); a flow that finishes meanwhile reports its own final state.`
    );
  }
  if (!report.drained) {
    lines.push(
      'Some work in flight did not finish in time; whatever it did not write to Prefect is picked up the same way.'
    );
  }
  if (report.queued.length === 0 && report.following.length === 0 && report.drained) {
    lines.push('Nothing was in flight: nothing is left behind.');
  }
  return lines;
};

/**
 * Prefect client I/O that gives up once `signal` aborts: requests are aborted (and fail at once)
 * and retry waits end immediately, so the client's retries run out without delay.
 */
const abortable = (
  signal: AbortSignal,
  deps: PrefectClientFactoryDeps = {}
): PrefectClientFactoryDeps => {
  const baseFetch = deps.fetch ?? fetch;
  const baseSleep =
    deps.sleep ??
    ((ms: number) =>
      new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, ms);
        signal.addEventListener(
          'abort',
          () => {
            clearTimeout(timer);
            resolve();
          },
          { once: true }
        );
      }));
  return {
    ...deps,
    fetch: (input, init) =>
      baseFetch(input, {
        ...init,
        signal: init?.signal ? AbortSignal.any([init.signal, signal]) : signal,
      }),
    sleep: (ms) => (signal.aborted ? Promise.resolve() : baseSleep(ms)),
  };
};

/** Races `work` against `ms`; resolves whether it finished. */
const within = async (work: Promise<unknown>, ms: number): Promise<boolean> => {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  try {
    return await Promise.race([work.then(() => true as const).catch(() => true as const), expired]);
  } finally {
    clearTimeout(timer);
  }
};

/**
 * Builds the worker (clients, handlers, queue, follower); nothing runs until `start`.
 *
 * @example
 * const config = loadLocalWorkerConfig(process.env, region);
 * const worker = await createLocalWorker({ config, logger });
 * await worker.start();
 * process.once('SIGINT', async () => console.log(describeStop(await worker.stop(), config)));
 */
export const createLocalWorker = async (options: LocalWorkerOptions): Promise<LocalWorker> => {
  const { config, logger, observer = {} } = options;
  const settings = config.poller;
  const region = settings.awsRegion;
  const clientConfig = {
    region,
    maxAttempts: AWS_MAX_ATTEMPTS,
    ...(options.aws?.endpoint ? { endpoint: options.aws.endpoint } : {}),
    ...(options.aws?.credentials ? { credentials: options.aws.credentials } : {}),
  };
  const ecsSdk = new ECSClient(clientConfig);
  const ec2Sdk = new EC2Client(clientConfig);
  const secretsSdk = new SecretsManagerClient(clientConfig);
  const logsClients = new Map<string, CloudWatchLogsClient>();
  const logsClient = (logsRegion: string | undefined): CloudWatchLogsClient => {
    const key = options.aws?.endpoint ? region : (logsRegion ?? region);
    let client = logsClients.get(key);
    if (!client) {
      client = new CloudWatchLogsClient({ ...clientConfig, region: key });
      logsClients.set(key, client);
    }
    return client;
  };

  const log = {
    worker: logger('worker'),
    poller: logger('poller'),
    launcher: logger('launcher'),
    follower: logger('follower'),
    reporter: logger('reporter'),
  };

  // The reporter, fed by the follower.
  const reporterDeps = await createReporterDeps(settings, config.reporter, {
    logger: log.reporter,
    clients: { ecs: ecsSdk, secretsManager: secretsSdk, logs: logsClient },
    ...(options.prefectDeps ? { prefectDeps: options.prefectDeps } : {}),
  });
  const reporter = createReporterHandler(reporterDeps);
  const delivery = new EventDelivery({
    handler: reporter,
    logger: log.reporter,
    ...(options.reporterRetryDelaysMs ? { retryDelaysMs: options.reporterRetryDelaysMs } : {}),
  });
  /** DescribeTasks with `sdk`'s credentials and region (a pool's aws_credentials, or our own). */
  const describers = new WeakMap<ECSClient, DescribeTasksCall>();
  const describeWith = (sdk: ECSClient): DescribeTasksCall => {
    // One function per client: the follower batches the tasks of one function and cluster.
    let describe = describers.get(sdk);
    if (!describe) {
      describe = (cluster, tasks) =>
        sdk.send(new DescribeTasksCommand({ cluster, tasks: [...tasks] }));
      describers.set(sdk, describe);
    }
    return describe;
  };
  const follower = new TaskFollower({
    describeTasks: describeWith(ecsSdk),
    onEvent: (event) => {
      observer.onTaskEvent?.(event);
      delivery.deliver(event);
    },
    intervalMs: config.followIntervalSeconds * 1000,
    logger: log.follower,
  });

  // The launcher, fed by the in-process queue; every task it obtains is followed.
  const launcherDeps = await createLauncherDeps(settings, {
    logger: log.launcher,
    clients: { ecs: ecsSdk, ec2: ec2Sdk, secretsManager: secretsSdk },
    // Every task any scope starts is followed with that scope's client.
    wrapEcs: (ecs, sdk) =>
      trackLaunches(ecs, (launch) => {
        follower.follow(launch.taskArn, launch.cluster, describeWith(sdk));
        observer.onLaunch?.(launch);
      }),
    ...(options.prefectDeps ? { prefectDeps: options.prefectDeps } : {}),
  });
  const queue = new InProcessQueue({
    queueUrl: LOCAL_LAUNCH_QUEUE_URL,
    region,
    consumer: (event) => launcher(event),
    onDeadLetter: (message) =>
      log.launcher.error(
        'A launch message failed on every delivery and was dropped (deployed, it would be in the dead-letter queue); the orphan sweep re-enqueues its run',
        { flow_run_id: message.senderId, receive_count: message.receiveCount }
      ),
    onConsumerError: (error) =>
      log.launcher.error('The launcher failed on a whole batch; its records come back later', {
        error: describeError(error),
      }),
  });
  const launcher = createLauncherHandler({ ...launcherDeps, queue });

  // The poller: the Lambda's handler, invoked directly (all pools, both sweeps) by a timer.
  const credentials = await resolvePrefectCredentials(
    settings.prefectCredentials,
    createSecretsManagerReader(secretsSdk)
  );
  const pollerPrefect: PrefectClient = createPrefectClient(
    {
      apiUrl: settings.prefectApiUrl,
      ...credentials,
      ...POLLER_PREFECT_TIMEOUTS,
      headers: settings.prefectCustomHeaders,
    },
    options.prefectDeps
  );
  const pollerEcs = createEcsClient(ecsSdk, { region });
  const pollerDeps: PollerDeps = {
    prefect: pollerPrefect,
    queue,
    ecs: pollerEcs,
    // The sweeps reach each run's tasks with its pool's credentials, as the deployed poller.
    ecsForRun: createPollAws({
      config: settings,
      prefect: pollerPrefect,
      logger: log.poller,
      home: pollerEcs,
      homeCredentials: () => ecsSdk.config.credentials(),
    }),
    options: pollOptionsFromConfig(settings),
    logger: log.poller,
    tickQueueUrl: undefined,
  };
  const poll = createPollerHandler(async () => pollerDeps, log.poller);
  const intervalMs = settings.poll.pollIntervalSeconds * 1000;

  let polls = 0;
  let pollTimer: NodeJS.Timeout | undefined;
  let pollInFlight: Promise<void> | undefined;
  let stopping = false;

  const pollOnce = async (): Promise<void> => {
    polls += 1;
    try {
      const response = (await poll({})) as PollerResponse;
      observer.onPoll?.(response);
    } catch (error) {
      log.poller.error('Poll failed; the next one tries again', { error: describeError(error) });
    }
  };

  /** Polls now, then again an interval after this poll began (never two at once). */
  const cadence = (): void => {
    if (stopping) return;
    const began = Date.now();
    pollInFlight = pollOnce().finally(() => {
      pollInFlight = undefined;
      if (stopping) return;
      pollTimer = setTimeout(cadence, Math.max(0, began + intervalMs - Date.now()));
    });
  };

  // Adopting must not hold a stop up: its client gives up at once when the worker stops.
  const adoptAbort = new AbortController();
  const adoptPrefect = createPrefectClient(
    {
      apiUrl: settings.prefectApiUrl,
      ...credentials,
      ...POLLER_PREFECT_TIMEOUTS,
      headers: settings.prefectCustomHeaders,
    },
    abortable(adoptAbort.signal, options.prefectDeps)
  );

  /** DescribeTasks with a run's own AWS credentials (its pool's `aws_credentials`, else ours). */
  const describeOfRun = createRunAwsClients<DescribeTasksCall>({
    config: settings,
    prefect: adoptPrefect,
    logger: log.worker,
    home: describeWith(ecsSdk),
    homeCredentials: () => ecsSdk.config.credentials(),
    build: (scope) =>
      describeWith(new ECSClient(sdkClientOptionsOf(scope, { maxAttempts: AWS_MAX_ATTEMPTS }))),
  });

  /** Follows the tasks of runs launched before this start (by an earlier `npm start`). */
  const adoptRunningTasks = async (): Promise<void> => {
    try {
      const runs = await adoptPrefect.filterAllFlowRuns({
        stateTypes: ['PENDING', 'RUNNING', 'CANCELLING'],
        workPoolNames: settings.workPools,
        ...(settings.workQueues.length > 0 ? { workQueueNames: settings.workQueues } : {}),
      });
      let adopted = 0;
      for (const run of runs) {
        const pid = run.infrastructure_pid
          ? parseInfrastructurePid(run.infrastructure_pid)
          : undefined;
        if (!pid) continue;
        try {
          // The task lives where the run's aws_credentials reach (its pool's, or ours).
          follower.follow(pid.taskArn, pid.cluster, await describeOfRun(run));
          adopted += 1;
        } catch (error) {
          log.worker.warn("Could not reach the AWS account of a run's task; not following it", {
            flow_run_id: run.id,
            error: describeError(error),
          });
        }
      }
      if (adopted > 0) {
        log.worker.info('Following the ECS tasks of runs launched before this start', {
          tasks: adopted,
        });
      }
    } catch (error) {
      if (stopping) return;
      log.worker.warn('Could not list the runs launched before this start; not following them', {
        error: describeError(error),
      });
    }
  };

  const destroyClients = (): void => {
    ecsSdk.destroy();
    ec2Sdk.destroy();
    secretsSdk.destroy();
    for (const client of logsClients.values()) client.destroy();
  };

  return {
    config,
    async start() {
      await adoptRunningTasks();
      // Stopped while adopting: start nothing.
      if (stopping) return;
      queue.start();
      follower.start();
      cadence();
    },
    async stop(timeoutMs = 30_000) {
      const deadline = Date.now() + timeoutMs;
      const left = () => Math.max(0, deadline - Date.now());
      stopping = true;
      adoptAbort.abort();
      if (pollTimer !== undefined) clearTimeout(pollTimer);
      let drained = true;
      // A poll in flight may be claiming: let it enqueue what it claimed.
      if (pollInFlight !== undefined) drained = (await within(pollInFlight, left())) && drained;
      // No new deliveries; the launches in flight finish (their tasks get followed).
      drained = (await queue.close(left())) && drained;
      await follower.stop();
      drained = (await delivery.idle(left())) && drained;
      delivery.close();
      const report: StopReport = {
        queued: queue.pending().map((message: QueuedMessage) => ({
          flowRunId: message.senderId,
          receiveCount: message.receiveCount,
        })),
        following: follower.following(),
        drained,
      };
      destroyClients();
      return report;
    },
    status() {
      return {
        polls,
        queue: queue.stats(),
        following: follower.following().length,
        followRounds: follower.rounds,
        deliveries: delivery.stats(),
      };
    },
    idle() {
      const stats = queue.stats();
      return (
        stats.delayed + stats.ready + stats.inFlight === 0 &&
        follower.following().length === 0 &&
        delivery.stats().pending === 0
      );
    },
  };
};
