/**
 * Secrets Manager stand-in (awsJson 1.1, `X-Amz-Target: secretsmanager.<Operation>`): GetSecretValue,
 * for the Prefect API key. Secrets are put through the control API; putting a name again adds a new
 * version that takes `AWSCURRENT` and moves `AWSPREVIOUS` to the version it replaced, as PutSecretValue
 * does. Input is checked with the botocore model first: type mismatches are `SerializationException`,
 * constraint violations `ValidationException` (`1 validation error detected: ...`).
 */
import { randomInt, randomUUID } from 'node:crypto';
import { checkOperationInput, loadServiceModel, type ServiceModel } from './model-validator.ts';
import { AwsServiceError, type JsonService } from './service.ts';

export interface SecretsManagerServiceOptions {
  readonly region: string;
  readonly accountId: string;
}

export interface SecretsManagerService extends JsonService {
  readonly targetPrefix: 'secretsmanager';
  /**
   * Creates the secret, or adds a new `AWSCURRENT` version when the name exists. Returns the ARN
   * (`arn:aws:secretsmanager:<region>:<account>:secret:<name>-<6 random characters>`), which stays the
   * same across versions.
   */
  putSecret(name: string, value: string): string;
  /** Removes the secret and all its versions (a forced delete with no recovery window). */
  deleteSecret(name: string): void;
}

interface SecretVersion {
  readonly versionId: string;
  readonly value: string;
  readonly createdDate: Date;
  stages: string[];
}

interface Secret {
  readonly name: string;
  readonly arn: string;
  readonly versions: SecretVersion[];
}

interface GetSecretValueInput {
  SecretId: string;
  VersionId?: string;
  VersionStage?: string;
}

const loadModel = (): ServiceModel =>
  loadServiceModel(new URL('./models/secretsmanager.subset.json', import.meta.url));

const SUFFIX_ALPHABET = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
const randomSuffix = (): string =>
  Array.from({ length: 6 }, () => SUFFIX_ALPHABET.charAt(randomInt(SUFFIX_ALPHABET.length))).join(
    ''
  );

/** CreateSecret's rule for names: 1-512 of `A-Za-z0-9/_+=.@-`. */
const SECRET_NAME = /^[A-Za-z0-9/_+=.@-]{1,512}$/;

const NOT_FOUND = "Secrets Manager can't find the specified secret.";

export const createSecretsManagerService = (
  options: SecretsManagerServiceOptions
): SecretsManagerService => {
  const { region, accountId } = options;
  const arnPrefix = `arn:aws:secretsmanager:${region}:${accountId}:secret:`;
  const secrets = new Map<string, Secret>();

  const findSecret = (secretId: string): Secret | undefined => {
    if (!secretId.startsWith('arn:')) return secrets.get(secretId);
    if (!secretId.startsWith(arnPrefix)) return undefined;
    for (const secret of secrets.values()) {
      // A full ARN, or a partial one: the ARN without the `-xxxxxx` suffix.
      if (secret.arn === secretId || `${arnPrefix}${secret.name}` === secretId) return secret;
    }
    return undefined;
  };

  const getSecretValue = (input: GetSecretValueInput) => {
    const secret = findSecret(input.SecretId);
    if (!secret) throw new AwsServiceError('ResourceNotFoundException', NOT_FOUND);
    let version: SecretVersion | undefined;
    if (input.VersionId !== undefined) {
      version = secret.versions.find((candidate) => candidate.versionId === input.VersionId);
      if (!version) {
        throw new AwsServiceError(
          'ResourceNotFoundException',
          `Secrets Manager can't find the specified secret value for VersionId: ${input.VersionId}`
        );
      }
      if (input.VersionStage !== undefined && !version.stages.includes(input.VersionStage)) {
        throw new AwsServiceError(
          'InvalidRequestException',
          `You provided a VersionStage that is not associated to the provided VersionId.`
        );
      }
    } else {
      const stage = input.VersionStage ?? 'AWSCURRENT';
      version = secret.versions.find((candidate) => candidate.stages.includes(stage));
      if (!version) {
        throw new AwsServiceError(
          'ResourceNotFoundException',
          `Secrets Manager can't find the specified secret value for staging label: ${stage}`
        );
      }
    }
    return {
      ARN: secret.arn,
      Name: secret.name,
      VersionId: version.versionId,
      SecretString: version.value,
      VersionStages: [...version.stages],
      CreatedDate: version.createdDate.getTime() / 1000,
    };
  };

  return {
    targetPrefix: 'secretsmanager',
    handle: (operation, input) => {
      const model = loadModel();
      if (!Object.hasOwn(model.operations, operation)) {
        throw new AwsServiceError(
          'UnknownOperationException',
          `The operation ${operation} is not supported by this Secrets Manager stand-in.`
        );
      }
      const problem = checkOperationInput(model, operation, input);
      if (problem) {
        throw new AwsServiceError(
          problem.kind === 'serialization' ? 'SerializationException' : 'ValidationException',
          problem.message
        );
      }
      switch (operation) {
        case 'GetSecretValue':
          return getSecretValue(input as GetSecretValueInput);
        default:
          throw new AwsServiceError(
            'UnknownOperationException',
            `The operation ${operation} is not supported by this Secrets Manager stand-in.`
          );
      }
    },
    putSecret: (name, value) => {
      if (!SECRET_NAME.test(name)) {
        throw new Error(
          `Invalid secret name ${JSON.stringify(name)}: 1-512 characters of A-Za-z0-9/_+=.@-`
        );
      }
      if (value.length < 1 || value.length > 65536) {
        throw new Error('A secret string must have 1 to 65536 characters');
      }
      let secret = secrets.get(name);
      if (!secret) {
        secret = { name, arn: `${arnPrefix}${name}-${randomSuffix()}`, versions: [] };
        secrets.set(name, secret);
      }
      for (const version of secret.versions) {
        version.stages = version.stages.includes('AWSCURRENT')
          ? ['AWSPREVIOUS']
          : version.stages.filter((stage) => stage !== 'AWSPREVIOUS');
      }
      secret.versions.push({
        versionId: randomUUID(),
        value,
        createdDate: new Date(),
        stages: ['AWSCURRENT'],
      });
      return secret.arn;
    },
    deleteSecret: (name) => {
      if (!secrets.delete(name)) throw new Error(`No secret ${name}`);
    },
  };
};
