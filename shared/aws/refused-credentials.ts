/**
 * Assumed credentials that AWS refuses before their expiry: a session revoked in IAM ("Revoke
 * active sessions" denies every session issued before a time) or cut short. The scope's cached
 * clients would keep using them until they expire (up to the role's session duration), failing
 * every call. The ports of an assumed scope are wrapped so that such a refusal drops the scope
 * (`AwsScopes.refused`): the next use assumes the role again.
 */
import { EcsApiError } from '../errors/ecs-api-error.ts';

/**
 * The codes with which AWS refuses a request's session itself (expired, unknown), in the JSON
 * services (ECS, CloudWatch Logs), EC2's query protocol and STS: new credentials may succeed.
 */
const SESSION_REFUSALS = new Set([
  'ExpiredTokenException',
  'ExpiredToken',
  'RequestExpired',
  'UnrecognizedClientException',
  'InvalidClientTokenId',
  'AuthFailure',
]);
/** The codes of a denied permission: a revoked session, or a permission the role lacks. */
const DENIALS = new Set(['AccessDeniedException', 'AccessDenied', 'UnauthorizedOperation']);

/** Whether `code` refuses the session itself (not a permission). */
export const isSessionRefusal = (code: string): boolean => SESSION_REFUSALS.has(code);

/** The refusal code of `error`, if it is one. */
export const refusalCodeOf = (error: unknown): string | undefined => {
  const code =
    error instanceof EcsApiError
      ? error.code
      : typeof error === 'object' && error !== null
        ? (error as { name?: unknown }).name
        : undefined;
  return typeof code === 'string' && (SESSION_REFUSALS.has(code) || DENIALS.has(code))
    ? code
    : undefined;
};

/**
 * `port` with each method wrapped: a refusal calls `onRefused`, which may answer the error to throw
 * instead (e.g. a retryable one); other errors and results pass through.
 *
 * @example
 * const ecs = recoverRefusedCredentials(scoped.ecs, (error, code) => …);
 */
export const recoverRefusedCredentials = <T extends object>(
  port: T,
  onRefused: (error: unknown, code: string) => Error | undefined
): T => {
  const wrapped: Record<string, unknown> = {};
  for (const [name, member] of Object.entries(port)) {
    wrapped[name] =
      typeof member === 'function'
        ? async (...args: unknown[]) => {
            try {
              return await (member as (...a: unknown[]) => unknown).apply(port, args);
            } catch (error) {
              const code = refusalCodeOf(error);
              throw (code === undefined ? undefined : onRefused(error, code)) ?? error;
            }
          }
        : member;
  }
  return wrapped as T;
};
