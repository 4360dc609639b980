/**
 * The SSM reader signs its one call itself, so its signature is checked here against an independent
 * SigV4 computation (https://docs.aws.amazon.com/IAM/latest/UserGuide/create-signed-request.html)
 * over exactly what was sent: a wrong hash or key derivation would pass the stand-in (which checks
 * the credential scope only) and fail in AWS.
 */
import { createHash, createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createSsmParameterReader } from '../../../../shared/secrets/ssm-parameter-reader.ts';

const SECRET = 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY';
const ARN =
  'arn:aws:ssm:eu-west-1:123456789012:parameter/prefect-ecs-serverless/prod/prefect-api-key';

interface Sent {
  url: URL;
  headers: Record<string, string>;
  body: string;
}

const sha256 = (data: string) => createHash('sha256').update(data).digest('hex');
const hmac = (key: Buffer | string, data: string) =>
  createHmac('sha256', key).update(data).digest();

/** SigV4 of a POST / from first principles: canonical request, string to sign, derived key. */
const expectedSignature = (sent: Sent, region: string, service: string): string => {
  const authorization = sent.headers.authorization ?? '';
  const signedHeaders = /SignedHeaders=([^,]+)/.exec(authorization)?.[1] ?? '';
  const date = sent.headers['x-amz-date'] ?? '';
  const canonical = [
    'POST',
    sent.url.pathname,
    '',
    ...signedHeaders.split(';').map((name) => `${name}:${String(sent.headers[name]).trim()}`),
    '',
    signedHeaders,
    sha256(sent.body),
  ].join('\n');
  const scope = `${date.slice(0, 8)}/${region}/${service}/aws4_request`;
  const toSign = ['AWS4-HMAC-SHA256', date, scope, sha256(canonical)].join('\n');
  const key = hmac(
    hmac(hmac(hmac(`AWS4${SECRET}`, date.slice(0, 8)), region), service),
    'aws4_request'
  );
  return createHmac('sha256', key).update(toSign).digest('hex');
};

const reader = (answer: { status: number; body: unknown }, sent: Sent[]) =>
  createSsmParameterReader({
    credentials: async () => ({
      accessKeyId: 'AKIDEXAMPLE',
      secretAccessKey: SECRET,
      sessionToken: 'session-token',
    }),
    region: async () => 'eu-west-1',
    env: {},
    fetch: (async (url: URL, init: RequestInit) => {
      sent.push({
        url,
        headers: Object.fromEntries(
          Object.entries(init.headers as Record<string, string>).map(([k, v]) => [
            k.toLowerCase(),
            v,
          ])
        ),
        body: String(init.body),
      });
      return new Response(JSON.stringify(answer.body), { status: answer.status });
    }) as typeof fetch,
  });

describe('createSsmParameterReader', () => {
  it('sends a GetParameter with decryption to the regional endpoint, correctly signed for ssm', async () => {
    // Prepare
    const sent: Sent[] = [];
    const read = reader(
      { status: 200, body: { Parameter: { Value: 'pnu_key', Type: 'SecureString' } } },
      sent
    );
    // Act
    const value = await read.readSecret(ARN);
    // Assess
    expect(value).toBe('pnu_key');
    const [request] = sent;
    if (!request) throw new Error('nothing sent');
    expect(request.url.href).toBe('https://ssm.eu-west-1.amazonaws.com/');
    expect(JSON.parse(request.body)).toEqual({ Name: ARN, WithDecryption: true });
    expect(request.headers).toMatchObject({
      'content-type': 'application/x-amz-json-1.1',
      'x-amz-target': 'AmazonSSM.GetParameter',
      'x-amz-security-token': 'session-token',
    });
    const authorization = request.headers.authorization ?? '';
    expect(authorization).toMatch(
      /^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE\/\d{8}\/eu-west-1\/ssm\/aws4_request, SignedHeaders=[^,]*x-amz-target[^,]*, Signature=[0-9a-f]{64}$/
    );
    expect(/Signature=([0-9a-f]{64})/.exec(authorization)?.[1]).toBe(
      expectedSignature(request, 'eu-west-1', 'ssm')
    );
  });

  it('turns an SSM error into a SecretReadError naming the parameter and the fix', async () => {
    // Prepare
    const read = reader(
      { status: 400, body: { __type: 'AccessDeniedException', message: 'not authorized' } },
      []
    );
    // Act
    const error = await read.readSecret(ARN).catch((caught: unknown) => caught);
    // Assess
    expect(error).toMatchObject({ code: 'AccessDeniedException', retryable: false, secretId: ARN });
    expect((error as Error).message).toContain('allow ssm:GetParameter on this ARN');
  });

  it('retries nothing itself but marks throttling and server errors retryable', async () => {
    // Act
    const throttled = await reader({ status: 400, body: { __type: 'ThrottlingException' } }, [])
      .readSecret(ARN)
      .catch((caught: unknown) => caught);
    const failed = await reader({ status: 500, body: {} }, [])
      .readSecret(ARN)
      .catch((caught: unknown) => caught);
    // Assess
    expect(throttled).toMatchObject({ code: 'ThrottlingException', retryable: true });
    expect(failed).toMatchObject({ code: 'InternalServerError', retryable: true });
  });
});
