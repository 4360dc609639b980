import type { NetworkConfiguration, RunTaskCommandInput } from '@aws-sdk/client-ecs';
import type { EcsJobConfiguration, FlowRunContext } from '../jobs/ecs-job-configuration.ts';
import { ATTEMPT_VARIABLE } from './attempt-marker.ts';
import { claimClientToken } from './client-token.ts';
import { buildContainerOverrides } from './container-overrides.ts';
import { buildTaskTags } from './ecs-tags.ts';
import { cloneJson, isEmptyValue, isRecord, nonEmptyString } from './json-values.ts';
import { compatibilitiesOf, mayRunOnFargateSpot, requestedLaunch } from './launch-type.ts';
import { hasCustomNetwork } from './network-configuration.ts';
import { orchestrationContainerName } from './orchestration-container.ts';
import { startedByForFlowRun } from './started-by.ts';
import type { TaskDefinitionFacts } from './validate-task-definition.ts';

/** The task definition the run uses, and the network resolved for it. */
export interface ResolvedTaskDefinition {
  /** The ARN RunTask runs (registered, reused, or given as `task_definition_arn`). */
  taskDefinitionArn: string;
  /** Its content: the input we built, or DescribeTaskDefinition's answer for a given ARN. */
  taskDefinition: TaskDefinitionFacts;
  /** We registered it for this run (then `auto_deregister_task_definition` tags it). */
  registered: boolean;
  /** From `resolveNetworkConfiguration`, when `needsNetworkConfiguration` said so. */
  networkConfiguration?: NetworkConfiguration | undefined;
}

export interface RunTaskBuild {
  input: RunTaskCommandInput;
  /** Things changed to keep the request valid or safe; log them on the flow run. */
  warnings: string[];
}

/**
 * The RunTask input prefect-aws would send (`_prepare_task_run_request`), from a copy of the templated
 * `task_run_request`:
 *
 * 1. `taskDefinition` is the resolved ARN; `cluster` comes from `cluster` when the template's is empty;
 * 2. no `launchType`: FARGATE, unless the task definition requires EC2 (then none, so the cluster's
 *    default capacity provider runs it); a non-empty `capacityProviderStrategy` removes `launchType`;
 *    `FARGATE_SPOT` becomes the strategy `[{capacityProvider: 'FARGATE_SPOT', weight: 1}]`;
 * 3. `networkConfiguration` only for `awsvpc`: the resolved one when `network_configuration` is set
 *    or the template has none, else the template's; dropped (with a warning) for other modes;
 * 4. container overrides per `buildContainerOverrides`; `overrides.cpu`/`memory` as strings;
 * 5. tags per `buildTaskTags` (deregister tag when `registered` and `auto_deregister_task_definition`).
 *
 * Our additions: with `attempt` (the claim being launched), `clientToken` derived from the flow run id
 * and the claim (a repeated RunTask for the same attempt within 24 h returns the same task, another
 * attempt gets its own; without it, the flow run id) and the attempt marker in the flow-run
 * container's environment (`attempt-marker.ts`), `startedBy` = `prefect/<flow run id>`, `count` forced to one task, the SIGTERM `reschedule` setting
 * on Fargate Spot, no Prefect credentials in overrides, tags cut to ECS limits, empty members dropped.
 *
 * @example
 * ```ts
 * const { input, warnings } = buildRunTaskInput(configuration, context, {
 *   taskDefinitionArn: arn, taskDefinition: built, registered: true, networkConfiguration });
 * await ecs.send(new RunTaskCommand(input));
 * ```
 */
