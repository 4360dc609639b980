/**
 * Reads the ECS job configuration's `aws_credentials` (a prefect-aws `AwsCredentials` block
 * document, resolved with its secrets, or the same fields given inline) into what our clients need,
 * in prefect-aws's order of precedence (`prefect_aws/credentials.py`, `get_boto3_session` and
 * `_get_client_cached`):
 *
 * 1. base credentials: the block's static keys (`aws_access_key_id` + `aws_secret_access_key`
 *    [+ `aws_session_token`]), else the function's own role (boto3's default chain in Prefect's
 *    worker); `profile_name` cannot work in Lambda (no `~/.aws/config`) and is refused;
 * 2. `assume_role_arn`: STS AssumeRole with the base credentials and `assume_role_kwargs` (the
 *    non-null ones, as `AssumeRoleParameters.get_params_override` gives them; `RoleSessionName`
 *    defaults to `prefect-session-<8 hex>`);
 * 3. region: `region_name`, else `aws_client_parameters.config.region_name`, else the function's;
 * 4. `aws_client_parameters`: `endpoint_url`, and of `config` the keys with an SDK equivalent
 *    (`retries`, `connect_timeout`, `read_timeout`, `region_name`). The others (`api_version`,
 *    `use_ssl`, `verify`, `verify_cert_path`, other `config` keys) have no meaning for the Node SDK
 *    in Lambda: they are listed in `ignored` (render shows them, the launcher logs them on the run).
 *
 * Nothing set (null, `{}`, or only nulls and defaults) is `null`: the function's own credentials
 * and region, as before this feature. Secrets stay in the result's `accessKeys` and nowhere else:
 * messages name fields, never values.
 */
import { createHash } from 'node:crypto';
import { PermanentLaunchError } from '../errors/permanent-launch-error.ts';
import { isJsonObject, type JsonObject } from '../jobs/json-object.ts';

/** Static keys of the block. */
export interface AwsAccessKeys {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string | undefined;
}

/** The STS AssumeRole request of `assume_role_arn` + `assume_role_kwargs` (AWS's member names). */
export interface AssumeRoleRequest {
  RoleArn: string;
  /** Set when the block names one; otherwise a `prefect-session-<8 hex>` is generated per session. */
  RoleSessionName?: string;
  DurationSeconds?: number;
  Policy?: string;
  PolicyArns?: { arn: string }[];
  Tags?: { Key: string; Value: string }[];
  TransitiveTagKeys?: string[];
  ExternalId?: string;
  SerialNumber?: string;
  TokenCode?: string;
  SourceIdentity?: string;
  ProvidedContexts?: { ProviderArn: string; ContextAssertion: string }[];
}

/** Retry and timeout settings of `aws_client_parameters.config`, in the SDK's terms. */
export interface AwsClientTuning {
  maxAttempts?: number;
  retryMode?: 'standard' | 'adaptive';
  connectionTimeoutMs?: number;
  requestTimeoutMs?: number;
}

/** What the pool's `aws_credentials` asks for. */
export interface AwsCredentialsSettings {
  /** `region_name` (or `config.region_name`); undefined: the function's region. */
  region: string | undefined;
  accessKeys: AwsAccessKeys | undefined;
  assumeRole: AssumeRoleRequest | undefined;
  /** `aws_client_parameters.endpoint_url`: ECS, EC2 and CloudWatch Logs calls go there. */
  endpointUrl: string | undefined;
  tuning: AwsClientTuning;
  /** `<field>: <why>` for each field set that has no effect here. */
  ignored: string[];
  /**
   * Identifies these settings (a SHA-256 over all of them, secrets included, so two blocks with
   * different keys never share clients): the cache key of the clients built from them.
   */
  key: string;
}

/** `arn:<partition>:iam::<account>:role/<path/name>`. */
export const ROLE_ARN = /^arn:(aws[a-z-]*):iam::(\d{12}):role\/[\w+=,.@/-]{1,512}$/;
const REGION = /^[a-z]{2}(-[a-z]+)+-\d+$/;
/** What Prefect's UI and API show for a secret read without `include_secrets`. */
const OBFUSCATED = /^\*+$/;

const WHERE = 'the job variable "aws_credentials" (an AWS Credentials block)';

const invalid = (problem: string, fix: string): PermanentLaunchError =>
  new PermanentLaunchError(`${WHERE}: ${problem}. ${fix}`);

const isSet = (value: unknown): boolean =>
  value !== undefined && value !== null && value !== '' && !(isJsonObject(value) && isEmpty(value));
