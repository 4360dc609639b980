import {
  type EC2Client,
  type Filter,
  paginateDescribeSubnets,
  paginateDescribeVpcs,
} from '@aws-sdk/client-ec2';
import type { Ec2Api, Ec2SubnetSummary, Ec2VpcSummary } from './ec2-api.ts';

/**
 * {@link Ec2Api} over `@aws-sdk/client-ec2` (the only file in `shared/ecs/` that imports the EC2 SDK).
 * Follows pagination; a `vpcIds` query naming a VPC that does not exist (`InvalidVpcID.NotFound`)
 * answers `[]` so the caller can say which variable to fix. Other errors propagate unchanged.
 *
 * @example
 * ```ts
 * const ec2 = createEc2Api(new EC2Client({ region: 'eu-west-1' }));
 * await ec2.describeVpcs({ isDefault: true }); // [{ vpcId: 'vpc-0abc…' }]
 * ```
 */
export const createEc2Api = (client: EC2Client): Ec2Api => ({
  async describeVpcs(query) {
    const filters: Filter[] =
      query.isDefault === undefined
        ? []
        : [{ Name: 'is-default', Values: [String(query.isDefault)] }];
    const input = {
      ...(filters.length > 0 ? { Filters: filters } : {}),
      ...(query.vpcIds ? { VpcIds: query.vpcIds } : {}),
    };
    const vpcs: Ec2VpcSummary[] = [];
    try {
      for await (const page of paginateDescribeVpcs({ client }, input)) {
        for (const vpc of page.Vpcs ?? []) if (vpc.VpcId) vpcs.push({ vpcId: vpc.VpcId });
      }
      return vpcs;
    } catch (error) {
      if (isVpcNotFound(error)) return [];
      throw error;
    }
  },

  async describeSubnets({ vpcId }) {
    const subnets: Ec2SubnetSummary[] = [];
    const pages = paginateDescribeSubnets(
      { client },
      { Filters: [{ Name: 'vpc-id', Values: [vpcId] }] }
    );
    for await (const page of pages) {
      for (const subnet of page.Subnets ?? []) {
        if (subnet.SubnetId)
          subnets.push({ subnetId: subnet.SubnetId, vpcId: subnet.VpcId ?? vpcId });
      }
    }
    return subnets;
  },
});

const isVpcNotFound = (error: unknown): boolean =>
  error instanceof Error && error.name === 'InvalidVpcID.NotFound';
