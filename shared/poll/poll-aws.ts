/**
 * The poller's ECS client per run, for the cancel and orphan sweeps: the run's `aws_credentials`
 * (its pool and deployment, `run-aws-settings.ts`) in their region, so the task a pool started in
 * another account or region is described and stopped there. A recorded task of the stack's own
 * account and region (`STACK_ACCOUNT_ID`) uses the poller's own client without reading anything.
 */
import { ECSClient } from '@aws-sdk/client-ecs';
import { createAssumeRole } from '../aws/assume-role.ts';
import { createAwsScopes } from '../aws/aws-scopes.ts';
import { createRunAwsSettings, type RunAwsSettingsDeps } from '../aws/run-aws-settings.ts';
import { sdkClientOptionsOf } from '../aws/sdk-client-options.ts';
import type { AwsCredentials } from '../aws/signed-aws-request.ts';
import type { Config } from '../config.ts';
import { createEcsClient } from '../ecs/ecs-client.ts';
import { isRetryable } from '../errors/is-retryable.ts';
import {
  createTemplateLookups,
  type TemplateLookupsClient,
} from '../jobs/create-template-lookups.ts';
import type { FlowRun } from '../prefect/schemas.ts';
import type { PollEcs, PollLogger } from './poll-deps.ts';

/** The account and region of the task a pid (`<cluster>::<task ARN>`) names. */
const taskArnOf = (pid: string | null): { account: string; region: string } | undefined => {
  const match = pid ? /(?:^|::)arn:[^:]+:ecs:([^:]+):(\d{12}):task\//.exec(pid) : null;
  return match?.[1] && match[2] ? { region: match[1], account: match[2] } : undefined;
};

/** What {@link createPollAws} needs. */
export interface PollAwsOptions {
  config: Pick<
    Config,
    | 'awsRegion'
    | 'assumeRoleArns'
    | 'stackAccountId'
    | 'templateEnvironment'
    | 'templateEnvAllowlist'
  >;
  prefect: RunAwsSettingsDeps['prefect'] & TemplateLookupsClient;
  logger: PollLogger;
  /** The poller's own client. */
  home: PollEcs;
  homeCredentials: () => Promise<AwsCredentials>;
}

/**
 * `PollDeps.ecsForRun`. A run whose settings cannot be read for good (pool deleted, an unusable
 * block) falls back to the poller's own client with a warning; a passing failure propagates (the
 * sweep records it and tries again next poll).
 *
 * @example
 * const ecsForRun = createPollAws({ config, prefect, logger, home: ecs, homeCredentials });
 */
export const createPollAws = (options: PollAwsOptions): ((run: FlowRun) => Promise<PollEcs>) => {
  const region = options.config.awsRegion;
  const runSettings = createRunAwsSettings({
    prefect: options.prefect,
    lookups: createTemplateLookups(options.prefect),
    environment: options.config.templateEnvironment,
    allowedEnvironment: options.config.templateEnvAllowlist,
  });
  const scopes = createAwsScopes<PollEcs>({
    homeRegion: region,
    homeCredentials: options.homeCredentials,
    allowedRoleArns: options.config.assumeRoleArns,
    assumeRole: createAssumeRole({ region }),
    home: options.home,
    build: (scope) =>
      createEcsClient(new ECSClient(sdkClientOptionsOf(scope, { maxAttempts: 4 })), {
        region: scope.region,
      }),
  });
  return async (run) => {
    // A recorded task of the stack's own account and region: the poller's own client.
    const task = taskArnOf(run.infrastructure_pid);
    if (task && task.account === options.config.stackAccountId && task.region === region) {
      return options.home;
    }
    let settings = null;
    try {
      settings = await runSettings.settingsOf(run);
    } catch (error) {
      if (isRetryable(error)) throw error;
      options.logger.warn("Could not read the run's aws_credentials; using the poller's own", {
        flow_run_id: run.id,
        error: error instanceof Error ? error.message : String(error),
      });
    }
    return scopes.get(settings);
  };
};
