/**
 * EC2 stand-in: DescribeVpcs and DescribeSubnets over the EC2 query protocol (form-encoded request,
 * XML answer), enough for the default-VPC discovery the ECS worker does before RunTask.
 *
 * Like a new AWS account it starts with a default VPC (172.31.0.0/16), one default subnet per
 * availability zone (172.31.0.0/20, 172.31.16.0/20, …) and a default security group per VPC.
 * Requests are parsed with the botocore model (`ec2.subset.json`): the member names on the wire follow
 * EC2's rules (`queryName`, else capitalised `locationName`, else the member name; lists always
 * flattened as `Name.1`, `Name.2`), anything the model does not know is `UnknownParameter`, and the
 * resulting input is validated with the model before the action runs. Answers are serialised from the
 * model's output shapes (`locationName`s, lists as `<item>`), the way `@aws-sdk/client-ec2` reads them.
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import {
  checkOperationInput,
  type ListShape,
  loadServiceModel,
  type ServiceModel,
  type Shape,
  type ShapeRef,
} from './model-validator.ts';
import { AwsServiceError, type QueryService } from './service.ts';

export const EC2_API_VERSION = '2016-11-15';
const XML_NAMESPACE = `http://ec2.amazonaws.com/doc/${EC2_API_VERSION}/`;

// ---------------------------------------------------------------------------------------------------
// Model

const loadModel = (): ServiceModel =>
  loadServiceModel(new URL('./models/ec2.subset.json', import.meta.url));

const shapeOf = (model: ServiceModel, name: string): Shape => {
  const shape = model.shapes[name];
  if (!shape) throw new Error(`ec2 model: unknown shape ${name}`);
  return shape;
};

// ---------------------------------------------------------------------------------------------------
// Public API

export interface Ec2Vpc {
  readonly vpcId: string;
  readonly cidrBlock: string;
  readonly isDefault: boolean;
  readonly state: 'available';
  readonly ownerId: string;
  readonly dhcpOptionsId: string;
  readonly cidrBlockAssociationId: string;
  readonly tags: Readonly<Record<string, string>>;
}

export interface Ec2Subnet {
  readonly subnetId: string;
  readonly subnetArn: string;
  readonly vpcId: string;
  readonly availabilityZone: string;
  readonly availabilityZoneId: string;
  readonly cidrBlock: string;
  readonly availableIpAddressCount: number;
  readonly defaultForAz: boolean;
  readonly mapPublicIpOnLaunch: boolean;
  readonly state: 'available';
  readonly ownerId: string;
  readonly tags: Readonly<Record<string, string>>;
}

export interface Ec2SecurityGroup {
  readonly groupId: string;
  readonly groupName: string;
  readonly description: string;
  readonly vpcId: string;
  readonly ownerId: string;
}

export interface Ec2ServiceOptions {
  readonly region: string;
  readonly accountId: string;
  /** Start with the default VPC, its default subnets and security group, like a new account. Default true. */
  readonly defaultVpc?: boolean;
  /** Availability zone names of the region; default `<region>a`, `b`, … (6 for us-east-1, 4 for us-west-2, else 3). */
  readonly availabilityZones?: readonly string[];
}

export interface Ec2Service extends QueryService {
  readonly region: string;
  readonly accountId: string;
  readonly availabilityZones: readonly string[];
  /** The default VPC's id, or undefined once it was deleted (or with `defaultVpc: false`). */
  readonly defaultVpcId: string | undefined;
  /** Creates a VPC (with its default security group); a second default VPC is refused. */
  addVpc(options: {
    cidrBlock: string;
    isDefault?: boolean;
    tags?: Record<string, string>;
  }): string;
  /** Creates a subnet inside the VPC's CIDR that overlaps no other subnet of it. */
  addSubnet(options: {
    vpcId: string;
    availabilityZone: string;
    cidrBlock: string;
    mapPublicIpOnLaunch?: boolean;
    tags?: Record<string, string>;
  }): string;
  addSecurityGroup(options: { vpcId: string; groupName: string; description?: string }): string;
  /** The `default` security group of the VPC (the default VPC when omitted). */
  defaultSecurityGroupId(vpcId?: string): string;
  /** Removes the VPC with its subnets and security groups (AWS would insist they go first). */
  deleteVpc(vpcId: string): void;
  getVpc(vpcId: string): Ec2Vpc | undefined;
  getSubnet(subnetId: string): Ec2Subnet | undefined;
  getSecurityGroup(groupId: string): Ec2SecurityGroup | undefined;
}

