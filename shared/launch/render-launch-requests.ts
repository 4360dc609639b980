/**
 * The launcher's render and build path without its I/O: the job configuration from the Prefect
 * objects (step 3 of a launch), and the RegisterTaskDefinition and RunTask inputs built from it
 * (steps 4–5) with the values only AWS knows (the registered ARN, a discovered network) shown as
 * markers. `prepareLaunch` renders through {@link renderJobConfiguration}; `render` (the CLI's dry
 * run) through {@link renderLaunchRequests}, so both see the same configuration, and the builders
 * (`buildTaskDefinition`, `buildRunTaskInput`, …) are the ones `startLaunch` calls, with the same
 * options.
 */

import type { AwsVpcConfiguration, NetworkConfiguration } from '@aws-sdk/client-ecs';
import { describeAwsCredentials } from '../aws/aws-credentials-settings.ts';
import { awsTargetOf, type RunAwsTarget, taskDefinitionOptionsFor } from '../aws/run-aws-target.ts';
import { ATTEMPT_VARIABLE } from '../ecs/attempt-marker.ts';
import type { Ec2Api } from '../ecs/ec2-api.ts';
import type { RegisterTaskDefinitionInput, RunTaskInput } from '../ecs/ecs-api.ts';
import { DEREGISTER_TAG_KEY } from '../ecs/ecs-tags.ts';
import { requestedLaunch, runsOnFargate } from '../ecs/launch-type.ts';
import {
  hasCustomNetwork,
  type NetworkCache,
  needsNetworkConfiguration,
  resolveNetworkConfiguration,
} from '../ecs/network-configuration.ts';
import { buildRunTaskInput } from '../ecs/run-task-input.ts';
import { buildTaskDefinition, type TaskDefinitionOptions } from '../ecs/task-definition.ts';
import { CONTENT_HASH_TAG_KEY, hashTaskDefinition } from '../ecs/task-definition-hash.ts';
import type { TaskDefinitionFacts } from '../ecs/validate-task-definition.ts';
import { PermanentLaunchError } from '../errors/permanent-launch-error.ts';
import type { EcsJobConfiguration, FlowRunContext } from '../jobs/ecs-job-configuration.ts';
import { resolveJobConfiguration } from '../jobs/resolve-job-configuration.ts';
import type { TemplateLookups } from '../jobs/template-lookups.ts';
import type { Deployment, Flow, FlowRun, WorkPool } from '../prefect/schemas.ts';
import { claimOfCurrentState } from './current-claim.ts';
import type { LaunchSettings } from './launch-deps.ts';

/** The Prefect objects a flow run's launch is made from, as the API returns them. */
export interface LaunchObjects {
  workPool: WorkPool;
  /** `null` for a run without a deployment. */
  deployment: Deployment | null;
  flow: Flow;
  flowRun: FlowRun;
}

/** A rendered configuration, ready to start. */
export interface PreparedLaunch {
  configuration: EcsJobConfiguration;
  context: FlowRunContext;
  warnings: string[];
  workPool: WorkPool;
  /** Where the run's AWS calls go (`aws_credentials`, else the functions' own credentials). */
  aws: RunAwsTarget;
}

/** The launcher settings rendering and building read. */
export type RenderSettings = Pick<
  LaunchSettings,
  | 'prefectApiUrl'
  | 'workerName'
  | 'region'
  | 'defaultImage'
  | 'executionRoleArn'
  | 'apiKeySecretArn'
  | 'authStringSecretArn'
  | 'templateEnvironment'
  | 'templateEnvAllowlist'
  | 'prefectSettings'
>;

/**
 * Renders the run's job configuration as Prefect's worker does (step 3 of a launch). I/O only
 * through `lookups` (blocks and variables). Throws `PermanentLaunchError` for a pool that is not of
 * type `ecs`, and `TemplateError` / `JobConfigurationError` (naming the variable and the path in the
 * template) when the template and variables cannot make a configuration.
 *
 * @example
 * const prepared = await renderJobConfiguration({ workPool, deployment, flow, flowRun }, settings, lookups);
 * prepared.configuration.task_definition; // { containerDefinitions: [{ image: '…' }], … }
 */
