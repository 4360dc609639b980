/**
 * A minimal client for the AWS query-protocol calls the doctor makes whose SDK clients are not
 * dependencies of this project: STS GetCallerIdentity and IAM GetRole. A form-encoded POST, signed
 * with SigV4 (`@smithy/signature-v4`, which every AWS SDK client already brings), with the SDK's
 * default credential chain (taken from an SDK client's configuration), answered in XML.
 *
 * Endpoints as the SDK chooses them: `AWS_ENDPOINT_URL_STS` / `AWS_ENDPOINT_URL_IAM`, else
 * `AWS_ENDPOINT_URL` (unless `AWS_IGNORE_CONFIGURED_ENDPOINT_URLS=true`), else the regional STS
 * endpoint and the partition's global IAM endpoint (signed for `us-east-1` in `aws`).
 */
import { createHash, createHmac, type Hash, type Hmac } from 'node:crypto';
import { SignatureV4 } from '@smithy/signature-v4';
import { xmlText } from './xml-text.ts';

/** AWS credentials as the SDK's providers return them. */
export interface AwsCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string | undefined;
}

export type QueryService = 'sts' | 'iam';

export interface AwsQueryClientOptions {
  service: QueryService;
  /** The configured region (STS's endpoint and signing region; IAM's partition). */
  region: string;
  /** Resolves the credentials (e.g. `new EC2Client({ region }).config.credentials`). */
  credentials: () => Promise<AwsCredentials>;
  env: Readonly<Record<string, string | undefined>>;
  fetch?: typeof fetch;
  /** Per attempt (default 10 000 ms). */
  timeoutMs?: number;
  /** Attempts for throttling, 5xx and network errors (default 3). */
  maxAttempts?: number;
  sleep?: (ms: number) => Promise<void>;
}

/** The service answered an error (`code` from its XML), or could not be reached (`NetworkError`). */
export class AwsQueryError extends Error {
  override readonly name: string = 'AwsQueryError';
  readonly code: string;
  /** HTTP status; 0 when nothing was answered. */
  readonly status: number;

  constructor(code: string, message: string, status: number, options?: { cause?: unknown }) {
    super(`${code}: ${message}`, options);
    this.code = code;
    this.status = status;
  }
}

const API_VERSIONS: Readonly<Record<QueryService, string>> = {
  sts: '2011-06-15',
  iam: '2010-05-08',
};

const partitionOf = (region: string): 'aws' | 'aws-cn' | 'aws-us-gov' =>
  region.startsWith('cn-') ? 'aws-cn' : region.startsWith('us-gov-') ? 'aws-us-gov' : 'aws';

/** Where to send the request and which region to sign it for (pure). */
export const queryEndpoint = (
  service: QueryService,
  region: string,
  env: Readonly<Record<string, string | undefined>>
): { url: string; signingRegion: string } => {
  const partition = partitionOf(region);
  const signingRegion =
    service === 'sts'
      ? region
      : partition === 'aws-cn'
        ? 'cn-north-1'
        : partition === 'aws-us-gov'
          ? 'us-gov-west-1'
          : 'us-east-1';
  const configured =
    env.AWS_IGNORE_CONFIGURED_ENDPOINT_URLS?.toLowerCase() === 'true'
      ? undefined
      : (env[`AWS_ENDPOINT_URL_${service.toUpperCase()}`] ?? env.AWS_ENDPOINT_URL);
  if (configured) return { url: configured, signingRegion };
  const suffix = partition === 'aws-cn' ? 'amazonaws.com.cn' : 'amazonaws.com';
  if (service === 'sts') return { url: `https://sts.${region}.${suffix}`, signingRegion };
  if (partition === 'aws-cn') return { url: `https://iam.cn-north-1.${suffix}`, signingRegion };
  if (partition === 'aws-us-gov') return { url: 'https://iam.us-gov.amazonaws.com', signingRegion };
  return { url: 'https://iam.amazonaws.com', signingRegion };
};

