/**
 * Step 2–3 of a launch: read the flow and the pool (from the warm caches when possible) and render
 * the run's job configuration as Prefect's worker does (`render-launch-requests.ts`, without I/O).
 */
import type { Deployment, Flow, FlowRun, WorkPool } from '../prefect/schemas.ts';
import { WORK_POOL_TTL_MS } from './launch-caches.ts';
import type { LaunchDeps } from './launch-deps.ts';
import type { LaunchMessage } from './launch-message.ts';
import {
  type PreparedLaunch as RenderedLaunch,
  renderJobConfiguration,
} from './render-launch-requests.ts';

/** A rendered launch, with the flow and deployment it was made from (for the worker events). */
export interface PreparedLaunch extends RenderedLaunch {
  flow: Flow;
  deployment: Deployment | null;
}

const FLOW_CACHE_LIMIT = 1000;

const readFlow = (id: string, deps: LaunchDeps): Promise<Flow> => {
  const { flows } = deps.caches;
  const cached = flows.get(id);
  if (cached !== undefined) return cached;
  if (flows.size >= FLOW_CACHE_LIMIT) flows.clear();
  const reading = deps.prefect.readFlow(id);
  flows.set(id, reading);
  reading.catch(() => flows.delete(id));
  return reading;
};

const readWorkPool = (name: string, deps: LaunchDeps, nowMs: number): Promise<WorkPool> => {
  const { workPools } = deps.caches;
  const cached = workPools.get(name);
  if (cached && nowMs - cached.readAtMs < WORK_POOL_TTL_MS) return cached.pool;
  const reading = deps.prefect.readWorkPool(name);
  const entry = { pool: reading, readAtMs: nowMs };
  workPools.set(name, entry);
  reading.catch(() => {
    if (workPools.get(name) === entry) workPools.delete(name);
  });
  return reading;
};

/**
 * Reads the flow and the pool (warm caches first) and renders the run's configuration
 * (`renderJobConfiguration`, which `render` shares; permanent errors name the variable to fix).
 */
export const prepareLaunch = async (
  run: FlowRun,
  deployment: Deployment | null,
  message: LaunchMessage,
  deps: LaunchDeps,
  nowMs: number
): Promise<PreparedLaunch> => {
  const [flow, workPool] = await Promise.all([
    readFlow(run.flow_id, deps),
    readWorkPool(message.work_pool, deps, nowMs),
  ]);
  const rendered = await renderJobConfiguration(
    { workPool, deployment, flow, flowRun: run },
    deps.settings,
    deps.templateLookups
  );
  return { ...rendered, flow, deployment };
};
