/**
 * Check: the Prefect credential secrets the Lambdas read at cold start, and the flow-run containers
 * get as task-definition secrets (`PREFECT_API_KEY_SECRET_ARN`, `PREFECT_API_AUTH_STRING_SECRET_ARN`),
 * can be read. The value is kept in memory for the Prefect checks and never shown.
 */
import type { Config } from '../config.ts';
import { SecretReadError } from '../secrets/secret-read-error.ts';
import type { SecretReader } from '../secrets/secret-reader.ts';
import { accessDeniedFix } from './access-denied.ts';
import { type CheckResult, describeFailure, fail, pass } from './check-result.ts';

export const SECRET_CHECK_NAME = 'Prefect credential secret';

/** One configured secret and what reading it gave. */
export interface SecretRead {
  variable: 'PREFECT_API_KEY_SECRET_ARN' | 'PREFECT_API_AUTH_STRING_SECRET_ARN';
  arn: string;
  /** The value (never printed), or the error. */
  outcome: { ok: true; value: string } | { ok: false; error: unknown };
}

/** Reads every configured credential secret. */
export const readCredentialSecrets = async (
  config: Config,
  reader: SecretReader
): Promise<SecretRead[]> => {
  const configured = [
    ['PREFECT_API_KEY_SECRET_ARN', config.prefectApiKeySecretArn],
    ['PREFECT_API_AUTH_STRING_SECRET_ARN', config.prefectApiAuthStringSecretArn],
  ] as const;
  const reads: SecretRead[] = [];
  for (const [variable, arn] of configured) {
    if (arn === undefined) continue;
    try {
      reads.push({ variable, arn, outcome: { ok: true, value: await reader.readSecret(arn) } });
    } catch (error) {
      reads.push({ variable, arn, outcome: { ok: false, error } });
    }
  }
  return reads;
};

const fixFor = (read: SecretRead, error: unknown): string => {
  const code = error instanceof SecretReadError ? error.code : undefined;
  switch (code) {
    case 'ResourceNotFoundException':
      return `Create the secret in this account and region, or correct ${read.variable}.`;
    case 'AccessDeniedException':
      return (
        accessDeniedFix(error) ??
        `Allow secretsmanager:GetSecretValue on ${read.arn} for these credentials (and for the Lambdas' and the task execution role).`
      );
    case 'DecryptionFailure':
      return "Allow kms:Decrypt on the secret's KMS key.";
    case 'EmptySecret':
      return 'Store the Prefect credential as the secret’s plain-text value.';
    default:
      return `Check that ${read.variable} names a readable secret in this account and region.`;
  }
};

/** The verdict for each configured secret, or one pass when none is configured (pure). */
export const decideSecrets = (reads: readonly SecretRead[]): CheckResult[] => {
  if (reads.length === 0) {
    return [
      pass(
        SECRET_CHECK_NAME,
        'none configured (PREFECT_API_KEY_SECRET_ARN / PREFECT_API_AUTH_STRING_SECRET_ARN): flow-run containers get no Prefect credential, which suits an open self-hosted server only'
      ),
    ];
  }
  return reads.map((read) => {
    const name = `${SECRET_CHECK_NAME} (${read.variable})`;
    if (read.outcome.ok) return pass(name, `${read.arn} is readable (value not shown)`);
    const { error } = read.outcome;
    const detail = error instanceof SecretReadError ? error.message : describeFailure(error);
    return fail(name, detail, fixFor(read, error));
  });
};
