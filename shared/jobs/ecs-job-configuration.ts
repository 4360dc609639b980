/**
 * The ECS job configuration of one flow run, after Prefect's templating (`from_template_and_values`)
 * and `prepare_for_flow_run`: what prefect-aws calls `ECSJobConfiguration`. The task-definition and
 * RunTask builders in `shared/ecs/` turn it into AWS requests.
 *
 * Keys of the pool's `job_configuration` that are not listed here (old templates' `stream_output`,
 * `task_start_timeout_seconds`, …) are kept in `extra`; `task_definition` and `task_run_request` keep
 * every key the template has (sidecars, volumes, `ephemeralStorage`, `placementConstraints`, …).
 */
export interface EcsJobConfiguration {
  /** The command as a string, e.g. `prefect flow-run execute` (the default when unset). */
  command: string;
  /**
   * The container environment after `prepare_for_flow_run`: Prefect settings (`PREFECT_API_URL`, …),
   * `PREFECT__FLOW_RUN_ID`, the attribution variables, then the user's `env`. `null` unsets a variable
   * (it is removed from the task definition's container environment and from the overrides).
   */
  env: Record<string, string | null>;
  /** `prefect.io/*` labels, then the user's `labels` (later wins). Become RunTask tags. */
  labels: Record<string, string>;
  /** The infrastructure name (templated `name`, else the flow run's name). */
  name: string;
  /** Templated RegisterTaskDefinition input; `{}` when the template has none. */
  task_definition: Record<string, unknown>;
  /** Templated RunTask input. */
  task_run_request: Record<string, unknown>;
  configure_cloudwatch_logs: boolean;
  cloudwatch_logs_options: Record<string, string>;
  cloudwatch_logs_prefix: string | null;
  /** The user's `awsvpcConfiguration` (`subnets`, `securityGroups`, `assignPublicIp`), or null. */
  network_configuration: Record<string, unknown> | null;
  auto_deregister_task_definition: boolean;
  vpc_id: string | null;
  /** The orchestration container's name as configured (null: inferred, else `prefect`). */
  container_name: string | null;
  /** Cluster name or ARN as configured (null: the account's default cluster). */
  cluster: string | null;
  match_latest_revision_in_family: boolean;
  prefect_api_key_secret_arn: string | null;
  prefect_api_auth_string_secret_arn: string | null;
  execution_role_arn: string | null;
  /** Other top-level keys of the templated job configuration, passed through untouched. */
  extra: Record<string, unknown>;
}

/** Identifiers the builders need besides the configuration (for families, log prefixes, tags). */
export interface FlowRunContext {
  flowRunId: string;
  flowId: string;
  deploymentId: string | null;
  workPoolName: string;
}
