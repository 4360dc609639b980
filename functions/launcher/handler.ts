/**
 * The launcher Lambda: SQS launch queue → one ECS task per claimed flow run. Thin by design: each
 * record goes to `processLaunchRecord` (parse, launch, schedule the retry); Powertools' batch
 * processor reports failed records as `batchItemFailures` (the event source mapping needs
 * `functionResponseType: ReportBatchItemFailures`). The batch's `prefect.worker.submitted-flow-run`
 * events go to Prefect in one `POST /events` after the records (best effort).
 */
import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { loadConfig } from '../../shared/config.ts';
import { readLaunchPacing } from '../../shared/launch/launch-pacing.ts';
import {
  type ProcessLaunchRecordDeps,
  processLaunchRecord,
} from '../../shared/launch/process-launch-record.ts';
import { createLogger, createMetrics, flushMetrics } from '../../shared/observability.ts';
import { createLauncherDeps } from './launcher-deps.ts';

/** The launcher's logger (`POWERTOOLS_LOG_LEVEL`, `POWERTOOLS_SERVICE_NAME` apply). */
export const logger = createLogger('launcher');

/** The launcher's metrics (namespace and `service` dimension from shared/observability.ts). */
export const metrics = createMetrics();

/** The launcher's handler type. */
export type LauncherHandler = (event: SQSEvent, context?: Context) => Promise<SQSBatchResponse>;

/**
 * A handler over given dependencies, or a function that builds them on first use (once; a failed
 * build is tried again on the next invocation, and fails that invocation loudly). The metrics of
 * `deps.metrics`, if any, are published at the end of every invocation, also a failed one.
 *
 * @example
 * const handler = createLauncherHandler(
 *   await createLauncherDeps(config, { logger, metrics, clients })
 * );
 * await handler(sqsEvent); // { batchItemFailures: [...] }
 */
export const createLauncherHandler = (
  deps: ProcessLaunchRecordDeps | (() => Promise<ProcessLaunchRecordDeps>)
): LauncherHandler => {
  let ready: Promise<ProcessLaunchRecordDeps> | undefined =
    typeof deps === 'function' ? undefined : Promise.resolve(deps);
  const load = (): Promise<ProcessLaunchRecordDeps> => {
    if (ready === undefined && typeof deps === 'function') {
      ready = deps().catch((error: unknown) => {
        ready = undefined;
        throw error;
      });
    }
    return ready as Promise<ProcessLaunchRecordDeps>;
  };
  return async (event, context) => {
    const loaded = await load();
    // One processor per invocation: it holds the batch's state, and tests (or a bench) may invoke
    // one handler concurrently. Likewise the worker events: one batch, one POST after the records.
    const processor = new BatchProcessor(EventType.SQS);
    const workerEvents = loaded.workerEventPublisher?.batch();
    const resolved = workerEvents ? { ...loaded, workerEvents } : loaded;
    try {
      return await processPartialResponse(
        event,
        (record: SQSRecord) => processLaunchRecord(record, resolved),
        processor,
        { ...(context ? { context } : {}), throwOnFullBatchFailure: false }
      );
    } finally {
      // Never throws, and waits at most the publisher's budget: the launches are done already.
      await workerEvents?.flush();
      if (resolved.metrics) flushMetrics(resolved.metrics);
    }
  };
};

const launch = createLauncherHandler(() =>
  createLauncherDeps(loadConfig(process.env), {
    logger,
    metrics,
    pacing: readLaunchPacing(process.env),
  })
);

/** The Lambda entry point: configuration and clients from the environment, on first invocation. */
export const handler: LauncherHandler = (event, context) => {
  if (context) logger.addContext(context);
  return launch(event, context);
};
