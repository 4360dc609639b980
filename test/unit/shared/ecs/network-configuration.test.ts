import { describe, expect, it } from 'vitest';
import type { Ec2Api } from '../../../../shared/ecs/ec2-api.ts';
import { EcsConfigurationError } from '../../../../shared/ecs/ecs-configuration-error.ts';
import {
  DEFAULT_VPC_KEY,
  type NetworkCache,
  needsNetworkConfiguration,
  resolveNetworkConfiguration,
} from '../../../../shared/ecs/network-configuration.ts';
import { jobConfiguration, withRunRequest } from './job-configuration-factory.ts';

const DEFAULT_VPC = 'vpc-0default00000000';
const OTHER_VPC = 'vpc-0other000000000';

/** An in-memory EC2 that records every call. */
const fakeEc2 = (
  subnets: Record<string, string[]> = {
    [DEFAULT_VPC]: ['subnet-0c', 'subnet-0a', 'subnet-0b'],
    [OTHER_VPC]: ['subnet-1a', 'subnet-1b'],
  },
  defaultVpc: string | null = DEFAULT_VPC
): Ec2Api & { calls: string[] } => {
  const calls: string[] = [];
  return {
    calls,
    async describeVpcs(query) {
      calls.push(`describeVpcs ${JSON.stringify(query)}`);
      if (query.isDefault) return defaultVpc ? [{ vpcId: defaultVpc }] : [];
      return (query.vpcIds ?? []).filter((id) => id in subnets).map((vpcId) => ({ vpcId }));
    },
    async describeSubnets({ vpcId }) {
      calls.push(`describeSubnets ${vpcId}`);
      return (subnets[vpcId] ?? []).map((subnetId) => ({ subnetId, vpcId }));
    },
  };
};

describe('resolveNetworkConfiguration: discovered (prefect-aws default)', () => {
  it('uses every subnet of the default VPC (sorted), a public IP and the default security group', async () => {
    // Prepare
    const ec2 = fakeEc2();
    // Act
    const resolved = await resolveNetworkConfiguration(jobConfiguration(), ec2, new Map());
    // Assess
    expect(resolved).toEqual({
      networkConfiguration: {
        awsvpcConfiguration: {
          subnets: ['subnet-0a', 'subnet-0b', 'subnet-0c'],
          assignPublicIp: 'ENABLED',
          securityGroups: [],
        },
      },
      warnings: [],
    });
    expect(ec2.calls).toEqual([
      'describeVpcs {"isDefault":true}',
      `describeSubnets ${DEFAULT_VPC}`,
    ]);
  });

  it('uses the subnets of vpc_id when set', async () => {
    // Act
    const resolved = await resolveNetworkConfiguration(
      jobConfiguration({ vpc_id: OTHER_VPC }),
      fakeEc2(),
      new Map()
    );
    // Assess
    expect(resolved.networkConfiguration.awsvpcConfiguration?.subnets).toEqual([
      'subnet-1a',
      'subnet-1b',
    ]);
  });

  it('is cached: a second resolve makes no EC2 call', async () => {
    // Prepare
    const ec2 = fakeEc2();
    const cache: NetworkCache = new Map();
    const first = await resolveNetworkConfiguration(jobConfiguration(), ec2, cache);
    const callsAfterFirst = ec2.calls.length;
    // Act
    const second = await resolveNetworkConfiguration(jobConfiguration(), ec2, cache);
    // Assess
    expect(second).toEqual(first);
    expect(ec2.calls).toHaveLength(callsAfterFirst);
    expect(cache.get(DEFAULT_VPC_KEY)?.vpcId).toBe(DEFAULT_VPC);
  });

  it('cuts to the 16 subnets RunTask takes, with a warning', async () => {
    // Prepare
    const many = Array.from({ length: 20 }, (_, i) => `subnet-${String(i).padStart(2, '0')}`);
    // Act
    const resolved = await resolveNetworkConfiguration(
      jobConfiguration(),
      fakeEc2({ [DEFAULT_VPC]: many }),
      new Map()
    );
    // Assess
    expect(resolved.networkConfiguration.awsvpcConfiguration?.subnets).toEqual(many.slice(0, 16));
    expect(resolved.warnings).toEqual([expect.stringContaining('has 20 subnets')]);
  });

  it.each([
    ['no default VPC', jobConfiguration(), fakeEc2({}, null), /no default VPC.*Set vpc_id/],
    [
      'an unknown vpc_id',
      jobConfiguration({ vpc_id: 'vpc-0missing' }),
      fakeEc2(),
      /VPC vpc-0missing \(vpc_id\) was not found/,
    ],
    ['a VPC without subnets', jobConfiguration(), fakeEc2({ [DEFAULT_VPC]: [] }), /has no subnets/],
  ])('refuses %s with the fix', async (_name, configuration, ec2, message) => {
    // Act
    const resolving = resolveNetworkConfiguration(configuration, ec2, new Map());
    // Assess
    await expect(resolving).rejects.toBeInstanceOf(EcsConfigurationError);
    await expect(resolving).rejects.toMatchObject({
      variable: 'vpc_id',
      message: expect.stringMatching(message),
    });
  });
});

