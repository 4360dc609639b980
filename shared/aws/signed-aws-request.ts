/**
 * One SigV4-signed HTTPS request to an AWS endpoint, with the signer the AWS SDK clients already
 * bundle (`@smithy/signature-v4`). For the few calls whose SDK client would cost more bundle than
 * the call is worth (SSM GetParameter, STS AssumeRole: +68 KB and +22 KB; the launcher's budget is
 * 500 KB, BENCHMARKS.md).
 */
import { createHash, createHmac, type Hash, type Hmac } from 'node:crypto';
import { SignatureV4 } from '@smithy/signature-v4';

/** AWS credentials, as the SDK clients' `config.credentials()` gives them. */
export interface AwsCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string | undefined;
}

/** SigV4's hash: SHA-256, or HMAC-SHA-256 with a key. */
class Sha256 {
  private readonly hash: Hash | Hmac;
  constructor(secret?: unknown) {
    this.hash =
      secret === undefined
        ? createHash('sha256')
        : createHmac('sha256', Buffer.from(secret as Uint8Array | string));
  }
  update(data: Uint8Array | string): void {
    this.hash.update(data);
  }
  async digest(): Promise<Uint8Array> {
    return new Uint8Array(this.hash.digest());
  }
  reset(): void {}
}

/**
 * The endpoint of `service` in `region`, as the SDK resolves it: `AWS_ENDPOINT_URL_<SERVICE>`, else
 * `AWS_ENDPOINT_URL`, else `https://<service>.<region>.amazonaws.com` (`.amazonaws.com.cn` in China).
 */
export const awsEndpointOf = (
  service: string,
  region: string,
  env: Readonly<Record<string, string | undefined>> = process.env
): URL => {
  const configured =
    env[`AWS_ENDPOINT_URL_${service.toUpperCase()}`]?.trim() || env.AWS_ENDPOINT_URL?.trim();
  if (configured) return new URL(configured);
  const suffix = region.startsWith('cn-') ? 'amazonaws.com.cn' : 'amazonaws.com';
  return new URL(`https://${service}.${region}.${suffix}/`);
};

/** What {@link sendSignedRequest} signs and sends (always a POST). */
export interface SignedRequest {
  /** The signing name, e.g. `ssm`, `sts`. */
  service: string;
  region: string;
  url: URL;
  credentials: () => Promise<AwsCredentials>;
  headers: Record<string, string>;
  body: string;
  fetch?: typeof fetch | undefined;
}

/**
 * Signs and POSTs; answers the status and body text. Network failures reject with the fetch error.
 *
 * @example
 * await sendSignedRequest({ service: 'sts', region, url, credentials, headers: { 'content-type': 'application/x-www-form-urlencoded' }, body });
 */
export const sendSignedRequest = async (
  request: SignedRequest
): Promise<{ status: number; text: string }> => {
  const { url } = request;
  const signer = new SignatureV4({
    service: request.service,
    region: request.region,
    credentials: request.credentials,
    sha256: Sha256,
  });
  const signed = await signer.sign({
    method: 'POST',
    protocol: url.protocol,
    hostname: url.hostname,
    ...(url.port ? { port: Number(url.port) } : {}),
    path: url.pathname,
    query: {},
    headers: { host: url.host, ...request.headers },
    body: request.body,
  });
  const response = await (request.fetch ?? fetch)(url, {
    method: 'POST',
    headers: signed.headers,
    body: request.body,
  });
  return { status: response.status, text: await response.text() };
};
