/** Lookups shared by the route modules, failing with the real server's 404 details. */
import { httpError, notFound } from '../http-errors.ts';
import {
  type DeploymentRecord,
  type FlowRunRecord,
  findQueueByName,
  findWorkPoolByName,
  type Store,
  type WorkPoolRecord,
  type WorkQueueRecord,
} from '../store.ts';

export type Json = Record<string, unknown>;

/** The request body as an object (validated against its schema before the handler runs). */
export const bodyOf = (body: unknown): Json =>
  body !== null && typeof body === 'object' && !Array.isArray(body) ? (body as Json) : {};

/** Whether the client sent `key` at all (pydantic's `exclude_unset`). */
export const has = (body: Json, key: string): boolean => Object.hasOwn(body, key);

/** Canonical form of a UUID path parameter (the convertor accepts upper case, no hyphens). */
export const canonicalId = (id: string): string => {
  const hex = id.replace(/-/g, '').toLowerCase();
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
};

export const requireWorkPool = (store: Store, name: string): WorkPoolRecord => {
  const pool = findWorkPoolByName(store, name);
  if (!pool) throw notFound(`Work pool "${name}" not found.`);
  return pool;
};

export const requireWorkQueue = (
  store: Store,
  poolName: string,
  queueName: string
): WorkQueueRecord => {
  const pool = findWorkPoolByName(store, poolName);
  const queue = pool ? findQueueByName(store, pool.id, queueName) : undefined;
  if (!queue) throw notFound(`Work pool queue '${poolName}/${queueName}' not found.`);
  return queue;
};

export const requireFlowRun = (store: Store, id: string): FlowRunRecord => {
  const run = store.flowRuns.get(canonicalId(id));
  if (!run) throw notFound('Flow run not found');
  return run;
};

export const requireDeployment = (store: Store, id: string): DeploymentRecord => {
  const deployment = store.deployments.get(canonicalId(id));
  if (!deployment) throw notFound('Deployment not found');
  return deployment;
};

/** The server's answer to a foreign-key or unique violation it does not check itself. */
export const integrityConflict = () =>
  httpError(
    409,
    'Data integrity conflict. This usually means a unique or foreign key constraint was violated. See server logs for details.'
  );
