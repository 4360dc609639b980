import {
  DescribeSubnetsCommand,
  DescribeVpcsCommand,
  EC2Client,
  paginateDescribeSubnets,
} from '@aws-sdk/client-ec2';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createEc2Service, type Ec2Service } from './ec2.ts';
import { type ServedAwsServices, serveAwsServices } from './serve-services.ts';

const REGION = 'us-east-1';
const ACCOUNT = '123456789012';

let ec2: Ec2Service;
let served: ServedAwsServices;
let client: EC2Client;

const start = async (options: { defaultVpc?: boolean; region?: string } = {}) => {
  ec2 = createEc2Service({ region: options.region ?? REGION, accountId: ACCOUNT, ...options });
  served = await serveAwsServices({ json: [], query: ec2 });
  client = new EC2Client({
    endpoint: served.url,
    region: options.region ?? REGION,
    credentials: { accessKeyId: 'AKIDTEST', secretAccessKey: 'secret' },
    maxAttempts: 1,
  });
};

/** POSTs a raw query-protocol form and returns status and body. */
const postForm = async (form: Record<string, string>) => {
  const response = await fetch(served.url, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded; charset=utf-8' },
    body: new URLSearchParams(form).toString(),
  });
  return { status: response.status, body: await response.text() };
};

const errorCode = (xml: string): string | undefined => /<Code>([^<]*)<\/Code>/.exec(xml)?.[1];

afterEach(async () => {
  client?.destroy();
  await served?.close();
});

describe('EC2 stand-in: a new account', () => {
  beforeEach(async () => {
    await start();
  });

  it('has a default VPC that DescribeVpcs finds with the worker filter isDefault=true', async () => {
    // prepare: the account as created
    // act
    const { Vpcs } = await client.send(
      new DescribeVpcsCommand({ Filters: [{ Name: 'isDefault', Values: ['true'] }] })
    );
    // assess
    expect(Vpcs).toHaveLength(1);
    const vpc = Vpcs?.[0];
    expect(vpc).toMatchObject({
      VpcId: ec2.defaultVpcId,
      CidrBlock: '172.31.0.0/16',
      IsDefault: true,
      State: 'available',
      OwnerId: ACCOUNT,
      InstanceTenancy: 'default',
      CidrBlockAssociationSet: [
        { CidrBlock: '172.31.0.0/16', CidrBlockState: { State: 'associated' } },
      ],
    });
    expect(vpc?.VpcId).toMatch(/^vpc-[0-9a-f]{17}$/);
    expect(vpc?.DhcpOptionsId).toMatch(/^dopt-[0-9a-f]{17}$/);
  });

  it('accepts the documented is-default filter name too', async () => {
    // prepare
    ec2.addVpc({ cidrBlock: '10.0.0.0/16' });
    // act
    const defaults = await client.send(
      new DescribeVpcsCommand({ Filters: [{ Name: 'is-default', Values: ['true'] }] })
    );
    const others = await client.send(
      new DescribeVpcsCommand({ Filters: [{ Name: 'is-default', Values: ['false'] }] })
    );
    // assess
    expect(defaults.Vpcs?.map((v) => v.VpcId)).toEqual([ec2.defaultVpcId]);
    expect(others.Vpcs?.map((v) => v.CidrBlock)).toEqual(['10.0.0.0/16']);
    expect(others.Vpcs?.[0]?.IsDefault).toBe(false);
  });

  it('has one default subnet per availability zone, /20s of 172.31.0.0/16, public', async () => {
    // prepare
    const vpcId = ec2.defaultVpcId ?? '';
    // act
    const { Subnets } = await client.send(
      new DescribeSubnetsCommand({ Filters: [{ Name: 'vpc-id', Values: [vpcId] }] })
    );
    // assess
    expect(Subnets?.map((s) => [s.AvailabilityZone, s.CidrBlock])).toEqual([
      ['us-east-1a', '172.31.0.0/20'],
      ['us-east-1b', '172.31.16.0/20'],
      ['us-east-1c', '172.31.32.0/20'],
      ['us-east-1d', '172.31.48.0/20'],
      ['us-east-1e', '172.31.64.0/20'],
      ['us-east-1f', '172.31.80.0/20'],
    ]);
    for (const subnet of Subnets ?? []) {
      expect(subnet).toMatchObject({
        VpcId: vpcId,
        DefaultForAz: true,
        MapPublicIpOnLaunch: true,
        State: 'available',
        AvailableIpAddressCount: 4091,
        OwnerId: ACCOUNT,
        AssignIpv6AddressOnCreation: false,
        Ipv6CidrBlockAssociationSet: [],
      });
      expect(subnet.SubnetId).toMatch(/^subnet-[0-9a-f]{17}$/);
      expect(subnet.SubnetArn).toBe(`arn:aws:ec2:${REGION}:${ACCOUNT}:subnet/${subnet.SubnetId}`);
    }
    expect(Subnets?.[0]?.AvailabilityZoneId).toBe('use1-az1');
  });

  it('has three zones in a region without a known zone count, and zone ids named after it', async () => {
    // prepare
    client.destroy();
    await served.close();
    await start({ region: 'eu-west-1' });
    // act
    const { Subnets } = await client.send(new DescribeSubnetsCommand({}));
    // assess
    expect(Subnets?.map((s) => `${s.AvailabilityZone} ${s.AvailabilityZoneId}`)).toEqual([
      'eu-west-1a euw1-az1',
      'eu-west-1b euw1-az2',
      'eu-west-1c euw1-az3',
    ]);
  });

  it('has a default security group in the default VPC', () => {
    // act
    const groupId = ec2.defaultSecurityGroupId();
    // assess
    expect(groupId).toMatch(/^sg-[0-9a-f]{17}$/);
    expect(ec2.getSecurityGroup(groupId)).toMatchObject({
      groupName: 'default',
      vpcId: ec2.defaultVpcId,
    });
  });
});

