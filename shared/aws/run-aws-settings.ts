/**
 * A run's `aws_credentials`, for the functions that follow its tasks after the launch (the reporter,
 * the cancel and orphan sweeps): read from its work pool and deployment and templated as the launcher
 * templated them (`resolveAwsCredentialsValue`), so the same run reaches the same account and region
 * with the same credentials.
 *
 * Cached per warm container for {@link RUN_AWS_SETTINGS_TTL_MS} by pool, deployment and the run's
 * own job variables: a burst of events of one deployment costs one pool, one deployment and one
 * block read a minute, not three per event.
 */

import { resolveAwsCredentialsValue } from '../jobs/resolve-job-configuration.ts';
import type { TemplateLookups } from '../jobs/template-lookups.ts';
import type { PrefectClient } from '../prefect/client.ts';
import { isNotFound } from '../prefect/prefect-api-error.ts';
import type { Deployment, FlowRun, WorkPool } from '../prefect/schemas.ts';
import { type AwsCredentialsSettings, parseAwsCredentials } from './aws-credentials-settings.ts';

export const RUN_AWS_SETTINGS_TTL_MS = 60_000;
const MAX_ENTRIES = 500;

/** I/O of {@link createRunAwsSettings}. */
export interface RunAwsSettingsDeps {
  prefect: Pick<PrefectClient, 'readWorkPool' | 'readDeployment'>;
  lookups: TemplateLookups;
  /** `{{ $NAME }}` values and the allow-list, as the launcher has them. */
  environment?: Readonly<Record<string, string>>;
  allowedEnvironment?: readonly string[];
  now?: () => Date;
}

/** The run fields that decide its job variables. */
export type RunOfSettings = Pick<FlowRun, 'work_pool_name' | 'deployment_id' | 'job_variables'>;

export interface RunAwsSettings {
  /**
   * The run's settings; null for the functions' own credentials (no pool, no `aws_credentials`).
   * `workPool`: the pool when the caller has it already (the poller). Throws what reading or
   * templating throws (Prefect errors, `PermanentLaunchError` for an unusable block).
   */
  settingsOf(run: RunOfSettings, workPool?: WorkPool): Promise<AwsCredentialsSettings | null>;
}

/**
 * @example
 * const runAws = createRunAwsSettings({ prefect, lookups: createTemplateLookups(prefect) });
 * await runAws.settingsOf(run); // null, or { assumeRole: { RoleArn: … }, region: 'eu-west-1', … }
 */
export const createRunAwsSettings = (deps: RunAwsSettingsDeps): RunAwsSettings => {
  const now = () => (deps.now ?? (() => new Date()))().getTime();
  const settled = new Map<string, { at: number; value: Promise<AwsCredentialsSettings | null> }>();

  const readDeployment = async (id: string | null): Promise<Deployment | null> => {
    if (id === null) return null;
    try {
      return await deps.prefect.readDeployment(id);
    } catch (error) {
      if (isNotFound(error)) return null;
      throw error;
    }
  };

  const resolve = async (
    run: RunOfSettings,
    given: WorkPool | undefined
  ): Promise<AwsCredentialsSettings | null> => {
    const poolName = run.work_pool_name;
    if (poolName === null) return null;
    const workPool = given ?? (await deps.prefect.readWorkPool(poolName));
    const template = workPool.base_job_template as { job_configuration?: Record<string, unknown> };
    // No aws_credentials in the template: nothing to read about the deployment.
    if (
      !template?.job_configuration ||
      !Object.hasOwn(template.job_configuration, 'aws_credentials')
    ) {
      return null;
    }
    const deployment = await readDeployment(run.deployment_id);
    const value = await resolveAwsCredentialsValue(
      {
        workPool,
        deployment,
        flowRun: run,
        environment: deps.environment ?? {},
        allowedEnvironment: deps.allowedEnvironment ?? [],
      },
      { lookups: deps.lookups }
    );
    return parseAwsCredentials(value);
  };

  return {
    settingsOf(run, workPool) {
      const key = `${run.work_pool_name}\u0000${run.deployment_id}\u0000${JSON.stringify(run.job_variables ?? {})}`;
      const at = now();
      const cached = settled.get(key);
      if (cached && at - cached.at < RUN_AWS_SETTINGS_TTL_MS) return cached.value;
      if (settled.size >= MAX_ENTRIES) settled.clear();
      const value = resolve(run, workPool);
      const entry = { at, value };
      settled.set(key, entry);
      value.catch(() => {
        if (settled.get(key) === entry) settled.delete(key);
      });
      return value;
    },
  };
};
