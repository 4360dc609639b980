import { randomBytes, randomUUID } from 'node:crypto';

export interface AccountContext {
  region: string;
  accountId: string;
}

const prefix = (ctx: AccountContext): string => `arn:aws:ecs:${ctx.region}:${ctx.accountId}`;

export const clusterArn = (ctx: AccountContext, name: string): string =>
  `${prefix(ctx)}:cluster/${name}`;

export const taskDefinitionArn = (ctx: AccountContext, family: string, revision: number): string =>
  `${prefix(ctx)}:task-definition/${family}:${revision}`;

/** Long ARN format: `task/<cluster>/<32 hex>`. */
export const taskArn = (ctx: AccountContext, cluster: string, id: string): string =>
  `${prefix(ctx)}:task/${cluster}/${id}`;

export const containerArn = (ctx: AccountContext, cluster: string, taskId: string): string =>
  `${prefix(ctx)}:container/${cluster}/${taskId}/${randomUUID()}`;

export const containerInstanceArn = (ctx: AccountContext, cluster: string): string =>
  `${prefix(ctx)}:container-instance/${cluster}/${randomBytes(16).toString('hex')}`;

export const newTaskId = (): string => randomBytes(16).toString('hex');

export interface ParsedArn {
  region: string;
  accountId: string;
  resourceType: string;
  /** Everything after `<resourceType>/`. */
  resource: string;
}

/** Parses `arn:aws:ecs:<region>:<account>:<type>/<resource>`; undefined for anything else. */
export const parseEcsArn = (arn: string): ParsedArn | undefined => {
  const match = /^arn:aws[a-z-]*:ecs:([a-z0-9-]+):(\d{12}):([a-z-]+)\/(.+)$/.exec(arn);
  if (!match) return undefined;
  const [, region, accountId, resourceType, resource] = match;
  if (!region || !accountId || !resourceType || !resource) return undefined;
  return { region, accountId, resourceType, resource };
};

export const isArn = (text: string): boolean => text.startsWith('arn:');

/** The ARN parsed when it names a `resourceType` of this account and region; undefined otherwise. */
export const parseOwnArn = (
  ctx: AccountContext,
  arn: string,
  resourceType: string
): ParsedArn | undefined => {
  const parsed = parseEcsArn(arn);
  if (parsed?.resourceType !== resourceType) return undefined;
  return parsed.region === ctx.region && parsed.accountId === ctx.accountId ? parsed : undefined;
};

/** Cluster, family and container names: up to 255 letters, numbers, hyphens and underscores. */
export const NAME_PATTERN = /^[a-zA-Z0-9_-]{1,255}$/;
