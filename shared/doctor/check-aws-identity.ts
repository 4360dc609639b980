/**
 * Check: the AWS credentials work (STS GetCallerIdentity), and which account and principal they are.
 */
import { type CheckResult, describeFailure, fail, pass } from './check-result.ts';
import type { CallerIdentity, DoctorAwsApi } from './doctor-aws.ts';

export const AWS_IDENTITY_CHECK_NAME = 'AWS identity';

export type IdentityOutcome =
  | { ok: true; identity: CallerIdentity }
  | { ok: false; error: unknown };

/** Asks STS who the credentials are. */
export const probeIdentity = async (
  aws: Pick<DoctorAwsApi, 'getCallerIdentity'>
): Promise<IdentityOutcome> => {
  try {
    return { ok: true, identity: await aws.getCallerIdentity() };
  } catch (error) {
    return { ok: false, error };
  }
};

/** The verdict (pure). */
export const decideIdentity = (region: string, outcome: IdentityOutcome): CheckResult => {
  if (outcome.ok) {
    return pass(
      AWS_IDENTITY_CHECK_NAME,
      `account ${outcome.identity.account}, ${outcome.identity.arn} (region ${region})`
    );
  }
  return fail(
    AWS_IDENTITY_CHECK_NAME,
    describeFailure(outcome.error),
    'Give this shell AWS credentials for the account the stack runs in (AWS_PROFILE, `aws configure` / `aws sso login`, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY) and set AWS_REGION.'
  );
};
