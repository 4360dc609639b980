import * as z from 'zod';
import type { EcsJobConfiguration } from './ecs-job-configuration.ts';
import { JobConfigurationError } from './job-configuration-error.ts';
import { getOwn, isJsonObject, type JsonObject, setOwn } from './json-object.ts';
import { isPythonTruthy, pythonStr } from './python-str.ts';
import { formatTemplatePath } from './template-path.ts';

/**
 * The templated job configuration checked and typed, before `prepare_for_flow_run`: `command` and
 * `name` may still be unset.
 */
export interface TemplatedJobConfiguration extends Omit<EcsJobConfiguration, 'command' | 'name'> {
  /** `null` when unset or empty (Prefect's `return_v_or_none`). */
  command: string | null;
  name: string | null;
}

/** Pydantic's lax booleans: `true`/`false`, `0`/`1`, and `"yes"`, `"off"`, `"t"`, … in any case. */
const TRUE_TEXT = new Set(['1', 'on', 't', 'true', 'y', 'yes']);
const FALSE_TEXT = new Set(['0', 'off', 'f', 'false', 'n', 'no']);
const laxBoolean = (value: unknown): unknown => {
  if (value === 0 || value === 1) return value === 1;
  if (typeof value !== 'string') return value;
  const text = value.toLowerCase();
  if (TRUE_TEXT.has(text)) return true;
  if (FALSE_TEXT.has(text)) return false;
  return value;
};

const OptionalText = z
  .string({ error: 'must be a string or null' })
  .nullish()
  .transform((value) => value ?? null);
const Flag = z
  .preprocess(laxBoolean, z.boolean({ error: 'must be a boolean' }).nullish())
  .transform((value) => value ?? false);
const TextMap = z
  .record(z.string(), z.string({ error: 'must be a string' }), {
    error: 'must be an object of strings',
  })
  .nullish()
  .transform((value) => value ?? {});
const AnyObject = z
  .custom<JsonObject | null>((value) => value === null || isJsonObject(value), {
    error: 'must be an object',
  })
  .optional()
  .transform((value) => value ?? {});
const Env = z
  .record(z.string(), z.unknown(), { error: 'must be an object of environment variables' })
  .nullish()
  .transform((value) =>
    Object.fromEntries(
      Object.entries(value ?? {}).map(([name, text]) => [
        name,
        text === null ? null : pythonStr(text),
      ])
    )
  );

/** The fields of Prefect's `ECSJobConfiguration` that {@link EcsJobConfiguration} names. */
const TemplatedFieldsSchema = z.object({
  command: OptionalText.transform((value) => (value === '' ? null : value)),
  env: Env,
  labels: TextMap,
  name: OptionalText,
  task_definition: AnyObject,
  task_run_request: AnyObject,
  configure_cloudwatch_logs: Flag,
  cloudwatch_logs_options: TextMap,
  cloudwatch_logs_prefix: OptionalText,
  network_configuration: AnyObject.transform((value) =>
    Object.keys(value).length > 0 ? value : null
  ),
  auto_deregister_task_definition: Flag,
  vpc_id: OptionalText,
  container_name: OptionalText,
  cluster: OptionalText,
  match_latest_revision_in_family: Flag,
  prefect_api_key_secret_arn: OptionalText,
  prefect_api_auth_string_secret_arn: OptionalText,
  execution_role_arn: OptionalText,
});
const FIELDS = new Set(Object.keys(TemplatedFieldsSchema.shape));

/**
 * The kind of a rendered value, never the value itself: it may hold a secret a block placeholder
 * resolved to, and the message reaches the Crashed state, the flow run's logs and CloudWatch.
 */
const describeKind = (value: unknown): string => {
  if (value === undefined) return 'no value';
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'an object';
  return `a ${typeof value}`;
};

const typeError = (populated: JsonObject, error: z.ZodError): JobConfigurationError => {
  const [issue] = error.issues;
  const steps = (issue?.path ?? []).map((step) => (typeof step === 'number' ? step : String(step)));
  const field = String(steps[0] ?? '');
  let value: unknown = populated;
  for (const step of steps) value = isJsonObject(value) ? getOwn(value, String(step)) : undefined;
  const templatePath = formatTemplatePath(['job_configuration', ...steps]);
  return new JobConfigurationError(
    `${templatePath} ${issue?.message ?? 'is invalid'}, got ${describeKind(value)}. Fix the job variable "${field}" (or the work pool's base job template where it sets "${field}").`,
    { variable: field, templatePath }
  );
};

const fail = (variable: string, field: string, message: string): JobConfigurationError =>
  new JobConfigurationError(message, {
    variable,
    templatePath: formatTemplatePath(['job_configuration', field]),
  });