describe('EC2 stand-in: VPCs and subnets added through the control API', () => {
  beforeEach(async () => {
    await start();
  });

  it('describes an added VPC by id, with its tags', async () => {
    // prepare
    const vpcId = ec2.addVpc({ cidrBlock: '10.1.0.0/16', tags: { Name: 'prefect-ecs-vpc' } });
    // act
    const { Vpcs } = await client.send(new DescribeVpcsCommand({ VpcIds: [vpcId] }));
    // assess
    expect(Vpcs).toHaveLength(1);
    expect(Vpcs?.[0]).toMatchObject({
      VpcId: vpcId,
      CidrBlock: '10.1.0.0/16',
      IsDefault: false,
      Tags: [{ Key: 'Name', Value: 'prefect-ecs-vpc' }],
    });
  });

  it('lists only the subnets of the VPC asked for, private unless told otherwise', async () => {
    // prepare
    const vpcId = ec2.addVpc({ cidrBlock: '10.2.0.0/16' });
    const privateId = ec2.addSubnet({
      vpcId,
      availabilityZone: 'us-east-1a',
      cidrBlock: '10.2.0.0/24',
    });
    const publicId = ec2.addSubnet({
      vpcId,
      availabilityZone: 'us-east-1b',
      cidrBlock: '10.2.1.0/24',
      mapPublicIpOnLaunch: true,
    });
    // act
    const { Subnets } = await client.send(
      new DescribeSubnetsCommand({ Filters: [{ Name: 'vpc-id', Values: [vpcId] }] })
    );
    // assess
    expect(Subnets?.map((s) => s.SubnetId)).toEqual([privateId, publicId]);
    expect(Subnets?.[0]).toMatchObject({
      VpcId: vpcId,
      CidrBlock: '10.2.0.0/24',
      AvailabilityZone: 'us-east-1a',
      DefaultForAz: false,
      MapPublicIpOnLaunch: false,
      AvailableIpAddressCount: 251,
    });
    expect(Subnets?.[1]?.MapPublicIpOnLaunch).toBe(true);
  });

  it('describes subnets by id, each id once', async () => {
    // prepare
    const vpcId = ec2.addVpc({ cidrBlock: '10.3.0.0/16' });
    const subnetId = ec2.addSubnet({
      vpcId,
      availabilityZone: 'us-east-1c',
      cidrBlock: '10.3.0.0/20',
    });
    // act
    const { Subnets } = await client.send(
      new DescribeSubnetsCommand({ SubnetIds: [subnetId, subnetId] })
    );
    // assess
    expect(Subnets?.map((s) => s.SubnetId)).toEqual([subnetId]);
  });

  it('refuses subnets outside the VPC, overlapping ones, unknown zones and a second default VPC', () => {
    // prepare
    const vpcId = ec2.addVpc({ cidrBlock: '10.4.0.0/16' });
    ec2.addSubnet({ vpcId, availabilityZone: 'us-east-1a', cidrBlock: '10.4.0.0/24' });
    // act / assess
    expect(() =>
      ec2.addSubnet({ vpcId, availabilityZone: 'us-east-1a', cidrBlock: '10.5.0.0/24' })
    ).toThrow(/not inside/);
    expect(() =>
      ec2.addSubnet({ vpcId, availabilityZone: 'us-east-1a', cidrBlock: '10.4.0.128/25' })
    ).toThrow(/overlaps/);
    expect(() =>
      ec2.addSubnet({ vpcId, availabilityZone: 'eu-west-1a', cidrBlock: '10.4.1.0/24' })
    ).toThrow(/not an availability zone/);
    expect(() => ec2.addVpc({ cidrBlock: '10.6.0.0/16', isDefault: true })).toThrow(
      /already has a default VPC/
    );
    expect(() => ec2.addVpc({ cidrBlock: '10.6.0.1/16' })).toThrow(/host bits/);
  });
});

