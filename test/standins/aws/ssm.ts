/**
 * SSM Parameter Store stand-in (awsJson 1.1, `X-Amz-Target: AmazonSSM.<Operation>`, signing name
 * `ssm`): GetParameter (the Lambdas read the Prefect credential and the webhook secret) and
 * GetParameters (what ECS calls to inject `secrets[].valueFrom` = a parameter ARN). Parameters are
 * put through the control API as SecureString (the user creates them with `aws ssm put-parameter
 * --type SecureString`; CloudFormation cannot).
 *
 * No botocore model of SSM is vendored (/work/shared/aws-models), so the input is checked by hand,
 * strictly, with the constraints of the API reference
 * (https://docs.aws.amazon.com/systems-manager/latest/APIReference/API_GetParameter.html,
 * API_GetParameters.html): Name 1-2048 characters, Names 1-10 of them, WithDecryption a boolean,
 * nothing else. A SecureString read without `WithDecryption: true` answers the ciphertext, as SSM does.
 */
import { AwsServiceError, type JsonService } from './service.ts';

export interface SsmServiceOptions {
  readonly region: string;
  readonly accountId: string;
}

export interface SsmService extends JsonService {
  readonly targetPrefix: 'AmazonSSM';
  /** Creates (or overwrites, as `--overwrite`) a SecureString parameter; returns its ARN. */
  putSecureString(name: string, value: string): string;
  deleteParameter(name: string): void;
}

interface Parameter {
  readonly name: string;
  readonly arn: string;
  readonly value: string;
  readonly version: number;
  readonly lastModified: Date;
}

/** PutParameter's rule: letters, digits and `_.-/`, a hierarchy of at most 15 levels. */
const PARAMETER_NAME = /^\/?[A-Za-z0-9_.\-/]{1,1011}$/;

const validation = (problems: string[]): AwsServiceError =>
  new AwsServiceError(
    'ValidationException',
    `${problems.length} validation error${problems.length === 1 ? '' : 's'} detected: ${problems.join('; ')}`
  );

const checkKeys = (input: Record<string, unknown>, allowed: readonly string[]): void => {
  for (const key of Object.keys(input)) {
    if (!allowed.includes(key)) {
      throw new AwsServiceError('SerializationException', `Unknown member ${key}`);
    }
  }
};

const checkDecryption = (input: Record<string, unknown>): boolean => {
  const value = input.WithDecryption;
  if (value !== undefined && typeof value !== 'boolean') {
    throw new AwsServiceError('SerializationException', 'WithDecryption: expected a boolean value');
  }
  return value === true;
};

const checkName = (value: unknown, path: string, problems: string[]): string => {
  if (typeof value !== 'string') {
    throw new AwsServiceError('SerializationException', `${path}: expected a string`);
  }
  if (value.length < 1 || value.length > 2048) {
    problems.push(
      `Value '${value}' at '${path}' failed to satisfy constraint: Member must have length between 1 and 2048`
    );
  }
  return value;
};

export const createSsmService = (options: SsmServiceOptions): SsmService => {
  const { region, accountId } = options;
  const arnPrefix = `arn:aws:ssm:${region}:${accountId}:parameter`;
  const parameters = new Map<string, Parameter>();

  const arnOf = (name: string): string => `${arnPrefix}${name.startsWith('/') ? '' : '/'}${name}`;
  const find = (nameOrArn: string): Parameter | undefined => {
    if (!nameOrArn.startsWith('arn:')) return parameters.get(nameOrArn);
    for (const parameter of parameters.values()) {
      if (parameter.arn === nameOrArn) return parameter;
    }
    return undefined;
  };
  /** What SSM answers for a SecureString read without decryption: an opaque KMS ciphertext. */
  const ciphertext = (parameter: Parameter): string =>
    Buffer.from(`kms:aws/ssm:${parameter.version}:${parameter.name}`).toString('base64');
  const shape = (parameter: Parameter, decrypt: boolean, requested: string) => ({
    Name: requested.startsWith('arn:') ? parameter.arn : parameter.name,
    Type: 'SecureString',
    Value: decrypt ? parameter.value : ciphertext(parameter),
    Version: parameter.version,
    LastModifiedDate: parameter.lastModified.getTime() / 1000,
    ARN: parameter.arn,
    DataType: 'text',
  });

  const getParameter = (input: Record<string, unknown>) => {
    checkKeys(input, ['Name', 'WithDecryption']);
    const problems: string[] = [];
    if (input.Name === undefined) {
      throw validation([
        "Value null at 'name' failed to satisfy constraint: Member must not be null",
      ]);
    }
    const name = checkName(input.Name, 'name', problems);
    const decrypt = checkDecryption(input);
    if (problems.length > 0) throw validation(problems);
    const parameter = find(name);
    if (!parameter) throw new AwsServiceError('ParameterNotFound', '');
    return { Parameter: shape(parameter, decrypt, name) };
  };

  const getParameters = (input: Record<string, unknown>) => {
    checkKeys(input, ['Names', 'WithDecryption']);
    if (input.Names === undefined) {
      throw validation([
        "Value null at 'names' failed to satisfy constraint: Member must not be null",
      ]);
    }
    if (!Array.isArray(input.Names)) {
      throw new AwsServiceError('SerializationException', 'Names: expected a list');
    }
    const problems: string[] = [];
    if (input.Names.length < 1 || input.Names.length > 10) {
      problems.push(
        "Value at 'names' failed to satisfy constraint: Member must have length between 1 and 10"
      );
    }
    const names = input.Names.map((name, index) => checkName(name, `names.${index + 1}`, problems));
    const decrypt = checkDecryption(input);
    if (problems.length > 0) throw validation(problems);
    const found = names.flatMap((name) => {
      const parameter = find(name);
      return parameter ? [shape(parameter, decrypt, name)] : [];
    });
    return { Parameters: found, InvalidParameters: names.filter((name) => !find(name)) };
  };

  return {
    targetPrefix: 'AmazonSSM',
    handle(operation, input) {
      const fields = input as Record<string, unknown>;
      switch (operation) {
        case 'GetParameter':
          return getParameter(fields);
        case 'GetParameters':
          return getParameters(fields);
        default:
          throw new AwsServiceError(
            'UnknownOperationException',
            `The SSM stand-in does not implement ${operation}`
          );
      }
    },
    putSecureString(name, value) {
      if (!PARAMETER_NAME.test(name)) throw new Error(`Invalid parameter name ${name}`);
      const previous = parameters.get(name);
      const parameter: Parameter = {
        name,
        arn: arnOf(name),
        value,
        version: (previous?.version ?? 0) + 1,
        lastModified: new Date(),
      };
      parameters.set(name, parameter);
      return parameter.arn;
    },
    deleteParameter(name) {
      parameters.delete(name);
    },
  };
};