// ---------------------------------------------------------------------------------------------------
// Helpers: ids, CIDRs, availability zones

const hexId = (prefix: string): string =>
  `${prefix}-${randomBytes(9).toString('hex').slice(0, 17)}`;

interface Cidr {
  readonly base: number;
  readonly prefix: number;
}

const parseCidr = (text: string): Cidr => {
  const match = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/.exec(text);
  if (!match) throw new Error(`Invalid IPv4 CIDR block: ${text}`);
  const octets = match.slice(1, 5).map(Number);
  const prefix = Number(match[5]);
  if (octets.some((octet) => octet > 255) || prefix > 32) {
    throw new Error(`Invalid IPv4 CIDR block: ${text}`);
  }
  const base = octets.reduce((acc, octet) => acc * 256 + octet, 0);
  const size = 2 ** (32 - prefix);
  if (base % size !== 0) throw new Error(`CIDR block ${text} has host bits set`);
  return { base, prefix };
};

const cidrSize = (cidr: Cidr): number => 2 ** (32 - cidr.prefix);
const cidrContains = (outer: Cidr, inner: Cidr): boolean =>
  inner.prefix >= outer.prefix &&
  inner.base >= outer.base &&
  inner.base + cidrSize(inner) <= outer.base + cidrSize(outer);
const cidrOverlaps = (a: Cidr, b: Cidr): boolean =>
  a.base < b.base + cidrSize(b) && b.base < a.base + cidrSize(a);

const ZONE_COUNT: Readonly<Record<string, number>> = { 'us-east-1': 6, 'us-west-2': 4 };

const defaultZones = (region: string): string[] =>
  Array.from({ length: ZONE_COUNT[region] ?? 3 }, (_, i) => `${region}${'abcdefgh'[i]}`);

const DIRECTIONS: Readonly<Record<string, string>> = {
  north: 'n',
  south: 's',
  east: 'e',
  west: 'w',
  central: 'c',
  northeast: 'ne',
  northwest: 'nw',
  southeast: 'se',
  southwest: 'sw',
};

/** `us-east-1` → `use1`, `ap-southeast-2` → `apse2` (the prefix of AWS zone ids such as `use1-az1`). */
const regionShortName = (region: string): string =>
  region
    .split('-')
    .map((part, i) => (i === 0 || /^\d+$/.test(part) ? part : (DIRECTIONS[part] ?? part[0])))
    .join('');

// ---------------------------------------------------------------------------------------------------
// Query-protocol request parsing, driven by the model

const wireName = (memberName: string, ref: ShapeRef): string =>
  ref.queryName ??
  (ref.locationName
    ? `${ref.locationName.charAt(0).toUpperCase()}${ref.locationName.slice(1)}`
    : memberName);

class QueryReader {
  readonly consumed = new Set<string>();
  readonly #model: ServiceModel;
  readonly #params: URLSearchParams;
  readonly #keys: readonly string[];

  constructor(model: ServiceModel, params: URLSearchParams) {
    this.#model = model;
    this.#params = params;
    this.#keys = [...new Set(params.keys())];
  }