describe('EC2 stand-in: filters', () => {
  beforeEach(async () => {
    await start();
  });

  it('ANDs filters and ORs the values of one filter', async () => {
    // prepare
    const vpcId = ec2.addVpc({ cidrBlock: '10.7.0.0/16' });
    ec2.addSubnet({ vpcId, availabilityZone: 'us-east-1a', cidrBlock: '10.7.0.0/24' });
    // act
    const { Subnets } = await client.send(
      new DescribeSubnetsCommand({
        Filters: [
          { Name: 'availability-zone', Values: ['us-east-1a', 'us-east-1b'] },
          { Name: 'default-for-az', Values: ['true'] },
        ],
      })
    );
    // assess
    expect(Subnets?.map((s) => s.AvailabilityZone)).toEqual(['us-east-1a', 'us-east-1b']);
    expect(Subnets?.every((s) => s.VpcId === ec2.defaultVpcId)).toBe(true);
  });

  it('matches tag:<key> with * and ? wildcards, and tag-key', async () => {
    // prepare
    const vpcId = ec2.addVpc({ cidrBlock: '10.8.0.0/16', tags: { Name: 'prefect-ecs-vpc' } });
    ec2.addVpc({ cidrBlock: '10.9.0.0/16', tags: { Team: 'data' } });
    // act
    const byWildcard = await client.send(
      new DescribeVpcsCommand({ Filters: [{ Name: 'tag:Name', Values: ['prefect-*-vp?'] }] })
    );
    const byKey = await client.send(
      new DescribeVpcsCommand({ Filters: [{ Name: 'tag-key', Values: ['Team'] }] })
    );
    // assess
    expect(byWildcard.Vpcs?.map((v) => v.VpcId)).toEqual([vpcId]);
    expect(byKey.Vpcs?.map((v) => v.CidrBlock)).toEqual(['10.9.0.0/16']);
  });

  it('matches state and map-public-ip-on-launch', async () => {
    // act
    const available = await client.send(
      new DescribeVpcsCommand({ Filters: [{ Name: 'state', Values: ['available'] }] })
    );
    const pending = await client.send(
      new DescribeVpcsCommand({ Filters: [{ Name: 'state', Values: ['pending'] }] })
    );
    const privateSubnets = await client.send(
      new DescribeSubnetsCommand({
        Filters: [{ Name: 'map-public-ip-on-launch', Values: ['false'] }],
      })
    );
    // assess
    expect(available.Vpcs).toHaveLength(1);
    expect(pending.Vpcs).toEqual([]);
    expect(privateSubnets.Subnets).toEqual([]);
  });

  it('takes vpc-id literally on DescribeSubnets (no wildcards) but globs subnet-id', async () => {
    // act
    const byVpcGlob = await client.send(
      new DescribeSubnetsCommand({ Filters: [{ Name: 'vpc-id', Values: ['vpc-*'] }] })
    );
    const bySubnetGlob = await client.send(
      new DescribeSubnetsCommand({ Filters: [{ Name: 'subnet-id', Values: ['subnet-*'] }] })
    );
    // assess
    expect(byVpcGlob.Subnets).toEqual([]);
    expect(bySubnetGlob.Subnets).toHaveLength(6);
  });

  it('answers an unknown filter name with InvalidParameterValue', async () => {
    // act
    const request = client.send(
      new DescribeVpcsCommand({ Filters: [{ Name: 'default', Values: ['true'] }] })
    );
    // assess
    await expect(request).rejects.toMatchObject({
      name: 'InvalidParameterValue',
      message: "The filter 'default' is invalid",
      $metadata: { httpStatusCode: 400 },
    });
  });

  it('rejects a subnet-only filter on DescribeVpcs', async () => {
    // act
    const request = client.send(
      new DescribeVpcsCommand({ Filters: [{ Name: 'default-for-az', Values: ['true'] }] })
    );
    // assess
    await expect(request).rejects.toMatchObject({ name: 'InvalidParameterValue' });
  });

  it('matches nothing for a filter without values', async () => {
    // act
    const { status, body } = await postForm({
      Action: 'DescribeSubnets',
      Version: '2016-11-15',
      'Filter.1.Name': 'vpc-id',
    });
    // assess
    expect(status).toBe(200);
    expect(body).toContain('<subnetSet/>');
  });
});