describe('resolveNetworkConfiguration: given network_configuration', () => {
  const custom = {
    subnets: ['subnet-1b'],
    securityGroups: ['sg-0123456789abcdef0'],
    assignPublicIp: 'DISABLED',
  };

  it('checks the subnets against vpc_id and uses the configuration as given', async () => {
    // Prepare
    const ec2 = fakeEc2();
    // Act
    const resolved = await resolveNetworkConfiguration(
      jobConfiguration({ network_configuration: custom, vpc_id: OTHER_VPC }),
      ec2,
      new Map()
    );
    // Assess
    expect(resolved).toEqual({
      networkConfiguration: { awsvpcConfiguration: custom },
      warnings: [],
    });
    expect(ec2.calls).toEqual([
      `describeVpcs {"vpcIds":["${OTHER_VPC}"]}`,
      `describeSubnets ${OTHER_VPC}`,
    ]);
  });

  it('refuses a subnet outside the VPC, naming the subnet and the VPC', async () => {
    // Act
    const resolving = resolveNetworkConfiguration(
      jobConfiguration({
        network_configuration: { ...custom, subnets: ['subnet-1a', 'subnet-0a'] },
        vpc_id: OTHER_VPC,
      }),
      fakeEc2(),
      new Map()
    );
    // Assess
    await expect(resolving).rejects.toMatchObject({
      name: 'EcsConfigurationError',
      variable: 'network_configuration',
      message: expect.stringMatching(
        /^Subnet subnet-0a in network_configuration is not in VPC vpc-0other000000000/
      ),
    });
  });

  it('looks again (bypassing the cache) before refusing a subnet the cache does not know', async () => {
    // Prepare
    const subnets = { [OTHER_VPC]: ['subnet-1a'] };
    const ec2 = fakeEc2(subnets);
    const cache: NetworkCache = new Map();
    await resolveNetworkConfiguration(jobConfiguration({ vpc_id: OTHER_VPC }), ec2, cache);
    subnets[OTHER_VPC] = ['subnet-1a', 'subnet-1new'];
    // Act
    const resolved = await resolveNetworkConfiguration(
      jobConfiguration({ network_configuration: { subnets: ['subnet-1new'] }, vpc_id: OTHER_VPC }),
      ec2,
      cache
    );
    // Assess
    expect(resolved.networkConfiguration.awsvpcConfiguration?.subnets).toEqual(['subnet-1new']);
    expect(ec2.calls.filter((call) => call.startsWith('describeSubnets'))).toHaveLength(2);
  });

  it('fills in the VPC subnets when the configuration lists none', async () => {
    // Act
    const resolved = await resolveNetworkConfiguration(
      jobConfiguration({
        network_configuration: { assignPublicIp: 'DISABLED' },
        vpc_id: OTHER_VPC,
      }),
      fakeEc2(),
      new Map()
    );
    // Assess
    expect(resolved.networkConfiguration).toEqual({
      awsvpcConfiguration: { assignPublicIp: 'DISABLED', subnets: ['subnet-1a', 'subnet-1b'] },
    });
    expect(resolved.warnings).toHaveLength(1);
  });

  it('requires vpc_id', async () => {
    await expect(
      resolveNetworkConfiguration(
        jobConfiguration({ network_configuration: custom }),
        fakeEc2(),
        new Map()
      )
    ).rejects.toMatchObject({
      variable: 'vpc_id',
      message: expect.stringMatching(/^vpc_id is required when network_configuration is set/),
    });
  });
});

describe('needsNetworkConfiguration', () => {
  const awsvpc = { networkMode: 'awsvpc' };
  it.each([
    ['awsvpc, nothing templated', awsvpc, jobConfiguration(), true],
    [
      'awsvpc, network_configuration set',
      awsvpc,
      jobConfiguration({ network_configuration: { subnets: ['s'] }, vpc_id: 'v' }),
      true,
    ],
    [
      'awsvpc, networkConfiguration in the template',
      awsvpc,
      withRunRequest({ networkConfiguration: { awsvpcConfiguration: { subnets: ['s'] } } }),
      false,
    ],
    ['bridge', { networkMode: 'bridge' }, jobConfiguration(), false],
    ['no mode', {}, jobConfiguration(), false],
  ])('%s', (_name, definition, configuration, expected) => {
    expect(needsNetworkConfiguration(configuration, definition)).toBe(expected);
  });
});

describe('resolveNetworkConfiguration under concurrency', () => {
  it('shares one pair of EC2 calls between launches that discover the network at once', async () => {
    // Prepare
    let describeVpcsCalls = 0;
    let describeSubnetsCalls = 0;
    const ec2: Ec2Api = {
      describeVpcs: async () => {
        describeVpcsCalls += 1;
        await new Promise((resolve) => setTimeout(resolve, 5));
        return [{ vpcId: 'vpc-1' }];
      },
      describeSubnets: async () => {
        describeSubnetsCalls += 1;
        return [{ subnetId: 'subnet-a', vpcId: 'vpc-1' }];
      },
    };
    const cache: NetworkCache = new Map();
    const configuration = jobConfiguration();
    // Act
    const results = await Promise.all(
      Array.from({ length: 10 }, () => resolveNetworkConfiguration(configuration, ec2, cache))
    );
    // Assess
    expect(describeVpcsCalls).toBe(1);
    expect(describeSubnetsCalls).toBe(1);
    expect(results.map((r) => r.networkConfiguration.awsvpcConfiguration?.subnets)).toEqual(
      Array.from({ length: 10 }, () => ['subnet-a'])
    );
  });
});
