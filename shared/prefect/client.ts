import { randomUUID } from 'node:crypto';
import { type BlockCalls, createBlockCalls } from './block-calls.ts';
import {
  type PrefectClientDeps,
  type PrefectClientOptions,
  resolveClientOptions,
} from './client-options.ts';
import { createDeploymentCalls, type DeploymentCalls } from './deployment-calls.ts';
import {
  createDeploymentFilterCalls,
  type DeploymentFilterCalls,
} from './deployment-filter-calls.ts';
import { createEventCalls, type EventCalls } from './event-calls.ts';
import { createFlowRunCalls, type FlowRunCalls } from './flow-run-calls.ts';
import { createHttpTransport } from './http.ts';
import { createLogCalls, type LogCalls } from './log-calls.ts';
import { createServerCalls, type ServerCalls } from './server-calls.ts';
import { createVariableCalls, type VariableCalls } from './variable-calls.ts';
import { createWorkPoolCalls, type WorkPoolCalls } from './work-pool-calls.ts';

/**
 * Every call this project makes to the Prefect API, as typed functions. Failures throw
 * `PrefectApiError` (`PrefectNotFoundError` for 404), `PrefectConnectionError` or
 * `PrefectResponseError`, all with `operation`, `method`, `path` and `retryable`.
 */
export type PrefectClient = ServerCalls &
  WorkPoolCalls &
  FlowRunCalls &
  DeploymentCalls &
  DeploymentFilterCalls &
  VariableCalls &
  BlockCalls &
  LogCalls &
  EventCalls;

/** I/O for {@link createPrefectClient}: the transport's plus the transition-id generator. */
export interface PrefectClientFactoryDeps extends PrefectClientDeps {
  /** Makes `transition_id`s (default `crypto.randomUUID`). */
  randomUUID?: () => string;
}

/**
 * Creates a Prefect REST client for a self-hosted Prefect 3 server or Prefect Cloud.
 *
 * Sends `X-PREFECT-API-VERSION: 0.8.4`, `Accept: application/json`, our own `User-Agent`, and
 * `Authorization` (`Basic` from `authString`, else `Bearer` from `apiKey`). Retries 408/429/502/503
 * and network failures with backoff (see `createHttpTransport`). Answers a self-hosted server's CSRF
 * protection with a token kept for the client's life (`csrf-session.ts`) and sends the custom
 * `headers` (`PREFECT_CLIENT_CUSTOM_HEADERS`) on every request. Credentials, CSRF tokens and custom
 * header values never appear in errors, nor in the log messages it posts.
 *
 * @example
 * const prefect = createPrefectClient({ apiUrl: 'http://localhost:4200/api' });
 * const pool = await prefect.readWorkPool('ecs-serverless');
 * const runs = await prefect.getScheduledFlowRuns(pool.name, { scheduledBefore: new Date() });
 */
export const createPrefectClient = (
  options: PrefectClientOptions,
  deps: PrefectClientFactoryDeps = {}
): PrefectClient => {
  const resolved = resolveClientOptions(options);
  const http = createHttpTransport(resolved, deps);
  return {
    ...createServerCalls(http),
    ...createWorkPoolCalls(http),
    ...createFlowRunCalls(http, deps.randomUUID ?? randomUUID, resolved.redact),
    ...createDeploymentCalls(http),
    ...createDeploymentFilterCalls(http),
    ...createVariableCalls(http),
    ...createBlockCalls(http),
    ...createLogCalls(http, resolved.redact),
    ...createEventCalls(http),
  };
};
