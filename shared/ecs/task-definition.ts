import type { RegisterTaskDefinitionCommandInput } from '@aws-sdk/client-ecs';
import type { EcsJobConfiguration, FlowRunContext } from '../jobs/ecs-job-configuration.ts';
import { awsLogsConfiguration } from './cloudwatch-logs.ts';
import { EcsConfigurationError } from './ecs-configuration-error.ts';
import { taskDefinitionFamily } from './family-name.ts';
import { cloneJson, dropEmptyKeys, isRecord, nonEmptyString, recordsIn } from './json-values.ts';
import { compatibilitiesOf, requestedLaunch, runsOnFargate } from './launch-type.ts';
import { DEFAULT_CONTAINER_NAME, inferContainerName } from './orchestration-container.ts';
import { applyPrefectSecrets, type DefaultPrefectSecrets } from './prefect-api-secrets.ts';
import { cpuUnits, memoryMiB } from './task-size.ts';
import { validateTaskDefinitionForLaunch } from './validate-task-definition.ts';

/**
 * The image when neither the `image` variable nor the template sets one. prefect-aws uses
 * `prefecthq/prefect:<its own Prefect version>-python<its Python>`; a Lambda has neither, so we use
 * the Prefect 3 image for Python 3.12, which follows the latest 3.x release.
 */
export const DEFAULT_PREFECT_IMAGE = 'prefecthq/prefect:3-python3.12';
/** Task CPU units when neither the template nor `cpu` sets them (prefect-aws's default). */
export const DEFAULT_CPU = 1024;
/** Task memory (MiB) when neither the template nor `memory` sets it (prefect-aws's default). */
export const DEFAULT_MEMORY = 2048;

/** What the launcher knows that the job configuration does not. */
export interface TaskDefinitionOptions extends DefaultPrefectSecrets {
  /** The ECS client's region, for `awslogs-region`. */
  region: string;
  /** Image for the orchestration container when none is configured; {@link DEFAULT_PREFECT_IMAGE}. */
  defaultImage?: string | undefined;
  /** Execution role used when the definition needs one (secrets, awslogs) and names none. */
  executionRoleArn?: string | undefined;
}

/**
 * Turns the templated `task_definition` into the RegisterTaskDefinition input prefect-aws would send
 * (`_prepare_task_definition`), with Prefect credentials as secrets:
 *
 * 1. empty container definitions are dropped;
 * 2. the orchestration container is `container_name`, else `prefect` if present, else the first
 *    container; a configured name that is missing is an error unless it is `prefect`, which names
 *    the first unnamed container or is appended as `{name: 'prefect'}`;
 * 3. its image defaults to `options.defaultImage` ({@link DEFAULT_PREFECT_IMAGE});
 * 4. its `environment` loses entries that `env` unsets (`null`) and entries with a null value;
 * 5. `configure_cloudwatch_logs` sets its awslogs `logConfiguration`;
 * 6. `family` defaults to `prefect_<pool>_<deployment or flow id>`, made a valid ECS name;
 * 7. on Fargate (see `runsOnFargate`) task-level `cpu`/`memory` become strings (defaults 1024/2048),
 *    `requiresCompatibilities` gains `FARGATE` and `networkMode` defaults to `awsvpc`; otherwise the
 *    container gets integer `cpu`/`memory` unless it has them;
 * 8. `executionRoleArn` defaults to `execution_role_arn`; empty values are dropped (`false` and `0` stay);
 * 9. `PREFECT_API_KEY` / `PREFECT_API_AUTH_STRING` become container `secrets` from the configured
 *    ARNs, else the launcher's (`options`), and never stay in `environment`;
 * 10. a definition with secrets or awslogs and no execution role takes `options.executionRoleArn`;
 *     then {@link validateTaskDefinitionForLaunch} runs, so nothing unlaunchable gets registered.
 *
 * Throws {@link EcsConfigurationError} for configurations that cannot work.
 *
 * @example
 * ```ts
 * buildTaskDefinition(configuration, context, { region: 'eu-west-1', apiKeySecretArn: arn, executionRoleArn: role });
 * // { family: 'prefect_ecs-pool_<deployment id>', cpu: '1024', memory: '2048', networkMode: 'awsvpc',
 * //   requiresCompatibilities: ['FARGATE'], executionRoleArn: role, containerDefinitions: [
 * //   { name: 'prefect', image: 'prefecthq/prefect:3-python3.12',
 * //     secrets: [{ name: 'PREFECT_API_KEY', valueFrom: arn }] }] }
 * ```
 */
