/**
 * The EC2 calls network discovery needs (prefect-aws's `ec2:DescribeVpcs` and `ec2:DescribeSubnets`),
 * named after what we ask. The real adapter is `createEc2Api` in `ec2-client.ts`; tests may pass a
 * fake.
 */
export interface Ec2Api {
  /**
   * VPCs matching the query: `{isDefault: true}` → the region's default VPC (none when it was
   * deleted); `{vpcIds}` → those VPCs, and an empty list (not an error) for ids that do not exist.
   */
  describeVpcs(query: { isDefault?: boolean; vpcIds?: string[] }): Promise<Ec2VpcSummary[]>;
  /** Every subnet of the VPC, all pages. */
  describeSubnets(query: { vpcId: string }): Promise<Ec2SubnetSummary[]>;
}

export interface Ec2VpcSummary {
  vpcId: string;
}

export interface Ec2SubnetSummary {
  subnetId: string;
  vpcId: string;
}