/** SHA-256 (and HMAC-SHA-256 with a secret) in the shape the signer takes. */
class Sha256 {
  readonly #hash: Hash | Hmac;

  constructor(secret?: string | ArrayBuffer | ArrayBufferView) {
    this.#hash =
      secret === undefined
        ? createHash('sha256')
        : createHmac(
            'sha256',
            typeof secret === 'string'
              ? secret
              : ArrayBuffer.isView(secret)
                ? new Uint8Array(secret.buffer, secret.byteOffset, secret.byteLength)
                : new Uint8Array(secret)
          );
  }

  update(data: string | ArrayBuffer | ArrayBufferView): void {
    this.#hash.update(
      typeof data === 'string'
        ? data
        : ArrayBuffer.isView(data)
          ? new Uint8Array(data.buffer, data.byteOffset, data.byteLength)
          : new Uint8Array(data)
    );
  }

  digest(): Promise<Uint8Array> {
    return Promise.resolve(new Uint8Array(this.#hash.digest()));
  }
}

const isRetryable = (error: AwsQueryError): boolean =>
  error.status === 0 ||
  error.status >= 500 ||
  error.code === 'Throttling' ||
  error.code === 'ThrottlingException' ||
  error.code === 'RequestLimitExceeded';

/** A query-protocol client for one service. */
export interface AwsQueryClient {
  /** Sends `Action` with `params`; resolves with the XML answer, or throws {@link AwsQueryError}. */
  call(action: string, params?: Readonly<Record<string, string>>): Promise<string>;
}

export const createAwsQueryClient = (options: AwsQueryClientOptions): AwsQueryClient => {
  const { url, signingRegion } = queryEndpoint(options.service, options.region, options.env);
  const endpoint = new URL(url);
  const send = options.fetch ?? fetch;
  const sleep = options.sleep ?? ((ms: number) => new Promise((r) => setTimeout(r, ms)));
  const maxAttempts = options.maxAttempts ?? 3;
  const signer = new SignatureV4({
    service: options.service,
    region: signingRegion,
    credentials: options.credentials,
    sha256: Sha256,
  });

  const attempt = async (body: string): Promise<string> => {
    const path = endpoint.pathname || '/';
    const signed = await signer.sign({
      method: 'POST',
      protocol: endpoint.protocol,
      hostname: endpoint.hostname,
      ...(endpoint.port ? { port: Number(endpoint.port) } : {}),
      path,
      query: {},
      headers: {
        host: endpoint.host,
        'content-type': 'application/x-www-form-urlencoded; charset=utf-8',
      },
      body,
    });
    let response: Response;
    try {
      response = await send(new URL(path, endpoint), {
        method: 'POST',
        headers: signed.headers,
        body,
        signal: AbortSignal.timeout(options.timeoutMs ?? 10_000),
      });
    } catch (error) {
      throw new AwsQueryError(
        'NetworkError',
        `could not reach ${options.service.toUpperCase()} at ${endpoint.origin} (${error instanceof Error ? error.message : String(error)})`,
        0,
        { cause: error }
      );
    }
    const text = await response.text();
    if (response.ok) return text;
    throw new AwsQueryError(
      xmlText(text, 'Code') ?? `HTTP${response.status}`,
      xmlText(text, 'Message') ?? (response.statusText || 'no message'),
      response.status
    );
  };

  return {
    async call(action, params = {}) {
      const body = new URLSearchParams({
        Action: action,
        Version: API_VERSIONS[options.service],
        ...params,
      }).toString();
      for (let tries = 1; ; tries += 1) {
        try {
          return await attempt(body);
        } catch (error) {
          if (!(error instanceof AwsQueryError) || !isRetryable(error) || tries >= maxAttempts) {
            throw error;
          }
          await sleep(100 * 2 ** tries);
        }
      }
    },
  };
};
