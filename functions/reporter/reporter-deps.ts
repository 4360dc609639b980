/**
 * Builds everything the reporter needs from the configuration, once per container: SDK clients
 * (their own retries on), the Prefect client with the credential read from Secrets Manager, and
 * the ports' adapters. Tests pass clients aimed at the stand-ins.
 */
import type { Metrics } from '@aws-lambda-powertools/metrics';
import { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import { ECSClient } from '@aws-sdk/client-ecs';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { Config } from '../../shared/config.ts';
import { createEcsClient } from '../../shared/ecs/ecs-client.ts';
import { createWorkerEventPublisher } from '../../shared/events/worker-event-publisher.ts';
import { DEFAULT_PREFECT_VERSION } from '../../shared/jobs/resolve-job-configuration.ts';
import type { LaunchLogger } from '../../shared/launch/launch-logger.ts';
import { createPrefectClient, type PrefectClientFactoryDeps } from '../../shared/prefect/client.ts';
import { createCloudWatchLogReader } from '../../shared/report/cloudwatch-log-reader.ts';
import { createReporterAws } from '../../shared/report/reporter-aws.ts';
import type { ReporterConfig } from '../../shared/report/reporter-config.ts';
import type { SyncTaskStateDeps } from '../../shared/report/sync-task-state.ts';
import { resolvePrefectCredentials } from '../../shared/secrets/prefect-credentials.ts';
import { createSecretsManagerReader } from '../../shared/secrets/secrets-manager-reader.ts';

/** The SDK clients; any left out are created for the configured region. */
export interface ReporterClients {
  ecs: ECSClient;
  secretsManager: SecretsManagerClient;
  /** The CloudWatch Logs client of a region (undefined: the configured one). */
  logs: (region: string | undefined) => CloudWatchLogsClient;
}

/** Options of {@link createReporterDeps}. */
export interface ReporterDepsOptions {
  logger: LaunchLogger;
  /** Where crashed and cancelled runs are counted (the handler publishes); none: not counted. */
  metrics?: Metrics;
  clients?: Partial<ReporterClients>;
  /** For the Prefect client (tests: a `sleep` that does not wait). */
  prefectDeps?: PrefectClientFactoryDeps;
  /**
   * Send Prefect's worker events (`prefect.worker.executed-flow-run` when a flow run's task
   * STOPPED, one `POST /events`). Default true; false: none.
   */
  workerEvents?: boolean;
}

/** SDK attempts per call (its standard retry mode backs off on throttling and 5xx). */
export const AWS_MAX_ATTEMPTS = 4;

/**
 * Prefect client limits for the reporter: a few quick retries within the invocation; after that
 * the handler fails and Lambda's asynchronous retries (then the DLQ) take over, and the event's
 * transition id makes the later attempt safe.
 */
export const PREFECT_CLIENT_LIMITS = {
  maxRetries: 2,
  maxDelayMs: 4_000,
  timeoutMs: 10_000,
  deadlineMs: 20_000,
} as const;

/**
 * Creates the reporter's dependencies. Reads the Prefect credential from Secrets Manager when it is
 * configured by ARN (so call it once per container, not per event).
 *
 * @example
 * const deps = await createReporterDeps(loadConfig(process.env, { role: 'reporter' }),
 *   loadReporterConfig(process.env), { logger, metrics });
 */
export const createReporterDeps = async (
  config: Config,
  reporterConfig: ReporterConfig,
  options: ReporterDepsOptions
): Promise<SyncTaskStateDeps> => {
  const region = config.awsRegion;
  const clients: ReporterClients = {
    ecs: options.clients?.ecs ?? new ECSClient({ region, maxAttempts: AWS_MAX_ATTEMPTS }),
    secretsManager:
      options.clients?.secretsManager ??
      new SecretsManagerClient({ region, maxAttempts: AWS_MAX_ATTEMPTS }),
    logs:
      options.clients?.logs ??
      ((logsRegion) =>
        new CloudWatchLogsClient({ region: logsRegion ?? region, maxAttempts: AWS_MAX_ATTEMPTS })),
  };
  const credentials = await resolvePrefectCredentials(
    config.prefectCredentials,
    createSecretsManagerReader(clients.secretsManager)
  );
  const prefect = createPrefectClient(
    {
      apiUrl: config.prefectApiUrl,
      ...credentials,
      ...PREFECT_CLIENT_LIMITS,
      headers: config.prefectCustomHeaders,
    },
    options.prefectDeps
  );
  const ecs = createEcsClient(clients.ecs, { region });
  const logs = createCloudWatchLogReader(clients.logs);
  const awsForRun = createReporterAws({
    config,
    prefect,
    logger: options.logger,
    home: { ecs, logs },
    homeCredentials: () => clients.ecs.config.credentials(),
  });
  return {
    prefect,
    ecs,
    logs,
    awsForRun,
    logger: options.logger,
    config: reporterConfig,
    ...(options.metrics ? { metrics: options.metrics } : {}),
    ...(options.workerEvents === false
      ? {}
      : {
          workerEvents: createWorkerEventPublisher({
            worker: { name: config.workerName, prefectVersion: DEFAULT_PREFECT_VERSION },
            emitEvents: prefect.emitEvents,
            logger: options.logger,
            metrics: options.metrics,
          }),
        }),
  };
};
