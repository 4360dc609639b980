/**
 * What a warm launcher container remembers between records, so steady state costs one ECS call
 * (RunTask) and five Prefect calls per run. Create one set per container (module scope).
 */

import type { NetworkCache } from '../ecs/network-configuration.ts';
import {
  createTaskDefinitionMemo,
  type TaskDefinitionMemo,
} from '../ecs/task-definition-registry.ts';
import type { TaskDefinitionFacts } from '../ecs/validate-task-definition.ts';
import type { Flow, WorkPool } from '../prefect/schemas.ts';

/** How long a read work pool is reused, in ms: its template changes reach runs within this. */
export const WORK_POOL_TTL_MS = 30_000;

/** The container's caches. */
export interface LaunchCaches {
  /** family → the revision holding our content (task-definition-registry). */
  taskDefinitions: TaskDefinitionMemo;
  /** VPCs and their subnets (network discovery). */
  network: NetworkCache;
  /** Task definitions named by `task_definition_arn`, as described once (for the launch checks). */
  givenTaskDefinitions: Map<string, TaskDefinitionFacts>;
  /** Flows by id (a flow's name and id never change); reads in flight are shared. */
  flows: Map<string, Promise<Flow>>;
  /** Work pools by name, with the epoch ms they were read at; reads in flight are shared. */
  workPools: Map<string, { pool: Promise<WorkPool>; readAtMs: number }>;
}

/**
 * Empty caches.
 *
 * @example
 * const caches = createLaunchCaches(); // module scope
 */
export const createLaunchCaches = (): LaunchCaches => ({
  taskDefinitions: createTaskDefinitionMemo(),
  network: new Map(),
  givenTaskDefinitions: new Map(),
  flows: new Map(),
  workPools: new Map(),
});
