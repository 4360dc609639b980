/**
 * `POST /deployments/filter` (Prefect's `read_deployments`): the deployments matching the body's
 * `deployments` and `work_pools` filters, sorted (`NAME_ASC` by default), then `offset` / `limit`.
 * A deployment belongs to a pool through its work queue, as the server's join does, so one without
 * a work queue never matches a `work_pools` filter. The criteria evaluated are `any_` on
 * `deployments.id` / `deployments.name` and `work_pools.id` / `name` / `type`; any other criterion,
 * operator or filter (`flows`, `flow_runs`, `task_runs`, `work_pool_queues`) answers 501, never a
 * silent match.
 */
import { HttpError } from '../http-errors.ts';
import { page } from '../limits.ts';
import type { RouteDefinition } from '../router.ts';
import type { DeploymentRecord, Store, WorkPoolRecord } from '../store.ts';
import { deploymentView } from '../views.ts';
import { bodyOf, type Json } from './lookups.ts';

const notImplemented = (what: string): HttpError =>
  new HttpError(501, { detail: `Prefect stand-in: filter ${what} is not implemented` });

type Accessors<T> = Readonly<Record<string, (item: T) => string>>;

const DEPLOYMENT_FIELDS: Accessors<DeploymentRecord> = {
  id: (deployment) => deployment.id,
  name: (deployment) => deployment.name,
};

const WORK_POOL_FIELDS: Accessors<WorkPoolRecord> = {
  id: (pool) => pool.id,
  name: (pool) => pool.name,
  type: (pool) => pool.type,
};

/** The filter as a predicate; `undefined` when absent (matches everything). */
const compile = <T>(
  filter: unknown,
  fields: Accessors<T>,
  path: string
): ((item: T) => boolean) | undefined => {
  if (filter === null || filter === undefined) return undefined;
  const checks: ((item: T) => boolean)[] = [];
  for (const [key, criterion] of Object.entries(filter as Json)) {
    if (key === 'operator' || criterion === null || criterion === undefined) continue;
    const field = fields[key];
    if (!field) throw notImplemented(`${path}.${key}`);
    for (const [op, operand] of Object.entries(criterion as Json)) {
      if (operand === null || operand === undefined) continue;
      if (op !== 'any_') throw notImplemented(`${path}.${key}.${op}`);
      const values = operand as unknown[];
      checks.push((item) => values.includes(field(item)));
    }
  }
  const any = (filter as Json).operator === 'or_';
  return (item) =>
    any ? checks.length === 0 || checks.some((check) => check(item)) : checks.every((c) => c(item));
};

const poolOf = (store: Store, deployment: DeploymentRecord): WorkPoolRecord | undefined => {
  const queue = deployment.work_queue_id
    ? store.workQueues.get(deployment.work_queue_id)
    : undefined;
  return queue ? store.workPools.get(queue.work_pool_id) : undefined;
};

const SORTS: Readonly<Record<string, (a: DeploymentRecord, b: DeploymentRecord) => number>> = {
  NAME_ASC: (a, b) => a.name.localeCompare(b.name),
  NAME_DESC: (a, b) => b.name.localeCompare(a.name),
  CREATED_DESC: (a, b) => b.created.localeCompare(a.created),
  UPDATED_DESC: (a, b) => b.updated.localeCompare(a.updated),
};

const readDeployments: RouteDefinition = {
  method: 'POST',
  path: '/deployments/filter',
  handle: ({ store, body }) => {
    const input = bodyOf(body);
    for (const unsupported of ['flows', 'flow_runs', 'task_runs', 'work_pool_queues']) {
      if (input[unsupported] !== null && input[unsupported] !== undefined) {
        throw notImplemented(unsupported);
      }
    }
    const matchesDeployment = compile(input.deployments, DEPLOYMENT_FIELDS, 'deployments');
    const matchesPool = compile(input.work_pools, WORK_POOL_FIELDS, 'work_pools');
    const sort = SORTS[typeof input.sort === 'string' ? input.sort : 'NAME_ASC'] ?? SORTS.NAME_ASC;
    const selected = [...store.deployments.values()]
      .filter((deployment) => {
        if (matchesDeployment && !matchesDeployment(deployment)) return false;
        if (!matchesPool) return true;
        const pool = poolOf(store, deployment);
        return pool !== undefined && matchesPool(pool);
      })
      .sort(sort);
    return {
      status: 200,
      body: page(selected, input).map((deployment) => deploymentView(store, deployment)),
    };
  },
};

export const deploymentFilterRoutes: readonly RouteDefinition[] = [readDeployments];
