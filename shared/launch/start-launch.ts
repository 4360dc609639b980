/**
 * Step 4–5 of a launch: the task definition (given, remembered, reused or registered), the network,
 * the RunTask request, and the task itself (`startTaskOnce`).
 */

import {
  needsNetworkConfiguration,
  resolveNetworkConfiguration,
} from '../ecs/network-configuration.ts';
import { orchestrationContainerName } from '../ecs/orchestration-container.ts';
import { buildRunTaskInput } from '../ecs/run-task-input.ts';
import { buildTaskDefinition } from '../ecs/task-definition.ts';
import { hashTaskDefinition } from '../ecs/task-definition-hash.ts';
import { ensureTaskDefinition } from '../ecs/task-definition-registry.ts';
import {
  type TaskDefinitionFacts,
  validateTaskDefinitionForLaunch,
} from '../ecs/validate-task-definition.ts';
import { EcsApiError } from '../errors/ecs-api-error.ts';
import { LaunchError } from '../errors/launch-error.ts';
import { PermanentLaunchError } from '../errors/permanent-launch-error.ts';
import type { EcsJobConfiguration } from '../jobs/ecs-job-configuration.ts';
import { ignoredTaskDefinitionWarning } from './ignored-task-definition-warning.ts';
import type { LaunchDeps, LaunchSettings } from './launch-deps.ts';
import type { LaunchMessage } from './launch-message.ts';
import type { PreparedLaunch } from './prepare-launch.ts';
import { taskDefinitionOptionsOf } from './render-launch-requests.ts';
import { type LaunchedTask, startTaskOnce } from './start-task.ts';

/** The started task, and the task definition it runs. */
export interface StartedLaunch {
  task: LaunchedTask;
  taskDefinitionArn: string;
  /** A revision was registered for this run. */
  registered: boolean;
}

/** The task definition's content for the launch checks and the RunTask builder. */
const describeGivenTaskDefinition = async (
  arn: string,
  deps: LaunchDeps
): Promise<TaskDefinitionFacts> => {
  const cached = deps.caches.givenTaskDefinitions.get(arn);
  if (cached) return cached;
  const described = await deps.ecs.describeTaskDefinition(arn);
  if (!described || described.taskDefinition.status === 'INACTIVE') {
    throw new PermanentLaunchError(
      `Task definition ${arn} (task_definition_arn) ${described ? 'is INACTIVE' : 'was not found'}. Set task_definition_arn to an ACTIVE task definition, or unset it to let the launcher register one from the template.`
    );
  }
  const facts = described.taskDefinition as TaskDefinitionFacts;
  // A revision's content never changes; a bare family may move on, so only ARNs with a revision.
  if (/:\d+$/.test(arn)) deps.caches.givenTaskDefinitions.set(arn, facts);
  return facts;
};

/**
 * A given task definition is the user's: the launcher adds no credential secret to it and, unlike
 * Prefect's worker, never sends the credential as a plain override. Says so when the orchestration
 * container has neither a secret nor an environment entry for a credential the launcher knows, since
 * the flow run could not then authenticate to Prefect (typical of a definition made for prefect-aws).
 */
const missingCredentialWarning = (
  arn: string,
  taskDefinition: TaskDefinitionFacts,
  configuration: EcsJobConfiguration,
  settings: Pick<LaunchSettings, 'apiKeySecretArn' | 'authStringSecretArn'>
): string | undefined => {
  const name = orchestrationContainerName(configuration.container_name, taskDefinition);
  const container = taskDefinition.containerDefinitions?.find((item) => item.name === name);
  const provided = new Set(
    [...(container?.secrets ?? []), ...(container?.environment ?? [])].map((item) => item.name)
  );
  const missing = [
    ['PREFECT_API_KEY', configuration.prefect_api_key_secret_arn || settings.apiKeySecretArn],
    [
      'PREFECT_API_AUTH_STRING',
      configuration.prefect_api_auth_string_secret_arn || settings.authStringSecretArn,
    ],
  ].filter(([variable, secretArn]) => secretArn && !provided.has(variable));
  if (missing.length === 0) return undefined;
  const [variable, secretArn] = missing[0] ?? [];
  return `Task definition ${arn} (task_definition_arn) gives container '${name}' no ${variable} secret, and the launcher never sends Prefect credentials as plain overrides, so the flow run cannot authenticate to Prefect unless its image or an environment file provides them. Add {"name": "${variable}", "valueFrom": "${secretArn}"} to that container's secrets (its execution role must be allowed to read it), or unset task_definition_arn to let the launcher register a task definition.`;
};