export const renderJobConfiguration = async (
  objects: LaunchObjects,
  settings: RenderSettings,
  lookups: TemplateLookups
): Promise<PreparedLaunch> => {
  const { workPool, deployment, flow, flowRun } = objects;
  if (workPool.type !== 'ecs') {
    throw new PermanentLaunchError(
      `Work pool '${workPool.name}' is of type '${workPool.type}', not 'ecs'; the serverless ECS launcher only runs ECS pools. Remove it from PREFECT_WORK_POOLS.`
    );
  }
  const resolved = await resolveJobConfiguration(
    {
      workPool,
      deployment,
      flow,
      flowRun,
      workerName: settings.workerName,
      prefectEnvironment: { ...settings.prefectSettings, PREFECT_API_URL: settings.prefectApiUrl },
      environment: settings.templateEnvironment,
      allowedEnvironment: settings.templateEnvAllowlist,
      defaultExecutionRoleArn: settings.executionRoleArn,
    },
    { lookups }
  );
  const aws = awsTargetOf(resolved.configuration, settings.region);
  const ignored = aws.settings?.ignored ?? [];
  return {
    aws,
    configuration: resolved.configuration,
    context: {
      flowRunId: flowRun.id,
      flowId: flowRun.flow_id,
      deploymentId: flowRun.deployment_id,
      workPoolName: workPool.name,
    },
    warnings: [
      ...resolved.warnings,
      ...(ignored.length > 0
        ? [`aws_credentials: these fields have no effect here: ${ignored.join('; ')}.`]
        : []),
    ],
    workPool,
  };
};

/** The options `buildTaskDefinition` gets from the launcher's settings. */
export const taskDefinitionOptionsOf = (
  settings: RenderSettings,
  prepared: Pick<PreparedLaunch, 'aws' | 'configuration'>
): { options: TaskDefinitionOptions; warnings: string[] } =>
  taskDefinitionOptionsFor(
    {
      region: settings.region,
      defaultImage: settings.defaultImage,
      executionRoleArn: settings.executionRoleArn,
      apiKeySecretArn: settings.apiKeySecretArn,
      authStringSecretArn: settings.authStringSecretArn,
    },
    prepared.aws,
    prepared.configuration
  );

const withContentHashTag = (
  input: RegisterTaskDefinitionInput,
  hash: string
): RegisterTaskDefinitionInput => ({
  ...input,
  tags: [
    ...(input.tags ?? []).filter((tag) => tag.key !== CONTENT_HASH_TAG_KEY),
    { key: CONTENT_HASH_TAG_KEY, value: hash },
  ],
});

/** How `render` starts the subnets EC2 would give at launch. */
const NETWORK_DISCOVERED_MARKER_PREFIX = '<discovered at launch';

/** The launch's requests, as far as they can be known without AWS. */
export interface RenderedLaunchRequests {
  /** What the launcher registers when no revision of the family has this content; `null` for `task_definition_arn`. */
  registerTaskDefinition: RegisterTaskDefinitionInput | null;
  /** The RunTask input; `taskDefinition` (and, when discovered, the subnets) are markers. */
  runTask: RunTaskInput;
  /** What the launcher would log on the flow run as warnings. */
  warnings: string[];
  /** What differs from the launch because AWS was not asked. */
  notes: string[];
  /** Where the launch's AWS calls go: credentials (never a secret), role, region, ignored fields. */
  aws: { region: string; account: string | undefined; credentials: string[] };
}

/** Thrown by the EC2 port `render` gives the network resolver: a call means "discovered at launch". */
class NetworkDiscoveryNeeded extends Error {}

