/**
 * What a rendered launch needs from AWS, read from the rendered configuration and requests (pure):
 * the cluster, the roles, and the network. The AWS checks are run once per distinct need, for every
 * deployment that has it.
 */

import { hasCustomNetwork, needsNetworkConfiguration } from '../ecs/network-configuration.ts';
import type { TaskDefinitionFacts } from '../ecs/validate-task-definition.ts';
import type { EcsJobConfiguration } from '../jobs/ecs-job-configuration.ts';
import type { RenderedLaunchRequests } from '../launch/render-launch-requests.ts';

/** ECS's cluster when RunTask names none. */
export const DEFAULT_CLUSTER = 'default';

/** How the launch finds its network. */
export type NetworkNeed =
  /** `network_configuration` with `vpc_id`: the listed subnets and security groups must be in it. */
  | {
      kind: 'custom';
      vpcId: string;
      subnets: string[];
      securityGroups: string[];
      configuration: EcsJobConfiguration;
    }
  /** No `network_configuration`: every subnet of `vpc_id`, else of the default VPC. */
  | { kind: 'discover'; vpcId: string | null; configuration: EcsJobConfiguration }
  /** The template's own `task_run_request.networkConfiguration`, sent as it is. */
  | { kind: 'template' };

export interface LaunchNeeds {
  /** Name or ARN. */
  cluster: string;
  executionRoleArns: string[];
  taskRoleArns: string[];
  /** `undefined` when the task does not use the `awsvpc` network mode. */
  network: NetworkNeed | undefined;
}

const record = (value: unknown): Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : {};

const nonEmpty = (value: unknown): string | undefined =>
  typeof value === 'string' && value.trim() !== '' ? value : undefined;

const strings = (value: unknown): string[] =>
  Array.isArray(value) ? value.filter((item): item is string => typeof item === 'string') : [];

const unique = (values: readonly (string | undefined)[]): string[] => [
  ...new Set(values.filter((value): value is string => value !== undefined)),
];

/**
 * The needs of one rendered launch.
 *
 * @example
 * launchNeedsOf(configuration, rendered).cluster; // 'prefect' (or 'default')
 */
export const launchNeedsOf = (
  configuration: EcsJobConfiguration,
  rendered: RenderedLaunchRequests
): LaunchNeeds => {
  const runTask = record(rendered.runTask);
  const overrides = record(runTask.overrides);
  const definition = rendered.registerTaskDefinition;
  const requestNetwork = record(runTask.networkConfiguration);
  const facts: TaskDefinitionFacts =
    definition !== null
      ? (definition as TaskDefinitionFacts)
      : Object.keys(requestNetwork).length > 0
        ? { networkMode: 'awsvpc' }
        : {};
  let network: NetworkNeed | undefined;
  if (needsNetworkConfiguration(configuration, facts)) {
    if (hasCustomNetwork(configuration)) {
      const custom = record(configuration.network_configuration);
      network = {
        kind: 'custom',
        vpcId: configuration.vpc_id ?? '',
        subnets: strings(custom.subnets),
        securityGroups: strings(custom.securityGroups),
        configuration,
      };
    } else {
      network = { kind: 'discover', vpcId: configuration.vpc_id || null, configuration };
    }
  } else if (Object.keys(requestNetwork).length > 0) {
    network = { kind: 'template' };
  }
  return {
    cluster: nonEmpty(runTask.cluster) ?? DEFAULT_CLUSTER,
    executionRoleArns: unique([
      nonEmpty(definition?.executionRoleArn),
      nonEmpty(overrides.executionRoleArn),
    ]),
    taskRoleArns: unique([nonEmpty(definition?.taskRoleArn), nonEmpty(overrides.taskRoleArn)]),
    network,
  };
};

/** A key equal for the same network need, to check each once. */
export const networkKey = (need: NetworkNeed): string =>
  need.kind === 'custom'
    ? JSON.stringify([
        'custom',
        need.vpcId,
        [...need.subnets].sort(),
        [...need.securityGroups].sort(),
      ])
    : need.kind === 'discover'
      ? JSON.stringify(['discover', need.vpcId])
      : 'template';
