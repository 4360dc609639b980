/**
 * Reads an STS `AssumeRole` request (query protocol) the way STS does: every parameter must be one
 * the API knows (`UnknownParameter` otherwise), lists arrive as `Name.member.N[.Field]`, and the
 * decoded input is checked against the botocore model (`models/sts.subset.json`): required members,
 * lengths, ranges and patterns, answered as STS answers them, `ValidationError` with
 * `N validation error(s) detected: Value '…' at 'roleSessionName' failed to satisfy constraint: …`
 * (STS names members in lower camel case, lists as `tags.1.member.key`).
 *
 * Source of the rules: the STS API reference, AssumeRole
 * (https://docs.aws.amazon.com/STS/latest/APIReference/API_AssumeRole.html): RoleArn 20-2048,
 * RoleSessionName 2-64 `[\w+=,.@-]*`, DurationSeconds 900-43200, ExternalId 2-1224 `[\w+=,.@:\/-]*`,
 * SerialNumber 9-256, TokenCode 6 digits, SourceIdentity 2-64, Tags ≤ 50, TransitiveTagKeys ≤ 50,
 * ProvidedContexts 1-5; "You can pass up to 10 managed policy ARNs"; SourceIdentity "cannot start
 * with `aws:`"; the session policy and tags are packed into a space whose use AssumeRole answers as
 * `PackedPolicySize` (a percentage), `PackedPolicyTooLarge` beyond 100 %.
 */
import { deflateRawSync } from 'node:zlib';
import {
  checkOperationInput,
  loadServiceModel,
  type ServiceModel,
  type ValidationIssue,
} from './model-validator.ts';
import { AwsServiceError } from './service.ts';

const stsModel = (): ServiceModel =>
  loadServiceModel(new URL('./models/sts.subset.json', import.meta.url));

export interface AssumeRoleRequest {
  roleArn: string;
  roleSessionName: string;
  durationSeconds?: number;
  externalId?: string;
  policy?: string;
  policyArns: string[];
  tags: { key: string; value: string }[];
  transitiveTagKeys: string[];
  serialNumber?: string;
  tokenCode?: string;
  sourceIdentity?: string;
  providedContexts: { providerArn?: string; contextAssertion?: string }[];
}

const SCALARS = [
  'RoleArn',
  'RoleSessionName',
  'DurationSeconds',
  'ExternalId',
  'Policy',
  'SerialNumber',
  'TokenCode',
  'SourceIdentity',
] as const;

/** `Name.member.N` or `Name.member.N.Field`; a bare `Name` (empty) is how the SDK sends `[]`. */
const LISTS: Readonly<Record<string, readonly string[] | null>> = {
  PolicyArns: ['arn'],
  Tags: ['Key', 'Value'],
  TransitiveTagKeys: null,
  ProvidedContexts: ['ProviderArn', 'ContextAssertion'],
};

/** Documented limit the model does not carry: "You can pass up to 10 managed policy ARNs". */
const MAX_POLICY_ARNS = 10;

/**
 * The packed space's size is not published; the stand-in compresses the session policy, policy ARNs
 * and tags and measures them against 2,048 bytes, enough for AssumeRole's answer to carry a
 * plausible percentage and for an oversized policy to be refused.
 */
const PACKED_SPACE_BYTES = 2048;

const unknownParameter = (key: string): AwsServiceError =>
  new AwsServiceError('UnknownParameter', `The parameter ${key} is not recognized`);

const validationError = (message: string): AwsServiceError =>
  new AwsServiceError('ValidationError', message);

/** `Tags.1.member.Key` → `tags.1.member.key`: STS's member paths are lower camel case. */
const stsPath = (path: string): string =>
  path
    .split('.')
    .map((segment) => segment.charAt(0).toLowerCase() + segment.slice(1))
    .join('.');

const rewriteIssue = (issue: ValidationIssue): string =>
  issue.message.replace(`at '${issue.path}'`, `at '${stsPath(issue.path)}'`);

/** Decodes the form parameters into the model's input shape (PascalCase, lists as arrays). */
const decode = (params: URLSearchParams): Record<string, unknown> => {
  const input: Record<string, unknown> = {};
  const lists = new Map<string, Map<number, Record<string, string> | string>>();
  for (const key of new Set(params.keys())) {
    if (key === 'Action' || key === 'Version') continue;
    const value = params.get(key) ?? '';
    if ((SCALARS as readonly string[]).includes(key)) {
      input[key] = value;
      continue;
    }
    if (Object.hasOwn(LISTS, key)) {
      if (value !== '') throw unknownParameter(key);
      lists.set(key, lists.get(key) ?? new Map());
      continue;
    }
    const match = /^([A-Za-z]+)\.member\.([1-9]\d*)(?:\.([A-Za-z]+))?$/.exec(key);
    const [, name, index, field] = match ?? [];
    const fields = name === undefined ? undefined : LISTS[name];
    if (!name || !index || fields === undefined || !Object.hasOwn(LISTS, name)) {
      throw unknownParameter(key);
    }
    const items = lists.get(name) ?? new Map<number, Record<string, string> | string>();
    lists.set(name, items);
    if (fields === null) {
      if (field !== undefined) throw unknownParameter(key);
      items.set(Number(index), value);
      continue;
    }
    if (field === undefined || !fields.includes(field)) throw unknownParameter(key);
    const item = items.get(Number(index));
    const record = typeof item === 'object' ? item : {};
    record[field] = value;
    items.set(Number(index), record);
  }
  for (const [name, items] of lists) {
    input[name] = [...items.entries()].sort(([a], [b]) => a - b).map(([, item]) => item);
  }
  return input;
};

