import type { Deployment, Flow, FlowRun, WorkPool } from '../prefect/schemas.ts';
import { applyValues } from './apply-values.ts';
import type { EcsJobConfiguration } from './ecs-job-configuration.ts';
import type { EnvironmentAccess } from './environment-placeholder.ts';
import { isJsonObject } from './json-object.ts';
import { mergeJobVariables } from './merge-job-variables.ts';
import { placeholderOrigin } from './placeholder-origin.ts';
import { prepareForFlowRun } from './prepare-for-flow-run.ts';
import { resolveBlockReferences } from './resolve-block-references.ts';
import { resolveVariables } from './resolve-variables.ts';
import { buildTemplateInputs, parseBaseJobTemplate } from './template-inputs.ts';
import { memoizeTemplateLookups, type TemplateLookups } from './template-lookups.ts';
import { validateJobConfiguration } from './validate-job-configuration.ts';

/**
 * Default `prefect.io/version` label. Prefect's worker writes its own `prefect.__version__`
 * (`_base_flow_run_labels`, src/prefect/workers/base.py), the release of the Prefect that launched
 * the task. Ours is the Prefect release whose worker we reproduce: the worker and prefect-aws ECS
 * worker source we follow is PrefectHQ/prefect ce79dd3d (2026-08-21), 40 commits after the 3.8.3
 * release with no change to `prepare_for_flow_run` nor `ecs_worker.py` in between, so the label
 * reads as a 3.8.3 worker's would. Not the server's version (`GET /admin/version`): that names the
 * server, not what launched the task, is absent on Prefect Cloud, and would cost a Prefect call.
 * Raise it when we follow a newer release. The previous release wrote `"3"`: the label is an ECS
 * task tag (RunTask `tags`), not part of the task definition, so changing it registers nothing.
 */
export const DEFAULT_PREFECT_VERSION = '3.8.3';

/** What one flow run's job configuration is made from. */
export interface ResolveJobConfigurationInput extends EnvironmentAccess {
  workPool: Pick<WorkPool, 'id' | 'name' | 'base_job_template'>;
  /** The flow run's deployment; `null` for runs without one. */
  deployment: Deployment | null;
  flow: Flow;
  flowRun: FlowRun;
  /** Our stable worker name. */
  workerName: string;
  /** The worker id the heartbeat returned, when known: becomes `PREFECT__WORKER_ID`. */
  workerId?: string;
  /**
   * Prefect settings the container inherits, as the Python worker passes on its own (e.g.
   * `PREFECT_API_URL`). `PREFECT_API_KEY` / `PREFECT_API_AUTH_STRING` are dropped with a warning:
   * the task gets them as secrets.
   */
  prefectEnvironment: Readonly<Record<string, string>>;
  /**
   * The `prefect.io/version` label. Prefect's worker writes its own `prefect.__version__`; nothing
   * reads it back (it is an informational ECS tag). Default {@link DEFAULT_PREFECT_VERSION}: the
   * Prefect release whose worker we reproduce.
   */
  prefectVersion?: string;
  /** The launcher's default execution role (`ECS_EXECUTION_ROLE_ARN`), when it has one. */
  defaultExecutionRoleArn?: string | undefined;
}

/** I/O for {@link resolveJobConfiguration}. */
export interface ResolveJobConfigurationDeps {
  /** Prefect variables and blocks (`createTemplateLookups(prefect)`); read at most once per call. */
  lookups: TemplateLookups;
}

/** The configuration, and things worth logging that did not stop it. */
export interface ResolvedJobConfiguration {
  configuration: EcsJobConfiguration;
  /** E.g. a `{{ $NAME }}` not on the allow-list, a credential left out of `env`. */
  warnings: string[];
}

/**
 * Prefect's templating of a run's job configuration (`BaseJobConfiguration.from_template_and_values`):
 * the job variables of the deployment and the run over the template's defaults, applied to
 * `job_configuration`, then block references, then Prefect variables.
 */
const populateTemplate = async (
  template: ReturnType<typeof parseBaseJobTemplate>,
  input: Pick<ResolveJobConfigurationInput, 'deployment' | 'environment' | 'allowedEnvironment'> & {
    flowRun: Pick<FlowRun, 'job_variables'>;
  },
  deps: ResolveJobConfigurationDeps
): Promise<{ populated: unknown; warnings: string[] }> => {
  const jobVariables = mergeJobVariables(
    input.deployment?.job_variables ?? {},
    input.flowRun.job_variables
  );
  const { jobConfiguration, values } = buildTemplateInputs(template, jobVariables);
  const access: EnvironmentAccess = {
    environment: input.environment,
    allowedEnvironment: input.allowedEnvironment,
  };
  const path = ['job_configuration'];
  const applied = applyValues(jobConfiguration, values, { ...access, path });
  const lookups = memoizeTemplateLookups(deps.lookups);
  const referencesOptions = { path, originOf: placeholderOrigin(values) };
  const withBlocks = await resolveBlockReferences(applied.value, lookups, referencesOptions);
  return { populated: await resolveVariables(withBlocks, lookups), warnings: applied.warnings };
};

