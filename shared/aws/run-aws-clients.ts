/**
 * The clients of a run's own AWS credentials, for the functions that follow its tasks after the
 * launch (the reporter, the poller's sweeps): its `aws_credentials` read from its pool and
 * deployment (`run-aws-settings.ts`), assumed and cached per scope (`aws-scopes.ts`).
 */
import type { Config } from '../config.ts';
import { isRetryable } from '../errors/is-retryable.ts';
import { LaunchError } from '../errors/launch-error.ts';
import {
  createTemplateLookups,
  type TemplateLookupsClient,
} from '../jobs/create-template-lookups.ts';
import type { FlowRun } from '../prefect/schemas.ts';
import { createAssumeRole } from './assume-role.ts';
import { type AwsCredentialsSettings, assumedAccountOf } from './aws-credentials-settings.ts';
import { type AwsScope, createAwsScopes } from './aws-scopes.ts';
import { createRunAwsSettings, type RunAwsSettingsDeps } from './run-aws-settings.ts';
import type { AwsCredentials } from './signed-aws-request.ts';

/** What {@link createRunAwsClients} needs. */
export interface RunAwsClientsOptions<T> {
  config: Pick<
    Config,
    | 'awsRegion'
    | 'assumeRoleArns'
    | 'stackAccountId'
    | 'templateEnvironment'
    | 'templateEnvAllowlist'
  >;
  prefect: RunAwsSettingsDeps['prefect'] & TemplateLookupsClient;
  logger: { warn(message: string, ...attributes: Record<string, unknown>[]): void };
  /** The function's own clients. */
  home: T;
  homeCredentials: () => Promise<AwsCredentials>;
  /**
   * The clients of another scope. `onRefused` is for wrapping its ports with
   * `recoverRefusedCredentials`: a refusal drops the scope, so the next use assumes the role again.
   */
  build: (scope: AwsScope, onRefused: (error: unknown, code: string) => undefined) => T;
}

/** Where a run's recorded task lives (from its ARN). */
export interface TaskPlace {
  taskArn: string;
  account: string;
  region: string;
}

/**
 * The account the settings reach, when known without asking AWS: the assumed role's, else the
 * stack's for its own credentials; unknown for static keys.
 */
const accountOf = (
  settings: AwsCredentialsSettings | null,
  stackAccountId: string | undefined
): string | undefined =>
  assumedAccountOf(settings) ?? (settings?.accessKeys ? undefined : stackAccountId);

/**
 * The clients for `run` in `region` (default: its settings', else the function's). With `task`
 * (the run's recorded task), refuses (retryable `LaunchError`) when the run's credentials now
 * reach another account or region than the task's: the pool's `aws_credentials` changed while it
 * ran, and asking the new place about the task would answer "no such task", which a sweep would
 * act on (cancel, crash) while the task runs on. A run whose
 * settings cannot be read for good (its pool deleted, an unusable block: it could not have been
 * launched with them) gets the function's own credentials, with a warning; a passing failure
 * (Prefect 5xx, throttled STS) propagates for the caller's retry. `run` undefined (deleted): the
 * function's own credentials.
 *
 * @example
 * const clientsOf = createRunAwsClients({ config, prefect, logger, home, homeCredentials, build });
 * const { ecs } = await clientsOf(run, event.region);
 */
export const createRunAwsClients = <T>(
  options: RunAwsClientsOptions<T>
): ((run: FlowRun | undefined, region?: string, task?: TaskPlace) => Promise<T>) => {
  const homeRegion = options.config.awsRegion;
  const runSettings = createRunAwsSettings({
    prefect: options.prefect,
    lookups: createTemplateLookups(options.prefect),
    environment: options.config.templateEnvironment,
    allowedEnvironment: options.config.templateEnvAllowlist,
  });
  const scopes = createAwsScopes<T>({
    homeRegion,
    homeCredentials: options.homeCredentials,
    allowedRoleArns: options.config.assumeRoleArns,
    assumeRole: createAssumeRole({ region: homeRegion }),
    home: options.home,
    build: (scope) =>
      options.build(scope, () => {
        scopes.refused(scope.settings, scope.region);
        return undefined;
      }),
  });
  return async (run, region, task) => {
    let settings: AwsCredentialsSettings | null = null;
    if (run) {
      try {
        settings = await runSettings.settingsOf(run);
      } catch (error) {
        if (isRetryable(error)) throw error;
        options.logger.warn("Could not read the run's aws_credentials; using the function's own", {
          flow_run_id: run.id,
          error: error instanceof Error ? error.message : String(error),
        });
      }
    }
    if (task) {
      const targetRegion = region ?? settings?.region ?? homeRegion;
      const targetAccount = accountOf(settings, options.config.stackAccountId);
      if (
        task.region !== targetRegion ||
        (targetAccount !== undefined && task.account !== targetAccount)
      ) {
        throw new LaunchError(
          `The task of flow run ${run?.id} (${task.taskArn}) is in account ${task.account}, region ${task.region}, but the run's aws_credentials now reach ${targetAccount === undefined ? 'an account known only to its keys' : `account ${targetAccount}`}, region ${targetRegion} (the work pool's or deployment's credentials changed while it ran): the task is left alone, and the run to its engine or to you.`,
          true
        );
      }
    }
    return scopes.get(settings, region);
  };
};
