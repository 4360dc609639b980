/**
 * One SQS record of the launch queue, end to end: parse, launch, and decide when SQS delivers it
 * again. The handler only wires this into Powertools' batch processor.
 *
 * Contract with the batch processor: returning acknowledges the record (SQS deletes it); throwing
 * reports it as a batch item failure, so SQS delivers it again once its visibility timeout ends.
 * Before throwing, the timeout is set (ChangeMessageVisibility) to a growing delay, so retries back
 * off instead of coming back at the queue's fixed timeout:
 * - a transient failure: 15 s × 2^(receives − 1) ±20 %, capped at 900 s and at the run's retry
 *   deadline (`launchFlowRun` CRASHes the run at the attempt after the deadline);
 * - a throttled one (ECS ThrottlingException, or the launcher's own pacer): a few seconds, jittered
 *   and sized by the launch rate (`throttled-redelivery.ts`), for its first few deliveries;
 * - a failure after the task started (recording `infrastructure_pid`): the same backoff with no
 *   deadline, since the task is running and only the pid is missing;
 * - a malformed message: one error log and 900 s, so it reaches the DLQ after the queue's
 *   `maxReceiveCount` deliveries without hot retries. (Acknowledging it would lose it; sending it to
 *   the DLQ ourselves would need the DLQ's URL and `sqs:SendMessage`, and the redrive policy does the
 *   same.) Prefect is never called for it.
 */
import type { Metrics } from '@aws-lambda-powertools/metrics';
import { InvalidMessageError } from '../errors/invalid-message-error.ts';
import { LaunchError } from '../errors/launch-error.ts';
import type { WorkerEventPublisher } from '../events/worker-event-publisher.ts';
import {
  CrashCause,
  MetricName,
  recordCount,
  recordLaunchLatency,
  recordRunCrashed,
} from '../observability.ts';
import { classifyError } from './classify-error.ts';
import type { LaunchDeps, LaunchOutcome } from './launch-deps.ts';
import { launchFlowRun } from './launch-flow-run.ts';
import type { LaunchLogger } from './launch-logger.ts';
import { withLogKeys } from './launch-logger.ts';
import { type LaunchMessage, parseLaunchMessage, retryDeadlineMs } from './launch-message.ts';
import {
  DEFAULT_LAUNCH_RATE_PER_SECOND,
  DEFAULT_LAUNCHER_MAX_CONCURRENCY,
  LAUNCHER_BATCH_SIZE,
  type LaunchPacing,
} from './launch-pacing.ts';
import type { QueueApi } from './queue-api.ts';
import { computeRedeliveryDelay, MALFORMED_MESSAGE_VISIBILITY_SECONDS } from './redelivery.ts';
import { computeThrottledRedeliveryDelay, isThrottlingError } from './throttled-redelivery.ts';

/** The fields of an SQS record (`aws-lambda`'s `SQSRecord`) this function reads. */
export interface LaunchRecord {
  messageId: string;
  receiptHandle: string;
  body: string;
  attributes: { ApproximateReceiveCount?: string };
}

/** I/O of {@link processLaunchRecord}: the launch's, plus the queue and the metrics. */
export interface ProcessLaunchRecordDeps extends LaunchDeps {
  queue: QueueApi;
  /**
   * Where each settled launch is counted: RunsLaunched and LaunchLatency, RunsCrashed
   * (`launch-failed`), RunsCancelled. The handler publishes them; none: not counted.
   */
  metrics?: Metrics;
  /** The deployed launch pacing, which sizes a throttled launch's redelivery; default: the defaults. */
  pacing?: LaunchPacing;
  /**
   * Sends the worker events: the handler opens one batch per invocation (`workerEvents`) and
   * flushes it after the records, one `POST /events` for the batch's submitted-flow-run events.
   * None: no worker events.
   */
  workerEventPublisher?: WorkerEventPublisher | undefined;
}

const DEFAULT_PACING: LaunchPacing = {
  ratePerSecond: DEFAULT_LAUNCH_RATE_PER_SECOND,
  maxConcurrency: DEFAULT_LAUNCHER_MAX_CONCURRENCY,
  batchSize: LAUNCHER_BATCH_SIZE,
};

/** Counts one settled launch (a skipped one is not counted). */
const recordOutcome = (
  metrics: Metrics,
  outcome: LaunchOutcome,
  message: LaunchMessage,
  now: Date
): void => {
  switch (outcome.status) {
    case 'launched':
      recordCount(metrics, MetricName.RunsLaunched);
      recordLaunchLatency(metrics, message.scheduled_time, now);
      break;
    case 'crashed':
      recordRunCrashed(metrics, CrashCause.LaunchFailed);
      break;
    case 'cancelled':
      recordCount(metrics, MetricName.RunsCancelled);
      break;
    default:
      break;
  }
};

