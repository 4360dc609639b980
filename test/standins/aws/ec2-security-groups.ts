/**
 * EC2 DescribeSecurityGroups by `GroupId` (query protocol, `Version=2016-11-15`), over the security
 * groups the EC2 stand-in keeps (`ec2.addSecurityGroup`, each VPC's `default`). Enough to check which
 * VPC a group belongs to. As EC2 does: a malformed id is `InvalidGroupId.Malformed`, an unknown one
 * `InvalidGroup.NotFound` naming it. Listing by filter, name or page is not implemented (501) rather
 * than answered wrongly; any parameter EC2 does not have is `UnknownParameter`.
 */
import { randomUUID } from 'node:crypto';
import { EC2_API_VERSION, type Ec2SecurityGroup } from './ec2.ts';
import { checkVersion, escapeXml, refuseUnknownParameters } from './query-protocol.ts';
import { AwsServiceError } from './service.ts';

const XML_NAMESPACE = `http://ec2.amazonaws.com/doc/${EC2_API_VERSION}/`;

/** Parameters of DescribeSecurityGroups on the wire. */
const KNOWN =
  /^(GroupId\.[1-9]\d*|GroupName\.[1-9]\d*|Filter\.[1-9]\d*\.(Name|Value\.[1-9]\d*)|MaxResults|NextToken|DryRun)$/;
const UNIMPLEMENTED = /^(GroupName|Filter|MaxResults|NextToken)/;
const GROUP_ID = /^sg-([0-9a-f]{8}|[0-9a-f]{17})$/;

const groupXml = (group: Ec2SecurityGroup, region: string): string =>
  `<item><groupDescription>${escapeXml(group.description)}</groupDescription><groupName>${escapeXml(group.groupName)}</groupName><ipPermissions/><ownerId>${group.ownerId}</ownerId><groupId>${group.groupId}</groupId><ipPermissionsEgress><item><ipProtocol>-1</ipProtocol><groups/><ipRanges><item><cidrIp>0.0.0.0/0</cidrIp></item></ipRanges><ipv6Ranges/><prefixListIds/></item></ipPermissionsEgress><vpcId>${group.vpcId}</vpcId><securityGroupArn>arn:aws:ec2:${region}:${group.ownerId}:security-group/${group.groupId}</securityGroupArn></item>`;

/**
 * Answers DescribeSecurityGroups from `lookup` (the EC2 stand-in's `getSecurityGroup`).
 *
 * @example
 * describeSecurityGroups(params, (id) => ec2.getSecurityGroup(id), 'us-east-1');
 */
export const describeSecurityGroups = (
  params: URLSearchParams,
  lookup: (groupId: string) => Ec2SecurityGroup | undefined,
  region: string
): string => {
  checkVersion(params, 'DescribeSecurityGroups', EC2_API_VERSION);
  refuseUnknownParameters(params, (key) => KNOWN.test(key));
  const unimplemented = [...params.keys()].find((key) => UNIMPLEMENTED.test(key));
  if (unimplemented !== undefined) {
    throw new AwsServiceError(
      'NotImplemented',
      `The AWS stand-in answers DescribeSecurityGroups by GroupId only (got ${unimplemented})`,
      501
    );
  }
  const ids = [
    ...new Set(
      [...params.entries()]
        .filter(([key]) => key.startsWith('GroupId.'))
        .sort(([a], [b]) => Number(a.slice(8)) - Number(b.slice(8)))
        .map(([, value]) => value)
    ),
  ];
  if (ids.length === 0) {
    throw new AwsServiceError(
      'NotImplemented',
      'The AWS stand-in answers DescribeSecurityGroups by GroupId only (it cannot list every group)',
      501
    );
  }
  const malformed = ids.find((id) => !GROUP_ID.test(id));
  if (malformed !== undefined) {
    throw new AwsServiceError(
      'InvalidGroupId.Malformed',
      `Invalid id: "${malformed}" (expecting "sg-...")`
    );
  }
  const missing = ids.filter((id) => lookup(id) === undefined);
  if (missing.length > 0) {
    throw new AwsServiceError(
      'InvalidGroup.NotFound',
      missing.length === 1
        ? `The security group '${missing[0]}' does not exist`
        : `The security groups '${missing.join(', ')}' do not exist`
    );
  }
  if (params.get('DryRun') === 'true') {
    throw new AwsServiceError(
      'DryRunOperation',
      'Request would have succeeded, but DryRun flag is set.',
      412
    );
  }
  const items = ids
    .map((id) => lookup(id))
    .filter((group): group is Ec2SecurityGroup => group !== undefined)
    .map((group) => groupXml(group, region))
    .join('');
  return `<?xml version="1.0" encoding="UTF-8"?>\n<DescribeSecurityGroupsResponse xmlns="${XML_NAMESPACE}"><requestId>${randomUUID()}</requestId><securityGroupInfo>${items}</securityGroupInfo></DescribeSecurityGroupsResponse>`;
};
