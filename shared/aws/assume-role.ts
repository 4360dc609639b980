/**
 * STS AssumeRole, for pools whose `aws_credentials` names `assume_role_arn` (prefect-aws calls
 * `sts.assume_role(RoleArn=…, RoleSessionName=…, **assume_role_kwargs)` the same way).
 *
 * One query-protocol POST (`Action=AssumeRole&Version=2011-06-15`, XML answer) signed with
 * `sendSignedRequest`, not `@aws-sdk/client-sts` (+22 KB per bundle; the launcher is at its 500 KB
 * budget). Sent to STS in the functions' own region: regional STS endpoints are on by default, and
 * their session tokens are valid in every region (https://docs.aws.amazon.com/IAM/latest/UserGuide/id_credentials_temp_region-endpoints.html).
 *
 * Errors are {@link AssumeRoleError}s: `retryable` for throttling, 5xx and network failures; the
 * rest (AccessDenied, a malformed policy, a region disabled) fail the same way every time and say
 * what to fix. They never carry credentials.
 */
import type { AssumeRoleRequest } from './aws-credentials-settings.ts';
import { type AwsCredentials, awsEndpointOf, sendSignedRequest } from './signed-aws-request.ts';

export const STS_VERSION = '2011-06-15';

/** Temporary credentials with their expiry. */
export interface AssumedCredentials extends AwsCredentials {
  sessionToken: string;
  expiration: Date;
}

/** A failed AssumeRole. */
export class AssumeRoleError extends Error {
  override readonly name = 'AssumeRoleError';
  readonly code: string;
  readonly retryable: boolean;
  constructor(message: string, code: string, retryable: boolean, options?: ErrorOptions) {
    super(message, options);
    this.code = code;
    this.retryable = retryable;
  }
}

const RETRYABLE = new Set([
  'Throttling',
  'ThrottlingException',
  'RequestLimitExceeded',
  'InternalFailure',
  'InternalError',
  'ServiceUnavailable',
  'IDPCommunicationError',
  'NetworkError',
]);

const FIXES: Record<string, string> = {
  AccessDenied:
    "the role's trust policy must trust the stack's function roles (and ask for the ExternalId the block sends), and the role must be listed in the stack parameter assumeRoleArns",
  RegionDisabledException: "activate STS in the functions' region (IAM console, Account settings)",
  MalformedPolicyDocument: 'fix assume_role_kwargs.Policy',
  PackedPolicyTooLarge: 'shorten assume_role_kwargs.Policy, PolicyArns or Tags',
  ExpiredToken: "the block's aws_session_token has expired: renew the block's keys",
  InvalidClientTokenId: "the block's aws_access_key_id is not a valid key",
  SignatureDoesNotMatch: "the block's aws_secret_access_key does not match its aws_access_key_id",
  ValidationError: 'fix assume_role_kwargs (see the message)',
};

const XML_ENTITIES: Record<string, string> = {
  amp: '&',
  lt: '<',
  gt: '>',
  quot: '"',
  apos: "'",
};
const unescapeXml = (text: string): string =>
  text.replace(/&(amp|lt|gt|quot|apos|#\d+|#x[0-9a-fA-F]+);/g, (_, name: string) =>
    name.startsWith('#x')
      ? String.fromCodePoint(Number.parseInt(name.slice(2), 16))
      : name.startsWith('#')
        ? String.fromCodePoint(Number(name.slice(1)))
        : (XML_ENTITIES[name] ?? '')
  );
const element = (xml: string, name: string): string | undefined => {
  const match = new RegExp(`<${name}>([^<]*)</${name}>`).exec(xml);
  return match?.[1] === undefined ? undefined : unescapeXml(match[1]);
};

/** `Name=value` pairs of the query protocol; lists as `Name.member.N[.field]`. */
export const assumeRoleForm = (request: AssumeRoleRequest & { RoleSessionName: string }) => {
  const form = new URLSearchParams({ Action: 'AssumeRole', Version: STS_VERSION });
  for (const [name, value] of Object.entries(request)) {
    if (value === undefined) continue;
    if (!Array.isArray(value)) {
      form.set(name, String(value));
      continue;
    }
    value.forEach((item: unknown, index) => {
      const prefix = `${name}.member.${index + 1}`;
      if (typeof item === 'string') form.set(prefix, item);
      else {
        for (const [field, text] of Object.entries(item as Record<string, string>)) {
          form.set(`${prefix}.${field}`, text);
        }
      }
    });
  }
  return form;
};

/** Options of {@link createAssumeRole}. */
export interface AssumeRoleOptions {
  /** STS's region: the functions' own. */
  region: string;
  env?: Readonly<Record<string, string | undefined>>;
  fetch?: typeof fetch;
}

/** Calls AssumeRole with `base` credentials. */
export type AssumeRoleCall = (
  request: AssumeRoleRequest & { RoleSessionName: string },
  base: () => Promise<AwsCredentials>
) => Promise<AssumedCredentials>;

/**
 * @example
 * const assumeRole = createAssumeRole({ region: 'us-east-1' });
 * const credentials = await assumeRole({ RoleArn, RoleSessionName: 'prefect-session-1a2b3c4d' }, ecsClient.config.credentials);
 */
export const createAssumeRole =
  (options: AssumeRoleOptions): AssumeRoleCall =>
  async (request, base) => {
    const fail = (code: string, detail?: string, cause?: unknown): never => {
      const fix = FIXES[code];
      throw new AssumeRoleError(
        `Could not assume ${request.RoleArn}: ${code}${detail ? `: ${detail}` : ''}${fix ? ` (${fix})` : ''}`,
        code,
        RETRYABLE.has(code),
        cause === undefined ? undefined : { cause }
      );
    };
    let answer: { status: number; text: string };
    try {
      answer = await sendSignedRequest({
        service: 'sts',
        region: options.region,
        url: awsEndpointOf('sts', options.region, options.env),
        credentials: base,
        headers: { 'content-type': 'application/x-www-form-urlencoded; charset=utf-8' },
        body: assumeRoleForm(request).toString(),
        fetch: options.fetch,
      });
    } catch (error) {
      return fail('NetworkError', error instanceof Error ? error.message : String(error), error);
    }
    const { status, text } = answer;
    if (status !== 200) {
      const code = element(text, 'Code') ?? (status >= 500 ? 'InternalFailure' : `HTTP${status}`);
      return fail(code, element(text, 'Message'));
    }
    const credentials = /<Credentials>([\s\S]*?)<\/Credentials>/.exec(text)?.[1] ?? '';
    const accessKeyId = element(credentials, 'AccessKeyId');
    const secretAccessKey = element(credentials, 'SecretAccessKey');
    const sessionToken = element(credentials, 'SessionToken');
    const expiration = new Date(element(credentials, 'Expiration') ?? Number.NaN);
    if (!accessKeyId || !secretAccessKey || !sessionToken || Number.isNaN(expiration.getTime())) {
      return fail('UnexpectedResponse', 'no complete Credentials in the answer');
    }
    return { accessKeyId, secretAccessKey, sessionToken, expiration };
  };