/** The flow run id of a body that is not a valid launch message, when it names one (for logs). */
const flowRunIdOf = (body: string): string | undefined => {
  try {
    const parsed: unknown = JSON.parse(body);
    const id =
      typeof parsed === 'object' && parsed !== null
        ? (parsed as Record<string, unknown>).flow_run_id
        : undefined;
    return typeof id === 'string' && id.length > 0 && id.length <= 100 ? id : undefined;
  } catch {
    return undefined;
  }
};

const receiveCountOf = (record: LaunchRecord): number => {
  const count = Number(record.attributes.ApproximateReceiveCount ?? '1');
  return Number.isFinite(count) && count >= 1 ? Math.floor(count) : 1;
};

/** Sets the record's next delivery; a failure here only costs the backoff, so it is logged. */
const scheduleRedelivery = async (
  record: LaunchRecord,
  seconds: number,
  deps: { queue: QueueApi },
  log: LaunchLogger
): Promise<void> => {
  try {
    await deps.queue.changeVisibility(record.receiptHandle, seconds);
  } catch (error) {
    log.warn('Could not delay the next delivery; SQS uses the queue visibility timeout', {
      error: error instanceof Error ? error.message : String(error),
    });
  }
};

const parseOrReport = async (
  record: LaunchRecord,
  deps: ProcessLaunchRecordDeps
): Promise<LaunchMessage> => {
  try {
    return parseLaunchMessage(record.body);
  } catch (error) {
    if (!(error instanceof InvalidMessageError)) throw error;
    const flowRunId = flowRunIdOf(record.body);
    const log = withLogKeys(deps.logger, {
      ...(flowRunId === undefined ? {} : { flow_run_id: flowRunId }),
      message_id: record.messageId,
    });
    log.error('Malformed launch message; it goes to the dead-letter queue after its retries', {
      issues: error.issues,
      receive_count: receiveCountOf(record),
      body_length: record.body.length,
    });
    await scheduleRedelivery(record, MALFORMED_MESSAGE_VISIBILITY_SECONDS, deps, log);
    throw error;
  }
};

/**
 * Processes one record; see the module comment for the ack/retry contract.
 *
 * @example
 * const recordHandler = (record: SQSRecord) => processLaunchRecord(record, deps);
 */
export const processLaunchRecord = async (
  record: LaunchRecord,
  deps: ProcessLaunchRecordDeps
): Promise<LaunchOutcome> => {
  const message = await parseOrReport(record, deps);
  const log = withLogKeys(deps.logger, {
    flow_run_id: message.flow_run_id,
    message_id: record.messageId,
  });
  const receiveCount = receiveCountOf(record);
  try {
    const outcome = await launchFlowRun(message, { ...deps, logger: log });
    log.info(`Launch ${outcome.status}`, { outcome, receive_count: receiveCount });
    if (deps.metrics) {
      recordOutcome(deps.metrics, outcome, message, (deps.now ?? (() => new Date()))());
    }
    return outcome;
  } catch (error) {
    const now = (deps.now ?? (() => new Date()))().getTime();
    const taskStarted = error instanceof LaunchError && error.taskArn !== undefined;
    const deadlineMs = taskStarted
      ? Number.POSITIVE_INFINITY
      : retryDeadlineMs(message, deps.settings.retryDeadlineSeconds);
    const throttledLaunch = isThrottlingError(error);
    const redelivery = {
      receiveCount,
      nowMs: now,
      deadlineMs,
      random: deps.random ?? Math.random,
    };
    // ECS throttled: back within seconds, sized by the bucket's refill (throttled-redelivery.ts).
    const delay = throttledLaunch
      ? computeThrottledRedeliveryDelay({ ...redelivery, pacing: deps.pacing ?? DEFAULT_PACING })
      : computeRedeliveryDelay(redelivery);
    const retryable = classifyError(error) === 'retryable';
    const attributes = {
      error: error instanceof Error ? `${error.name}: ${error.message}` : String(error),
      retryable,
      throttled: throttledLaunch,
      receive_count: receiveCount,
      retry_in_seconds: delay,
    };
    if (retryable) log.warn('Launch failed; trying again later', attributes);
    else log.error('Launch failed and could not be settled; trying again later', attributes);
    await scheduleRedelivery(record, delay, deps, log);
    throw error;
  }
};
