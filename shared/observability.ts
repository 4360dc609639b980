/**
 * The one place where the Lambdas build their Powertools Logger and Metrics, and the names of every
 * metric they publish. The alarms (infra/alarms.yml) and the dashboard (infra/dashboard.cjs) read
 * these metrics by the same names, in namespace {@link METRICS_NAMESPACE} with the single dimension
 * `service` = `POWERTOOLS_SERVICE_NAME` (`prefect-ecs-serverless-<stage>`, set by serverless.yml).
 *
 * Logs are structured JSON, one object per line; put the flow run id on every line of a run's work
 * with `logger.appendKeys({ [FLOW_RUN_ID_KEY]: id })` (and `removeKeys` afterwards, or
 * `injectLambdaContext(logger, { resetKeys: true })`). Metrics are CloudWatch embedded metric format
 * lines, published by {@link flushMetrics} (or `logMetrics(metrics)` with middy) at the end of each
 * invocation.
 *
 * Cost rule: CloudWatch bills a custom metric (name × dimension values) for every hour it is
 * published in, $0.30 a month when published all the time. Publish only when something happened
 * (a run claimed, launched, crashed, cancelled): an idle stack must publish nothing.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';

/** A CloudWatch unit, as Powertools names them. */
type Unit = (typeof MetricUnit)[keyof typeof MetricUnit];

/** The service name when `POWERTOOLS_SERVICE_NAME` is not set (local runs, tests). */
export const SERVICE_NAME = 'prefect-ecs-serverless';
/** The CloudWatch namespace of our metrics. */
export const METRICS_NAMESPACE = 'PrefectEcsServerless';
/** The log key carrying the flow run id on every line about one run. */
export const FLOW_RUN_ID_KEY = 'flow_run_id';
/** The dimension of {@link MetricName.RunsCrashed}. */
export const CRASH_CAUSE_DIMENSION = 'Cause';

/** Which Lambda is logging: the `component` key of every log line. */
export type Component = 'poller' | 'launcher' | 'reporter' | 'webhook';

/** Every metric name we publish. */
export const MetricName = {
  /** Count: runs the poller (or webhook) claimed, i.e. whose PENDING proposal was ACCEPTed. */
  RunsClaimed: 'RunsClaimed',
  /** Count: runs whose ECS task RunTask started (the launcher). */
  RunsLaunched: 'RunsLaunched',
  /** Count, dimension `Cause`: runs proposed CRASHED (the reporter, or the launcher on a permanent failure). */
  RunsCrashed: 'RunsCrashed',
  /** Count: runs set CANCELLED (the poller's cancel sweep, or the reporter on STOPPED while CANCELLING). */
  RunsCancelled: 'RunsCancelled',
  /** Count: still-running ECS tasks of CANCELLED runs that the poller's cancel sweep stopped. */
  TasksStopped: 'TasksStopped',
  /** Milliseconds from the run's scheduled start to its RunTask (0 when started early). */
  LaunchLatency: 'LaunchLatency',
  /** Milliseconds one poll of all pools took. */
  PollDuration: 'PollDuration',
} as const;

export type MetricName = (typeof MetricName)[keyof typeof MetricName];

/** The unit each metric is published with. */
export const METRIC_UNITS: Readonly<Record<MetricName, Unit>> = {
  RunsClaimed: MetricUnit.Count,
  RunsLaunched: MetricUnit.Count,
  RunsCrashed: MetricUnit.Count,
  RunsCancelled: MetricUnit.Count,
  TasksStopped: MetricUnit.Count,
  LaunchLatency: MetricUnit.Milliseconds,
  PollDuration: MetricUnit.Milliseconds,
};

/**
 * Every `Cause` value of {@link MetricName.RunsCrashed}: the one list. The reporter's diagnoses
 * (shared/report/diagnose-stopped-task.ts, whose `StopCause` is the subset below) and the
 * launcher's and the poller's own crashes all name their cause from it. A small fixed set keeps the
 * dashboard readable: each value is its own series (and custom metric), and the dashboard's
 * `SEARCH` picks up every one.
 */
export const CrashCause = {
  /** The reporter: the image could not be pulled (`CannotPullContainerError`). */
  ImagePull: 'image-pull',
  /** The reporter: ECS could not prepare the task (secrets, logs, network interface, volumes). */
  ResourceInitialization: 'resource-initialization',
  /** The reporter: another `TaskFailedToStart` (capacity, `CannotStartContainerError`, …). */
  FailedToStart: 'failed-to-start',
  /** The reporter: a container was killed for memory (`OutOfMemoryError`, or exit code 137). */
  OutOfMemory: 'out-of-memory',
  /** The reporter: AWS reclaimed the Spot capacity. */
  SpotInterruption: 'spot-interruption',
  /** The reporter: a StopTask call outside Prefect's cancellation. */
  StoppedByUser: 'stopped-by-user',
  /** The reporter: the ECS service scheduler stopped the task. */
  StoppedByScheduler: 'stopped-by-scheduler',
  /** The reporter: an essential sidecar exited, so ECS stopped the flow container. */
  EssentialSidecarExited: 'essential-sidecar-exited',
  /** The reporter: the flow container exited with a non-zero code. */
  NonZeroExit: 'non-zero-exit',
  /** The reporter: the task stopped without an exit code (host lost, agent disconnected). */
  NoExitCode: 'no-exit-code',
  /** The reporter: exit code 0 without the flow reporting a final state. */
  ExitedWithoutFinalState: 'exited-without-final-state',
  /** The launcher gave up: a permanent RunTask / task-definition error, or the retry deadline passed. */
  LaunchFailed: 'launch-failed',
  /** The poller's orphan sweep gave up on a claimed run that never got a task. */
  LaunchNeverCompleted: 'launch-never-completed',
  /** No better name. */
  Other: 'other',
} as const;

