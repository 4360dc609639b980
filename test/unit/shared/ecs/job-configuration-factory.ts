/**
 * Job configurations for the ECS builder tests, shaped as the template engine produces them from the
 * default base job template (prefect-aws HEAD) with default variables, then `prepare_for_flow_run`.
 */
import type {
  EcsJobConfiguration,
  FlowRunContext,
} from '../../../../shared/jobs/ecs-job-configuration.ts';

export const IDS = {
  flowRun: '0b6c0e4e-8c4f-4f53-9d0e-7f6f3c1d2a10',
  flow: '6f1d6c43-5e0b-4a4f-9a67-1c1f0e3c2b54',
  deployment: 'a1b2c3d4-e5f6-4789-8abc-def012345678',
  workPool: '9d8c7b6a-5f4e-4d3c-8b2a-1f0e9d8c7b6a',
} as const;

export const POOL = 'ecs-pool';
export const REGION = 'us-east-1';
export const ACCOUNT = '123456789012';
export const EXECUTION_ROLE = `arn:aws:iam::${ACCOUNT}:role/prefect-execution`;
export const API_KEY_SECRET = `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:prefect-api-key-AbCdEf`;
export const AUTH_STRING_SECRET = `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:prefect-auth-GhIjKl`;
export const LAUNCHER_KEY_SECRET = `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:launcher-key-MnOpQr`;

export const flowRunContext = (overrides: Partial<FlowRunContext> = {}): FlowRunContext => ({
  flowRunId: IDS.flowRun,
  flowId: IDS.flow,
  deploymentId: IDS.deployment,
  workPoolName: POOL,
  ...overrides,
});

/** The environment `prepare_for_flow_run` gives the container (no API key: it is a secret). */
export const preparedEnv = (): Record<string, string | null> => ({
  PREFECT_API_URL: 'https://api.prefect.cloud/api/accounts/acc/workspaces/ws',
  PREFECT__FLOW_RUN_ID: IDS.flowRun,
  PREFECT__WORKER_NAME: 'prefect-ecs-serverless',
  PREFECT__FLOW_ID: IDS.flow,
  PREFECT__FLOW_NAME: 'etl',
  PREFECT__DEPLOYMENT_ID: IDS.deployment,
  PREFECT__DEPLOYMENT_NAME: 'nightly',
});

/** The `prefect.io/*` labels Prefect adds (11), in its order. */
export const prefectLabels = (): Record<string, string> => ({
  'prefect.io/flow-run-id': IDS.flowRun,
  'prefect.io/flow-run-name': 'crimson-fox',
  'prefect.io/version': '3.9.1',
  'prefect.io/work-pool-name': POOL,
  'prefect.io/work-pool-id': IDS.workPool,
  'prefect.io/worker-name': 'prefect-ecs-serverless',
  'prefect.io/flow-id': IDS.flow,
  'prefect.io/flow-name': 'etl',
  'prefect.io/deployment-id': IDS.deployment,
  'prefect.io/deployment-name': 'nightly',
  'prefect.io/deployment-updated': '2026-08-21T12:00:00.123456+00:00',
});

/**
 * The default template rendered with default variables (launch type FARGATE, everything else unset):
 * `image`, `container_name`, `cpu`, `memory`, `family`, … resolve to nothing and their keys vanish.
 */
export const jobConfiguration = (
  overrides: Partial<EcsJobConfiguration> = {}
): EcsJobConfiguration => ({
  command: 'prefect flow-run execute',
  env: preparedEnv(),
  labels: prefectLabels(),
  name: 'crimson-fox',
  task_definition: { containerDefinitions: [{}] },
  task_run_request: {
    launchType: 'FARGATE',
    overrides: { containerOverrides: [{ environment: {} }] },
    tags: {},
    capacityProviderStrategy: [],
  },
  configure_cloudwatch_logs: false,
  cloudwatch_logs_options: {},
  cloudwatch_logs_prefix: null,
  network_configuration: null,
  auto_deregister_task_definition: false,
  vpc_id: null,
  container_name: null,
  cluster: null,
  match_latest_revision_in_family: false,
  prefect_api_key_secret_arn: null,
  prefect_api_auth_string_secret_arn: null,
  execution_role_arn: null,
  extra: {},
  ...overrides,
});

/** `jobConfiguration` with the template's run request changed (merged one level deep). */
export const withRunRequest = (
  request: Record<string, unknown>,
  overrides: Partial<EcsJobConfiguration> = {}
): EcsJobConfiguration => {
  const base = jobConfiguration(overrides);
  return { ...base, task_run_request: { ...base.task_run_request, ...request } };
};
