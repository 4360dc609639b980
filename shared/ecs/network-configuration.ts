import type { AwsVpcConfiguration, NetworkConfiguration } from '@aws-sdk/client-ecs';
import type { EcsJobConfiguration } from '../jobs/ecs-job-configuration.ts';
import type { Ec2Api } from './ec2-api.ts';
import { EcsConfigurationError } from './ecs-configuration-error.ts';
import { isRecord } from './json-values.ts';
import type { TaskDefinitionFacts } from './validate-task-definition.ts';

/** A VPC and its subnet ids (sorted), as discovered through EC2. */
export interface VpcSubnets {
  vpcId: string;
  subnetIds: string[];
}

/**
 * Discovered VPCs by VPC id, and the default VPC under {@link DEFAULT_VPC_KEY}. Create one per Lambda
 * container (module scope) and pass it to every call: a warm launcher then makes no EC2 call.
 */
export type NetworkCache = Map<string, VpcSubnets>;

export const DEFAULT_VPC_KEY = 'default';

/** RunTask takes at most 16 subnets. */
export const MAX_RUN_TASK_SUBNETS = 16;

export interface ResolvedNetwork {
  networkConfiguration: NetworkConfiguration;
  warnings: string[];
}

/**
 * Whether RunTask needs a network configuration we must resolve: the task definition uses `awsvpc`
 * and either `network_configuration` is set or the templated request has no `networkConfiguration`.
 *
 * @example
 * ```ts
 * needsNetworkConfiguration(configuration, { networkMode: 'awsvpc' }); // true for the default template
 * ```
 */
export const needsNetworkConfiguration = (
  configuration: EcsJobConfiguration,
  taskDefinition: TaskDefinitionFacts
): boolean =>
  taskDefinition.networkMode === 'awsvpc' &&
  (hasCustomNetwork(configuration) ||
    !isRecord(configuration.task_run_request.networkConfiguration));

/**
 * Whether the user set `network_configuration` (a non-empty `awsvpcConfiguration`).
 *
 * @example
 * ```ts
 * hasCustomNetwork({ ...configuration, network_configuration: { subnets: ['subnet-1'] } }); // true
 * ```
 */
export const hasCustomNetwork = (configuration: EcsJobConfiguration): boolean =>
  isRecord(configuration.network_configuration) &&
  Object.keys(configuration.network_configuration).length > 0;

/**
 * The RunTask `networkConfiguration` for an `awsvpc` task, as prefect-aws resolves it:
 *
 * - `network_configuration` set: `vpc_id` is required and every listed subnet must be in that VPC
 *   (else an error naming the subnet and the VPC); the configuration is used as given. When it lists
 *   no subnets, the VPC's are filled in (prefect-aws sends none and RunTask fails).
 * - otherwise: the VPC `vpc_id`, else the region's default VPC, with **all** its subnets,
 *   `assignPublicIp: ENABLED` and `securityGroups: []` (the VPC's default group). No default VPC
 *   is an error that says what to set.
 *
 * Subnet ids are sorted (so retries send the same request, which the RunTask `clientToken` requires)
 * and cut to RunTask's 16 with a warning. EC2 answers are kept in `cache`.
 *
 * @example
 * ```ts
 * const cache: NetworkCache = new Map();
 * await resolveNetworkConfiguration(configuration, ec2, cache);
 * // { networkConfiguration: { awsvpcConfiguration: { subnets: ['subnet-0a…', 'subnet-0b…'],
 * //   assignPublicIp: 'ENABLED', securityGroups: [] } }, warnings: [] }
 * ```
 */
export const resolveNetworkConfiguration = async (
  configuration: EcsJobConfiguration,
  ec2: Ec2Api,
  cache: NetworkCache
): Promise<ResolvedNetwork> => {
  const warnings: string[] = [];
  if (hasCustomNetwork(configuration)) {
    return customNetwork(configuration, ec2, cache, warnings);
  }
  const vpc = await vpcSubnets(configuration.vpc_id, ec2, cache, false);
  return {
    networkConfiguration: {
      awsvpcConfiguration: {
        subnets: capSubnets(vpc, warnings),
        assignPublicIp: 'ENABLED',
        securityGroups: [],
      },
    },
    warnings,
  };
};

