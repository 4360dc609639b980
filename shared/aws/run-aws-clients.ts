/**
 * The clients of a run's own AWS credentials, for the functions that follow its tasks after the
 * launch (the reporter, the poller's sweeps): its `aws_credentials` read from its pool and
 * deployment (`run-aws-settings.ts`), assumed and cached per scope (`aws-scopes.ts`).
 */
import type { Config } from '../config.ts';
import { isRetryable } from '../errors/is-retryable.ts';
import {
  createTemplateLookups,
  type TemplateLookupsClient,
} from '../jobs/create-template-lookups.ts';
import type { FlowRun } from '../prefect/schemas.ts';
import { createAssumeRole } from './assume-role.ts';
import type { AwsCredentialsSettings } from './aws-credentials-settings.ts';
import { type AwsScope, createAwsScopes } from './aws-scopes.ts';
import { createRunAwsSettings, type RunAwsSettingsDeps } from './run-aws-settings.ts';
import type { AwsCredentials } from './signed-aws-request.ts';

/** What {@link createRunAwsClients} needs. */
export interface RunAwsClientsOptions<T> {
  config: Pick<
    Config,
    'awsRegion' | 'assumeRoleArns' | 'templateEnvironment' | 'templateEnvAllowlist'
  >;
  prefect: RunAwsSettingsDeps['prefect'] & TemplateLookupsClient;
  logger: { warn(message: string, ...attributes: Record<string, unknown>[]): void };
  /** The function's own clients. */
  home: T;
  homeCredentials: () => Promise<AwsCredentials>;
  /** The clients of another scope. */
  build: (scope: AwsScope) => T;
}

/**
 * The clients for `run` in `region` (default: its settings', else the function's). A run whose
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
): ((run: FlowRun | undefined, region?: string) => Promise<T>) => {
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
    build: options.build,
  });
  return async (run, region) => {
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
    return scopes.get(settings, region);
  };
};
