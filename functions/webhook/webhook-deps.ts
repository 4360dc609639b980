/**
 * Builds the webhook's dependencies from its configuration, once per container. Nothing is read or
 * called here: the webhook secret is read on the first request, and the Prefect credential only
 * once a request has been authenticated, so an anonymous caller costs no Secrets Manager call and
 * never reaches Prefect. Tests pass clients aimed at the stand-ins.
 */
import type { Logger } from '@aws-lambda-powertools/logger';
import type { Metrics } from '@aws-lambda-powertools/metrics';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SQSClient } from '@aws-sdk/client-sqs';
import { MetricName, recordCount } from '../../shared/observability.ts';
import type { PollDeps, PollEcs } from '../../shared/poll/poll-deps.ts';
import { pollPools } from '../../shared/poll/poll-pools.ts';
import { summarizePoll } from '../../shared/poll/poll-result.ts';
import { pollOptionsFromConfig } from '../../shared/poll/poller-config.ts';
import { createPrefectClient, type PrefectClientFactoryDeps } from '../../shared/prefect/client.ts';
import { createSqsQueueSender } from '../../shared/queue/sqs-queue-sender.ts';
import { resolvePrefectCredentials } from '../../shared/secrets/prefect-credentials.ts';
import { createSecretsManagerReader } from '../../shared/secrets/secrets-manager-reader.ts';
import type { WebhookConfig } from '../../shared/webhook/webhook-config.ts';
import { createWebhookCredentialsProvider } from '../../shared/webhook/webhook-secret.ts';
import type { WebhookDeps, WebhookPoll } from './handler.ts';

/** The SDK clients; any left out are created for the configured region. */
export interface WebhookClients {
  sqs: SQSClient;
  secretsManager: SecretsManagerClient;
}

/** Options of {@link createWebhookDeps}. */
export interface WebhookDepsOptions {
  logger: Logger;
  /** Where the runs each poll claims are counted (the handler publishes); none: not counted. */
  metrics?: Metrics;
  clients?: Partial<WebhookClients>;
  /** For the Prefect client (tests: a `sleep` that does not wait). */
  prefectDeps?: PrefectClientFactoryDeps;
  /** Default: the system clock. */
  now?: () => Date;
}

/** SDK attempts per call (its standard retry mode backs off on throttling and 5xx). */
export const AWS_MAX_ATTEMPTS = 3;

/**
 * Prefect client limits for a request API Gateway abandons after 30 s: a couple of quick retries,
 * then a 500; the regular poll picks up whatever this one missed.
 */
export const WEBHOOK_PREFECT_LIMITS = {
  timeoutMs: 8_000,
  maxRetries: 2,
  maxDelayMs: 2_000,
  deadlineMs: 20_000,
} as const;

/**
 * The webhook polls without the cancellation and orphan sweeps: they run on every regular poll,
 * and leaving them out keeps the answer fast. So it never calls ECS (and its role needs no ECS
 * permission); this port says so loudly if that ever changes.
 */
const noEcs: PollEcs = {
  describeTasks: () => Promise.reject(new Error('The webhook does not call ECS (sweeps are off)')),
  stopTask: () => Promise.reject(new Error('The webhook does not call ECS (sweeps are off)')),
  listLiveTasksStartedBy: () =>
    Promise.reject(new Error('The webhook does not call ECS (sweeps are off)')),
};

/**
 * Creates the webhook's dependencies (synchronously; every read is deferred, see above).
 *
 * @example
 * const handler = createWebhookHandler(
 *   createWebhookDeps(loadWebhookConfig(process.env), { logger, metrics })
 * );
 */
export const createWebhookDeps = (
  config: WebhookConfig,
  options: WebhookDepsOptions
): WebhookDeps => {
  const region = config.awsRegion;
  const sqs = options.clients?.sqs ?? new SQSClient({ region, maxAttempts: AWS_MAX_ATTEMPTS });
  const secretsManager =
    options.clients?.secretsManager ??
    new SecretsManagerClient({ region, maxAttempts: AWS_MAX_ATTEMPTS });
  const reader = createSecretsManagerReader(secretsManager);

  let pollDeps: Promise<PollDeps> | undefined;
  const loadPollDeps = (): Promise<PollDeps> => {
    pollDeps ??= resolvePrefectCredentials(config.prefectCredentials, reader)
      .then(
        (credentials): PollDeps => ({
          prefect: createPrefectClient(
            {
              apiUrl: config.prefectApiUrl,
              ...credentials,
              ...WEBHOOK_PREFECT_LIMITS,
              headers: config.prefectCustomHeaders,
            },
            options.prefectDeps
          ),
          queue: createSqsQueueSender(sqs),
          ecs: noEcs,
          options: pollOptionsFromConfig(config),
          logger: options.logger,
          ...(options.now ? { now: options.now } : {}),
        })
      )
      .catch((error: unknown) => {
        pollDeps = undefined; // a failed secret read is tried again on the next request
        throw error;
      });
    return pollDeps;
  };

  const poll: WebhookPoll = async (pools) => {
    const result = await pollPools({ pools, sweeps: false }, await loadPollDeps());
    const totals = summarizePoll(result);
    if (options.metrics) recordCount(options.metrics, MetricName.RunsClaimed, totals.claimed);
    if (totals.errors > 0) {
      options.logger.warn('Webhook poll finished with errors', {
        pools: result.pools.map((pool) => ({ name: pool.name, errors: pool.errors.length })),
      });
    }
    return { claimed: totals.claimed, enqueued: totals.enqueued };
  };

  return {
    workPools: config.workPools,
    credentials: createWebhookCredentialsProvider(config.webhook.secret, reader),
    poll,
    logger: options.logger,
    ...(options.metrics ? { metrics: options.metrics } : {}),
    ...(options.now ? { now: options.now } : {}),
  };
};
