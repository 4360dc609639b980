import type { Deployment, Flow, FlowRun } from '../prefect/schemas.ts';
import { applyValues } from './apply-values.ts';
import type { EcsJobConfiguration } from './ecs-job-configuration.ts';
import type { EnvironmentAccess } from './environment-placeholder.ts';
import { withoutCredentials, withoutOverrideCredentials } from './prefect-credentials.ts';
import { isPythonTruthy, pythonStr } from './python-str.ts';
import { utcIsoformat } from './utc-isoformat.ts';
import type { TemplatedJobConfiguration } from './validate-job-configuration.ts';

/** Prefect 3's default command (`BaseJobConfiguration._base_flow_run_command`). */
export const DEFAULT_COMMAND = 'prefect flow-run execute';

/** The flow run being prepared and who prepares it. */
export interface FlowRunSubmission {
  flowRun: FlowRun;
  flow: Flow;
  deployment: Deployment | null;
  workPool: { id: string; name: string };
  /** Our stable worker name (`PREFECT__WORKER_NAME`, `prefect.io/worker-name`). */
  workerName: string;
  /** The worker's id from the heartbeat, when known (`PREFECT__WORKER_ID`). */
  workerId?: string | undefined;
  /** Value of the `prefect.io/version` label. */
  prefectVersion: string;
  /** Prefect settings for the container (`PREFECT_API_URL`, …); credentials are dropped. */
  prefectEnvironment: Readonly<Record<string, string>>;
}

const credentialWarning = (names: readonly string[], where: string): string =>
  `${names.join(' and ')} ${names.length > 1 ? 'were' : 'was'} left out of the container environment (set in ${where}): Prefect credentials reach the task only as task-definition secrets from Secrets Manager (prefect_api_key_secret_arn / prefect_api_auth_string_secret_arn, or the launcher's configured ARN), never as plain environment variables.`;

const attributionEnvironment = (submission: FlowRunSubmission): Record<string, string> => {
  const { flowRun, flow, deployment, workerId, workerName } = submission;
  return {
    ...(workerId !== undefined ? { PREFECT__WORKER_ID: workerId } : {}),
    PREFECT__WORKER_NAME: workerName,
    ...(flowRun.flow_id ? { PREFECT__FLOW_ID: flowRun.flow_id } : {}),
    ...(flow.name ? { PREFECT__FLOW_NAME: flow.name } : {}),
    ...(flowRun.deployment_id ? { PREFECT__DEPLOYMENT_ID: flowRun.deployment_id } : {}),
    ...(deployment?.name ? { PREFECT__DEPLOYMENT_NAME: deployment.name } : {}),
  };
};

const baseLabels = (submission: FlowRunSubmission): Record<string, string> => {
  const { flowRun, flow, deployment, workPool, workerName, prefectVersion } = submission;
  return {
    'prefect.io/flow-run-id': flowRun.id,
    'prefect.io/flow-run-name': flowRun.name,
    'prefect.io/version': prefectVersion,
    'prefect.io/work-pool-name': workPool.name,
    'prefect.io/work-pool-id': workPool.id,
    'prefect.io/worker-name': workerName,
    'prefect.io/flow-id': flow.id,
    'prefect.io/flow-name': flow.name,
    ...(deployment === null
      ? {}
      : {
          'prefect.io/deployment-id': deployment.id,
          'prefect.io/deployment-name': deployment.name,
          ...(deployment.updated === null
            ? {}
            : { 'prefect.io/deployment-updated': utcIsoformat(deployment.updated) }),
        }),
  };
};

const renderName = (
  name: string | null,
  submission: FlowRunSubmission,
  access: EnvironmentAccess,
  warnings: string[]
): string => {
  let rendered: unknown = name;
  if (isPythonTruthy(name)) {
    const ctx = { flow: submission.flow, flow_run: submission.flowRun };
    const result = applyValues(name, { ctx }, { ...access, path: ['job_configuration', 'name'] });
    warnings.push(...result.warnings);
    if (result.value !== undefined) rendered = result.value;
  }
  return isPythonTruthy(rendered) ? pythonStr(rendered) : submission.flowRun.name;
};

/**
 * Prefect's `prepare_for_flow_run` (base worker and ECS worker) for our launcher:
 * - `env`: the Prefect settings, `PREFECT__FLOW_RUN_ID`, the attribution variables
 *   (`PREFECT__WORKER_ID` when known, `PREFECT__WORKER_NAME`, `PREFECT__FLOW_ID`,
 *   `PREFECT__FLOW_NAME`, `PREFECT__DEPLOYMENT_ID`, `PREFECT__DEPLOYMENT_NAME`), then the user's
 *   `env`, later layers winning. A user `null` is kept (Prefect drops it): it tells the builders to
 *   remove that variable from the task definition and the overrides.
 * - `PREFECT_API_KEY` / `PREFECT_API_AUTH_STRING` never appear in `env` nor in the templated
 *   container overrides, from any layer; a warning says where they were set.
 * - `labels`: the `prefect.io/*` labels (flow run, version, work pool, worker, flow, deployment with
 *   `deployment-updated` in Python's UTC isoformat), then the user's `labels`.
 * - `name`: the templated name rendered again with `{{ ctx.flow.* }}` / `{{ ctx.flow_run.* }}`,
 *   else the flow run's name. `command`: the templated command, else `prefect flow-run execute`.
 *
 * @example
 * prepareForFlowRun(templated, { flowRun, flow, deployment, workPool, workerName: 'ecs-serverless',
 *   prefectVersion: '3', prefectEnvironment: { PREFECT_API_URL: 'https://api.prefect.cloud/api/…' } }, {});
 * // { configuration: { env: { PREFECT_API_URL: '…', PREFECT__FLOW_RUN_ID: '…', … }, command: 'prefect flow-run execute', … }, warnings: [] }
 */
export const prepareForFlowRun = (
  templated: TemplatedJobConfiguration,
  submission: FlowRunSubmission,
  access: EnvironmentAccess
): { configuration: EcsJobConfiguration; warnings: string[] } => {
  const warnings: string[] = [];
  const base = withoutCredentials(submission.prefectEnvironment);
  if (base.removed.length > 0) {
    warnings.push(credentialWarning(base.removed, "the launcher's Prefect environment"));
  }
  const user = withoutCredentials(templated.env);
  const overrides = withoutOverrideCredentials(templated.task_run_request);
  const userRemoved = [...new Set([...user.removed, ...overrides.removed])];
  if (userRemoved.length > 0) {
    warnings.push(credentialWarning(userRemoved, 'the job variable "env"'));
  }
  const env: Record<string, string | null> = {
    ...base.env,
    PREFECT__FLOW_RUN_ID: submission.flowRun.id,
    ...attributionEnvironment(submission),
    ...user.env,
  };
  const labels = { ...baseLabels(submission), ...templated.labels };
  const name = renderName(templated.name, submission, access, warnings);
  return {
    configuration: {
      ...templated,
      command: templated.command ?? DEFAULT_COMMAND,
      env,
      labels,
      name,
      task_run_request: overrides.taskRunRequest,
    },
    warnings,
  };
};
