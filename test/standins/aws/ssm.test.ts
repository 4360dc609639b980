/**
 * The SSM stand-in, and the Lambdas' secret reader against it: a SecureString parameter ARN is read
 * through SSM GetParameter (signed for `ssm` in the client's region, with the client's
 * credentials), a Secrets Manager ARN still through GetSecretValue, by the same reader.
 */
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { SecretReadError } from '../../../shared/secrets/secret-read-error.ts';
import { createSecretsManagerReader } from '../../../shared/secrets/secrets-manager-reader.ts';
import { startAwsStandin } from '../ecs/server.ts';
import type { AwsStandin } from '../ecs/types.ts';

const REGION = 'eu-west-1';
const API_KEY = 'pnu_0123456789abcdefghijklmnopqrstuvwxyz';
const NAME = '/prefect-ecs-serverless/prod/prefect-api-key';

let aws: AwsStandin;
let client: SecretsManagerClient;

beforeEach(async () => {
  aws = await startAwsStandin({ region: REGION });
  vi.stubEnv('AWS_ENDPOINT_URL_SSM', aws.url);
  client = new SecretsManagerClient({
    endpoint: aws.url,
    region: REGION,
    credentials: { accessKeyId: 'AKIDSSMTEST', secretAccessKey: 'secret' },
    maxAttempts: 1,
  });
});

afterEach(async () => {
  vi.unstubAllEnvs();
  client.destroy();
  await aws.close();
});

/** POSTs a raw awsJson 1.1 request signed for `ssm` (the stand-in checks the scope only). */
const postSsm = async (operation: string, body: unknown) => {
  const response = await fetch(aws.url, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-amz-json-1.1',
      'x-amz-target': `AmazonSSM.${operation}`,
      authorization: `AWS4-HMAC-SHA256 Credential=AKIDSSMTEST/20261206/${REGION}/ssm/aws4_request, SignedHeaders=host, Signature=00`,
    },
    body: JSON.stringify(body),
  });
  return { status: response.status, json: (await response.json()) as Record<string, unknown> };
};

describe('the secret reader with an SSM parameter ARN', () => {
  it('reads the decrypted SecureString with GetParameter, signed for ssm with the client credentials', async () => {
    // Prepare
    const arn = aws.parameters.putSecureString(NAME, API_KEY);
    const reader = createSecretsManagerReader(client);
    // Act
    const value = await reader.readSecret(arn);
    // Assess
    expect(arn).toBe(`arn:aws:ssm:${REGION}:123456789012:parameter${NAME}`);
    expect(value).toBe(API_KEY);
    expect(aws.calls.map((call) => [call.service, call.operation, call.input])).toEqual([
      ['ssm', 'GetParameter', { Name: arn, WithDecryption: true }],
    ]);
    expect(aws.calls[0]?.accessKeyId).toBe('AKIDSSMTEST');
  });

  it('still reads a Secrets Manager ARN with GetSecretValue', async () => {
    // Prepare
    const arn = aws.secrets.putSecret('prefect/api-key', API_KEY);
    // Act
    const value = await createSecretsManagerReader(client).readSecret(arn);
    // Assess
    expect(value).toBe(API_KEY);
    expect(aws.calls.map((call) => call.operation)).toEqual(['GetSecretValue']);
  });

  it('names a missing parameter and how to create it, never retryable', async () => {
    // Prepare
    const arn = `arn:aws:ssm:${REGION}:123456789012:parameter${NAME}`;
    // Act
    const error = await createSecretsManagerReader(client)
      .readSecret(arn)
      .catch((caught: unknown) => caught);
    // Assess
    expect(error).toBeInstanceOf(SecretReadError);
    expect(error).toMatchObject({ code: 'ParameterNotFound', retryable: false, secretId: arn });
    expect((error as Error).message).toContain('aws ssm put-parameter --type SecureString');
  });
});

describe('the SSM stand-in', () => {
  it('answers the ciphertext of a SecureString read without decryption, as SSM does', async () => {
    // Prepare
    aws.parameters.putSecureString(NAME, API_KEY);
    // Act
    const { status, json } = await postSsm('GetParameter', { Name: NAME });
    // Assess
    expect(status).toBe(200);
    expect(json.Parameter).toMatchObject({ Name: NAME, Type: 'SecureString', Version: 1 });
    expect((json.Parameter as { Value: string }).Value).not.toBe(API_KEY);
  });

  it('answers GetParameters (ECS injecting valueFrom) with the found and the invalid names', async () => {
    // Prepare
    const arn = aws.parameters.putSecureString(NAME, API_KEY);
    // Act
    const { status, json } = await postSsm('GetParameters', {
      Names: [arn, '/missing'],
      WithDecryption: true,
    });
    // Assess
    expect(status).toBe(200);
    expect(json).toMatchObject({
      Parameters: [{ Name: arn, Value: API_KEY, ARN: arn }],
      InvalidParameters: ['/missing'],
    });
  });

  it('refuses what SSM refuses: no name, too many names, unknown members, a wrong type', async () => {
    // Act
    const answers = await Promise.all([
      postSsm('GetParameter', {}),
      postSsm('GetParameters', { Names: Array.from({ length: 11 }, (_, i) => `/p${i}`) }),
      postSsm('GetParameter', { Name: NAME, Decrypt: true }),
      postSsm('GetParameter', { Name: NAME, WithDecryption: 'yes' }),
    ]);
    // Assess
    expect(answers.map(({ status, json }) => [status, json.__type])).toEqual([
      [400, 'ValidationException'],
      [400, 'ValidationException'],
      [400, 'SerializationException'],
      [400, 'SerializationException'],
    ]);
  });
});
