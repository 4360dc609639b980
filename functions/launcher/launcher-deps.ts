/**
 * Builds everything the launcher needs from the configuration, once per container: SDK clients
 * (their own retries on), the Prefect client with the credential read from Secrets Manager, the
 * ports' adapters and the warm caches. Tests pass clients aimed at the stand-ins.
 */
import type { Metrics } from '@aws-lambda-powertools/metrics';
import { EC2Client } from '@aws-sdk/client-ec2';
import { ECSClient } from '@aws-sdk/client-ecs';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SQSClient } from '@aws-sdk/client-sqs';
import { createAssumeRole } from '../../shared/aws/assume-role.ts';
import { createAwsScopes } from '../../shared/aws/aws-scopes.ts';
import { sdkClientOptionsOf } from '../../shared/aws/sdk-client-options.ts';
import type { Config } from '../../shared/config.ts';
import { createEc2Api } from '../../shared/ecs/ec2-client.ts';
import { createEcsClient } from '../../shared/ecs/ecs-client.ts';
import { createWorkerEventPublisher } from '../../shared/events/worker-event-publisher.ts';
import { createTemplateLookups } from '../../shared/jobs/create-template-lookups.ts';
import { DEFAULT_PREFECT_VERSION } from '../../shared/jobs/resolve-job-configuration.ts';
import type { LaunchAwsClients } from '../../shared/launch/launch-aws.ts';
import { createLaunchCaches } from '../../shared/launch/launch-caches.ts';
import type { LaunchDeps } from '../../shared/launch/launch-deps.ts';
import type { LaunchLogger } from '../../shared/launch/launch-logger.ts';
import { createLaunchPacer, withLaunchPacing } from '../../shared/launch/launch-pacer.ts';
import { containerShare, type LaunchPacing } from '../../shared/launch/launch-pacing.ts';
import type { ProcessLaunchRecordDeps } from '../../shared/launch/process-launch-record.ts';
import { createSqsQueue } from '../../shared/launch/sqs-queue.ts';
import { createPrefectClient, type PrefectClientFactoryDeps } from '../../shared/prefect/client.ts';
import { resolvePrefectCredentials } from '../../shared/secrets/prefect-credentials.ts';
import { createSecretsManagerReader } from '../../shared/secrets/secrets-manager-reader.ts';

/** The SDK clients; any left out are created for the configured region. */
export interface LauncherClients {
  ecs: ECSClient;
  ec2: EC2Client;
  sqs: SQSClient;
  secretsManager: SecretsManagerClient;
}

/** Options of {@link createLauncherDeps}. */
export interface LauncherDepsOptions {
  logger: LaunchLogger;
  /** Where launches, crashes and cancellations are counted (the handler publishes); none: not counted. */
  metrics?: Metrics;
  clients?: Partial<LauncherClients>;
  /** For the Prefect client (tests: a `sleep` that does not wait). */
  prefectDeps?: PrefectClientFactoryDeps;
  /**
   * Send Prefect's worker events (`prefect.worker.submitted-flow-run`, one `POST /events` per SQS
   * batch). Default true; false: none (tests that count requests per run without them).
   */
  workerEvents?: boolean;
  /**
   * The account-wide launch pacing (`readLaunchPacing(process.env)` in the Lambda): RunTask calls
   * are paced to this container's share of it, and throttled launches come back after seconds.
   * None: RunTask is not paced (tests and benches that measure raw throughput).
   */
  pacing?: LaunchPacing;
  /**
   * Wraps the ECS port of every scope (the home one and each pool's `aws_credentials`), with that
   * scope's SDK client: the local worker follows the tasks each one starts
   * (`shared/local/local-worker.ts`). None: unwrapped.
   */
  wrapEcs?: (ecs: LaunchDeps['ecs'], sdk: ECSClient) => LaunchDeps['ecs'];
}

/** SDK attempts per call (its standard retry mode backs off on throttling and 5xx). */
export const AWS_MAX_ATTEMPTS = 4;

/**
 * The launcher's ECS client retries: 4 attempts in the SDK's `adaptive` mode, which adds a
 * client-side token bucket to the standard mode's backoff: after a throttling answer it lowers
 * this container's sending rate (CUBIC, ×0.7) and raises it again as calls succeed
 * (https://docs.aws.amazon.com/sdkref/latest/guide/feature-retry-behavior.html). AWS advises one
 * adaptive client per throttled resource: this one serves only the launch path (RunTask, the
 * task-definition reads and registrations), where slowing everything after a throttle is what we
 * want anyway. Budget: the standard backoff waits up to 1 s, 2 s, 4 s on throttling between the 4
 * attempts (≈ 7 s), plus at most `MAX_PACING_WAIT_MS` (10 s) for a RunTask token: with the
 * Prefect client's 25 s deadline, inside the 60 s function timeout.
 */