const isEmpty = (object: JsonObject): boolean => Object.values(object).every((v) => !isSet(v));

const text = (block: JsonObject, field: string): string | undefined => {
  const value = block[field];
  if (value === undefined || value === null || value === '') return undefined;
  if (typeof value !== 'string') {
    throw invalid(`${field} must be a string`, `Fix ${field} in the block.`);
  }
  return value;
};

const PROFILE_FIX =
  'Named profiles live in ~/.aws/config on the machine of a Python worker; the Lambda functions have none. Use assume_role_arn with a role listed in the stack parameter assumeRoleArns (docs/deploy.md, "Pools in other accounts and regions"), or clear profile_name to use the stack\'s own role.';

const readAccessKeys = (block: JsonObject): AwsAccessKeys | undefined => {
  const accessKeyId = text(block, 'aws_access_key_id');
  const secretAccessKey = text(block, 'aws_secret_access_key');
  const sessionToken = text(block, 'aws_session_token');
  if (accessKeyId === undefined && secretAccessKey === undefined) return undefined;
  if (accessKeyId === undefined || secretAccessKey === undefined) {
    const missing = accessKeyId === undefined ? 'aws_access_key_id' : 'aws_secret_access_key';
    throw invalid(
      `${missing} is not set, but ${missing === 'aws_access_key_id' ? 'aws_secret_access_key' : 'aws_access_key_id'} is`,
      "Set both static keys in the block, or neither (to use the stack's role or assume_role_arn)."
    );
  }
  if (OBFUSCATED.test(secretAccessKey)) {
    throw invalid(
      'aws_secret_access_key was read obfuscated ("********")',
      'The block must be readable with its secrets (Prefect API key with permission to read block secrets).'
    );
  }
  return { accessKeyId, secretAccessKey, ...(sessionToken ? { sessionToken } : {}) };
};

type KwargKind = 'text' | 'integer' | 'texts' | 'arns' | 'tags' | 'contexts';
const KWARGS: Record<string, KwargKind> = {
  RoleSessionName: 'text',
  DurationSeconds: 'integer',
  Policy: 'text',
  PolicyArns: 'arns',
  Tags: 'tags',
  TransitiveTagKeys: 'texts',
  ExternalId: 'text',
  SerialNumber: 'text',
  TokenCode: 'text',
  SourceIdentity: 'text',
  ProvidedContexts: 'contexts',
};

const objectsWith = (value: unknown, keys: readonly string[]): value is Record<string, string>[] =>
  Array.isArray(value) &&
  value.every((item) => isJsonObject(item) && keys.every((key) => typeof item[key] === 'string'));

const checkKwarg = (name: string, kind: KwargKind, value: unknown): void => {
  const ok =
    kind === 'text'
      ? typeof value === 'string'
      : kind === 'integer'
        ? Number.isInteger(value)
        : kind === 'texts'
          ? Array.isArray(value) && value.every((item) => typeof item === 'string')
          : kind === 'arns'
            ? objectsWith(value, ['arn'])
            : kind === 'tags'
              ? objectsWith(value, ['Key', 'Value'])
              : objectsWith(value, ['ProviderArn', 'ContextAssertion']);
  if (ok) return;
  const shapes: Record<KwargKind, string> = {
    text: 'a string',
    integer: 'an integer',
    texts: 'a list of strings',
    arns: 'a list of {"arn": …}',
    tags: 'a list of {"Key": …, "Value": …}',
    contexts: 'a list of {"ProviderArn": …, "ContextAssertion": …}',
  };
  throw invalid(`assume_role_kwargs.${name} must be ${shapes[kind]}`, 'Fix it in the block.');
};

const readAssumeRole = (block: JsonObject): AssumeRoleRequest | undefined => {
  const roleArn = text(block, 'assume_role_arn');
  const kwargs = block.assume_role_kwargs;
  if (roleArn === undefined) return undefined;
  if (!ROLE_ARN.test(roleArn)) {
    throw invalid(
      `assume_role_arn ${JSON.stringify(roleArn)} is not an IAM role ARN`,
      'Write arn:aws:iam::<account id>:role/<name>.'
    );
  }
  const request: Record<string, unknown> = { RoleArn: roleArn };
  if (kwargs !== undefined && kwargs !== null && !isJsonObject(kwargs)) {
    throw invalid('assume_role_kwargs must be an object', 'Fix it in the block.');
  }
  for (const [name, value] of Object.entries(kwargs ?? {})) {
    if (value === null || value === undefined) continue;
    const kind = KWARGS[name];
    if (kind === undefined) {
      throw invalid(
        `assume_role_kwargs.${name} is not an AssumeRole parameter`,
        `Use ${Object.keys(KWARGS).join(', ')}.`
      );
    }
    checkKwarg(name, kind, value);
    request[name] = value;
  }
  return request as unknown as AssumeRoleRequest;
};

