import {
  GetSecretValueCommand,
  ResourceNotFoundException,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createSecretsManagerService, type SecretsManagerService } from './secrets-manager.ts';
import { type ServedAwsServices, serveAwsServices } from './serve-services.ts';

const REGION = 'us-east-1';
const ACCOUNT = '123456789012';
const API_KEY = 'pnu_0123456789abcdefghijklmnopqrstuvwxyz';

let secrets: SecretsManagerService;
let served: ServedAwsServices;
let client: SecretsManagerClient;

beforeEach(async () => {
  secrets = createSecretsManagerService({ region: REGION, accountId: ACCOUNT });
  served = await serveAwsServices({ json: [secrets] });
  client = new SecretsManagerClient({
    endpoint: served.url,
    region: REGION,
    credentials: { accessKeyId: 'AKIDTEST', secretAccessKey: 'secret' },
    maxAttempts: 1,
  });
});

afterEach(async () => {
  client.destroy();
  await served.close();
});

/** POSTs a raw awsJson 1.1 request. */
const postJson = async (target: string, body: string) => {
  const response = await fetch(served.url, {
    method: 'POST',
    headers: { 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': target },
    body,
  });
  return {
    status: response.status,
    errorType: response.headers.get('x-amzn-errortype'),
    json: (await response.json()) as Record<string, unknown>,
  };
};

describe('Secrets Manager stand-in: GetSecretValue', () => {
  it('returns the secret by name, with ARN, version and AWSCURRENT stage', async () => {
    // prepare
    const arn = secrets.putSecret('prefect/api-key', API_KEY);
    // act
    const secret = await client.send(new GetSecretValueCommand({ SecretId: 'prefect/api-key' }));
    // assess
    expect(arn).toMatch(
      /^arn:aws:secretsmanager:us-east-1:123456789012:secret:prefect\/api-key-[A-Za-z0-9]{6}$/
    );
    expect(secret).toMatchObject({
      ARN: arn,
      Name: 'prefect/api-key',
      SecretString: API_KEY,
      VersionStages: ['AWSCURRENT'],
    });
    expect(secret.VersionId).toMatch(/^[0-9a-f-]{36}$/);
    expect(secret.CreatedDate).toBeInstanceOf(Date);
    expect(Math.abs((secret.CreatedDate?.getTime() ?? 0) - Date.now())).toBeLessThan(60_000);
  });

  it('finds the secret by full ARN and by partial ARN (without the random suffix)', async () => {
    // prepare
    const arn = secrets.putSecret('prefect-api-key', API_KEY);
    const partial = `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:prefect-api-key`;
    // act
    const byArn = await client.send(new GetSecretValueCommand({ SecretId: arn }));
    const byPartial = await client.send(new GetSecretValueCommand({ SecretId: partial }));
    // assess
    expect(byArn.SecretString).toBe(API_KEY);
    expect(byPartial.ARN).toBe(arn);
  });

  it('answers an unknown name with ResourceNotFoundException', async () => {
    // prepare
    secrets.putSecret('prefect-api-key', API_KEY);
    // act
    const request = client.send(new GetSecretValueCommand({ SecretId: 'prefect-api-ke' }));
    // assess
    await expect(request).rejects.toBeInstanceOf(ResourceNotFoundException);
    await expect(request).rejects.toMatchObject({
      name: 'ResourceNotFoundException',
      message: "Secrets Manager can't find the specified secret.",
      $metadata: { httpStatusCode: 400 },
    });
  });

  it('does not find a secret by an ARN of another region or account, or by a wrong suffix', async () => {
    // prepare
    const arn = secrets.putSecret('prefect-api-key', API_KEY);
    const ids = [
      arn.replace(':us-east-1:', ':eu-west-1:'),
      arn.replace(`:${ACCOUNT}:`, ':210987654321:'),
      `${arn.slice(0, -6)}zzzzzz`,
    ];
    // act
    const results = await Promise.allSettled(
      ids.map((SecretId) => client.send(new GetSecretValueCommand({ SecretId })))
    );
    // assess
    for (const result of results) {
      expect(result.status).toBe('rejected');
      expect((result as PromiseRejectedResult).reason).toBeInstanceOf(ResourceNotFoundException);
    }
  });

  it('keeps the ARN across versions: AWSCURRENT is the newest, AWSPREVIOUS the one before', async () => {
    // prepare
    const arn = secrets.putSecret('prefect-api-key', 'old-key');
    const first = await client.send(new GetSecretValueCommand({ SecretId: 'prefect-api-key' }));
    const arnAgain = secrets.putSecret('prefect-api-key', 'new-key');
    // act
    const current = await client.send(new GetSecretValueCommand({ SecretId: 'prefect-api-key' }));
    const previous = await client.send(
      new GetSecretValueCommand({ SecretId: 'prefect-api-key', VersionStage: 'AWSPREVIOUS' })
    );
    const byVersionId = await client.send(
      new GetSecretValueCommand({ SecretId: arn, VersionId: first.VersionId })
    );
    // assess
    expect(arnAgain).toBe(arn);
    expect(current).toMatchObject({ SecretString: 'new-key', VersionStages: ['AWSCURRENT'] });
    expect(previous).toMatchObject({
      SecretString: 'old-key',
      VersionStages: ['AWSPREVIOUS'],
      VersionId: first.VersionId,
    });
    expect(byVersionId.SecretString).toBe('old-key');
  });

  it('answers a staging label or version id no version has with ResourceNotFoundException', async () => {
    // prepare
    secrets.putSecret('prefect-api-key', API_KEY);
    // act
    const byStage = client.send(
      new GetSecretValueCommand({ SecretId: 'prefect-api-key', VersionStage: 'AWSPREVIOUS' })
    );
    const byVersion = client.send(
      new GetSecretValueCommand({
        SecretId: 'prefect-api-key',
        VersionId: '00000000-0000-0000-0000-000000000000',
      })
    );
    // assess
    await expect(byStage).rejects.toMatchObject({
      name: 'ResourceNotFoundException',
      message:
        "Secrets Manager can't find the specified secret value for staging label: AWSPREVIOUS",
    });
    await expect(byVersion).rejects.toMatchObject({
      name: 'ResourceNotFoundException',
      message: expect.stringContaining('VersionId: 00000000-0000-0000-0000-000000000000'),
    });
  });

  it('validates the input with the model: a short VersionId is a ValidationException', async () => {
    // prepare
    secrets.putSecret('prefect-api-key', API_KEY);
    // act
    const request = client.send(
      new GetSecretValueCommand({ SecretId: 'prefect-api-key', VersionId: 'v1' })
    );
    // assess
    await expect(request).rejects.toMatchObject({
      name: 'ValidationException',
      message: expect.stringMatching(
        /^1 validation error detected: Value 'v1' at '[vV]ersionId' failed to satisfy constraint: Member must have length greater than or equal to 32$/
      ),
      $metadata: { httpStatusCode: 400 },
    });
  });

  it('finds no secret after it was deleted', async () => {
    // prepare
    secrets.putSecret('prefect-api-key', API_KEY);
    secrets.deleteSecret('prefect-api-key');
    // act
    const request = client.send(new GetSecretValueCommand({ SecretId: 'prefect-api-key' }));
    // assess
    await expect(request).rejects.toBeInstanceOf(ResourceNotFoundException);
  });
});

describe('Secrets Manager stand-in: control API', () => {
  it.each([[''], ['has space'], ['a'.repeat(513)], ['semi;colon']])(
    'refuses the secret name %j',
    (name) => {
      // act / assess
      expect(() => secrets.putSecret(name, API_KEY)).toThrow(/Invalid secret name/);
    }
  );

  it('refuses an empty secret value', () => {
    // act / assess
    expect(() => secrets.putSecret('prefect-api-key', '')).toThrow(/1 to 65536/);
  });
});

describe('Secrets Manager stand-in: raw requests', () => {
  it('answers malformed JSON with SerializationException (400), and keeps serving', async () => {
    // prepare
    secrets.putSecret('prefect-api-key', API_KEY);
    // act
    const malformed = await postJson('secretsmanager.GetSecretValue', '{"SecretId": ');
    const after = await client.send(new GetSecretValueCommand({ SecretId: 'prefect-api-key' }));
    // assess
    expect(malformed.status).toBe(400);
    expect(malformed.errorType).toBe('SerializationException');
    expect(malformed.json.__type).toBe('SerializationException');
    expect(after.SecretString).toBe(API_KEY);
  });

  it.each([
    ['[]', 'SerializationException'],
    ['"SecretId"', 'SerializationException'],
    ['{"SecretId": 5}', 'SerializationException'],
    ['{"SecretId": ["a"]}', 'SerializationException'],
    ['{}', 'ValidationException'],
    ['{"SecretId": ""}', 'ValidationException'],
    ['{"SecretId": "x", "VersionStage": ""}', 'ValidationException'],
  ])('answers the body %s with %s', async (body, code) => {
    // act
    const { status, errorType, json } = await postJson('secretsmanager.GetSecretValue', body);
    // assess
    expect(status).toBe(400);
    expect(errorType).toBe(code);
    expect(json).toMatchObject({ __type: code, message: expect.any(String) });
  });

  it('says which member is missing', async () => {
    // act
    const { json } = await postJson('secretsmanager.GetSecretValue', '{}');
    // assess
    expect(json.message).toMatch(
      /^1 validation error detected: Value null at '[sS]ecretId' failed to satisfy constraint: Member must not be null$/
    );
  });

  it('answers an operation it does not serve with UnknownOperationException', async () => {
    // act
    const { status, json } = await postJson('secretsmanager.CreateSecret', '{"Name": "x"}');
    // assess
    expect(status).toBe(400);
    expect(json.__type).toBe('UnknownOperationException');
  });
});