export type CrashCause = (typeof CrashCause)[keyof typeof CrashCause];

type Environment = Readonly<Record<string, string | undefined>>;

const serviceNameOf = (env: Environment): string =>
  env.POWERTOOLS_SERVICE_NAME?.trim() || SERVICE_NAME;

/**
 * The Logger of one Lambda: JSON lines with `service`, `component`, the Lambda context (once
 * `injectLambdaContext` runs) and the level from `POWERTOOLS_LOG_LEVEL` (default INFO).
 *
 * @example
 * const logger = createLogger('launcher');
 * logger.appendKeys({ [FLOW_RUN_ID_KEY]: message.flow_run_id });
 * logger.info('Task started', { taskArn });
 */
export const createLogger = (component: Component, env: Environment = process.env): Logger =>
  new Logger({ serviceName: serviceNameOf(env), persistentKeys: { component } });

/**
 * The Metrics of one Lambda: namespace {@link METRICS_NAMESPACE}, dimension `service`. Publish at
 * the end of each invocation (`logMetrics(metrics)` middleware, or `publishStoredMetrics()`).
 *
 * @example
 * const metrics = createMetrics();
 * recordCount(metrics, MetricName.RunsLaunched);
 * metrics.publishStoredMetrics();
 */
export const createMetrics = (env: Environment = process.env): Metrics =>
  new Metrics({ namespace: METRICS_NAMESPACE, serviceName: serviceNameOf(env) });

/** The counters that take no dimension of their own. */
export type CountMetric =
  | typeof MetricName.RunsClaimed
  | typeof MetricName.RunsLaunched
  | typeof MetricName.RunsCancelled
  | typeof MetricName.TasksStopped;

/** Adds `value` (default 1) to a counter; a zero is not recorded. */
export const recordCount = (metrics: Metrics, name: CountMetric, value = 1): void => {
  if (value > 0) metrics.addMetric(name, METRIC_UNITS[name], value);
};

const MAX_DIMENSION_VALUE = 250;

/**
 * One crashed run, with its cause as the `Cause` dimension. Emitted at once as its own EMF line
 * (Powertools `singleMetric`), so the extra dimension never lands on the invocation's other metrics.
 *
 * @example
 * recordRunCrashed(metrics, diagnosis.cause); // e.g. CrashCause.OutOfMemory, 'out-of-memory'
 */
export const recordRunCrashed = (metrics: Metrics, cause: string): void => {
  const value = cause.trim().replace(/\s+/g, '_').slice(0, MAX_DIMENSION_VALUE) || CrashCause.Other;
  const single = metrics.singleMetric();
  single.addDimension(CRASH_CAUSE_DIMENSION, value);
  single.addMetric(MetricName.RunsCrashed, METRIC_UNITS.RunsCrashed, 1);
};

/**
 * Launch latency: milliseconds from `scheduledTime` to `startedAt` (RunTask's answer). A run
 * started early (prefetch and lead) counts as 0: CloudWatch computes no percentiles over negative
 * values, and the alarm is on p95.
 *
 * @example
 * recordLaunchLatency(metrics, message.scheduled_time, new Date());
 */
export const recordLaunchLatency = (
  metrics: Metrics,
  scheduledTime: Date | string,
  startedAt: Date = new Date()
): void => {
  const scheduled = scheduledTime instanceof Date ? scheduledTime : new Date(scheduledTime);
  const milliseconds = startedAt.getTime() - scheduled.getTime();
  if (Number.isNaN(milliseconds)) return;
  metrics.addMetric(
    MetricName.LaunchLatency,
    METRIC_UNITS.LaunchLatency,
    Math.max(0, milliseconds)
  );
};

/**
 * Publishes what the invocation recorded (call it once at its end, also on error). Nothing is
 * written when nothing was recorded: Powertools' `publishStoredMetrics()` would log a "No
 * application metrics to publish" warning on every such invocation (a launcher batch of skipped
 * records, a reporter event that changes nothing, a webhook call that claims nothing).
 *
 * @example
 * try { await work(); } finally { flushMetrics(metrics); }
 */
export const flushMetrics = (metrics: Metrics): void => {
  if (metrics.hasStoredMetrics()) metrics.publishStoredMetrics();
};

/**
 * Whether the poller publishes {@link MetricName.PollDuration}: `POLL_DURATION_METRIC=true`, which
 * serverless.yml sets with the dashboard (dashboard=true), the metric's only reader. Off by default:
 * published on every poll, the metric would be billed all month even with no flow run ($0.30).
 *
 * @example
 * pollDurationMetricEnabled({ POLL_DURATION_METRIC: 'true' }); // true
 */
export const pollDurationMetricEnabled = (env: Environment = process.env): boolean =>
  env.POLL_DURATION_METRIC?.trim().toLowerCase() === 'true';

/**
 * How long one poll took.
 *
 * @example
 * const started = performance.now();
 * await pollOnce();
 * recordPollDuration(metrics, performance.now() - started);
 */
export const recordPollDuration = (metrics: Metrics, milliseconds: number): void => {
  if (Number.isFinite(milliseconds) && milliseconds >= 0) {
    metrics.addMetric(MetricName.PollDuration, METRIC_UNITS.PollDuration, milliseconds);
  }
};
