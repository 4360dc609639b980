/**
 * Who signed a request, as the AWS stand-in attributes it: the SigV4 `Authorization` header's
 * `Credential=<access key>/<date>/<region>/<service>/aws4_request` gives the key and the scope
 * (signatures themselves are not checked). A key STS issued (AssumeRole) is its role session, in the
 * role's account; any other key is the home identity. As AWS does, issued credentials are refused
 * without their session token (`X-Amz-Security-Token`) or once expired, each protocol with its own
 * error (see {@link credentialError}).
 */
import type { IncomingMessage } from 'node:http';
import { AwsServiceError } from './service.ts';
import type { StsCaller, StsService } from './sts.ts';

export interface SigV4Scope {
  accessKeyId: string;
  region: string;
  /** The signing name, e.g. `ecs`, `ec2`, `sts`. */
  service: string;
}

/** `expired`: past the session's expiration; `invalid-token`: session token missing or not its own. */
export type CredentialProblem = 'expired' | 'invalid-token';

export interface RequestCaller {
  /** Undefined when the request carries no SigV4 credential. */
  scope: SigV4Scope | undefined;
  caller: StsCaller;
  problem: CredentialProblem | undefined;
}

/** How a service answers errors: JSON protocols, EC2's query protocol, STS's and IAM's. */
export type AuthProtocol = 'json' | 'ec2' | 'query';

export const sigV4Scope = (request: IncomingMessage): SigV4Scope | undefined => {
  const header = request.headers.authorization;
  const match =
    typeof header === 'string'
      ? /Credential=([^/,\s]+)\/\d{8}\/([^/]+)\/([^/]+)\//.exec(header)
      : null;
  const [, accessKeyId, region, service] = match ?? [];
  if (!accessKeyId || !region || !service) return undefined;
  return { accessKeyId, region, service };
};

export const requestCaller = (
  request: IncomingMessage,
  sts: StsService,
  now: () => Date
): RequestCaller => {
  const scope = sigV4Scope(request);
  const caller = sts.callerOf(scope?.accessKeyId);
  const { session } = caller;
  if (!scope || !session) return { scope, caller, problem: undefined };
  const token = request.headers['x-amz-security-token'];
  if (
    !sts.sessionTokenMatches(session.accessKeyId, typeof token === 'string' ? token : undefined)
  ) {
    return { scope, caller, problem: 'invalid-token' };
  }
  const expired = now().getTime() >= session.expiration.getTime();
  return { scope, caller, problem: expired ? 'expired' : undefined };
};

/**
 * The error AWS answers credentials with, per protocol:
 * - JSON services (ECS, Logs, Secrets Manager, SSM): `ExpiredTokenException` "The security token
 *   included in the request is expired" (400, as these services send it; the common-errors page
 *   lists 403) and `UnrecognizedClientException` "The security token included in the request is
 *   invalid." (400);
 * - EC2: `RequestExpired` "Request has expired." (400; EC2's error codes: "If you're using temporary
 *   security credentials, this error can also occur if the credentials have expired") and
 *   `AuthFailure` (401);
 * - STS and IAM: `ExpiredToken` and `InvalidClientTokenId` (403).
 */
export const credentialError = (
  problem: CredentialProblem,
  protocol: AuthProtocol
): AwsServiceError => {
  if (problem === 'expired') {
    if (protocol === 'json') {
      return new AwsServiceError(
        'ExpiredTokenException',
        'The security token included in the request is expired'
      );
    }
    if (protocol === 'ec2') return new AwsServiceError('RequestExpired', 'Request has expired.');
    return new AwsServiceError(
      'ExpiredToken',
      'The security token included in the request is expired',
      403
    );
  }
  if (protocol === 'json') {
    return new AwsServiceError(
      'UnrecognizedClientException',
      'The security token included in the request is invalid.'
    );
  }
  if (protocol === 'ec2') {
    return new AwsServiceError(
      'AuthFailure',
      'AWS was not able to validate the provided access credentials',
      401
    );
  }
  return new AwsServiceError(
    'InvalidClientTokenId',
    'The security token included in the request is invalid.',
    403
  );
};

/**
 * Whether the scope names a region served and the right service; the error as each protocol words
 * it (JSON: `InvalidSignatureException`, STS/IAM: `SignatureDoesNotMatch`, EC2: `AuthFailure`).
 * `regions` are those the service accepts (IAM, a global service, also accepts `us-east-1`).
 */
export const scopeError = (
  scope: SigV4Scope | undefined,
  regions: readonly string[],
  signingName: string,
  protocol: AuthProtocol
): AwsServiceError | undefined => {
  const code =
    protocol === 'json'
      ? 'InvalidSignatureException'
      : protocol === 'query'
        ? 'SignatureDoesNotMatch'
        : 'AuthFailure';
  const status = protocol === 'ec2' ? 401 : 403;
  if (!scope) {
    return protocol === 'json'
      ? new AwsServiceError(
          'MissingAuthenticationTokenException',
          'Missing Authentication Token',
          403
        )
      : protocol === 'query'
        ? new AwsServiceError(
            'MissingAuthenticationToken',
            'Request is missing Authentication Token',
            403
          )
        : new AwsServiceError('AuthFailure', 'Missing Authentication Token', 401);
  }
  if (!regions.includes(scope.region)) {
    return new AwsServiceError(
      code,
      `Credential should be scoped to a valid region, not '${scope.region}'. This stand-in serves ${regions.map((r) => `'${r}'`).join(' or ')}.`,
      status
    );
  }
  if (scope.service !== signingName) {
    return new AwsServiceError(
      code,
      `Credential should be scoped to correct service: '${signingName}'.`,
      status
    );
  }
  return undefined;
};

/**
 * The first reason to refuse a request's credentials, in the order AWS meets them: no signature,
 * then the credentials themselves (expired, or an issued key without its session token), then a
 * scope for a region not served or another service.
 */
export const authError = (
  who: RequestCaller,
  regions: readonly string[],
  signingName: string,
  protocol: AuthProtocol
): AwsServiceError | undefined => {
  if (who.scope && who.problem) return credentialError(who.problem, protocol);
  return scopeError(who.scope, regions, signingName, protocol);
};