  readStructure(shapeName: string, prefix: string): Record<string, unknown> | undefined {
    const shape = shapeOf(this.#model, shapeName);
    if (shape.type !== 'structure') throw new Error(`ec2 model: ${shapeName} is not a structure`);
    const out: Record<string, unknown> = {};
    for (const [memberName, ref] of Object.entries(shape.members)) {
      const value = this.#readValue(ref.shape, `${prefix}${wireName(memberName, ref)}`);
      if (value !== undefined) out[memberName] = value;
    }
    return Object.keys(out).length > 0 ? out : undefined;
  }

  #readValue(shapeName: string, key: string): unknown {
    const shape = shapeOf(this.#model, shapeName);
    switch (shape.type) {
      case 'structure':
        return this.readStructure(shapeName, `${key}.`);
      case 'list':
        return this.#readList(shape, key);
      default:
        return this.#readScalar(shape, key);
    }
  }

  #readList(shape: ListShape, key: string): unknown[] | undefined {
    const member = shape.member;
    const indices = new Set<number>();
    for (const candidate of this.#keys) {
      if (!candidate.startsWith(`${key}.`)) continue;
      const index = candidate.slice(key.length + 1).split('.')[0] ?? '';
      if (/^[1-9]\d*$/.test(index)) indices.add(Number(index));
    }
    if (indices.size === 0) return undefined;
    const out: unknown[] = [];
    for (const index of [...indices].sort((a, b) => a - b)) {
      const value = this.#readValue(member.shape, `${key}.${index}`);
      if (value !== undefined) out.push(value);
    }
    return out;
  }

  #readScalar(shape: Shape, key: string): unknown {
    const raw = this.#params.get(key);
    if (raw === null) return undefined;
    this.consumed.add(key);
    switch (shape.type) {
      case 'string':
        return raw;
      case 'integer':
      case 'long': {
        if (!/^-?\d+$/.test(raw)) {
          throw new AwsServiceError(
            'InvalidParameterValue',
            `Value (${raw}) for parameter ${key} is invalid. Expecting an integer.`
          );
        }
        return Number(raw);
      }
      case 'boolean': {
        if (raw !== 'true' && raw !== 'false') {
          throw new AwsServiceError(
            'InvalidParameterValue',
            `Value (${raw}) for parameter ${key} is invalid. Expecting true or false.`
          );
        }
        return raw === 'true';
      }
      default:
        throw new Error(`ec2 model: unsupported input type ${shape.type} at ${key}`);
    }
  }

  unknownKeys(): string[] {
    return this.#keys.filter((k) => k !== 'Action' && k !== 'Version' && !this.consumed.has(k));
  }
}

// ---------------------------------------------------------------------------------------------------
// XML answer, driven by the model

