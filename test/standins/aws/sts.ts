/**
 * STS stand-in (query protocol, `Version=2011-06-15`, XML answers): GetCallerIdentity, which answers
 * who the request's credentials belong to. The stand-in does not check signatures, so every caller is
 * the one identity set here (default `arn:aws:iam::<account>:user/standin`). Any other action is
 * `InvalidAction`; any parameter is `UnknownParameter` (GetCallerIdentity takes none).
 */
import { createHash, randomUUID } from 'node:crypto';
import { checkVersion, escapeXml, refuseUnknownParameters } from './query-protocol.ts';
import { AwsServiceError, type QueryService } from './service.ts';

export const STS_API_VERSION = '2011-06-15';
export const STS_XML_NAMESPACE = `https://sts.amazonaws.com/doc/${STS_API_VERSION}/`;

export interface StsIdentity {
  /** e.g. `arn:aws:iam::123456789012:user/alice` or `arn:aws:sts::123456789012:assumed-role/r/s`. */
  readonly arn: string;
  /** e.g. `AIDA…` for a user, `AROA…:session` for an assumed role. */
  readonly userId: string;
  readonly account: string;
}

export interface StsService extends QueryService {
  readonly identity: StsIdentity;
  /** Who GetCallerIdentity says the caller is from now on (the account is read from the ARN). */
  setIdentity(identity: { arn: string; userId?: string }): void;
}

const userIdFor = (arn: string): string =>
  `AIDA${createHash('sha256').update(arn).digest('hex').slice(0, 17).toUpperCase()}`;

const accountOf = (arn: string): string => {
  const account = arn.split(':')[4];
  if (!account || !/^\d{12}$/.test(account)) throw new Error(`Not an IAM/STS ARN: ${arn}`);
  return account;
};

export const createStsService = (options: { accountId: string }): StsService => {
  let identity: StsIdentity = {
    arn: `arn:aws:iam::${options.accountId}:user/standin`,
    userId: userIdFor(`arn:aws:iam::${options.accountId}:user/standin`),
    account: options.accountId,
  };
  return {
    get identity() {
      return identity;
    },
    setIdentity({ arn, userId }) {
      identity = { arn, userId: userId ?? userIdFor(arn), account: accountOf(arn) };
    },
    handle(action, params) {
      if (action !== 'GetCallerIdentity') {
        throw new AwsServiceError(
          'InvalidAction',
          `Could not find operation ${action} for version ${params.get('Version') ?? STS_API_VERSION}`
        );
      }
      checkVersion(params, action, STS_API_VERSION);
      refuseUnknownParameters(params, () => false);
      return `<?xml version="1.0" encoding="UTF-8"?>\n<GetCallerIdentityResponse xmlns="${STS_XML_NAMESPACE}"><GetCallerIdentityResult><Arn>${escapeXml(identity.arn)}</Arn><UserId>${escapeXml(identity.userId)}</UserId><Account>${identity.account}</Account></GetCallerIdentityResult><ResponseMetadata><RequestId>${randomUUID()}</RequestId></ResponseMetadata></GetCallerIdentityResponse>`;
    },
  };
};