const noEc2: Ec2Api = {
  describeVpcs: () => Promise.reject(new NetworkDiscoveryNeeded()),
  describeSubnets: () => Promise.reject(new NetworkDiscoveryNeeded()),
};

/**
 * The network as far as it is known without EC2: a `network_configuration` that lists its subnets
 * is used as given (the VPC check is skipped); otherwise the subnets are a marker.
 */
const renderNetwork = async (
  configuration: EcsJobConfiguration,
  notes: string[]
): Promise<{ networkConfiguration: NetworkConfiguration; warnings: string[] }> => {
  const cache: NetworkCache = new Map();
  const custom = hasCustomNetwork(configuration) ? configuration.network_configuration : null;
  const listed = custom?.subnets;
  if (configuration.vpc_id && Array.isArray(listed) && listed.length > 0) {
    const subnetIds = listed.filter((subnet): subnet is string => typeof subnet === 'string');
    cache.set(configuration.vpc_id, { vpcId: configuration.vpc_id, subnetIds });
  }
  try {
    const resolved = await resolveNetworkConfiguration(configuration, noEc2, cache);
    notes.push(
      `At launch the subnets of network_configuration are checked against VPC ${configuration.vpc_id} (EC2 DescribeSubnets); render did not call EC2.`
    );
    return resolved;
  } catch (error) {
    if (!(error instanceof NetworkDiscoveryNeeded)) throw error;
  }
  const vpc = configuration.vpc_id ? `VPC ${configuration.vpc_id}` : "the region's default VPC";
  const subnets = `${NETWORK_DISCOVERED_MARKER_PREFIX}: the subnets of ${vpc} (EC2 DescribeVpcs/DescribeSubnets), sorted, at most 16>`;
  if (custom) {
    notes.push(
      `networkConfiguration: network_configuration lists no subnets, so the launcher uses the subnets of ${vpc}, found through EC2 at launch; render did not call EC2.`
    );
    return {
      networkConfiguration: {
        awsvpcConfiguration: { ...custom, subnets: [subnets] } as AwsVpcConfiguration,
      },
      warnings: [],
    };
  }
  notes.push(
    `networkConfiguration: discovered at launch: every subnet of ${vpc} (EC2 DescribeVpcs/DescribeSubnets, cached per container), assignPublicIp ENABLED, and no security group (the VPC's default group); render did not call EC2. Set network_configuration (with vpc_id) to choose subnets and security groups.`
  );
  return {
    networkConfiguration: {
      awsvpcConfiguration: { subnets: [subnets], assignPublicIp: 'ENABLED', securityGroups: [] },
    },
    warnings: [],
  };
};

/**
 * The content of a task definition named by `task_definition_arn`, which the launcher describes
 * (DescribeTaskDefinition) and `render` cannot: assumed from the requested launch.
 */
const assumedGivenTaskDefinition = (
  arn: string,
  configuration: EcsJobConfiguration,
  notes: string[]
): TaskDefinitionFacts => {
  const fargate = runsOnFargate(requestedLaunch(configuration), []);
  const facts: TaskDefinitionFacts = fargate
    ? { networkMode: 'awsvpc', requiresCompatibilities: ['FARGATE'] }
    : {};
  notes.push(
    `task_definition_arn is given (${arn}): nothing is registered. The launcher describes it (DescribeTaskDefinition) and checks that it can run this way (execution role for secrets and logs, compatibilities, network mode); render did not, and assumed ${fargate ? "network mode 'awsvpc' and FARGATE compatibility" : "a network mode other than 'awsvpc'"}${configuration.container_name ? '' : ", and a container named 'prefect' (or set container_name)"}.`
  );
  return facts;
};