const escapeXml = (text: string): string =>
  text.replace(/[<>&'"]/g, (c) => `&#${c.charCodeAt(0)};`);

const xmlValue = (model: ServiceModel, shapeName: string, value: unknown): string => {
  const shape = shapeOf(model, shapeName);
  switch (shape.type) {
    case 'structure': {
      const record = value as Record<string, unknown>;
      let out = '';
      for (const [memberName, ref] of Object.entries(shape.members)) {
        const memberValue = record[memberName];
        if (memberValue === undefined) continue;
        const tag = ref.locationName ?? memberName;
        const inner = xmlValue(model, ref.shape, memberValue);
        out += inner === '' ? `<${tag}/>` : `<${tag}>${inner}</${tag}>`;
      }
      return out;
    }
    case 'list': {
      const member = shape.member;
      const tag = member.locationName ?? 'member';
      return (value as unknown[])
        .map((item) => `<${tag}>${xmlValue(model, member.shape, item)}</${tag}>`)
        .join('');
    }
    case 'boolean':
      return value ? 'true' : 'false';
    case 'integer':
    case 'long':
      return String(value);
    default:
      return escapeXml(String(value));
  }
};

const xmlResponse = (
  model: ServiceModel,
  action: string,
  output: Record<string, unknown>
): string => {
  const outputShape = model.operations[action]?.output?.shape;
  if (!outputShape) throw new Error(`ec2 model: ${action} has no output`);
  return `<?xml version="1.0" encoding="UTF-8"?>\n<${action}Response xmlns="${XML_NAMESPACE}"><requestId>${randomUUID()}</requestId>${xmlValue(model, outputShape, output)}</${action}Response>`;
};

// ---------------------------------------------------------------------------------------------------
// Filters

type FilterValues<T> = (item: T) => readonly string[];

const VPC_FILTERS: Readonly<Record<string, FilterValues<Ec2Vpc>>> = {
  cidr: (v) => [v.cidrBlock],
  cidrBlock: (v) => [v.cidrBlock],
  'cidr-block-association.cidr-block': (v) => [v.cidrBlock],
  'cidr-block-association.association-id': (v) => [v.cidrBlockAssociationId],
  'cidr-block-association.state': () => ['associated'],
  'dhcp-options-id': (v) => [v.dhcpOptionsId],
  dhcpOptionsId: (v) => [v.dhcpOptionsId],
  'ipv6-cidr-block-association.ipv6-cidr-block': () => [],
  'ipv6-cidr-block-association.ipv6-pool': () => [],
  'ipv6-cidr-block-association.association-id': () => [],
  'ipv6-cidr-block-association.state': () => [],
  'is-default': (v) => [String(v.isDefault)],
  isDefault: (v) => [String(v.isDefault)],
  'owner-id': (v) => [v.ownerId],
  state: (v) => [v.state],
  'tag-key': (v) => Object.keys(v.tags),
  'vpc-id': (v) => [v.vpcId],
};

const SUBNET_FILTERS: Readonly<Record<string, FilterValues<Ec2Subnet>>> = {
  'availability-zone': (s) => [s.availabilityZone],
  availabilityZone: (s) => [s.availabilityZone],
  'availability-zone-id': (s) => [s.availabilityZoneId],
  availabilityZoneId: (s) => [s.availabilityZoneId],
  'available-ip-address-count': (s) => [String(s.availableIpAddressCount)],
  'cidr-block': (s) => [s.cidrBlock],
  cidr: (s) => [s.cidrBlock],
  cidrBlock: (s) => [s.cidrBlock],
  'customer-owned-ipv4-pool': () => [],
  'default-for-az': (s) => [String(s.defaultForAz)],
  defaultForAz: (s) => [String(s.defaultForAz)],
  'enable-dns64': () => ['false'],
  'ipv6-cidr-block-association.ipv6-cidr-block': () => [],
  'ipv6-cidr-block-association.association-id': () => [],
  'ipv6-cidr-block-association.state': () => [],
  'ipv6-native': () => ['false'],
  'map-customer-owned-ip-on-launch': () => ['false'],
  'map-public-ip-on-launch': (s) => [String(s.mapPublicIpOnLaunch)],
  'outpost-arn': () => [],
  'owner-id': (s) => [s.ownerId],
  'private-dns-name-options-on-launch.hostname-type': () => ['ip-name'],
  'private-dns-name-options-on-launch.enable-resource-name-dns-a-record': () => ['false'],
  'private-dns-name-options-on-launch.enable-resource-name-dns-aaaa-record': () => ['false'],
  state: (s) => [s.state],
  'subnet-arn': (s) => [s.subnetArn],
  'subnet-id': (s) => [s.subnetId],
  'tag-key': (s) => Object.keys(s.tags),
  'vpc-id': (s) => [s.vpcId],
};

/** Filters whose values EC2 matches literally (no `*`/`?` wildcards), e.g. DescribeSubnets `vpc-id`. */
const SUBNET_EXACT_FILTERS: ReadonlySet<string> = new Set(['vpc-id']);

const globToRegExp = (pattern: string): RegExp => {
  let source = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern.charAt(i);
    if (c === '\\' && i + 1 < pattern.length) {
      source += pattern.charAt(++i).replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
    } else if (c === '*') source += '.*';
    else if (c === '?') source += '.';
    else source += c.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
  }
  return new RegExp(`^${source}$`, 's');
};

interface FilterInput {
  readonly Name?: string;
  readonly Values?: readonly string[];
}

type Matcher<T> = (item: T) => boolean;

const compileFilters = <T extends { tags: Readonly<Record<string, string>> }>(
  filters: readonly FilterInput[] | undefined,
  table: Readonly<Record<string, FilterValues<T>>>,
  exact: ReadonlySet<string>
): Matcher<T>[] =>
  (filters ?? []).map((filter) => {
    const name = filter.Name;
    let valuesOf: FilterValues<T> | undefined;
    if (name?.startsWith('tag:') && name.length > 4) {
      const key = name.slice(4);
      valuesOf = (item) => {
        const value = item.tags[key];
        return value === undefined ? [] : [value];
      };
    } else if (name !== undefined && Object.hasOwn(table, name)) {
      valuesOf = table[name];
    }
    if (!valuesOf) {
      throw new AwsServiceError(
        'InvalidParameterValue',
        `The filter '${name ?? 'null'}' is invalid`
      );
    }
    const getValues = valuesOf;
    // A filter without values matches nothing (EC2 answers an empty set, not an error).
    const literal = name !== undefined && exact.has(name);
    const patterns = (filter.Values ?? []).map((value): ((candidate: string) => boolean) => {
      if (literal) return (candidate) => candidate === value;
      const pattern = globToRegExp(value);
      return (candidate) => pattern.test(candidate);
    });
    return (item: T) =>
      getValues(item).some((candidate) => patterns.some((test) => test(candidate)));
  });

// ---------------------------------------------------------------------------------------------------
// Pagination

const fingerprint = (input: Record<string, unknown>): string => {
  const { NextToken: _token, MaxResults: _max, DryRun: _dry, ...rest } = input;
  return createHash('sha256').update(JSON.stringify(rest)).digest('hex').slice(0, 16);
};

const paginate = <T>(
  items: readonly T[],
  input: { NextToken?: string; MaxResults?: number } & Record<string, unknown>
): { page: T[]; nextToken?: string } => {
  const print = fingerprint(input);
  let offset = 0;
  if (input.NextToken !== undefined) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(Buffer.from(input.NextToken, 'base64url').toString('utf8'));
    } catch {
      parsed = undefined;
    }
    const token = parsed as { o?: unknown; f?: unknown } | undefined;
    if (
      typeof token !== 'object' ||
      token === null ||
      typeof token.o !== 'number' ||
      !Number.isInteger(token.o) ||
      token.o < 0 ||
      token.f !== print
    ) {
      throw new AwsServiceError(
        'InvalidPaginationToken',
        `Invalid pagination token: ${input.NextToken}`
      );
    }
    offset = token.o;
  }
  const end = input.MaxResults === undefined ? items.length : offset + input.MaxResults;
  const page = items.slice(offset, end);
  if (end >= items.length) return { page };
  return {
    page,
    nextToken: Buffer.from(JSON.stringify({ o: end, f: print })).toString('base64url'),
  };
};

