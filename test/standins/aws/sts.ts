/**
 * STS stand-in (query protocol, `Version=2011-06-15`, XML answers): GetCallerIdentity and AssumeRole.
 *
 * - Callers are told apart by the access key that signed the request (signatures are not checked).
 *   A key AssumeRole issued is that role session (`arn:aws:sts::<role account>:assumed-role/<role>/
 *   <session>`); any other key is the home identity set here (default
 *   `arn:aws:iam::<home account>:user/standin`).
 * - Roles must be registered (`addRole`): an unregistered role, an ExternalId that is missing or
 *   wrong, or a caller whose account the role does not trust is `AccessDenied` (403), worded as IAM
 *   words it: `User: <caller arn> is not authorized to perform: sts:AssumeRole on resource: <role arn>`.
 * - Issued credentials (`ASIA…` key, secret, session token) expire on the stand-in's clock; the server
 *   (test/standins/ecs/server.ts) attributes every request they sign to the role's account and refuses
 *   them once expired, or without their session token.
 *
 * Any other action is `InvalidAction`; unknown parameters are `UnknownParameter`.
 * API reference: https://docs.aws.amazon.com/STS/latest/APIReference/API_AssumeRole.html
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { checkVersion, escapeXml, refuseUnknownParameters } from './query-protocol.ts';
import { AwsServiceError, type QueryService } from './service.ts';
import { packedPolicySize, readAssumeRoleRequest } from './sts-assume-role-request.ts';

export const STS_API_VERSION = '2011-06-15';
export const STS_XML_NAMESPACE = `https://sts.amazonaws.com/doc/${STS_API_VERSION}/`;

/** "By default, the value is set to 3600 seconds" (AssumeRole, DurationSeconds). */
export const DEFAULT_SESSION_SECONDS = 3600;
/** "Role chaining limits your … role session to a maximum of one hour." */
export const ROLE_CHAINING_MAX_SECONDS = 3600;

export interface StsIdentity {
  /** e.g. `arn:aws:iam::123456789012:user/alice` or `arn:aws:sts::123456789012:assumed-role/r/s`. */
  readonly arn: string;
  /** e.g. `AIDA…` for a user, `AROA…:session` for an assumed role. */
  readonly userId: string;
  readonly account: string;
}

/** A role AssumeRole may assume. */
export interface StsRole {
  /** `arn:aws:iam::<account>:role/<path><name>`. */
  readonly arn: string;
  readonly accountId: string;
  readonly roleName: string;
  /** `AROA` + 17 characters, stable for the ARN. */
  readonly roleId: string;
  /** When set, AssumeRole must pass exactly this `ExternalId` (the trust policy's condition). */
  readonly externalId?: string;
  /** The role's MaxSessionDuration: 3600 (default) to 43200 seconds. */
  readonly maxSessionDurationSeconds: number;
  /** Accounts whose principals the trust policy admits (default: the home account). */
  readonly trustedAccounts: readonly string[];
}

export interface StsRoleInput {
  arn: string;
  externalId?: string;
  maxSessionDurationSeconds?: number;
  trustedAccounts?: readonly string[];
}

/** A role session AssumeRole started (its secret key and session token are never exposed here). */
export interface StsSession {
  readonly accessKeyId: string;
  /** The role's account: where the requests these credentials sign land. */
  readonly accountId: string;
  readonly roleArn: string;
  readonly sessionName: string;
  /** `arn:aws:sts::<account>:assumed-role/<role name>/<session name>`. */
  readonly assumedRoleArn: string;
  /** `<role id>:<session name>`. */
  readonly assumedRoleId: string;
  readonly expiration: Date;
  readonly issuedAt: Date;
  /** The key that called AssumeRole. */
  readonly issuedTo: string | undefined;
  readonly externalId?: string;
  readonly sourceIdentity?: string;
}

/** Who a request's credentials belong to. */
export interface StsCaller {
  readonly accessKeyId: string | undefined;
  readonly identity: StsIdentity;
  /** Set when the key is one AssumeRole issued. */
  readonly session?: StsSession;
}

