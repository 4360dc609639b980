/**
 * Whether a role's trust policy lets ECS tasks assume it (pure): an `Allow` statement for
 * `sts:AssumeRole` whose principal includes the service `ecs-tasks.amazonaws.com` (or `*`), and no
 * `Deny` statement that matches it. Conditions are not evaluated: ECS supplies the usual ones
 * (`aws:SourceAccount`, `aws:SourceArn`), so a conditional allow counts, and is mentioned.
 */

export const ECS_TASKS_PRINCIPAL = 'ecs-tasks.amazonaws.com';

export type TrustVerdict =
  | { trusted: true; conditional: boolean }
  | { trusted: false; reason: string };

type Json = Record<string, unknown>;

const asList = (value: unknown): unknown[] =>
  value === undefined ? [] : Array.isArray(value) ? value : [value];

const wildcard = (pattern: string): RegExp =>
  new RegExp(
    `^${pattern
      .split('*')
      .map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
      .join('.*')}$`,
    'i'
  );

const actionMatches = (statement: Json): boolean => {
  if (statement.NotAction !== undefined) {
    return !asList(statement.NotAction).some(
      (action) => typeof action === 'string' && wildcard(action).test('sts:AssumeRole')
    );
  }
  return asList(statement.Action).some(
    (action) => typeof action === 'string' && wildcard(action).test('sts:AssumeRole')
  );
};

const principalMatches = (statement: Json): boolean => {
  const principal = statement.Principal;
  if (principal === '*') return true;
  if (typeof principal !== 'object' || principal === null) return false;
  const { Service: service, AWS: aws } = principal as Json;
  return (
    asList(service).includes(ECS_TASKS_PRINCIPAL) || asList(aws).some((entry) => entry === '*')
  );
};

/**
 * @example
 * trustsEcsTasks('{"Statement":[{"Effect":"Allow","Principal":{"Service":"ecs-tasks.amazonaws.com"},"Action":"sts:AssumeRole"}]}');
 * // { trusted: true, conditional: false }
 */
export const trustsEcsTasks = (policyText: string): TrustVerdict => {
  let policy: unknown;
  try {
    policy = JSON.parse(policyText);
  } catch {
    return { trusted: false, reason: 'its trust policy is not valid JSON' };
  }
  const statements = asList((policy as Json | null)?.Statement).filter(
    (statement): statement is Json => typeof statement === 'object' && statement !== null
  );
  const matching = statements.filter(
    (statement) => actionMatches(statement) && principalMatches(statement)
  );
  if (matching.some((statement) => statement.Effect === 'Deny')) {
    return {
      trusted: false,
      reason: `its trust policy denies sts:AssumeRole to ${ECS_TASKS_PRINCIPAL}`,
    };
  }
  const allows = matching.filter((statement) => statement.Effect === 'Allow');
  if (allows.length === 0) {
    return {
      trusted: false,
      reason: `its trust policy does not allow ${ECS_TASKS_PRINCIPAL} to assume it`,
    };
  }
  return {
    trusted: true,
    conditional: allows.every((statement) => statement.Condition !== undefined),
  };
};