export const buildRunTaskInput = (
  configuration: EcsJobConfiguration,
  context: FlowRunContext,
  resolved: ResolvedTaskDefinition,
  attempt?: { transitionId: string }
): RunTaskBuild => {
  const warnings: string[] = [];
  const request = cloneJson(configuration.task_run_request);
  const launch = requestedLaunch(configuration);
  const definition = resolved.taskDefinition;

  request.taskDefinition = resolved.taskDefinitionArn;
  if (!nonEmptyString(request.cluster) && configuration.cluster) {
    request.cluster = configuration.cluster;
  }
  applyLaunchType(request, definition, warnings);
  applyNetwork(request, configuration, resolved, warnings);

  const overrides = isRecord(request.overrides) ? request.overrides : {};
  const built = buildContainerOverrides({
    templateOverrides: overrides.containerOverrides,
    containerName: orchestrationContainerName(configuration.container_name, definition),
    command: configuration.command,
    env: attempt
      ? { ...configuration.env, [ATTEMPT_VARIABLE]: attempt.transitionId }
      : configuration.env,
    rescheduleOnSigterm: mayRunOnFargateSpot(launch),
  });
  warnings.push(...built.warnings);
  overrides.containerOverrides = built.containerOverrides;
  for (const key of ['cpu', 'memory']) {
    if (typeof overrides[key] === 'number') overrides[key] = String(overrides[key]);
  }
  for (const [key, value] of Object.entries(overrides)) {
    if (isEmptyValue(value)) delete overrides[key];
  }
  request.overrides = overrides;

  const tags = buildTaskTags({
    templateTags: request.tags,
    labels: configuration.labels,
    deregister: resolved.registered && configuration.auto_deregister_task_definition,
  });
  warnings.push(...tags.warnings);
  request.tags = tags.tags;

  replaceWithWarning(
    request,
    'clientToken',
    attempt ? claimClientToken(context.flowRunId, attempt.transitionId) : context.flowRunId,
    warnings
  );
  replaceWithWarning(request, 'startedBy', startedByForFlowRun(context.flowRunId), warnings);
  if (request.count !== undefined && request.count !== null && request.count !== 1) {
    warnings.push(
      `Ignored count ${JSON.stringify(request.count)} in task_run_request: a flow run runs in exactly one task.`
    );
  }
  delete request.count;

  for (const [key, value] of Object.entries(request)) {
    if (isEmptyValue(value)) delete request[key];
  }
  return { input: request as unknown as RunTaskCommandInput, warnings };
};

const applyLaunchType = (
  request: Record<string, unknown>,
  definition: TaskDefinitionFacts,
  warnings: string[]
): void => {
  if (!nonEmptyString(request.launchType)) {
    if (compatibilitiesOf(definition).includes('EC2')) delete request.launchType;
    else request.launchType = 'FARGATE';
  }
  const strategy = request.capacityProviderStrategy;
  if (Array.isArray(strategy) && strategy.length > 0) {
    if (request.launchType !== undefined) {
      warnings.push(
        `Removed launchType ${String(request.launchType)}: a capacity provider strategy is set, and ECS accepts only one of the two.`
      );
    }
    delete request.launchType;
  } else if (request.launchType === 'FARGATE_SPOT') {
    delete request.launchType;
    request.capacityProviderStrategy = [{ capacityProvider: 'FARGATE_SPOT', weight: 1 }];
  }
};

const applyNetwork = (
  request: Record<string, unknown>,
  configuration: EcsJobConfiguration,
  resolved: ResolvedTaskDefinition,
  warnings: string[]
): void => {
  if (resolved.taskDefinition.networkMode !== 'awsvpc') {
    if (!isEmptyValue(request.networkConfiguration)) {
      warnings.push(
        `Removed task_run_request.networkConfiguration: the task definition's network mode is ${resolved.taskDefinition.networkMode ?? 'bridge'}, not awsvpc, and ECS refuses a network configuration for it.`
      );
    }
    delete request.networkConfiguration;
    return;
  }
  if (!hasCustomNetwork(configuration) && isRecord(request.networkConfiguration)) return;
  if (!resolved.networkConfiguration) {
    throw new Error(
      'buildRunTaskInput: the task definition uses awsvpc; resolve the network first (needsNetworkConfiguration / resolveNetworkConfiguration) and pass it as resolved.networkConfiguration.'
    );
  }
  request.networkConfiguration = resolved.networkConfiguration;
};

const replaceWithWarning = (
  request: Record<string, unknown>,
  key: 'clientToken' | 'startedBy',
  value: string,
  warnings: string[]
): void => {
  const given = request[key];
  if (!isEmptyValue(given) && given !== value) {
    warnings.push(
      `Replaced task_run_request.${key} ${JSON.stringify(given)} with ${JSON.stringify(value)}: the launcher relies on it to launch each flow run once and to recognise its tasks.`
    );
  }
  request[key] = value;
};
