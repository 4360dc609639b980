/**
 * Reads an SSM Parameter Store SecureString (the default home of the Prefect credential and the
 * webhook secret: a standard parameter costs nothing, a Secrets Manager secret $0.40 a month).
 *
 * One awsJson1.1 `AmazonSSM.GetParameter` call (`WithDecryption: true`), signed with SigV4 by the
 * signer the AWS SDK clients already bundle, with the credentials and region of an SDK client we
 * already have. Not `@aws-sdk/client-ssm`: it adds ~68 KB to each bundle (its error classes and
 * model), and the launcher would pass the 500 KB budget (BENCHMARKS.md) for one call.
 *
 * IAM: `ssm:GetParameter` on the parameter's ARN. With the AWS managed key `aws/ssm` nothing more
 * (its key policy lets the account's principals decrypt through SSM); with a customer managed key,
 * `kms:Decrypt` on it (https://docs.aws.amazon.com/systems-manager/latest/userguide/sysman-paramstore-access.html).
 */
import * as z from 'zod';
import {
  type AwsCredentials,
  awsEndpointOf,
  sendSignedRequest,
} from '../aws/signed-aws-request.ts';
import { SecretReadError } from './secret-read-error.ts';
import type { SecretReader } from './secret-reader.ts';

/** `arn:<partition>:ssm:<region>:<account>:parameter/<name without its leading slash>`. */
export const SSM_PARAMETER_ARN = /^arn:(aws[a-z-]*):ssm:([a-z0-9-]+):(\d{12}):parameter\/(.+)$/;

/** Whether `secretId` names an SSM parameter (by ARN) rather than a Secrets Manager secret. */
export const isSsmParameterArn = (secretId: string): boolean => SSM_PARAMETER_ARN.test(secretId);

export type { AwsCredentials };

/** Options of {@link createSsmParameterReader}. */
export interface SsmParameterReaderOptions {
  credentials: () => Promise<AwsCredentials>;
  region: () => Promise<string>;
  /**
   * The SSM endpoint. Default: `AWS_ENDPOINT_URL_SSM`, else `AWS_ENDPOINT_URL`, else the regional
   * one (`https://ssm.<region>.amazonaws.com`, `.amazonaws.com.cn` in China), as the SDK resolves it.
   */
  endpoint?: string;
  fetch?: typeof fetch;
  env?: Readonly<Record<string, string | undefined>>;
}

const GetParameterOutput = z.object({
  Parameter: z.object({ Value: z.string().optional(), Type: z.string().optional() }),
});
const ErrorOutput = z.object({
  __type: z.string().optional(),
  message: z.string().optional(),
  Message: z.string().optional(),
});

const FIXES: Record<string, string> = {
  ParameterNotFound:
    'create it: aws ssm put-parameter --type SecureString --name <name> --value <value>',
  AccessDeniedException: "the Lambda's role may not read it (allow ssm:GetParameter on this ARN)",
  InvalidKeyId: 'its KMS key is disabled or does not exist',
  KMSAccessDeniedException: "the Lambda's role may not use the parameter's KMS key (kms:Decrypt)",
};

const RETRYABLE = new Set([
  'NetworkError',
  'ThrottlingException',
  'InternalServerError',
  'TooManyUpdates',
]);

const endpointOf = (region: string, options: SsmParameterReaderOptions): URL =>
  options.endpoint ? new URL(options.endpoint) : awsEndpointOf('ssm', region, options.env);

/**
 * @example
 * const sm = new SecretsManagerClient({});
 * const reader = createSsmParameterReader({ credentials: sm.config.credentials, region: sm.config.region });
 * await reader.readSecret('arn:aws:ssm:us-east-1:123456789012:parameter/prefect-ecs-serverless/prod/prefect-api-key');
 */
export const createSsmParameterReader = (options: SsmParameterReaderOptions): SecretReader => ({
  async readSecret(parameterArn) {
    const fail = (code: string, detail?: string, cause?: unknown): never => {
      const fix = FIXES[code];
      throw new SecretReadError(
        `Could not read SSM parameter ${parameterArn}: ${code}${fix ? ` (${fix})` : detail ? ` (${detail})` : ''}`,
        parameterArn,
        code,
        RETRYABLE.has(code),
        cause === undefined ? undefined : { cause }
      );
    };
    let status: number;
    let text: string;
    try {
      const region = await options.region();
      const url = endpointOf(region, options);
      const body = JSON.stringify({ Name: parameterArn, WithDecryption: true });
      const response = await sendSignedRequest({
        service: 'ssm',
        region,
        url,
        credentials: options.credentials,
        headers: {
          'content-type': 'application/x-amz-json-1.1',
          'x-amz-target': 'AmazonSSM.GetParameter',
        },
        body,
        fetch: options.fetch,
      });
      status = response.status;
      text = response.text;
    } catch (error) {
      return fail('NetworkError', error instanceof Error ? error.message : String(error), error);
    }
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      return fail(status >= 500 ? 'InternalServerError' : 'UnexpectedResponse', `HTTP ${status}`);
    }
    if (status !== 200) {
      const error = ErrorOutput.safeParse(json);
      const code = (error.success ? error.data.__type : undefined)?.split('#').at(-1);
      return fail(code ?? (status >= 500 ? 'InternalServerError' : `HTTP${status}`));
    }
    const output = GetParameterOutput.safeParse(json);
    if (!output.success) return fail('UnexpectedResponse', 'no Parameter in the answer');
    const value = output.data.Parameter.Value;
    if (value === undefined || value === '') {
      throw new SecretReadError(
        `SSM parameter ${parameterArn} has no value`,
        parameterArn,
        'EmptySecret',
        false
      );
    }
    return value;
  },
});
