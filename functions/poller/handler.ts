/**
 * The poller Lambda: invoked by the EventBridge schedule (once a minute), by the tick queue (the
 * polls in between) and by hand. Configuration is parsed at cold start (a bad environment fails
 * every invocation with one message listing all problems); the Prefect credentials are read from
 * Secrets Manager on the first invocation and kept for the container's life.
 */
import { randomUUID } from 'node:crypto';
import { ECSClient } from '@aws-sdk/client-ecs';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SQSClient } from '@aws-sdk/client-sqs';
import { createEcsClient } from '../../shared/ecs/ecs-client.ts';
import { createWorkerEventPublisher } from '../../shared/events/worker-event-publisher.ts';
import {
  createWorkerStartedAnnouncer,
  type WorkerStartedAnnouncer,
} from '../../shared/events/worker-started-announcer.ts';
import { DEFAULT_PREFECT_VERSION } from '../../shared/jobs/resolve-job-configuration.ts';
import {
  createLogger,
  createMetrics,
  pollDurationMetricEnabled,
} from '../../shared/observability.ts';
import { createPollAws } from '../../shared/poll/poll-aws.ts';
import { loadPollerConfig, pollOptionsFromConfig } from '../../shared/poll/poller-config.ts';
import type { PollerDeps } from '../../shared/poll/run-poller.ts';
import { createPrefectClient } from '../../shared/prefect/client.ts';
import { createSqsQueueSender } from '../../shared/queue/sqs-queue-sender.ts';
import { resolvePrefectCredentials } from '../../shared/secrets/prefect-credentials.ts';
import { createSecretsManagerReader } from '../../shared/secrets/secrets-manager-reader.ts';
import { createPollerHandler, POLLER_PREFECT_TIMEOUTS } from './create-handler.ts';

const config = loadPollerConfig(process.env);
const logger = createLogger('poller');
const metrics = createMetrics();
const sqs = new SQSClient({});
const ecsClient = new ECSClient({ maxAttempts: 4 });
const ecs = createEcsClient(ecsClient, { region: config.awsRegion });

/** When this container started: its `prefect.worker.started` events say so. */
const containerStartedAt = new Date();
let started: WorkerStartedAnnouncer | undefined;

let deps: Promise<PollerDeps> | undefined;
const loadDeps = (): Promise<PollerDeps> => {
  deps ??= (async (): Promise<PollerDeps> => {
    const reader = createSecretsManagerReader(new SecretsManagerClient({}));
    const credentials = await resolvePrefectCredentials(config.prefectCredentials, reader);
    const prefect = createPrefectClient({
      apiUrl: config.prefectApiUrl,
      ...credentials,
      ...POLLER_PREFECT_TIMEOUTS,
      headers: config.prefectCustomHeaders,
    });
    started = createWorkerStartedAnnouncer({
      publisher: createWorkerEventPublisher({
        worker: { name: config.workerName, prefectVersion: DEFAULT_PREFECT_VERSION },
        emitEvents: prefect.emitEvents,
        logger,
        metrics,
      }),
      // Unique per execution environment (https://docs.aws.amazon.com/lambda/latest/dg/configuration-envvars.html).
      instance: process.env.AWS_LAMBDA_LOG_STREAM_NAME ?? randomUUID(),
      startedAt: containerStartedAt,
    });
    return {
      prefect: started.observe(prefect),
      queue: createSqsQueueSender(sqs),
      ecs,
      ecsForRun: createPollAws({
        config,
        prefect,
        logger,
        home: ecs,
        homeCredentials: () => ecsClient.config.credentials(),
      }),
      options: pollOptionsFromConfig(config),
      logger,
      metrics,
      tickQueueUrl: config.tickQueueUrl,
    };
  })().catch((error: unknown) => {
    deps = undefined; // a failed secret read is tried again on the next invocation
    throw error;
  });
  return deps;
};

export const handler = createPollerHandler(loadDeps, logger, {
  pollDurationMetric: pollDurationMetricEnabled(process.env),
  workerStarted: { announce: async () => (await started?.announce()) ?? { sent: 0, dropped: 0 } },
});