export interface StsService extends QueryService {
  readonly identity: StsIdentity;
  /** Who GetCallerIdentity says the home caller is from now on (the account is read from the ARN). */
  setIdentity(identity: { arn: string; userId?: string }): void;
  /** Registers a role AssumeRole may assume (again for the same ARN: replaces it). */
  addRole(role: StsRoleInput): StsRole;
  role(arn: string): StsRole | undefined;
  roles(): StsRole[];
  /** The home account and every registered role's account. */
  accounts(): string[];
  /** Every session AssumeRole started, in order (a copy; no secrets). */
  sessions(): StsSession[];
  /** The session an access key belongs to, if AssumeRole issued it. */
  session(accessKeyId: string): StsSession | undefined;
  /** Whether `token` is the session token issued with `accessKeyId`. */
  sessionTokenMatches(accessKeyId: string, token: string | undefined): boolean;
  /** Ends a session now (its expiration becomes the current time): the next use is refused. */
  expire(accessKeyId: string): void;
  /** Who signed with `accessKeyId`. */
  callerOf(accessKeyId: string | undefined): StsCaller;
  /** Answers `action` as `caller` (`handle` answers as the home identity). */
  handleAs(caller: StsCaller, action: string, params: URLSearchParams, requestId?: string): string;
}

const hash = (text: string): string => createHash('sha256').update(text).digest('hex');

const userIdFor = (arn: string): string => `AIDA${hash(arn).slice(0, 17).toUpperCase()}`;
const roleIdFor = (arn: string): string => `AROA${hash(arn).slice(0, 17).toUpperCase()}`;

const accountOf = (arn: string): string => {
  const account = arn.split(':')[4];
  if (!account || !/^\d{12}$/.test(account)) throw new Error(`Not an IAM/STS ARN: ${arn}`);
  return account;
};

const ROLE_ARN = /^arn:aws[a-z-]*:iam::(\d{12}):role\/(?:[\u0021-\u007e]*\/)?([\w+=,.@-]{1,64})$/;

/** `[A-Z2-7]`: the alphabet of AWS access key ids after their 4-letter prefix. */
const BASE32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
const randomKeyId = (): string =>
  `ASIA${[...randomBytes(16)].map((byte) => BASE32[byte % 32]).join('')}`;

const xml = (action: string, result: string, requestId: string): string =>
  `<?xml version="1.0" encoding="UTF-8"?>\n<${action}Response xmlns="${STS_XML_NAMESPACE}"><${action}Result>${result}</${action}Result><ResponseMetadata><RequestId>${requestId}</RequestId></ResponseMetadata></${action}Response>`;

const accessDenied = (caller: StsCaller, roleArn: string): AwsServiceError =>
  new AwsServiceError(
    'AccessDenied',
    `User: ${caller.identity.arn} is not authorized to perform: sts:AssumeRole on resource: ${roleArn}`,
    403
  );

