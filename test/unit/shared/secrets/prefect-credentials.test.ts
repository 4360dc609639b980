import {
  ResourceNotFoundException,
  type SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { describe, expect, it } from 'vitest';
import { resolvePrefectCredentials } from '../../../../shared/secrets/prefect-credentials.ts';
import { SecretReadError } from '../../../../shared/secrets/secret-read-error.ts';
import { createSecretsManagerReader } from '../../../../shared/secrets/secrets-manager-reader.ts';

const ARN = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:prefect-AbCdEf';

const clientAnswering = (outcome: unknown): SecretsManagerClient =>
  ({
    send: async () => {
      if (outcome instanceof Error) throw outcome;
      return outcome;
    },
  }) as unknown as SecretsManagerClient;

describe('resolvePrefectCredentials', () => {
  it.each([
    [{ kind: 'apiKey', value: 'k' } as const, { apiKey: 'k' }],
    [{ kind: 'authString', value: 'u:p' } as const, { authString: 'u:p' }],
    [{ kind: 'apiKeySecret', secretArn: ARN } as const, { apiKey: 'from-secret' }],
    [{ kind: 'authStringSecret', secretArn: ARN } as const, { authString: 'from-secret' }],
    [{ kind: 'none' } as const, {}],
  ])('%j → %j', async (source, expected) => {
    // Prepare
    const reader = createSecretsManagerReader(clientAnswering({ SecretString: 'from-secret\n' }));
    // Act / Assess
    expect(await resolvePrefectCredentials(source, reader)).toEqual(expected);
  });

  it('names the secret and the fix, never a value, when it cannot be read', async () => {
    // Prepare
    const reader = createSecretsManagerReader(
      clientAnswering(
        new ResourceNotFoundException({
          message: "Secrets Manager can't find the specified secret.",
          $metadata: { httpStatusCode: 400 },
        })
      )
    );
    // Act
    const failure = reader.readSecret(ARN);
    // Assess
    await expect(failure).rejects.toBeInstanceOf(SecretReadError);
    await expect(failure).rejects.toMatchObject({
      retryable: false,
      code: 'ResourceNotFoundException',
      message: `Could not read secret ${ARN}: ResourceNotFoundException (the secret does not exist in this account and region)`,
    });
  });

  it('refuses a secret without a string value', async () => {
    // Prepare
    const reader = createSecretsManagerReader(
      clientAnswering({ SecretBinary: new Uint8Array([1]) })
    );
    // Act / Assess
    await expect(reader.readSecret(ARN)).rejects.toMatchObject({ code: 'EmptySecret' });
  });
});