/** How much of the packed space the session policy, policy ARNs and tags use, in percent. */
export const packedPolicySize = (request: AssumeRoleRequest): number | undefined => {
  if (
    request.policy === undefined &&
    request.policyArns.length === 0 &&
    request.tags.length === 0
  ) {
    return undefined;
  }
  let compact = request.policy ?? '';
  try {
    if (request.policy !== undefined) compact = JSON.stringify(JSON.parse(request.policy));
  } catch {
    // Malformed policies are refused before the size matters.
  }
  const packed = deflateRawSync(
    Buffer.from(JSON.stringify([compact, request.policyArns, request.tags]))
  ).length;
  return Math.max(1, Math.ceil((packed * 100) / PACKED_SPACE_BYTES));
};

/** The AssumeRole input, or the error STS answers the parameters with. */
export const readAssumeRoleRequest = (params: URLSearchParams): AssumeRoleRequest => {
  const input = decode(params);
  const problem = checkOperationInput(stsModel(), 'AssumeRole', input, { scalarsAsStrings: true });
  if (problem) {
    const messages = problem.issues.map(rewriteIssue);
    throw validationError(
      `${messages.length} validation error${messages.length === 1 ? '' : 's'} detected: ${messages.join('; ')}`
    );
  }
  const text = (name: string): string | undefined =>
    typeof input[name] === 'string' ? (input[name] as string) : undefined;
  const list = <T>(name: string): T[] => (Array.isArray(input[name]) ? (input[name] as T[]) : []);
  const duration = text('DurationSeconds');
  const request: AssumeRoleRequest = {
    roleArn: text('RoleArn') ?? '',
    roleSessionName: text('RoleSessionName') ?? '',
    ...(duration === undefined ? {} : { durationSeconds: Number(duration) }),
    ...optional('externalId', text('ExternalId')),
    ...optional('policy', text('Policy')),
    ...optional('serialNumber', text('SerialNumber')),
    ...optional('tokenCode', text('TokenCode')),
    ...optional('sourceIdentity', text('SourceIdentity')),
    policyArns: list<{ arn?: string }>('PolicyArns').map((item) => item.arn ?? ''),
    tags: list<{ Key: string; Value: string }>('Tags').map((tag) => ({
      key: tag.Key,
      value: tag.Value,
    })),
    transitiveTagKeys: list<string>('TransitiveTagKeys'),
    providedContexts: list<{ ProviderArn?: string; ContextAssertion?: string }>(
      'ProvidedContexts'
    ).map((context) => ({
      ...optional('providerArn', context.ProviderArn),
      ...optional('contextAssertion', context.ContextAssertion),
    })),
  };
  checkSemantics(request);
  return request;
};

const optional = <K extends string>(key: K, value: string | undefined): { [P in K]?: string } =>
  value === undefined ? {} : ({ [key]: value } as { [P in K]: string });

/**
 * The rules the API reference states that the model's constraints do not express (the reference
 * gives the rules, not the messages: the wording here is the stand-in's).
 */
const checkSemantics = (request: AssumeRoleRequest): void => {
  if (request.sourceIdentity?.toLowerCase().startsWith('aws:')) {
    throw validationError('SourceIdentity cannot start with the reserved prefix aws:');
  }
  if (request.policyArns.length > MAX_POLICY_ARNS) {
    throw validationError(
      `1 validation error detected: Value '[${request.policyArns.join(', ')}]' at 'policyArns' failed to satisfy constraint: Member must have length less than or equal to ${MAX_POLICY_ARNS}`
    );
  }
  const tagKeys = new Set(request.tags.map((tag) => tag.key.toLowerCase()));
  if (tagKeys.size !== request.tags.length) {
    throw new AwsServiceError(
      'InvalidParameterValue',
      'Duplicate tag keys found. Please note that Tag keys are case insensitive.'
    );
  }
  for (const key of request.transitiveTagKeys) {
    if (!tagKeys.has(key.toLowerCase())) {
      throw new AwsServiceError(
        'InvalidParameterValue',
        `The key ${key} in TransitiveTagKeys is not present in the Tags.`
      );
    }
  }
  if (request.policy !== undefined) {
    try {
      JSON.parse(request.policy);
    } catch {
      throw new AwsServiceError(
        'MalformedPolicyDocument',
        'The policy is not in the valid JSON format.'
      );
    }
  }
  const packed = packedPolicySize(request);
  if (packed !== undefined && packed > 100) {
    throw new AwsServiceError(
      'PackedPolicyTooLarge',
      `Packed policy consumes ${packed}% of allotted space, please use smaller policy.`
    );
  }
};