// ---------------------------------------------------------------------------------------------------
// Output shapes

const tagList = (tags: Readonly<Record<string, string>>) => {
  const entries = Object.entries(tags);
  return entries.length === 0 ? undefined : entries.map(([Key, Value]) => ({ Key, Value }));
};

const vpcOutput = (vpc: Ec2Vpc) => ({
  OwnerId: vpc.ownerId,
  InstanceTenancy: 'default',
  CidrBlockAssociationSet: [
    {
      AssociationId: vpc.cidrBlockAssociationId,
      CidrBlock: vpc.cidrBlock,
      CidrBlockState: { State: 'associated' },
    },
  ],
  IsDefault: vpc.isDefault,
  Tags: tagList(vpc.tags),
  BlockPublicAccessStates: { InternetGatewayBlockMode: 'off' },
  VpcId: vpc.vpcId,
  State: vpc.state,
  CidrBlock: vpc.cidrBlock,
  DhcpOptionsId: vpc.dhcpOptionsId,
});

const subnetOutput = (subnet: Ec2Subnet) => ({
  AvailabilityZoneId: subnet.availabilityZoneId,
  MapCustomerOwnedIpOnLaunch: false,
  OwnerId: subnet.ownerId,
  AssignIpv6AddressOnCreation: false,
  Ipv6CidrBlockAssociationSet: [],
  Tags: tagList(subnet.tags),
  SubnetArn: subnet.subnetArn,
  EnableDns64: false,
  Ipv6Native: false,
  PrivateDnsNameOptionsOnLaunch: {
    HostnameType: 'ip-name',
    EnableResourceNameDnsARecord: false,
    EnableResourceNameDnsAAAARecord: false,
  },
  BlockPublicAccessStates: { InternetGatewayBlockMode: 'off' },
  SubnetId: subnet.subnetId,
  State: subnet.state,
  VpcId: subnet.vpcId,
  CidrBlock: subnet.cidrBlock,
  AvailableIpAddressCount: subnet.availableIpAddressCount,
  AvailabilityZone: subnet.availabilityZone,
  DefaultForAz: subnet.defaultForAz,
  MapPublicIpOnLaunch: subnet.mapPublicIpOnLaunch,
});

