import * as z from 'zod';
import type { HttpTransport } from './http.ts';
import { type Deployment, DeploymentSchema } from './schemas.ts';
import { checkLimit, compact } from './wire.ts';

/** Sort orders of `POST /deployments/filter`. */
export type DeploymentSort = 'CREATED_DESC' | 'UPDATED_DESC' | 'NAME_ASC' | 'NAME_DESC';

/** A deployment query; omitted criteria do not filter. */
export interface DeploymentFilterInput {
  /** `work_pools.name.any_`: deployments of these pools. */
  workPoolNames?: readonly string[];
  /** Default `NAME_ASC` (server side). */
  sort?: DeploymentSort;
  /** 1–200 (server default 200). */
  limit?: number;
  offset?: number;
}

/** Deployment queries. */
export interface DeploymentFilterCalls {
  /** `POST /deployments/filter`: one page of the matching deployments. */
  readDeployments(filter?: DeploymentFilterInput): Promise<Deployment[]>;
  /** Every deployment of the pool (`readDeployments` page after page, by name). */
  readWorkPoolDeployments(pool: string): Promise<Deployment[]>;
}

const PAGE_SIZE = 200;

/**
 * Builds the body of `POST /deployments/filter`, leaving out what is not set.
 *
 * @example
 * toDeploymentFilterBody({ workPoolNames: ['ecs'] }); // { work_pools: { name: { any_: ['ecs'] } } }
 */
export const toDeploymentFilterBody = (filter: DeploymentFilterInput): Record<string, unknown> => {
  if (filter.offset !== undefined && (!Number.isInteger(filter.offset) || filter.offset < 0)) {
    throw new RangeError(`Prefect offset must be a non-negative integer, got ${filter.offset}`);
  }
  return compact({
    work_pools:
      filter.workPoolNames === undefined
        ? undefined
        : { name: { any_: [...filter.workPoolNames] } },
    sort: filter.sort,
    limit: checkLimit(filter.limit),
    offset: filter.offset,
  });
};

/** Binds the deployment queries to a transport. */
export const createDeploymentFilterCalls = (http: HttpTransport): DeploymentFilterCalls => {
  const readDeployments = async (filter: DeploymentFilterInput = {}): Promise<Deployment[]> => {
    const request = {
      operation: 'readDeployments',
      method: 'POST',
      path: '/deployments/filter',
      body: toDeploymentFilterBody(filter),
    } as const;
    return (await http.sendParsed(request, z.array(DeploymentSchema))).data;
  };
  return {
    readDeployments,
    async readWorkPoolDeployments(pool) {
      const all: Deployment[] = [];
      for (let offset = 0; ; offset += PAGE_SIZE) {
        const page = await readDeployments({
          workPoolNames: [pool],
          sort: 'NAME_ASC',
          limit: PAGE_SIZE,
          offset,
        });
        all.push(...page);
        if (page.length < PAGE_SIZE) return all;
      }
    },
  };
};