/**
 * The launch's requests without AWS: renders the job configuration (through `lookups`), builds the
 * task definition as the launcher does (or takes `task_definition_arn`), and the RunTask input for
 * a first launch (the revision registered for this run). Where AWS would answer, the output holds a
 * marker and `notes` says what happens at launch: the task definition's ARN (registered, or reused
 * when the family's latest ACTIVE revision has the same content hash) and a discovered network.
 *
 * Throws what the launch would fail with before calling AWS: `TemplateError` /
 * `JobConfigurationError`, `EcsConfigurationError`, `PermanentLaunchError`.
 *
 * @example
 * const rendered = await renderLaunchRequests(objects, settings, lookups);
 * rendered.runTask.taskDefinition; // '<registered at launch (or reused): family prefect_ecs_…>'
 */
export const renderLaunchRequests = async (
  objects: LaunchObjects,
  settings: RenderSettings,
  lookups: TemplateLookups
): Promise<RenderedLaunchRequests> => {
  const prepared = await renderJobConfiguration(objects, settings, lookups);
  const { configuration, context } = prepared;
  const warnings = [...prepared.warnings];
  const notes: string[] = [];

  const templatedArn = configuration.task_run_request.taskDefinition;
  const givenArn =
    typeof templatedArn === 'string' && templatedArn !== '' ? templatedArn : undefined;
  let registerTaskDefinition: RegisterTaskDefinitionInput | null = null;
  let taskDefinition: TaskDefinitionFacts;
  let taskDefinitionArn: string;
  if (givenArn) {
    // Not validated here: the launcher validates what DescribeTaskDefinition answers.
    taskDefinition = assumedGivenTaskDefinition(givenArn, configuration, notes);
    taskDefinitionArn = givenArn;
  } else {
    const defaults = taskDefinitionOptionsOf(settings, prepared);
    warnings.push(...defaults.warnings);
    const built = buildTaskDefinition(configuration, context, defaults.options);
    const hash = hashTaskDefinition(built);
    registerTaskDefinition = withContentHashTag(built, hash);
    taskDefinition = built as TaskDefinitionFacts;
    taskDefinitionArn = `<registered at launch (or reused): family ${built.family}>`;
    notes.push(
      `taskDefinition: the launcher reuses the latest ACTIVE revision of family ${built.family} when its ${CONTENT_HASH_TAG_KEY} tag is ${hash}, and registers registerTaskDefinition otherwise.`
    );
  }

  const needsNetwork = needsNetworkConfiguration(configuration, taskDefinition);
  const network = needsNetwork ? await renderNetwork(configuration, notes) : undefined;
  if (network) warnings.push(...network.warnings);
  // The attempt the launcher would launch: the run's claim, when its state is one.
  const claim = claimOfCurrentState(objects.flowRun);
  const request = buildRunTaskInput(
    configuration,
    context,
    {
      taskDefinitionArn,
      taskDefinition,
      registered: registerTaskDefinition !== null,
      networkConfiguration: network?.networkConfiguration,
    },
    claim?.transitionId ? { transitionId: claim.transitionId } : undefined
  );
  warnings.push(...request.warnings);
  if (!claim?.transitionId) {
    notes.push(
      `clientToken: the launcher derives it from the flow run id and the claim it launches (the PENDING state's transition id), and puts that claim in ${ATTEMPT_VARIABLE}; this run is not in a claim state, so the flow run id is shown instead and ${ATTEMPT_VARIABLE} is left out.`
    );
  }
  if (registerTaskDefinition !== null && configuration.auto_deregister_task_definition) {
    notes.push(
      `tags: ${DEREGISTER_TAG_KEY} is set only when the launch registers the revision (auto_deregister_task_definition); a run that reuses one has no such tag.`
    );
  }
  return {
    registerTaskDefinition,
    runTask: request.input,
    warnings: unique(warnings),
    notes,
    aws: {
      region: prepared.aws.region,
      account: prepared.aws.account,
      credentials: describeAwsCredentials(prepared.aws.settings, settings.region),
    },
  };
};

const unique = (items: readonly string[]): string[] => [...new Set(items)];
