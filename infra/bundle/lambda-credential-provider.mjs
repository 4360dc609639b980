/**
 * Replaces `@aws-sdk/credential-provider-node` in the Lambda bundles (infra/esbuild-plugins.cjs).
 *
 * The SDK's default chain tries environment variables, SSO, ini files, web identity, ECS and EC2
 * metadata, and bundles two nested STS/SSO clients to do it (~90 KB, ~15 % of a bundle). In Lambda
 * the credentials of the function's role are always in the environment (AWS_ACCESS_KEY_ID,
 * AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN), which is the first link of that chain; this provider
 * keeps only that link. Running a bundle outside Lambda therefore needs those variables set.
 */
import { fromEnv } from '@aws-sdk/credential-provider-env';

/** The provider each SDK client builds its credentials from (same signature as the chain's). */
export const defaultProvider = (init = {}) => fromEnv(init);
