/**
 * What one poll needs: its options (from `poller-config.ts` or a test) and its ports. The ports are
 * the narrowest slices of the shared clients, so tests can hand in small fakes.
 */
import type { Metrics } from '@aws-lambda-powertools/metrics';
import type { EcsApi, EcsTaskControl } from '../ecs/ecs-api.ts';
import type { FlowRun } from '../prefect/schemas.ts';

/** The ECS calls of the sweeps: DescribeTasks, StopTask, and ListTasks by a run's `startedBy`. */
export type PollEcs = EcsTaskControl & Pick<EcsApi, 'listLiveTasksStartedBy'>;

import type { PrefectClient } from '../prefect/client.ts';
import type { QueueSender } from '../queue/queue-sender.ts';

/** The Prefect calls a poll makes. */
export type PollPrefect = Pick<
  PrefectClient,
  | 'readWorkPool'
  | 'sendWorkerHeartbeat'
  | 'getScheduledFlowRuns'
  | 'setFlowRunState'
  | 'updateFlowRunLabels'
  | 'filterAllFlowRuns'
  | 'readFlowRun'
  | 'readFlowRunStates'
  | 'readDeployment'
  | 'createLogs'
>;

/** Structured log lines; a Powertools `Logger` fits. */
export interface PollLogger {
  debug(message: string, ...attributes: Record<string, unknown>[]): void;
  info(message: string, ...attributes: Record<string, unknown>[]): void;
  warn(message: string, ...attributes: Record<string, unknown>[]): void;
  error(message: string, ...attributes: Record<string, unknown>[]): void;
}

/** How the poller behaves; `poller-config.ts` reads them from the environment. */
export interface PollOptions {
  /** `PREFECT_WORK_POOLS`: the pools this stack serves. */
  workPools: readonly string[];
  /** `PREFECT_WORK_QUEUES`: queue names to poll; empty means every queue of the pool. */
  workQueues: readonly string[];
  /** `PREFECT_WORKER_NAME`: one stable worker row per pool. */
  workerName: string;
  /** `LAUNCH_QUEUE_URL`. */
  launchQueueUrl: string;
  /** `POLL_INTERVAL_SECONDS`: the real cadence, sent as `heartbeat_interval_seconds`. */
  pollIntervalSeconds: number;
  /** `POLL_PREFETCH_SECONDS`: claim runs scheduled up to this far ahead. */
  prefetchSeconds: number;
  /** `LAUNCH_LEAD_SECONDS`: launch this long before the scheduled time. */
  leadSeconds: number;
  /** `POLL_LIMIT`: runs per `get_scheduled_flow_runs` page (1–200). */
  limit: number;
  /** `ORPHAN_AFTER_SECONDS`: a claimed run still without infrastructure this long after it was due is an orphan. */
  orphanAfterSeconds: number;
  /** `ORPHAN_MAX_REQUEUES`: re-enqueues before an orphan is CRASHED. */
  maxRequeues: number;
  /** `CANCEL_LOOKBACK_SECONDS`: runs that reached CANCELLED this recently get their live task stopped. */
  cancelLookbackSeconds: number;
  /** Claims (and label writes) in flight at once (default 8). */
  claimConcurrency?: number;
  /** Stop claiming in one poll after this many runs (default 1 000); the next poll goes on. */
  maxRunsPerPoll?: number;
}

/** The ports and the options of a poll. */
export interface PollDeps {
  prefect: PollPrefect;
  /** Sends launch messages (and the handler's ticks). */
  queue: QueueSender;
  /** StopTask and DescribeTasks for the cancellation sweep (CANCELLING and recently CANCELLED runs). */
  ecs: PollEcs;
  /**
   * The ECS client of a run's own AWS credentials (its pool's `aws_credentials`,
   * `shared/poll/poll-aws.ts`), for the sweeps. None: `ecs` for every run.
   */
  ecsForRun?: (run: FlowRun) => Promise<PollEcs>;
  options: PollOptions;
  logger: PollLogger;
  /** The clock (default: the system's). */
  now?: () => Date;
  /** uuid4 source for claim transition ids (default `crypto.randomUUID`). */
  randomUUID?: () => string;
  /**
   * Where the poll's own metrics go (the orphan sweep's RunsCrashed); the handler adds the totals
   * and the duration, and publishes. None: not counted.
   */
  metrics?: Metrics;
}

/** {@link PollDeps} with every default applied. */
export interface ResolvedPollDeps {
  prefect: PollPrefect;
  queue: QueueSender;
  ecs: PollEcs;
  ecsForRun: (run: FlowRun) => Promise<PollEcs>;
  options: Required<PollOptions>;
  logger: PollLogger;
  now: () => Date;
  randomUUID: () => string;
  metrics?: Metrics;
}

/** Default claims in flight at once. */
export const DEFAULT_CLAIM_CONCURRENCY = 8;
/** Default cap on runs claimed in one poll. */
export const DEFAULT_MAX_RUNS_PER_POLL = 1000;

/** Applies the defaults of {@link PollDeps}. */
export const resolvePollDeps = (deps: PollDeps): ResolvedPollDeps => ({
  prefect: deps.prefect,
  queue: deps.queue,
  ecs: deps.ecs,
  ecsForRun: deps.ecsForRun ?? (async () => deps.ecs),
  logger: deps.logger,
  now: deps.now ?? (() => new Date()),
  randomUUID: deps.randomUUID ?? (() => globalThis.crypto.randomUUID()),
  ...(deps.metrics ? { metrics: deps.metrics } : {}),
  options: {
    ...deps.options,
    claimConcurrency: Math.max(1, deps.options.claimConcurrency ?? DEFAULT_CLAIM_CONCURRENCY),
    maxRunsPerPoll: Math.max(1, deps.options.maxRunsPerPoll ?? DEFAULT_MAX_RUNS_PER_POLL),
  },
});

/** The message of anything thrown, for results and logs. */
export const describeError = (error: unknown): string =>
  error instanceof Error ? error.message : String(error);