const customNetwork = async (
  configuration: EcsJobConfiguration,
  ec2: Ec2Api,
  cache: NetworkCache,
  warnings: string[]
): Promise<ResolvedNetwork> => {
  const custom = { ...(configuration.network_configuration ?? {}) };
  const vpcId = configuration.vpc_id;
  if (!vpcId) {
    throw new EcsConfigurationError(
      'vpc_id is required when network_configuration is set: the subnets are checked against that VPC. Set vpc_id to the VPC of the subnets.',
      { variable: 'vpc_id' }
    );
  }
  const subnets = custom.subnets ?? [];
  if (!Array.isArray(subnets) || !subnets.every((subnet) => typeof subnet === 'string')) {
    throw new EcsConfigurationError(
      `network_configuration.subnets must be a list of subnet ids, got ${JSON.stringify(subnets)}.`,
      { variable: 'network_configuration' }
    );
  }
  let vpc = await vpcSubnets(vpcId, ec2, cache, false);
  if (subnets.some((subnet) => !vpc.subnetIds.includes(subnet))) {
    vpc = await vpcSubnets(vpcId, ec2, cache, true);
  }
  const outside = subnets.find((subnet) => !vpc.subnetIds.includes(subnet));
  if (outside !== undefined) {
    throw new EcsConfigurationError(
      `Subnet ${outside} in network_configuration is not in VPC ${vpcId} (vpc_id); its subnets are ${vpc.subnetIds.join(', ')}. Use subnets of ${vpcId}, or set vpc_id to the VPC of ${outside}.`,
      { variable: 'network_configuration' }
    );
  }
  if (subnets.length === 0) {
    custom.subnets = capSubnets(vpc, warnings);
    warnings.push(
      `network_configuration lists no subnets; using the subnets of ${vpcId}: ${(custom.subnets as string[]).join(', ')}`
    );
  }
  return {
    networkConfiguration: { awsvpcConfiguration: custom as unknown as AwsVpcConfiguration },
    warnings,
  };
};

const capSubnets = (vpc: VpcSubnets, warnings: string[]): string[] => {
  if (vpc.subnetIds.length <= MAX_RUN_TASK_SUBNETS) return vpc.subnetIds;
  warnings.push(
    `${vpc.vpcId} has ${vpc.subnetIds.length} subnets and RunTask takes at most ${MAX_RUN_TASK_SUBNETS}; using the first ${MAX_RUN_TASK_SUBNETS} by id. Set network_configuration to choose them.`
  );
  return vpc.subnetIds.slice(0, MAX_RUN_TASK_SUBNETS);
};

/** Lookups in progress per cache, so records launched at once share one pair of EC2 calls. */
const inFlight = new WeakMap<NetworkCache, Map<string, Promise<VpcSubnets>>>();

/** The VPC (given, else the default one) and its subnets, from `cache` unless `refresh`. */
const vpcSubnets = (
  vpcId: string | null,
  ec2: Ec2Api,
  cache: NetworkCache,
  refresh: boolean
): Promise<VpcSubnets> => {
  const key = vpcId || DEFAULT_VPC_KEY;
  const cached = cache.get(key);
  if (cached && !refresh) return Promise.resolve(cached);
  let pending = inFlight.get(cache);
  if (!pending) {
    pending = new Map();
    inFlight.set(cache, pending);
  }
  const running = pending.get(key);
  if (running) return running;
  const lookup = describeVpcSubnets(vpcId, key, ec2, cache).finally(() => pending.delete(key));
  pending.set(key, lookup);
  return lookup;
};

const describeVpcSubnets = async (
  vpcId: string | null,
  key: string,
  ec2: Ec2Api,
  cache: NetworkCache
): Promise<VpcSubnets> => {
  const vpcs = await ec2.describeVpcs(vpcId ? { vpcIds: [vpcId] } : { isDefault: true });
  const found = vpcs[0]?.vpcId;
  if (found === undefined) {
    throw new EcsConfigurationError(
      vpcId
        ? `VPC ${vpcId} (vpc_id) was not found in this region. Check vpc_id, or unset it to use the default VPC.`
        : 'This region has no default VPC, so the network cannot be inferred. Set vpc_id to the VPC to run tasks in (all its subnets are used), or set network_configuration (with vpc_id) to choose subnets and security groups.',
      { variable: 'vpc_id' }
    );
  }
  const subnets = await ec2.describeSubnets({ vpcId: found });
  if (subnets.length === 0) {
    throw new EcsConfigurationError(
      `${vpcId ? `VPC ${found}` : `The default VPC (${found})`} has no subnets, so the network cannot be inferred. Create subnets in it, or set vpc_id and network_configuration to another VPC and its subnets.`,
      { variable: 'vpc_id' }
    );
  }
  const entry: VpcSubnets = {
    vpcId: found,
    subnetIds: [...new Set(subnets.map((subnet) => subnet.subnetId))].sort(),
  };
  cache.set(key, entry);
  cache.set(found, entry);
  return entry;
};
