/**
 * The reporter Lambda: an EventBridge "ECS Task State Change" event → the flow run's state in
 * Prefect. Thin by design: parse, then `syncTaskState`. An event that does not parse is logged once
 * and dropped (retrying cannot fix it); any other failure (Prefect unreachable, 5xx, 429) fails the
 * invocation, so the event is retried and finally lands in the target's DLQ.
 */
import type { Context } from 'aws-lambda';
import { loadConfig } from '../../shared/config.ts';
import { createLogger, createMetrics, flushMetrics } from '../../shared/observability.ts';
import { loadReporterConfig } from '../../shared/report/reporter-config.ts';
import { type SyncTaskStateDeps, syncTaskState } from '../../shared/report/sync-task-state.ts';
import { parseTaskStateChange } from '../../shared/report/task-state-change-event.ts';
import { createReporterDeps } from './reporter-deps.ts';

/** The reporter's logger (`POWERTOOLS_LOG_LEVEL`, `POWERTOOLS_SERVICE_NAME` apply). */
export const logger = createLogger('reporter');

/** The reporter's metrics (namespace and `service` dimension from shared/observability.ts). */
export const metrics = createMetrics();

/** The reporter's handler type: EventBridge delivers the event as is. */
export type ReporterHandler = (event: unknown, context?: Context) => Promise<void>;

/**
 * A handler over given dependencies, or a function that builds them on first use (once; a failed
 * build is tried again on the next invocation, and fails that invocation loudly). The metrics of
 * `deps.metrics`, if any, are published at the end of every invocation, also a failed one.
 *
 * @example
 * const handler = createReporterHandler(
 *   await createReporterDeps(config, reporterConfig, { logger, metrics })
 * );
 * await handler(ecsTaskStateChangeEvent);
 */
export const createReporterHandler = (
  deps: SyncTaskStateDeps | (() => Promise<SyncTaskStateDeps>)
): ReporterHandler => {
  let ready: Promise<SyncTaskStateDeps> | undefined =
    typeof deps === 'function' ? undefined : Promise.resolve(deps);
  const load = (): Promise<SyncTaskStateDeps> => {
    if (ready === undefined && typeof deps === 'function') {
      ready = deps().catch((error: unknown) => {
        ready = undefined;
        throw error;
      });
    }
    return ready as Promise<SyncTaskStateDeps>;
  };
  return async (event) => {
    const resolved = await load();
    try {
      const parsed = parseTaskStateChange(event);
      if (!parsed.ok) {
        resolved.logger.error('Dropped an event that is not an ECS Task State Change', {
          event_id: parsed.eventId,
          issues: parsed.issues,
        });
        return;
      }
      await syncTaskState(parsed.event, resolved);
    } finally {
      if (resolved.metrics) flushMetrics(resolved.metrics);
    }
  };
};

const fromEnvironment = createReporterHandler(() =>
  createReporterDeps(
    loadConfig(process.env, { role: 'reporter' }),
    loadReporterConfig(process.env),
    { logger, metrics }
  )
);

/** The Lambda entry point: configuration and clients from the environment, on first invocation. */
export const handler: ReporterHandler = (event, context) => {
  if (context) logger.addContext(context);
  return fromEnvironment(event, context);
};