/** `ECSJobConfiguration`'s model validators (prefect-aws `ecs_worker.py`), in Prefect's order. */
const checkRules = (config: TemplatedJobConfiguration, options: ValidateJobOptions): void => {
  const taskDefinitionArn = getOwn(config.task_run_request, 'taskDefinition');
  if (!isPythonTruthy(taskDefinitionArn) && Object.keys(config.task_definition).length === 0) {
    throw fail(
      'task_definition_arn',
      'task_definition',
      'The job configuration has neither a task definition nor a task definition ARN. Set the job variable "task_definition_arn", or give the work pool\'s base job template a non-empty "task_definition".'
    );
  }
  const containers = getOwn(config.task_definition, 'containerDefinitions');
  if (
    Array.isArray(containers) &&
    containers.length > 0 &&
    containers.every((container) => isJsonObject(container) && container.essential === false)
  ) {
    throw fail(
      'task_definition',
      'task_definition',
      'Every container in the task definition is marked "essential": false; ECS needs at least one essential container. Mark the Prefect container (or another) essential in the work pool\'s base job template.'
    );
  }
  if (
    config.configure_cloudwatch_logs &&
    !isPythonTruthy(config.execution_role_arn) &&
    !isPythonTruthy(options.defaultExecutionRoleArn) &&
    !isPythonTruthy(taskDefinitionArn) &&
    !isPythonTruthy(getOwn(config.task_definition, 'executionRoleArn'))
  ) {
    throw fail(
      'execution_role_arn',
      'configure_cloudwatch_logs',
      'configure_cloudwatch_logs needs a task execution role that may write to CloudWatch Logs. Set the job variable "execution_role_arn" (or "executionRoleArn" in the template\'s task_definition, or the launcher\'s ECS_EXECUTION_ROLE_ARN), or turn configure_cloudwatch_logs off.'
    );
  }
  if (isPythonTruthy(config.cloudwatch_logs_options) && !config.configure_cloudwatch_logs) {
    throw fail(
      'configure_cloudwatch_logs',
      'cloudwatch_logs_options',
      'cloudwatch_logs_options is set but configure_cloudwatch_logs is not enabled. Set the job variable "configure_cloudwatch_logs" to true, or remove "cloudwatch_logs_options".'
    );
  }
  if (config.network_configuration !== null && !isPythonTruthy(config.vpc_id)) {
    throw fail(
      'vpc_id',
      'network_configuration',
      'network_configuration is set but vpc_id is not: the subnets are checked against the VPC. Set the job variable "vpc_id" to the VPC of the subnets in network_configuration, or remove "network_configuration".'
    );
  }
};

/** What the launcher adds to the template's own settings. */
export interface ValidateJobOptions {
  /**
   * The launcher's `ECS_EXECUTION_ROLE_ARN`: the builders give it to task definitions that name no
   * role, so it satisfies `configure_cloudwatch_logs` as a role in the template would (prefect-aws has
   * no such default and insists on one in the template).
   */
  defaultExecutionRoleArn?: string | undefined;
}

/**
 * Turns the templated job configuration into typed fields the way Prefect's `ECSJobConfiguration`
 * model does, then runs its validators:
 * - types as pydantic checks them: strings stay strings (a number is refused), booleans are lax
 *   (`"true"`, `1`, `"yes"`), `env` values become Python `str()`s and `null` stays `null`, an empty
 *   `command` is unset, an empty `network_configuration` is `null`;
 * - a field that is missing, or `null` where Prefect has a default (`labels`, `auto_deregister_…`),
 *   takes that default;
 * - keys that are not fields land in `extra` (old templates' `stream_output`,
 *   `task_start_timeout_seconds`, `task_watch_poll_interval`; `aws_credentials`; custom keys);
 * - a task definition or an ARN is required; not every container may be `essential: false`;
 *   `configure_cloudwatch_logs` needs an execution role; `cloudwatch_logs_options` needs
 *   `configure_cloudwatch_logs`; `network_configuration` needs `vpc_id`.
 *
 * Failures are {@link JobConfigurationError}s naming the job variable to change.
 *
 * @example
 * validateJobConfiguration({ task_definition: { containerDefinitions: [{ image: 'etl:1' }] }, env: { DEBUG: true } });
 * // { env: { DEBUG: 'True' }, labels: {}, command: null, configure_cloudwatch_logs: false, extra: {}, … }
 */
export const validateJobConfiguration = (
  populated: JsonObject,
  options: ValidateJobOptions = {}
): TemplatedJobConfiguration => {
  const fields: JsonObject = {};
  const extra: JsonObject = {};
  for (const [key, value] of Object.entries(populated)) {
    if (FIELDS.has(key)) fields[key] = value;
    else setOwn(extra, key, value);
  }
  const parsed = TemplatedFieldsSchema.safeParse(fields);
  if (!parsed.success) throw typeError(populated, parsed.error);
  const config: TemplatedJobConfiguration = { ...parsed.data, extra };
  checkRules(config, options);
  return config;
};