const CLIENT_PARAMETER_NOTES: Record<string, string> = {
  api_version: 'the Node SDK has one API version per service',
  use_ssl: 'the SDK uses the scheme of the endpoint (https unless endpoint_url says http)',
  verify:
    'Lambda always verifies TLS certificates (set NODE_EXTRA_CA_CERTS on the functions for a private CA)',
  verify_cert_path: 'the functions have no such file (set NODE_EXTRA_CA_CERTS instead)',
};

const readTuning = (
  config: JsonObject,
  ignored: string[]
): { tuning: AwsClientTuning; region: string | undefined } => {
  const tuning: AwsClientTuning = {};
  let region: string | undefined;
  const seconds = (name: string, value: unknown): number | undefined => {
    if (typeof value === 'number' && value > 0) return Math.round(value * 1000);
    ignored.push(`aws_client_parameters.config.${name}: not a positive number of seconds`);
    return undefined;
  };
  for (const [name, value] of Object.entries(config)) {
    if (value === null || value === undefined) continue;
    if (name === 'region_name' && typeof value === 'string') region = value;
    else if (name === 'connect_timeout') {
      const ms = seconds(name, value);
      if (ms !== undefined) tuning.connectionTimeoutMs = ms;
    } else if (name === 'read_timeout') {
      const ms = seconds(name, value);
      if (ms !== undefined) tuning.requestTimeoutMs = ms;
    } else if (name === 'retries' && isJsonObject(value)) {
      // botocore: total_max_attempts counts the first call; max_attempts counts retries only.
      const { total_max_attempts: total, max_attempts: retries, mode } = value;
      if (Number.isInteger(total) && (total as number) >= 1) tuning.maxAttempts = total as number;
      else if (Number.isInteger(retries) && (retries as number) >= 0) {
        tuning.maxAttempts = (retries as number) + 1;
      }
      if (mode === 'adaptive' || mode === 'standard') tuning.retryMode = mode;
      else if (mode === 'legacy') {
        tuning.retryMode = 'standard';
        ignored.push('aws_client_parameters.config.retries.mode: "legacy" runs as "standard"');
      }
    } else {
      ignored.push(`aws_client_parameters.config.${name}: no equivalent in the Node SDK`);
    }
  }
  return { tuning, region };
};

const readClientParameters = (
  block: JsonObject,
  ignored: string[]
): { endpointUrl: string | undefined; tuning: AwsClientTuning; region: string | undefined } => {
  const parameters = block.aws_client_parameters;
  if (parameters === undefined || parameters === null) {
    return { endpointUrl: undefined, tuning: {}, region: undefined };
  }
  if (!isJsonObject(parameters)) {
    throw invalid('aws_client_parameters must be an object', 'Fix it in the block.');
  }
  const endpointUrl = text(parameters, 'endpoint_url');
  if (endpointUrl !== undefined && !URL.canParse(endpointUrl)) {
    throw invalid(
      `aws_client_parameters.endpoint_url ${JSON.stringify(endpointUrl)} is not a URL`,
      'Write a URL such as https://ecs.eu-west-1.amazonaws.com, or clear it.'
    );
  }
  for (const [name, note] of Object.entries(CLIENT_PARAMETER_NOTES)) {
    const value = parameters[name];
    // Prefect's defaults (`use_ssl` true, `verify` unset or true) change nothing: not reported.
    const isDefault =
      value === null ||
      value === undefined ||
      (name === 'use_ssl' && value === true) ||
      (name === 'verify' && value === true);
    if (!isDefault) ignored.push(`aws_client_parameters.${name}: ${note}`);
  }
  const config = parameters.config;
  if (config === undefined || config === null)
    return { endpointUrl, tuning: {}, region: undefined };
  if (!isJsonObject(config)) {
    throw invalid('aws_client_parameters.config must be an object', 'Fix it in the block.');
  }
  return { endpointUrl, ...readTuning(config, ignored) };
};

const KNOWN_FIELDS = new Set([
  'aws_access_key_id',
  'aws_secret_access_key',
  'aws_session_token',
  'profile_name',
  'region_name',
  'aws_client_parameters',
  'assume_role_arn',
  'assume_role_kwargs',
]);