/**
 * Prefect's `BaseJobConfiguration.resolve_for_flow_run` for the ECS worker, without an always-on
 * worker:
 * 1. merge the deployment's then the flow run's job variables (`env` per key);
 * 2. take the pool's `variables` defaults (non-null), merge `env` defaults, expand dotted keys;
 * 3. `apply_values` over `job_configuration` (typed whole-value placeholders, unset keys removed,
 *    Python `str()` inline, `{{ $NAME }}` from the allowed environment);
 * 4. resolve block references (`$ref`, `{{ prefect.blocks.* }}`) then `{{ prefect.variables.* }}`
 *    through `deps.lookups`, each read once;
 * 5. type and validate as `ECSJobConfiguration` does;
 * 6. `prepare_for_flow_run`: env layers, labels, name, command; credentials kept out of `env`.
 *
 * Throws {@link TemplateError} / `JobConfigurationError` (permanent, naming what to fix) when the
 * template and variables cannot make a valid configuration; errors from `deps.lookups` (e.g. a
 * retryable `PrefectConnectionError`) pass through unchanged.
 *
 * @example
 * const { configuration, warnings } = await resolveJobConfiguration(
 *   { workPool, deployment, flow, flowRun, workerName: 'ecs-serverless', prefectEnvironment: { PREFECT_API_URL: apiUrl } },
 *   { lookups: createTemplateLookups(prefect) }
 * );
 * configuration.task_definition; // { containerDefinitions: [{ image: 'acct.dkr.ecr…/etl:1' }], cpu: 1024, … }
 */
export const resolveJobConfiguration = async (
  input: ResolveJobConfigurationInput,
  deps: ResolveJobConfigurationDeps
): Promise<ResolvedJobConfiguration> => {
  const template = parseBaseJobTemplate(input.workPool.base_job_template, input.workPool.name);
  const { populated, warnings } = await populateTemplate(template, input, deps);

  const templated = validateJobConfiguration(isJsonObject(populated) ? populated : {}, {
    defaultExecutionRoleArn: input.defaultExecutionRoleArn,
  });
  const prepared = prepareForFlowRun(
    templated,
    {
      flowRun: input.flowRun,
      flow: input.flow,
      deployment: input.deployment,
      workPool: input.workPool,
      workerName: input.workerName,
      workerId: input.workerId,
      prefectVersion: input.prefectVersion ?? DEFAULT_PREFECT_VERSION,
      prefectEnvironment: input.prefectEnvironment,
    },
    { environment: input.environment, allowedEnvironment: input.allowedEnvironment }
  );
  return {
    configuration: prepared.configuration,
    warnings: [...new Set([...warnings, ...prepared.warnings])],
  };
};

/** What {@link resolveAwsCredentialsValue} needs: the objects that decide a run's job variables. */
export type ResolveAwsCredentialsInput = Pick<
  ResolveJobConfigurationInput,
  'workPool' | 'deployment' | 'environment' | 'allowedEnvironment'
> & { flowRun: Pick<FlowRun, 'job_variables'> };

/**
 * The run's `job_configuration.aws_credentials` alone, templated exactly as
 * {@link resolveJobConfiguration} templates it (job variables of the pool, deployment and run,
 * then blocks, then variables): for the reporter and the sweeps, which need the run's AWS
 * credentials but not its task definition. `undefined` when the template has no such key.
 *
 * @example
 * await resolveAwsCredentialsValue({ workPool, deployment, flowRun, environment: {}, allowedEnvironment: [] }, { lookups });
 * // { assume_role_arn: 'arn:aws:iam::210987654321:role/prefect', region_name: 'eu-west-1', … }
 */
export const resolveAwsCredentialsValue = async (
  input: ResolveAwsCredentialsInput,
  deps: ResolveJobConfigurationDeps
): Promise<unknown> => {
  const template = parseBaseJobTemplate(input.workPool.base_job_template, input.workPool.name);
  if (!Object.hasOwn(template.job_configuration, 'aws_credentials')) return undefined;
  const only = {
    ...template,
    job_configuration: { aws_credentials: template.job_configuration.aws_credentials },
  };
  const { populated } = await populateTemplate(only, input, deps);
  return isJsonObject(populated) ? populated.aws_credentials : undefined;
};
