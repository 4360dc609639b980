/**
 * The reporter's AWS clients per run: the run's `aws_credentials` (from its pool and deployment,
 * `run-aws-settings.ts`) in the region the event came from, so a task started in another account
 * or region (its events forwarded to this stack's bus, docs/deploy.md) is stopped, its log tail
 * read and its task definition deregistered there. Tasks of the stack's own account and region
 * (`STACK_ACCOUNT_ID`) use the reporter's own clients without reading anything, as before.
 */
import { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import { ECSClient } from '@aws-sdk/client-ecs';
import { createAssumeRole } from '../aws/assume-role.ts';
import { createAwsScopes } from '../aws/aws-scopes.ts';
import { createRunAwsSettings } from '../aws/run-aws-settings.ts';
import { sdkClientOptionsOf } from '../aws/sdk-client-options.ts';
import type { Config } from '../config.ts';
import { createEcsClient } from '../ecs/ecs-client.ts';
import { isRetryable } from '../errors/is-retryable.ts';
import { createTemplateLookups } from '../jobs/create-template-lookups.ts';
import type { LaunchLogger } from '../launch/launch-logger.ts';
import type { PrefectClient } from '../prefect/client.ts';
import { createCloudWatchLogReader } from './cloudwatch-log-reader.ts';
import { logField } from './scrub-event-text.ts';
import type { SyncTaskStateDeps } from './sync-task-state.ts';

/** SDK attempts of the reporter's per-run clients (as its own). */
const MAX_ATTEMPTS = 4;

type RunAws = Pick<SyncTaskStateDeps, 'ecs' | 'logs'>;

/** What {@link createReporterAws} needs. */
export interface ReporterAwsOptions {
  config: Pick<
    Config,
    | 'awsRegion'
    | 'assumeRoleArns'
    | 'stackAccountId'
    | 'templateEnvironment'
    | 'templateEnvAllowlist'
  >;
  prefect: Pick<
    PrefectClient,
    | 'readWorkPool'
    | 'readDeployment'
    | 'readVariableByName'
    | 'readBlockDocument'
    | 'readBlockDocumentByName'
  >;
  logger: LaunchLogger;
  /** The reporter's own clients. */
  home: RunAws;
  homeCredentials: () => Promise<{
    accessKeyId: string;
    secretAccessKey: string;
    sessionToken?: string;
  }>;
}

/**
 * `SyncTaskStateDeps.awsForRun`. A run whose settings cannot be read for good (its pool deleted,
 * an unusable block) falls back to the reporter's own clients with a warning: its task was started
 * by the launcher with the same settings, so this happens only after the pool changed; a passing
 * Prefect failure propagates and the event is retried.
 *
 * @example
 * const awsForRun = createReporterAws({ config, prefect, logger, home: { ecs, logs }, homeCredentials });
 */
export const createReporterAws = (
  options: ReporterAwsOptions
): NonNullable<SyncTaskStateDeps['awsForRun']> => {
  const region = options.config.awsRegion;
  const runSettings = createRunAwsSettings({
    prefect: options.prefect,
    lookups: createTemplateLookups(options.prefect),
    environment: options.config.templateEnvironment,
    allowedEnvironment: options.config.templateEnvAllowlist,
  });
  const scopes = createAwsScopes<RunAws>({
    homeRegion: region,
    homeCredentials: options.homeCredentials,
    allowedRoleArns: options.config.assumeRoleArns,
    assumeRole: createAssumeRole({ region }),
    home: options.home,
    build: (scope) => {
      const sdk = sdkClientOptionsOf(scope, { maxAttempts: MAX_ATTEMPTS });
      return {
        ecs: createEcsClient(new ECSClient(sdk), { region: scope.region }),
        logs: createCloudWatchLogReader(
          (logsRegion) => new CloudWatchLogsClient({ ...sdk, region: logsRegion ?? scope.region })
        ),
      };
    },
  });
  return async (run, event) => {
    // A task of the stack's own account and region: the reporter's own role, no Prefect read (the
    // common case costs nothing more than before per-pool credentials).
    const eventRegion = event.region ?? region;
    if (event.account === options.config.stackAccountId && eventRegion === region) {
      return options.home;
    }
    let settings = null;
    if (run) {
      try {
        settings = await runSettings.settingsOf(run);
      } catch (error) {
        if (isRetryable(error)) throw error;
        options.logger.warn("Could not read the run's aws_credentials; using the reporter's own", {
          error: logField(error instanceof Error ? error.message : String(error)),
        });
      }
    }
    return scopes.get(settings, eventRegion);
  };
};
