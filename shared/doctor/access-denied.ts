/**
 * An AWS access-denied answer, in IAM's own words: who was refused which action on which resource,
 * and whether nothing allowed it (implicit) or a Deny refused it (explicit), and in which kind of
 * policy. The doctor turns it into the one permission to add (or the Deny to look at) instead of
 * a generic "check your permissions".
 *
 * The message formats are those of the IAM User Guide, "Access denied error messages"
 * (https://docs.aws.amazon.com/IAM/latest/UserGuide/troubleshoot_access-denied.html):
 *
 *   User: <principal> is not authorized to perform: <action> [on resource: <resource>]
 *     because no <policy type> policy allows the <action> action
 *   User: <principal> is not authorized to perform: <action> [on resource: <resource>]
 *     with an explicit deny in a(n) <policy type> policy
 *
 * Older services answer without the `because …`/`with …` part; the action and resource are read
 * all the same.
 */

/** The permission an access-denied message says is missing. */
export interface DeniedPermission {
  /** The caller, e.g. `arn:aws:sts::123456789012:assumed-role/LauncherRole/session`. */
  principal: string;
  /** e.g. `iam:PassRole`. */
  action: string;
  /** The resource ARN, when the message names one. */
  resource?: string;
  /** `implicit`: no policy allowed it; `explicit`: a Deny statement refused it; unknown: not said. */
  denial?: 'implicit' | 'explicit';
  /** e.g. `identity-based`, `service control`, `permissions boundary`, `resource-based`, `session`. */
  policyType?: string;
}

const DENIED =
  /User: (\S+) is not authorized to perform: ([\w-]+:[\w*-]+)(?: on resource: "?([^"\s]+?)"?(?=[\s.,]|$))?(?:\s+because no ([\w -]+?) policy allows|\s+with an explicit deny in an? ([\w -]+?) policy)?/;

/**
 * Reads an access-denied message; undefined when it is not one.
 *
 * @example
 * parseAccessDenied('User: arn:aws:sts::123456789012:assumed-role/LauncherRole/s is not authorized to perform: iam:PassRole on resource: arn:aws:iam::123456789012:role/etl because no identity-based policy allows the iam:PassRole action');
 * // { principal: '…/LauncherRole/s', action: 'iam:PassRole', resource: 'arn:aws:iam::123456789012:role/etl', denial: 'implicit', policyType: 'identity-based' }
 */
export const parseAccessDenied = (message: string): DeniedPermission | undefined => {
  const match = DENIED.exec(message);
  if (!match?.[1] || !match[2]) return undefined;
  const resource = match[3];
  const implicitType = match[4];
  const explicitType = match[5];
  return {
    principal: match[1],
    action: match[2],
    ...(resource ? { resource } : {}),
    ...(implicitType ? { denial: 'implicit' as const, policyType: implicitType } : {}),
    ...(explicitType ? { denial: 'explicit' as const, policyType: explicitType } : {}),
  };
};

/** `arn:aws:sts::…:assumed-role/Name/session` or `arn:aws:iam::…:role/path/Name` → `role Name`. */
const whoIs = (principal: string): string => {
  const assumed = /:assumed-role\/([^/]+)\//.exec(principal)?.[1];
  if (assumed) return `role ${assumed}`;
  const role = /:role\/(?:.*\/)?([^/]+)$/.exec(principal)?.[1];
  if (role) return `role ${role}`;
  return principal;
};

/**
 * What to change, for a denied permission.
 *
 * @example
 * permissionFix({ principal: '…:assumed-role/LauncherRole/s', action: 'ecs:RunTask', resource: 'arn:…', denial: 'implicit', policyType: 'identity-based' });
 * // 'Allow ecs:RunTask on arn:… in a policy of role LauncherRole (no identity-based policy allows it).'
 */
export const permissionFix = (denied: DeniedPermission): string => {
  const what = `${denied.action}${denied.resource ? ` on ${denied.resource}` : ''}`;
  const who = whoIs(denied.principal);
  if (denied.denial === 'explicit') {
    return `A Deny in a ${denied.policyType} policy refuses ${what} to ${who}; no Allow can override it: change that Deny (or its conditions).`;
  }
  if (denied.policyType && denied.policyType !== 'identity-based') {
    return `Allow ${what} for ${who} in its ${denied.policyType} policy: that policy must allow it too.`;
  }
  return `Allow ${what} in a policy of ${who}${denied.policyType ? ` (no ${denied.policyType} policy allows it)` : ''}.`;
};

/** The fix for an error (or the error it wraps) that is an access denial; undefined otherwise. */
export const accessDeniedFix = (error: unknown): string | undefined => {
  for (let current = error, depth = 0; current instanceof Error && depth < 5; depth += 1) {
    const denied = parseAccessDenied(current.message);
    if (denied) return permissionFix(denied);
    current = current.cause;
  }
  return undefined;
};