export const buildTaskDefinition = (
  configuration: EcsJobConfiguration,
  context: FlowRunContext,
  options: TaskDefinitionOptions
): RegisterTaskDefinitionCommandInput => {
  const definition = cloneJson(configuration.task_definition);
  const containers = recordsIn(definition.containerDefinitions).filter(
    (container) => Object.keys(container).length > 0
  );
  definition.containerDefinitions = containers;
  const container = orchestrationContainer(containers, configuration.container_name);

  if (!nonEmptyString(container.image)) {
    container.image = options.defaultImage ?? DEFAULT_PREFECT_IMAGE;
  }
  removeUnsetEnvironment(container, configuration.env);
  if (configuration.configure_cloudwatch_logs) {
    container.logConfiguration = awsLogsConfiguration(configuration, context, options.region);
  }
  definition.family = taskDefinitionFamily(definition.family, context);
  applySize(definition, container, configuration);
  if (!nonEmptyString(definition.executionRoleArn) && configuration.execution_role_arn) {
    definition.executionRoleArn = configuration.execution_role_arn;
  }
  dropEmptyKeys(definition);

  const plainOnly = applyPrefectSecrets(container, configuration, options);
  if (plainOnly.length > 0) {
    throw new EcsConfigurationError(
      `${plainOnly.join(' and ')} is set in plain text in the task definition's environment. Prefect credentials reach the container only as task-definition secrets: store the value in AWS Secrets Manager, set ${plainOnly.map(secretVariable).join(' / ')} to its ARN and remove it from the template.`,
      { variable: secretVariable(plainOnly[0] ?? 'PREFECT_API_KEY') }
    );
  }
  dropEmptyKeys(container);
  if (!nonEmptyString(definition.executionRoleArn) && needsExecutionRole(containers)) {
    if (options.executionRoleArn) definition.executionRoleArn = options.executionRoleArn;
  }
  const built = definition as unknown as RegisterTaskDefinitionCommandInput;
  validateTaskDefinitionForLaunch(built, configuration);
  return built;
};

const secretVariable = (name: string): string =>
  name === 'PREFECT_API_KEY' ? 'prefect_api_key_secret_arn' : 'prefect_api_auth_string_secret_arn';

/** Finds, names or appends the container the flow runs in (step 2). */
const orchestrationContainer = (
  containers: Record<string, unknown>[],
  configured: string | null
): Record<string, unknown> => {
  const name = configured || inferContainerName(containers) || DEFAULT_CONTAINER_NAME;
  const named = containers.find((container) => container.name === name);
  if (named) return named;
  if (name !== DEFAULT_CONTAINER_NAME) {
    const names = containers.map((container) => String(container.name ?? '(unnamed)'));
    throw new EcsConfigurationError(
      `Container '${name}' is not in the task definition (containers: ${names.join(', ') || 'none'}). Set container_name to one of them, or leave it unset to use 'prefect' or the first container.`,
      { variable: 'container_name' }
    );
  }
  const unnamed = containers.find((container) => !nonEmptyString(container.name));
  if (unnamed) {
    unnamed.name = name;
    return unnamed;
  }
  const appended: Record<string, unknown> = { name };
  containers.push(appended);
  return appended;
};

const removeUnsetEnvironment = (
  container: Record<string, unknown>,
  env: Readonly<Record<string, string | null>>
): void => {
  if (!Array.isArray(container.environment)) return;
  const unset = new Set(
    Object.entries(env)
      .filter(([, value]) => value === null)
      .map(([name]) => name)
  );
  container.environment = container.environment.filter(
    (item) =>
      isRecord(item) &&
      !(typeof item.name === 'string' && unset.has(item.name)) &&
      item.value !== null &&
      item.value !== undefined
  );
};

/** Step 7: task-level sizes for Fargate, container-level ones otherwise. */
const applySize = (
  definition: Record<string, unknown>,
  container: Record<string, unknown>,
  configuration: EcsJobConfiguration
): void => {
  const cpu = definition.cpu || DEFAULT_CPU;
  const memory = definition.memory || DEFAULT_MEMORY;
  if (runsOnFargate(requestedLaunch(configuration), compatibilitiesOf(definition))) {
    definition.cpu = String(cpu);
    definition.memory = String(memory);
    const compatibilities = compatibilitiesOf(definition);
    if (!compatibilities.includes('FARGATE')) compatibilities.push('FARGATE');
    definition.requiresCompatibilities = compatibilities;
    if (!nonEmptyString(definition.networkMode)) definition.networkMode = 'awsvpc';
    return;
  }
  if (container.cpu === undefined || container.cpu === null) {
    container.cpu = sizeOrFail(cpuUnits(cpu), cpu, 'cpu');
  }
  if (container.memory === undefined || container.memory === null) {
    container.memory = sizeOrFail(memoryMiB(memory), memory, 'memory');
  }
  if (definition.cpu) definition.cpu = String(definition.cpu);
  if (definition.memory) definition.memory = String(definition.memory);
};

const sizeOrFail = (size: number | undefined, raw: unknown, variable: string): number => {
  if (size !== undefined) return size;
  throw new EcsConfigurationError(
    `${variable} ${JSON.stringify(raw)} is not a whole number of ${variable === 'cpu' ? 'CPU units (e.g. 1024)' : 'MiB (e.g. 2048)'}.`,
    { variable }
  );
};

/** Secrets and the awslogs driver are fetched / written with the execution role. */
const needsExecutionRole = (containers: Record<string, unknown>[]): boolean =>
  containers.some(
    (container) =>
      (Array.isArray(container.secrets) && container.secrets.length > 0) ||
      (isRecord(container.logConfiguration) && container.logConfiguration.logDriver === 'awslogs')
  );