const notFound = (code: string, noun: string, missing: readonly string[]): AwsServiceError =>
  missing.length === 1
    ? new AwsServiceError(code, `The ${noun} ID '${missing[0]}' does not exist`)
    : new AwsServiceError(code, `The ${noun} IDs '${missing.join(', ')}' do not exist`);

// ---------------------------------------------------------------------------------------------------
// Service

interface DescribeVpcsInput {
  Filters?: FilterInput[];
  VpcIds?: string[];
  NextToken?: string;
  MaxResults?: number;
  DryRun?: boolean;
}

interface DescribeSubnetsInput {
  Filters?: FilterInput[];
  SubnetIds?: string[];
  NextToken?: string;
  MaxResults?: number;
  DryRun?: boolean;
}

export const createEc2Service = (options: Ec2ServiceOptions): Ec2Service => {
  const { region, accountId } = options;
  const zones = [...(options.availabilityZones ?? defaultZones(region))];
  const zoneShort = regionShortName(region);
  const vpcs = new Map<string, Ec2Vpc>();
  const subnets = new Map<string, Ec2Subnet>();
  const securityGroups = new Map<string, Ec2SecurityGroup>();
  let defaultVpcId: string | undefined;

  const requireVpc = (vpcId: string): Ec2Vpc => {
    const vpc = vpcs.get(vpcId);
    if (!vpc) throw new Error(`No VPC ${vpcId}`);
    return vpc;
  };

  const addSecurityGroup = (sg: {
    vpcId: string;
    groupName: string;
    description?: string;
  }): string => {
    requireVpc(sg.vpcId);
    for (const existing of securityGroups.values()) {
      if (existing.vpcId === sg.vpcId && existing.groupName === sg.groupName) {
        throw new Error(`Security group ${sg.groupName} already exists in ${sg.vpcId}`);
      }
    }
    const groupId = hexId('sg');
    securityGroups.set(groupId, {
      groupId,
      groupName: sg.groupName,
      description: sg.description ?? sg.groupName,
      vpcId: sg.vpcId,
      ownerId: accountId,
    });
    return groupId;
  };

  const addVpc = (vpc: {
    cidrBlock: string;
    isDefault?: boolean;
    tags?: Record<string, string>;
  }): string => {
    const cidr = parseCidr(vpc.cidrBlock);
    if (cidr.prefix < 16 || cidr.prefix > 28) {
      throw new Error(`VPC CIDR block must be between /16 and /28: ${vpc.cidrBlock}`);
    }
    const isDefault = vpc.isDefault ?? false;
    if (isDefault && defaultVpcId !== undefined) {
      throw new Error(`The account already has a default VPC (${defaultVpcId})`);
    }
    const vpcId = hexId('vpc');
    vpcs.set(vpcId, {
      vpcId,
      cidrBlock: vpc.cidrBlock,
      isDefault,
      state: 'available',
      ownerId: accountId,
      dhcpOptionsId: hexId('dopt'),
      cidrBlockAssociationId: hexId('vpc-cidr-assoc'),
      tags: { ...vpc.tags },
    });
    if (isDefault) defaultVpcId = vpcId;
    addSecurityGroup({ vpcId, groupName: 'default', description: 'default VPC security group' });
    return vpcId;
  };

  const insertSubnet = (subnet: {
    vpcId: string;
    availabilityZone: string;
    cidrBlock: string;
    mapPublicIpOnLaunch: boolean;
    defaultForAz: boolean;
    tags: Record<string, string>;
  }): string => {
    const vpc = requireVpc(subnet.vpcId);
    const zoneIndex = zones.indexOf(subnet.availabilityZone);
    if (zoneIndex < 0) {
      throw new Error(`${subnet.availabilityZone} is not an availability zone of ${region}`);
    }
    const cidr = parseCidr(subnet.cidrBlock);
    if (cidr.prefix < 16 || cidr.prefix > 28) {
      throw new Error(`Subnet CIDR block must be between /16 and /28: ${subnet.cidrBlock}`);
    }
    if (!cidrContains(parseCidr(vpc.cidrBlock), cidr)) {
      throw new Error(`${subnet.cidrBlock} is not inside ${vpc.vpcId} (${vpc.cidrBlock})`);
    }
    for (const other of subnets.values()) {
      if (other.vpcId === vpc.vpcId && cidrOverlaps(parseCidr(other.cidrBlock), cidr)) {
        throw new Error(`${subnet.cidrBlock} overlaps ${other.subnetId} (${other.cidrBlock})`);
      }
    }
    const subnetId = hexId('subnet');
    subnets.set(subnetId, {
      subnetId,
      subnetArn: `arn:aws:ec2:${region}:${accountId}:subnet/${subnetId}`,
      vpcId: vpc.vpcId,
      availabilityZone: subnet.availabilityZone,
      availabilityZoneId: `${zoneShort}-az${zoneIndex + 1}`,
      cidrBlock: subnet.cidrBlock,
      availableIpAddressCount: cidrSize(cidr) - 5,
      defaultForAz: subnet.defaultForAz,
      mapPublicIpOnLaunch: subnet.mapPublicIpOnLaunch,
      state: 'available',
      ownerId: accountId,
      tags: subnet.tags,
    });
    return subnetId;
  };

  if (options.defaultVpc ?? true) {
    const vpcId = addVpc({ cidrBlock: '172.31.0.0/16', isDefault: true });
    zones.forEach((availabilityZone, i) => {
      insertSubnet({
        vpcId,
        availabilityZone,
        cidrBlock: `172.31.${i * 16}.0/20`,
        mapPublicIpOnLaunch: true,
        defaultForAz: true,
        tags: {},
      });
    });
  }

  const describeVpcs = (input: DescribeVpcsInput): Record<string, unknown> => {
    const ids = [...new Set(input.VpcIds ?? [])];
    const missing = ids.filter((id) => !vpcs.has(id));
    if (missing.length > 0) throw notFound('InvalidVpcID.NotFound', 'vpc', missing);
    const matchers = compileFilters(input.Filters, VPC_FILTERS, new Set());
    const selected = [...vpcs.values()].filter(
      (vpc) => (ids.length === 0 || ids.includes(vpc.vpcId)) && matchers.every((m) => m(vpc))
    );
    const { page, nextToken } = paginate(selected, { ...input });
    return { NextToken: nextToken, Vpcs: page.map(vpcOutput) };
  };

  const describeSubnets = (input: DescribeSubnetsInput): Record<string, unknown> => {
    const ids = [...new Set(input.SubnetIds ?? [])];
    const missing = ids.filter((id) => !subnets.has(id));
    if (missing.length > 0) throw notFound('InvalidSubnetID.NotFound', 'subnet', missing);
    const matchers = compileFilters(input.Filters, SUBNET_FILTERS, SUBNET_EXACT_FILTERS);
    const selected = [...subnets.values()].filter(
      (subnet) =>
        (ids.length === 0 || ids.includes(subnet.subnetId)) && matchers.every((m) => m(subnet))
    );
    const { page, nextToken } = paginate(selected, { ...input });
    return { NextToken: nextToken, Subnets: page.map(subnetOutput) };
  };

  const handle = (action: string, params: URLSearchParams): string => {
    const model = loadModel();
    const operation = model.operations[action];
    if (!operation) {
      throw new AwsServiceError(
        'InvalidAction',
        `The action ${action} is not valid for this web service.`
      );
    }
    const version = params.get('Version');
    if (version === null) {
      throw new AwsServiceError(
        'MissingParameter',
        'The request must contain the parameter Version'
      );
    }
    if (version !== model.metadata.apiVersion) {
      throw new AwsServiceError(
        'NoSuchVersion',
        `The requested version (${version}) of service AmazonEC2 does not exist`
      );
    }
    const reader = new QueryReader(model, params);
    const input = operation.input ? (reader.readStructure(operation.input.shape, '') ?? {}) : {};
    const unknown = reader.unknownKeys()[0];
    if (unknown !== undefined) {
      throw new AwsServiceError('UnknownParameter', `The parameter ${unknown} is not recognized`);
    }
    const problem = checkOperationInput(model, action, input);
    if (problem !== null) throw new AwsServiceError('InvalidParameterValue', problem.message);
    if (input.DryRun === true) {
      throw new AwsServiceError(
        'DryRunOperation',
        'Request would have succeeded, but DryRun flag is set.',
        412
      );
    }
    switch (action) {
      case 'DescribeVpcs':
        return xmlResponse(model, action, describeVpcs(input as DescribeVpcsInput));
      case 'DescribeSubnets':
        return xmlResponse(model, action, describeSubnets(input as DescribeSubnetsInput));
      default:
        throw new AwsServiceError(
          'InvalidAction',
          `The action ${action} is not valid for this web service.`
        );
    }
  };

  return {
    region,
    accountId,
    availabilityZones: zones,
    get defaultVpcId() {
      return defaultVpcId;
    },
    handle,
    addVpc,
    addSubnet: (subnet) =>
      insertSubnet({
        vpcId: subnet.vpcId,
        availabilityZone: subnet.availabilityZone,
        cidrBlock: subnet.cidrBlock,
        mapPublicIpOnLaunch: subnet.mapPublicIpOnLaunch ?? false,
        defaultForAz: false,
        tags: { ...subnet.tags },
      }),
    addSecurityGroup,
    defaultSecurityGroupId: (vpcId) => {
      const id = vpcId ?? defaultVpcId;
      if (id === undefined) throw new Error('There is no default VPC');
      for (const sg of securityGroups.values()) {
        if (sg.vpcId === id && sg.groupName === 'default') return sg.groupId;
      }
      throw new Error(`No VPC ${id}`);
    },
    deleteVpc: (vpcId) => {
      requireVpc(vpcId);
      for (const [id, subnet] of subnets) if (subnet.vpcId === vpcId) subnets.delete(id);
      for (const [id, sg] of securityGroups) if (sg.vpcId === vpcId) securityGroups.delete(id);
      vpcs.delete(vpcId);
      if (defaultVpcId === vpcId) defaultVpcId = undefined;
    },
    getVpc: (vpcId) => vpcs.get(vpcId),
    getSubnet: (subnetId) => subnets.get(subnetId),
    getSecurityGroup: (groupId) => securityGroups.get(groupId),
  };
};