describe('EC2 stand-in: errors through the SDK', () => {
  beforeEach(async () => {
    await start();
  });

  it('answers an unknown VPC id with InvalidVpcID.NotFound', async () => {
    // act
    const request = client.send(new DescribeVpcsCommand({ VpcIds: ['vpc-0123456789abcdef0'] }));
    // assess
    await expect(request).rejects.toMatchObject({
      name: 'InvalidVpcID.NotFound',
      message: "The vpc ID 'vpc-0123456789abcdef0' does not exist",
      $fault: 'client',
    });
  });

  it('names every unknown VPC id, and fails even if another id exists', async () => {
    // act
    const request = client.send(
      new DescribeVpcsCommand({ VpcIds: [ec2.defaultVpcId ?? '', 'vpc-aaaa1111', 'vpc-bbbb2222'] })
    );
    // assess
    await expect(request).rejects.toMatchObject({
      name: 'InvalidVpcID.NotFound',
      message: "The vpc IDs 'vpc-aaaa1111, vpc-bbbb2222' do not exist",
    });
  });

  it('answers an unknown subnet id with InvalidSubnetID.NotFound', async () => {
    // act
    const request = client.send(
      new DescribeSubnetsCommand({ SubnetIds: ['subnet-0123456789abcdef0'] })
    );
    // assess
    await expect(request).rejects.toMatchObject({
      name: 'InvalidSubnetID.NotFound',
      message: "The subnet ID 'subnet-0123456789abcdef0' does not exist",
    });
  });

  it('answers DryRun with DryRunOperation (412)', async () => {
    // act
    const request = client.send(new DescribeVpcsCommand({ DryRun: true }));
    // assess
    await expect(request).rejects.toMatchObject({
      name: 'DryRunOperation',
      message: 'Request would have succeeded, but DryRun flag is set.',
      $metadata: { httpStatusCode: 412 },
    });
  });

  it('rejects MaxResults below the model minimum of 5', async () => {
    // act
    const request = client.send(new DescribeSubnetsCommand({ MaxResults: 4 }));
    // assess
    await expect(request).rejects.toMatchObject({
      name: 'InvalidParameterValue',
      message: expect.stringContaining("Value '4' at 'MaxResults' failed to satisfy constraint"),
    });
  });
});

describe('EC2 stand-in: pagination', () => {
  beforeEach(async () => {
    await start();
  });

  it('pages with MaxResults/NextToken and the SDK paginator sees every subnet once', async () => {
    // prepare
    const first = await client.send(new DescribeSubnetsCommand({ MaxResults: 5 }));
    // act
    const pages: string[][] = [];
    for await (const page of paginateDescribeSubnets({ client, pageSize: 5 }, {})) {
      pages.push(page.Subnets?.map((s) => s.SubnetId ?? '') ?? []);
    }
    // assess
    expect(first.Subnets).toHaveLength(5);
    expect(first.NextToken).toEqual(expect.any(String));
    expect(pages.map((p) => p.length)).toEqual([5, 1]);
    expect(new Set(pages.flat()).size).toBe(6);
  });

  it('rejects a token used with different filters, and a made-up token', async () => {
    // prepare
    const first = await client.send(new DescribeSubnetsCommand({ MaxResults: 5 }));
    // act
    const otherQuery = client.send(
      new DescribeSubnetsCommand({
        MaxResults: 5,
        NextToken: first.NextToken,
        Filters: [{ Name: 'default-for-az', Values: ['true'] }],
      })
    );
    const madeUp = client.send(new DescribeSubnetsCommand({ NextToken: 'not-a-token' }));
    // assess
    await expect(otherQuery).rejects.toMatchObject({ name: 'InvalidPaginationToken' });
    await expect(madeUp).rejects.toMatchObject({ name: 'InvalidPaginationToken' });
  });
});