export const LAUNCHER_ECS_RETRY = { maxAttempts: AWS_MAX_ATTEMPTS, retryMode: 'adaptive' } as const;

/**
 * Prefect client limits for a Lambda: a few quick retries in the invocation, then the queue's
 * slower retries take over (the official client's 5 retries with up to 32 s waits would outlast
 * the invocation).
 */
export const PREFECT_CLIENT_LIMITS = {
  maxRetries: 3,
  maxDelayMs: 4_000,
  timeoutMs: 10_000,
  deadlineMs: 25_000,
} as const;

/**
 * Creates the launcher's dependencies. Reads the Prefect credential from Secrets Manager when it is
 * configured by ARN (so call it once per container, not per record).
 *
 * @example
 * const deps = await createLauncherDeps(loadConfig(process.env), { logger, metrics });
 */
export const createLauncherDeps = async (
  config: Config,
  options: LauncherDepsOptions
): Promise<ProcessLaunchRecordDeps> => {
  const region = config.awsRegion;
  const clients: LauncherClients = {
    ecs: options.clients?.ecs ?? new ECSClient({ region, ...LAUNCHER_ECS_RETRY }),
    ec2: options.clients?.ec2 ?? new EC2Client({ region, maxAttempts: AWS_MAX_ATTEMPTS }),
    sqs: options.clients?.sqs ?? new SQSClient({ region, maxAttempts: AWS_MAX_ATTEMPTS }),
    secretsManager:
      options.clients?.secretsManager ??
      new SecretsManagerClient({ region, maxAttempts: AWS_MAX_ATTEMPTS }),
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
  // Each scope's ECS port: paced to this container's share (per account: each has its own ECS
  // limits), then wrapped as the caller asks.
  const scopeEcs = (sdk: ECSClient, ecsRegion: string): LaunchDeps['ecs'] => {
    const adapter = createEcsClient(sdk, { region: ecsRegion });
    const paced = options.pacing
      ? withLaunchPacing(adapter, createLaunchPacer(containerShare(options.pacing)))
      : adapter;
    return options.wrapEcs ? options.wrapEcs(paced, sdk) : paced;
  };
  const ecs = scopeEcs(clients.ecs, region);
  const ec2 = createEc2Api(clients.ec2);
  const caches = createLaunchCaches();
  // Each pool's aws_credentials: its own clients, caches and RunTask pacing (each account has its
  // own ECS rate limits), created at its first launch and kept while the container is warm.
  const aws = createAwsScopes<LaunchAwsClients>({
    homeRegion: region,
    homeCredentials: () => clients.ecs.config.credentials(),
    allowedRoleArns: config.assumeRoleArns,
    assumeRole: createAssumeRole({ region }),
    home: { ecs, ec2, caches },
    build: (scope) => {
      const scoped = createLaunchCaches();
      return {
        ecs: scopeEcs(new ECSClient(sdkClientOptionsOf(scope, LAUNCHER_ECS_RETRY)), scope.region),
        ec2: createEc2Api(
          new EC2Client(sdkClientOptionsOf(scope, { maxAttempts: AWS_MAX_ATTEMPTS }))
        ),
        caches: {
          taskDefinitions: scoped.taskDefinitions,
          givenTaskDefinitions: scoped.givenTaskDefinitions,
          network: scoped.network,
        },
      };
    },
  });
  const workerEventPublisher =
    options.workerEvents === false
      ? undefined
      : createWorkerEventPublisher({
          worker: { name: config.workerName, prefectVersion: DEFAULT_PREFECT_VERSION },
          emitEvents: prefect.emitEvents,
          logger: options.logger,
          metrics: options.metrics,
        });
  return {
    prefect,
    ecs,
    ...(options.pacing ? { pacing: options.pacing } : {}),
    ec2,
    aws,
    queue: createSqsQueue(clients.sqs, config.launchQueueUrl),
    templateLookups: createTemplateLookups(prefect),
    caches,
    logger: options.logger,
    ...(options.metrics ? { metrics: options.metrics } : {}),
    ...(workerEventPublisher ? { workerEventPublisher } : {}),
    settings: {
      prefectApiUrl: config.prefectApiUrl,
      workerName: config.workerName,
      region,
      defaultImage: config.ecsDefaultImage,
      executionRoleArn: config.ecsExecutionRoleArn,
      apiKeySecretArn: config.prefectApiKeySecretArn,
      authStringSecretArn: config.prefectApiAuthStringSecretArn,
      retryDeadlineSeconds: config.launchRetryDeadlineSeconds,
      templateEnvironment: config.templateEnvironment,
      templateEnvAllowlist: config.templateEnvAllowlist,
      prefectSettings: config.prefectSettings,
    },
  };
};
