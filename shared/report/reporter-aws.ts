/**
 * The reporter's AWS clients per run: the run's `aws_credentials` (`shared/aws/run-aws-clients.ts`)
 * in the region the event came from, so a task started in another account or region (its events
 * forwarded to this stack's bus, docs/deploy.md) is stopped, its log tail read and its task
 * definition deregistered there. Tasks of the stack's own account and region (`STACK_ACCOUNT_ID`)
 * use the reporter's own clients without reading anything, as before.
 */
import { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import { ECSClient } from '@aws-sdk/client-ecs';
import { recoverRefusedCredentials } from '../aws/refused-credentials.ts';
import { createRunAwsClients, type RunAwsClientsOptions } from '../aws/run-aws-clients.ts';
import { sdkClientOptionsOf } from '../aws/sdk-client-options.ts';
import { createEcsClient } from '../ecs/ecs-client.ts';
import { createCloudWatchLogReader } from './cloudwatch-log-reader.ts';
import type { SyncTaskStateDeps } from './sync-task-state.ts';

/** SDK attempts of the reporter's per-run clients (as its own). */
const MAX_ATTEMPTS = 4;

type RunAws = Pick<SyncTaskStateDeps, 'ecs' | 'logs'>;

/** What {@link createReporterAws} needs. */
export type ReporterAwsOptions = Omit<RunAwsClientsOptions<RunAws>, 'build'>;

/**
 * `SyncTaskStateDeps.awsForRun`.
 *
 * @example
 * const awsForRun = createReporterAws({ config, prefect, logger, home: { ecs, logs }, homeCredentials });
 */
export const createReporterAws = (
  options: ReporterAwsOptions
): NonNullable<SyncTaskStateDeps['awsForRun']> => {
  const region = options.config.awsRegion;
  const clientsOf = createRunAwsClients<RunAws>({
    ...options,
    build: (scope, onRefused) => {
      const sdk = sdkClientOptionsOf(scope, { maxAttempts: MAX_ATTEMPTS });
      return {
        ecs: recoverRefusedCredentials(
          createEcsClient(new ECSClient(sdk), { region: scope.region }),
          onRefused
        ),
        logs: recoverRefusedCredentials(
          createCloudWatchLogReader(
            (logsRegion) => new CloudWatchLogsClient({ ...sdk, region: logsRegion ?? scope.region })
          ),
          onRefused
        ),
      };
    },
  });
  return async (run, event) => {
    const eventRegion = event.region ?? region;
    if (event.account === options.config.stackAccountId && eventRegion === region) {
      return options.home;
    }
    return clientsOf(run, eventRegion);
  };
};
