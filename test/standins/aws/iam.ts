/**
 * IAM stand-in (query protocol, `Version=2010-05-08`, XML answers, a global service signed for
 * `us-east-1`): GetRole, enough to check that an ECS execution or task role exists and trusts
 * `ecs-tasks.amazonaws.com`. Roles are created through the control API with their trust policy;
 * GetRole answers the policy URL-encoded, as IAM does. A missing role is `NoSuchEntity` (404), a
 * malformed or missing `RoleName` a `ValidationError`, any other action `InvalidAction` and any other
 * parameter `UnknownParameter`.
 */
import { createHash, randomUUID } from 'node:crypto';
import { checkVersion, escapeXml, refuseUnknownParameters } from './query-protocol.ts';
import { AwsServiceError, type QueryService } from './service.ts';

export const IAM_API_VERSION = '2010-05-08';
export const IAM_XML_NAMESPACE = `https://iam.amazonaws.com/doc/${IAM_API_VERSION}/`;
/**
 * IAM is global: on its default endpoint the SDK signs for this region in the `aws` partition (given
 * an endpoint, such as the stand-in's, it signs for the configured region, which is accepted too).
 */
export const IAM_SIGNING_REGION = 'us-east-1';

/** The trust policy of a role that ECS tasks may assume (what the console creates). */
export const ECS_TASKS_TRUST_POLICY = {
  Version: '2012-10-17',
  Statement: [
    {
      Effect: 'Allow',
      Principal: { Service: 'ecs-tasks.amazonaws.com' },
      Action: 'sts:AssumeRole',
    },
  ],
} as const;

export interface IamRole {
  readonly roleName: string;
  /** `/` or `/a/b/`. */
  readonly path: string;
  readonly arn: string;
  readonly roleId: string;
  readonly createDate: Date;
  /** The trust policy as JSON text. */
  readonly assumeRolePolicyDocument: string;
}

export interface IamService extends QueryService {
  /** Creates a role (default trust policy: {@link ECS_TASKS_TRUST_POLICY}); returns its ARN. */
  addRole(role: { roleName: string; path?: string; trustPolicy?: unknown }): string;
  deleteRole(roleName: string): void;
  getRole(roleName: string): IamRole | undefined;
}

const ROLE_NAME = /^[\w+=,.@-]{1,64}$/;
const PATH = /^\/([\u0021-\u007e]*\/)?$/;

const validationError = (value: string | null, constraint: string): AwsServiceError =>
  new AwsServiceError(
    'ValidationError',
    `1 validation error detected: Value ${value === null ? 'null' : `'${value}'`} at 'roleName' failed to satisfy constraint: ${constraint}`
  );

/** IAM's encoding of policy documents in XML answers (RFC 3986 percent-encoding). */
const encodePolicy = (text: string): string =>
  encodeURIComponent(text).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16)}`);

export const createIamService = (options: { accountId: string }): IamService => {
  const roles = new Map<string, IamRole>();

  const getRole = (params: URLSearchParams): string => {
    refuseUnknownParameters(params, (key) => key === 'RoleName');
    const name = params.get('RoleName');
    if (name === null) throw validationError(null, 'Member must not be null');
    if (name.length < 1 || name.length > 64) {
      throw validationError(name, 'Member must have length between 1 and 64');
    }
    if (!ROLE_NAME.test(name)) {
      throw validationError(name, 'Member must satisfy regular expression pattern: [\\w+=,.@-]+');
    }
    const role = roles.get(name.toLowerCase());
    if (!role) {
      throw new AwsServiceError('NoSuchEntity', `The role with name ${name} cannot be found.`, 404);
    }
    return `<?xml version="1.0" encoding="UTF-8"?>\n<GetRoleResponse xmlns="${IAM_XML_NAMESPACE}"><GetRoleResult><Role><Path>${escapeXml(role.path)}</Path><Arn>${escapeXml(role.arn)}</Arn><RoleName>${escapeXml(role.roleName)}</RoleName><AssumeRolePolicyDocument>${encodePolicy(role.assumeRolePolicyDocument)}</AssumeRolePolicyDocument><CreateDate>${role.createDate.toISOString().replace(/\.\d{3}Z$/, 'Z')}</CreateDate><RoleId>${role.roleId}</RoleId><MaxSessionDuration>3600</MaxSessionDuration><RoleLastUsed/></Role></GetRoleResult><ResponseMetadata><RequestId>${randomUUID()}</RequestId></ResponseMetadata></GetRoleResponse>`;
  };

  return {
    addRole({ roleName, path = '/', trustPolicy = ECS_TASKS_TRUST_POLICY }) {
      if (!ROLE_NAME.test(roleName)) throw new Error(`Invalid role name ${roleName}`);
      if (!PATH.test(path)) throw new Error(`Invalid role path ${path}`);
      // Role names are unique case-insensitively within an account.
      if (roles.has(roleName.toLowerCase())) throw new Error(`Role ${roleName} already exists`);
      const arn = `arn:aws:iam::${options.accountId}:role${path}${roleName}`;
      roles.set(roleName.toLowerCase(), {
        roleName,
        path,
        arn,
        roleId: `AROA${createHash('sha256').update(arn).digest('hex').slice(0, 17).toUpperCase()}`,
        createDate: new Date(),
        assumeRolePolicyDocument:
          typeof trustPolicy === 'string' ? trustPolicy : JSON.stringify(trustPolicy),
      });
      return arn;
    },
    deleteRole(roleName) {
      if (!roles.delete(roleName.toLowerCase())) throw new Error(`No role ${roleName}`);
    },
    getRole: (roleName) => roles.get(roleName.toLowerCase()),
    handle(action, params) {
      if (action !== 'GetRole') {
        throw new AwsServiceError(
          'InvalidAction',
          `Could not find operation ${action} for version ${params.get('Version') ?? IAM_API_VERSION}`
        );
      }
      checkVersion(params, action, IAM_API_VERSION);
      return getRole(params);
    },
  };
};