export const createStsService = (options: {
  accountId: string;
  /** The clock expirations are set and checked on (default: the system clock). */
  now?: () => Date;
}): StsService => {
  const now = options.now ?? (() => new Date());
  let identity: StsIdentity = {
    arn: `arn:aws:iam::${options.accountId}:user/standin`,
    userId: userIdFor(`arn:aws:iam::${options.accountId}:user/standin`),
    account: options.accountId,
  };
  const roles = new Map<string, StsRole>();
  const sessions = new Map<string, StsSession & { sessionToken: string }>();

  const publicSession = ({
    sessionToken: _token,
    ...session
  }: StsSession & { sessionToken: string }) => session;

  const callerOf = (accessKeyId: string | undefined): StsCaller => {
    const session = accessKeyId === undefined ? undefined : sessions.get(accessKeyId);
    if (!session) return { accessKeyId, identity };
    return {
      accessKeyId,
      identity: {
        arn: session.assumedRoleArn,
        userId: session.assumedRoleId,
        account: session.accountId,
      },
      session: publicSession(session),
    };
  };

  const assumeRole = (caller: StsCaller, params: URLSearchParams, requestId: string): string => {
    const request = readAssumeRoleRequest(params);
    const role = roles.get(request.roleArn);
    if (
      !role?.trustedAccounts.includes(caller.identity.account) ||
      (role.externalId !== undefined && request.externalId !== role.externalId)
    ) {
      throw accessDenied(caller, request.roleArn);
    }
    const duration = request.durationSeconds ?? DEFAULT_SESSION_SECONDS;
    if (duration > role.maxSessionDurationSeconds) {
      throw new AwsServiceError(
        'ValidationError',
        'The requested DurationSeconds exceeds the MaxSessionDuration set for this role.'
      );
    }
    if (caller.session && duration > ROLE_CHAINING_MAX_SECONDS) {
      throw new AwsServiceError(
        'ValidationError',
        'The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining.'
      );
    }
    const issuedAt = now();
    const accessKeyId = randomKeyId();
    const secretAccessKey = randomBytes(30).toString('base64');
    const sessionToken = `IQoJb3JpZ2luX2Vj${randomBytes(240).toString('base64')}`;
    const session = {
      accessKeyId,
      accountId: role.accountId,
      roleArn: role.arn,
      sessionName: request.roleSessionName,
      assumedRoleArn: `arn:aws:sts::${role.accountId}:assumed-role/${role.roleName}/${request.roleSessionName}`,
      assumedRoleId: `${role.roleId}:${request.roleSessionName}`,
      expiration: new Date(issuedAt.getTime() + duration * 1000),
      issuedAt,
      issuedTo: caller.accessKeyId,
      ...(request.externalId === undefined ? {} : { externalId: request.externalId }),
      ...(request.sourceIdentity === undefined ? {} : { sourceIdentity: request.sourceIdentity }),
      sessionToken,
    };
    sessions.set(accessKeyId, session);
    const packed = packedPolicySize(request);
    return xml(
      'AssumeRole',
      `<Credentials><AccessKeyId>${accessKeyId}</AccessKeyId><SecretAccessKey>${escapeXml(secretAccessKey)}</SecretAccessKey><SessionToken>${escapeXml(sessionToken)}</SessionToken><Expiration>${session.expiration.toISOString()}</Expiration></Credentials><AssumedRoleUser><AssumedRoleId>${escapeXml(session.assumedRoleId)}</AssumedRoleId><Arn>${escapeXml(session.assumedRoleArn)}</Arn></AssumedRoleUser>${packed === undefined ? '' : `<PackedPolicySize>${packed}</PackedPolicySize>`}${request.sourceIdentity === undefined ? '' : `<SourceIdentity>${escapeXml(request.sourceIdentity)}</SourceIdentity>`}`,
      requestId
    );
  };

  const handleAs = (
    caller: StsCaller,
    action: string,
    params: URLSearchParams,
    requestId: string = randomUUID()
  ): string => {
    if (action === 'AssumeRole') {
      checkVersion(params, action, STS_API_VERSION);
      return assumeRole(caller, params, requestId);
    }
    if (action !== 'GetCallerIdentity') {
      throw new AwsServiceError(
        'InvalidAction',
        `Could not find operation ${action} for version ${params.get('Version') ?? STS_API_VERSION}`
      );
    }
    checkVersion(params, action, STS_API_VERSION);
    refuseUnknownParameters(params, () => false);
    const who = caller.identity;
    return xml(
      'GetCallerIdentity',
      `<Arn>${escapeXml(who.arn)}</Arn><UserId>${escapeXml(who.userId)}</UserId><Account>${who.account}</Account>`,
      requestId
    );
  };

  return {
    get identity() {
      return identity;
    },
    setIdentity({ arn, userId }) {
      identity = { arn, userId: userId ?? userIdFor(arn), account: accountOf(arn) };
    },
    addRole(input) {
      const match = ROLE_ARN.exec(input.arn);
      const [, accountId, roleName] = match ?? [];
      if (!accountId || !roleName) {
        throw new Error(`Not an IAM role ARN: ${input.arn} (arn:aws:iam::<12 digits>:role/<name>)`);
      }
      const max = input.maxSessionDurationSeconds ?? DEFAULT_SESSION_SECONDS;
      // IAM: "The maximum session duration setting can have a value from 1 hour to 12 hours."
      if (!Number.isInteger(max) || max < 3600 || max > 43_200) {
        throw new Error(`maxSessionDurationSeconds must be 3600-43200, got ${max}`);
      }
      const role: StsRole = {
        arn: input.arn,
        accountId,
        roleName,
        roleId: roleIdFor(input.arn),
        ...(input.externalId === undefined ? {} : { externalId: input.externalId }),
        maxSessionDurationSeconds: max,
        trustedAccounts: [...(input.trustedAccounts ?? [options.accountId])],
      };
      roles.set(input.arn, role);
      return role;
    },
    role: (arn) => roles.get(arn),
    roles: () => [...roles.values()],
    accounts: () => [
      ...new Set([options.accountId, ...[...roles.values()].map((role) => role.accountId)]),
    ],
    sessions: () => [...sessions.values()].map(publicSession),
    session(accessKeyId) {
      const session = sessions.get(accessKeyId);
      return session ? publicSession(session) : undefined;
    },
    sessionTokenMatches: (accessKeyId, token) =>
      token !== undefined && sessions.get(accessKeyId)?.sessionToken === token,
    expire(accessKeyId) {
      const session = sessions.get(accessKeyId);
      if (!session) throw new Error(`STS issued no access key ${accessKeyId}`);
      sessions.set(accessKeyId, { ...session, expiration: now() });
    },
    callerOf,
    handleAs,
    handle: (action, params) => handleAs(callerOf(undefined), action, params),
  };
};
