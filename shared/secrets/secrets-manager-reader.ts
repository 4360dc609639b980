import { GetSecretValueCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SecretReadError } from './secret-read-error.ts';
import type { SecretReader } from './secret-reader.ts';
import { createSsmParameterReader, isSsmParameterArn } from './ssm-parameter-reader.ts';

const FIXES: Record<string, string> = {
  ResourceNotFoundException: 'the secret does not exist in this account and region',
  AccessDeniedException:
    "the Lambda's role may not read it (allow secretsmanager:GetSecretValue on this ARN)",
  DecryptionFailure: "the Lambda's role may not use the secret's KMS key (allow kms:Decrypt)",
  InvalidRequestException: 'the secret is scheduled for deletion or otherwise unusable',
};

const codeOf = (error: unknown): string =>
  error instanceof Error ? (error.name === 'Error' ? 'NetworkError' : error.name) : 'Unknown';

const statusOf = (error: unknown): number | undefined =>
  (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;

const readSecretsManagerSecret = async (
  client: SecretsManagerClient,
  secretId: string
): Promise<string> => {
  let secretString: string | undefined;
  try {
    ({ SecretString: secretString } = await client.send(
      new GetSecretValueCommand({ SecretId: secretId })
    ));
  } catch (error) {
    const code = codeOf(error);
    const status = statusOf(error);
    const retryable =
      code === 'NetworkError' ||
      code === 'ThrottlingException' ||
      code === 'InternalServiceError' ||
      (status !== undefined && status >= 500);
    const fix = FIXES[code];
    throw new SecretReadError(
      `Could not read secret ${secretId}: ${code}${fix ? ` (${fix})` : ''}`,
      secretId,
      code,
      retryable,
      { cause: error }
    );
  }
  if (secretString === undefined || secretString === '') {
    throw new SecretReadError(
      `Secret ${secretId} has no string value (store the Prefect credential as plain text)`,
      secretId,
      'EmptySecret',
      false
    );
  }
  return secretString;
};

/**
 * The {@link SecretReader} of the Lambdas: a Secrets Manager secret (ARN or name) through
 * GetSecretValue, and an SSM SecureString parameter ARN (`arn:aws:ssm:…:parameter/…`, the default
 * store, docs/deploy.md "Secrets") through SSM GetParameter with the same client's credentials and
 * region. The SDK's own retries handle throttling; what is left becomes a `SecretReadError` that
 * names the secret and what to fix, never its value. A secret with only a binary value is refused
 * (Prefect credentials are strings).
 *
 * @example
 * const reader = createSecretsManagerReader(new SecretsManagerClient({}));
 * const apiKey = await reader.readSecret(config.prefectApiKeySecretArn);
 */
export const createSecretsManagerReader = (client: SecretsManagerClient): SecretReader => {
  let ssm: SecretReader | undefined;
  const ssmReader = (): SecretReader => {
    ssm ??= createSsmParameterReader({
      credentials: () => client.config.credentials(),
      region: () => client.config.region(),
    });
    return ssm;
  };
  return {
    readSecret: (secretId) =>
      isSsmParameterArn(secretId)
        ? ssmReader().readSecret(secretId)
        : readSecretsManagerSecret(client, secretId),
  };
};
