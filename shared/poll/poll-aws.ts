/**
 * The poller's ECS client per run, for the cancel and orphan sweeps: the run's `aws_credentials`
 * (`shared/aws/run-aws-clients.ts`), so the task a pool started in another account or region is
 * described and stopped there. A recorded task of the stack's own account and region
 * (`STACK_ACCOUNT_ID`) uses the poller's own client without reading anything.
 */
import { ECSClient } from '@aws-sdk/client-ecs';
import { placeOfArn } from '../aws/arn-place.ts';
import { recoverRefusedCredentials } from '../aws/refused-credentials.ts';
import {
  createRunAwsClients,
  type RunAwsClientsOptions,
  type TaskPlace,
} from '../aws/run-aws-clients.ts';
import { sdkClientOptionsOf } from '../aws/sdk-client-options.ts';
import { createEcsClient } from '../ecs/ecs-client.ts';
import { parseInfrastructurePid } from '../ecs/infrastructure-pid.ts';
import type { FlowRun } from '../prefect/schemas.ts';
import type { PollEcs } from './poll-deps.ts';

/** The task a pid (`<cluster>::<task ARN>`) names, with its account and region. */
const taskOfPid = (pid: string | null): TaskPlace | undefined => {
  const taskArn = pid ? parseInfrastructurePid(pid)?.taskArn : undefined;
  const place = placeOfArn(taskArn);
  return taskArn && place ? { taskArn, ...place } : undefined;
};

/** What {@link createPollAws} needs. */
export type PollAwsOptions = Omit<RunAwsClientsOptions<PollEcs>, 'build'>;

/**
 * `PollDeps.ecsForRun`.
 *
 * @example
 * const ecsForRun = createPollAws({ config, prefect, logger, home: ecs, homeCredentials });
 */
export const createPollAws = (options: PollAwsOptions): ((run: FlowRun) => Promise<PollEcs>) => {
  const region = options.config.awsRegion;
  const clientsOf = createRunAwsClients<PollEcs>({
    ...options,
    build: (scope, onRefused) =>
      recoverRefusedCredentials(
        createEcsClient(new ECSClient(sdkClientOptionsOf(scope, { maxAttempts: 4 })), {
          region: scope.region,
        }),
        onRefused
      ),
  });
  return (run) => {
    const task = taskOfPid(run.infrastructure_pid);
    if (task && task.account === options.config.stackAccountId && task.region === region) {
      return Promise.resolve(options.home);
    }
    return clientsOf(run, undefined, task);
  };
};
