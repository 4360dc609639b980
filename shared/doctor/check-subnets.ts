/**
 * Check: the launch's subnets, found as the launcher finds them (`resolveNetworkConfiguration` with
 * real EC2 reads): with `network_configuration`, every listed subnet is in `vpc_id`; without it,
 * `vpc_id` (or the region's default VPC) exists and has subnets.
 */

import type { Ec2Api } from '../ecs/ec2-api.ts';
import { EcsConfigurationError } from '../ecs/ecs-configuration-error.ts';
import {
  DEFAULT_VPC_KEY,
  type NetworkCache,
  resolveNetworkConfiguration,
} from '../ecs/network-configuration.ts';
import { accessDeniedFix } from './access-denied.ts';
import { type CheckResult, describeFailure, fail, pass } from './check-result.ts';
import type { NetworkNeed } from './launch-needs.ts';

export const subnetsCheckName = (need: NetworkNeed): string =>
  need.kind === 'custom'
    ? `Subnets in ${need.vpcId}`
    : need.kind === 'discover'
      ? need.vpcId
        ? `Subnets of ${need.vpcId}`
        : 'Default VPC'
      : 'Network';

export type SubnetsOutcome =
  | { ok: true; vpcId: string | undefined; subnets: string[] }
  | { ok: false; error: unknown }
  | { ok: true; template: true };

/** Resolves the network as the launcher would. */
export const probeSubnets = async (
  ec2: Ec2Api,
  need: NetworkNeed,
  cache: NetworkCache
): Promise<SubnetsOutcome> => {
  if (need.kind === 'template') return { ok: true, template: true };
  try {
    const resolved = await resolveNetworkConfiguration(need.configuration, ec2, cache);
    return {
      ok: true,
      // The resolver caches the VPC it found under the id asked for, or the default VPC's key.
      vpcId: cache.get(need.vpcId || DEFAULT_VPC_KEY)?.vpcId,
      subnets: resolved.networkConfiguration.awsvpcConfiguration?.subnets ?? [],
    };
  } catch (error) {
    return { ok: false, error };
  }
};

/** The verdict (pure). */
export const decideSubnets = (
  need: NetworkNeed,
  usedBy: readonly string[],
  outcome: SubnetsOutcome
): CheckResult => {
  const name = subnetsCheckName(need);
  const users = `used by ${usedBy.join(', ')}`;
  if (!outcome.ok) {
    const { error } = outcome;
    if (error instanceof EcsConfigurationError) {
      return fail(
        name,
        `${error.message} (${users})`,
        `Change the job variable${error.variable ? ` "${error.variable}"` : 's "vpc_id" / "network_configuration"'} of ${usedBy.join(', ')} (or the pool's base job template) as the message says.`
      );
    }
    return fail(
      name,
      describeFailure(error),
      accessDeniedFix(error) ??
        'Allow ec2:DescribeVpcs and ec2:DescribeSubnets to these credentials.'
    );
  }
  if ('template' in outcome) {
    return pass(
      name,
      `the template's own task_run_request.networkConfiguration is sent as it is; not checked against a VPC (${users})`
    );
  }
  const subnets = outcome.subnets.join(', ');
  if (need.kind === 'custom') {
    return pass(
      name,
      `${subnets} ${outcome.subnets.length === 1 ? 'is' : 'are'} in ${need.vpcId} (${users})`
    );
  }
  const vpc = need.kind === 'discover' && need.vpcId ? need.vpcId : 'the default VPC';
  return pass(name, `${outcome.vpcId ?? vpc} exists; tasks get its subnets ${subnets} (${users})`);
};