/**
 * @example
 * parseAwsCredentials({ assume_role_arn: 'arn:aws:iam::210987654321:role/prefect', region_name: 'eu-west-1' });
 * // { region: 'eu-west-1', assumeRole: { RoleArn: 'arn:aws:iam::210987654321:role/prefect' }, accessKeys: undefined, … }
 * parseAwsCredentials(null); // null: the function's own credentials and region
 */
export const parseAwsCredentials = (value: unknown): AwsCredentialsSettings | null => {
  if (value === undefined || value === null) return null;
  if (!isJsonObject(value)) {
    throw invalid(
      `it is ${Array.isArray(value) ? 'a list' : `a ${typeof value}`}, not a block`,
      'Give the variable a reference to an AWS Credentials block ({"$ref": {"block_document_id": …}}) or the block\'s fields.'
    );
  }
  if (isEmpty(value)) return null;
  const profile = text(value, 'profile_name');
  if (profile !== undefined) {
    throw invalid(`profile_name "${profile}" cannot be used by a serverless worker`, PROFILE_FIX);
  }
  const ignored: string[] = [];
  for (const [name, field] of Object.entries(value)) {
    if (!KNOWN_FIELDS.has(name) && isSet(field)) {
      ignored.push(`${name}: not a field of AWS Credentials`);
    }
  }
  const accessKeys = readAccessKeys(value);
  if (accessKeys === undefined && text(value, 'aws_session_token') !== undefined) {
    ignored.push('aws_session_token: no aws_access_key_id/aws_secret_access_key to go with it');
  }
  const assumeRole = readAssumeRole(value);
  if (assumeRole === undefined && isJsonObject(value.assume_role_kwargs)) {
    if (!isEmpty(value.assume_role_kwargs)) {
      ignored.push('assume_role_kwargs: no assume_role_arn to go with them');
    }
  }
  const client = readClientParameters(value, ignored);
  const region = text(value, 'region_name') ?? client.region;
  if (region !== undefined && !REGION.test(region)) {
    throw invalid(
      `region_name "${region}" is not an AWS region`,
      'Write a region such as eu-west-1.'
    );
  }
  const settings = {
    region,
    accessKeys,
    assumeRole,
    endpointUrl: client.endpointUrl,
    tuning: client.tuning,
  };
  if (
    region === undefined &&
    accessKeys === undefined &&
    assumeRole === undefined &&
    client.endpointUrl === undefined &&
    Object.keys(client.tuning).length === 0
  ) {
    return ignored.length === 0 ? null : { ...settings, ignored, key: 'home' };
  }
  const key = createHash('sha256').update(JSON.stringify(settings)).digest('hex').slice(0, 32);
  return { ...settings, ignored, key };
};

/** The account of `assume_role_arn`, when set: where the run's tasks live. */
export const assumedAccountOf = (settings: AwsCredentialsSettings | null): string | undefined =>
  settings?.assumeRole ? ROLE_ARN.exec(settings.assumeRole.RoleArn)?.[2] : undefined;

/**
 * What render shows and the launcher logs: the role, region and endpoint, and the static key's
 * id only as "AKIA…" with its last 4 characters (never the secret or the session token).
 */
export const describeAwsCredentials = (
  settings: AwsCredentialsSettings | null,
  homeRegion: string
): string[] => {
  if (settings === null) return [`the functions' own role, region ${homeRegion}`];
  const lines: string[] = [];
  const keys = settings.accessKeys;
  const base = keys
    ? `static access key …${keys.accessKeyId.slice(-4)}${keys.sessionToken ? ' with a session token' : ''}`
    : "the functions' own role";
  if (settings.assumeRole) {
    const { RoleArn, RoleSessionName, DurationSeconds, ExternalId } = settings.assumeRole;
    lines.push(
      `assumes ${RoleArn} (STS AssumeRole as ${base}${RoleSessionName ? `, session ${RoleSessionName}` : ''}${DurationSeconds ? `, ${DurationSeconds} s` : ''}${ExternalId ? ', with an external id' : ''})`
    );
  } else lines.push(`uses ${base}`);
  lines.push(
    `region ${settings.region ?? homeRegion}${settings.region ? '' : " (the functions' own)"}`
  );
  if (settings.endpointUrl) lines.push(`endpoint ${settings.endpointUrl}`);
  for (const field of settings.ignored) lines.push(`ignored: ${field}`);
  return lines;
};
