/**
 * The AWS SDK client options of a scope (`aws-scopes.ts`): its region, credentials, endpoint and
 * the block's retry and timeout settings over the function's defaults.
 */
import type { AwsScope } from './aws-scopes.ts';

/** What every SDK client constructor accepts. */
export interface SdkClientOptions {
  region: string;
  maxAttempts?: number;
  retryMode?: string;
  credentials?: AwsScope['credentials'];
  endpoint?: string;
  requestHandler?: { connectionTimeout?: number; requestTimeout?: number };
}

/**
 * @example
 * new ECSClient(sdkClientOptionsOf(scope, { maxAttempts: 4, retryMode: 'adaptive' }));
 */
export const sdkClientOptionsOf = (
  scope: AwsScope,
  defaults: { maxAttempts: number; retryMode?: string }
): SdkClientOptions => {
  const { tuning } = scope;
  const timeouts = {
    ...(tuning.connectionTimeoutMs ? { connectionTimeout: tuning.connectionTimeoutMs } : {}),
    ...(tuning.requestTimeoutMs ? { requestTimeout: tuning.requestTimeoutMs } : {}),
  };
  return {
    region: scope.region,
    maxAttempts: tuning.maxAttempts ?? defaults.maxAttempts,
    ...((tuning.retryMode ?? defaults.retryMode)
      ? { retryMode: tuning.retryMode ?? defaults.retryMode }
      : {}),
    ...(scope.credentials ? { credentials: scope.credentials } : {}),
    ...(scope.endpoint ? { endpoint: scope.endpoint } : {}),
    ...(Object.keys(timeouts).length > 0 ? { requestHandler: timeouts } : {}),
  };
};