const isInactiveTaskDefinition = (error: unknown): boolean =>
  (error instanceof EcsApiError && /TaskDefinition is inactive/i.test(error.message)) ||
  (error instanceof LaunchError && /INACTIVE/.test(error.message));

/**
 * Ensures the task definition, resolves the network, builds the request and starts the attempt's
 * task (`claimedAt`: when its claim was accepted, see `startTaskOnce`).
 */
export const startLaunch = async (
  prepared: PreparedLaunch,
  message: LaunchMessage,
  deps: LaunchDeps,
  claimedAt: Date | undefined
): Promise<StartedLaunch> => {
  const { configuration, context, warnings } = prepared;
  const { settings } = deps;
  // `task_definition_arn` is templated into `task_run_request.taskDefinition` (as in prefect-aws).
  const templatedArn = configuration.task_run_request.taskDefinition;
  const givenArn =
    typeof templatedArn === 'string' && templatedArn !== '' ? templatedArn : undefined;
  let taskDefinition: TaskDefinitionFacts;
  let family: string | undefined;
  let built: ReturnType<typeof buildTaskDefinition> | undefined;
  if (givenArn) {
    taskDefinition = await describeGivenTaskDefinition(givenArn, deps);
    validateTaskDefinitionForLaunch(taskDefinition, configuration);
    const warning = missingCredentialWarning(givenArn, taskDefinition, configuration, settings);
    if (warning) warnings.push(warning);
    const ignored = ignoredTaskDefinitionWarning(givenArn, configuration.task_definition);
    if (ignored) warnings.push(ignored);
  } else {
    const defaults = taskDefinitionOptionsOf(settings, prepared);
    warnings.push(...defaults.warnings);
    built = buildTaskDefinition(configuration, context, defaults.options);
    taskDefinition = built as TaskDefinitionFacts;
    family = built.family;
  }
  const network = needsNetworkConfiguration(configuration, taskDefinition)
    ? await resolveNetworkConfiguration(configuration, deps.ec2, deps.caches.network)
    : undefined;
  if (network) warnings.push(...network.warnings);

  for (let attempt = 1; ; attempt++) {
    const ensured = built
      ? await ensureTaskDefinition(
          {
            taskDefinition: built,
            hash: hashTaskDefinition(built),
            // A redelivery of this run finds the revision it registered: still "registered".
            ...(configuration.auto_deregister_task_definition
              ? { registeredFor: context.flowRunId }
              : {}),
          },
          {
            ecs: deps.ecs,
            memo: deps.caches.taskDefinitions,
            ...(deps.sleep ? { sleep: deps.sleep } : {}),
            ...(deps.random ? { random: deps.random } : {}),
          }
        )
      : { arn: givenArn ?? '', registered: false };
    const request = buildRunTaskInput(
      configuration,
      context,
      {
        taskDefinitionArn: ensured.arn,
        taskDefinition,
        registered: ensured.registered,
        networkConfiguration: network?.networkConfiguration,
      },
      { transitionId: message.transition_id }
    );
    warnings.push(...request.warnings);
    try {
      const task = await startTaskOnce(
        {
          runTaskInput: request.input,
          flowRunId: context.flowRunId,
          claimTransitionId: message.transition_id,
          claimedAt,
          legacyToken: message.claimed_at === undefined,
        },
        { ecs: deps.ecs }
      );
      return { task, taskDefinitionArn: ensured.arn, registered: ensured.registered };
    } catch (error) {
      // Someone deregistered the revision we remembered (e.g. another run's auto-deregister):
      // forget it and register again, once, right away.
      if (family !== undefined && attempt === 1 && isInactiveTaskDefinition(error)) {
        deps.caches.taskDefinitions.delete(family);
        continue;
      }
      throw error;
    }
  }
};
