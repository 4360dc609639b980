/**
 * The launch's AWS side per run: the clients and caches of the run's `aws_credentials` scope
 * (`shared/aws/aws-scopes.ts`). Caches of task definitions and networks are per scope, since the
 * same family or VPC id means something else in another account or region.
 */
import { type AwsScopes, STALE_AFTER_MS } from '../aws/aws-scopes.ts';
import { isSessionRefusal, recoverRefusedCredentials } from '../aws/refused-credentials.ts';
import type { Ec2Api } from '../ecs/ec2-api.ts';
import { LaunchError } from '../errors/launch-error.ts';
import { PermanentLaunchError } from '../errors/permanent-launch-error.ts';
import type { LaunchCaches } from './launch-caches.ts';
import type { LaunchDeps } from './launch-deps.ts';
import type { PreparedLaunch } from './render-launch-requests.ts';

/** The clients and AWS caches of one scope. */
export interface LaunchAwsClients {
  ecs: LaunchDeps['ecs'];
  ec2: Ec2Api;
  caches: Pick<LaunchCaches, 'taskDefinitions' | 'givenTaskDefinitions' | 'network'>;
}

/** Per-scope clients of a launcher (`LaunchDeps.aws`). */
export type LaunchAwsScopes = AwsScopes<LaunchAwsClients>;

/**
 * `deps` with the run's clients and caches: `deps` itself for the functions' own credentials and
 * region. Rejects with `AssumeRoleError` when the role cannot be assumed (its `retryable` decides
 * between a redelivery and CRASHED).
 *
 * @example
 * const runDeps = await depsForRun(prepared, deps);
 */
export const depsForRun = async (
  prepared: Pick<PreparedLaunch, 'aws'>,
  deps: LaunchDeps
): Promise<LaunchDeps> => {
  const { settings, region } = prepared.aws;
  if (settings === null && region === deps.settings.region) return deps;
  if (!deps.aws) {
    throw new PermanentLaunchError(
      'The work pool sets aws_credentials, and this launcher was built without per-pool AWS credentials.'
    );
  }
  const scopes = deps.aws;
  const clients = await scopes.get(settings, region);
  if (clients === scopes.home) return deps;
  const role = settings?.assumeRole?.RoleArn;
  // A refused assumed session is dropped and the launch retried with the role assumed again when
  // the session itself was refused (expired, unknown), or denied a minute or more after it was
  // issued (revoked); denied fresh, it is a permission the role lacks: the error stands.
  const onRefused = (error: unknown, code: string): Error | undefined => {
    const age = scopes.refused(settings, region);
    if (role === undefined || age === undefined) return undefined;
    if (!isSessionRefusal(code) && age < STALE_AFTER_MS) return undefined;
    return new LaunchError(
      `AWS refused the session of ${role} (${code}) ${Math.round(age / 1000)} s after it was issued: the role is assumed again and the launch retried.`,
      true,
      { cause: error }
    );
  };
  return {
    ...deps,
    ecs: recoverRefusedCredentials(clients.ecs, onRefused),
    ec2: recoverRefusedCredentials(clients.ec2, onRefused),
    caches: { ...deps.caches, ...clients.caches },
  };
};