describe('EC2 stand-in: accounts without a default VPC', () => {
  it('answers DescribeVpcs isDefault=true with an empty list', async () => {
    // prepare
    await start({ defaultVpc: false });
    // act
    const { Vpcs } = await client.send(
      new DescribeVpcsCommand({ Filters: [{ Name: 'isDefault', Values: ['true'] }] })
    );
    // assess
    expect(Vpcs).toEqual([]);
    expect(ec2.defaultVpcId).toBeUndefined();
  });

  it('forgets the default VPC, its subnets and security group once deleted', async () => {
    // prepare
    await start();
    const vpcId = ec2.defaultVpcId ?? '';
    const groupId = ec2.defaultSecurityGroupId();
    // act
    ec2.deleteVpc(vpcId);
    const { Subnets } = await client.send(new DescribeSubnetsCommand({}));
    // assess
    expect(Subnets).toEqual([]);
    expect(ec2.defaultVpcId).toBeUndefined();
    expect(ec2.getSecurityGroup(groupId)).toBeUndefined();
    await expect(client.send(new DescribeVpcsCommand({ VpcIds: [vpcId] }))).rejects.toMatchObject({
      name: 'InvalidVpcID.NotFound',
    });
  });
});

describe('EC2 stand-in: the query protocol on the wire', () => {
  beforeEach(async () => {
    await start();
  });

  it('answers in EC2 XML: <Action>Response with the 2016-11-15 namespace, requestId, vpcSet/item', async () => {
    // act
    const { status, body } = await postForm({
      Action: 'DescribeVpcs',
      Version: '2016-11-15',
      'VpcId.1': ec2.defaultVpcId ?? '',
    });
    // assess
    expect(status).toBe(200);
    expect(body).toMatch(
      /^<\?xml version="1.0" encoding="UTF-8"\?>\n<DescribeVpcsResponse xmlns="http:\/\/ec2.amazonaws.com\/doc\/2016-11-15\/"><requestId>[0-9a-f-]{36}<\/requestId><vpcSet><item>/
    );
    expect(body).toContain(`<vpcId>${ec2.defaultVpcId}</vpcId>`);
    expect(body).toContain('<isDefault>true</isDefault>');
    expect(body).toMatch(/<\/vpcSet><\/DescribeVpcsResponse>$/);
  });

  it.each([
    [{ Action: 'DescribeInstances', Version: '2016-11-15' }, 'InvalidAction'],
    [{ Action: 'DescribeVpcs' }, 'MissingParameter'],
    [{ Action: 'DescribeVpcs', Version: '2014-10-01' }, 'NoSuchVersion'],
    [{ Action: 'DescribeVpcs', Version: '2016-11-15', Foo: 'bar' }, 'UnknownParameter'],
    [{ Action: 'DescribeVpcs', Version: '2016-11-15', VpcId: 'vpc-1' }, 'UnknownParameter'],
    [{ Action: 'DescribeVpcs', Version: '2016-11-15', VpcIds: 'vpc-1' }, 'UnknownParameter'],
    [{ Action: 'DescribeVpcs', Version: '2016-11-15', 'VpcId.0': 'vpc-1' }, 'UnknownParameter'],
    [{ Action: 'DescribeVpcs', Version: '2016-11-15', 'Filter.1.Nam': 'x' }, 'UnknownParameter'],
    [{ Action: 'DescribeVpcs', Version: '2016-11-15', MaxResults: 'ten' }, 'InvalidParameterValue'],
    [
      { Action: 'DescribeVpcs', Version: '2016-11-15', MaxResults: '1001' },
      'InvalidParameterValue',
    ],
    [{ Action: 'DescribeVpcs', Version: '2016-11-15', DryRun: 'yes' }, 'InvalidParameterValue'],
    [{ Version: '2016-11-15' }, 'MissingAction'],
  ])('answers %j with %s in EC2 error XML', async (form, code) => {
    // act
    const { status, body } = await postForm(form);
    // assess
    expect(status).toBe(400);
    expect(errorCode(body)).toBe(code);
    expect(body).toMatch(
      /^<\?xml version="1.0" encoding="UTF-8"\?>\n<Response><Errors><Error><Code>[^<]+<\/Code><Message>[^<]*<\/Message><\/Error><\/Errors><RequestID>[0-9a-f-]{36}<\/RequestID><\/Response>$/
    );
  });

  it('reads EC2 list serialization: Filter.N.Name / Filter.N.Value.M and VpcId.N', async () => {
    // prepare
    const other = ec2.addVpc({ cidrBlock: '10.10.0.0/16' });
    // act
    const { body } = await postForm({
      Action: 'DescribeVpcs',
      Version: '2016-11-15',
      'VpcId.1': ec2.defaultVpcId ?? '',
      'VpcId.2': other,
      'Filter.1.Name': 'cidr',
      'Filter.1.Value.1': '10.*',
      'Filter.1.Value.2': '192.168.0.0/16',
    });
    // assess
    expect(body).toContain(`<vpcId>${other}</vpcId>`);
    expect(body).not.toContain(`<vpcId>${ec2.defaultVpcId}</vpcId>`);
  });
});
