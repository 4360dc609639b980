/**
 * Step 2–3 of a launch: read the flow and the pool (from the warm caches when possible) and render
 * the run's job configuration as Prefect's worker does.
 */
import { PermanentLaunchError } from '../errors/permanent-launch-error.ts';
import type { EcsJobConfiguration, FlowRunContext } from '../jobs/ecs-job-configuration.ts';
import { resolveJobConfiguration } from '../jobs/resolve-job-configuration.ts';
import type { Deployment, Flow, FlowRun, WorkPool } from '../prefect/schemas.ts';
import { WORK_POOL_TTL_MS } from './launch-caches.ts';
import type { LaunchDeps } from './launch-deps.ts';
import type { LaunchMessage } from './launch-message.ts';

/** A rendered configuration, ready to start. */
export interface PreparedLaunch {
  configuration: EcsJobConfiguration;
  context: FlowRunContext;
  warnings: string[];
  workPool: WorkPool;
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

/** Renders the run's configuration (permanent errors name the variable to fix). */
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
  if (workPool.type !== 'ecs') {
    throw new PermanentLaunchError(
      `Work pool '${workPool.name}' is of type '${workPool.type}', not 'ecs'; the serverless ECS launcher only runs ECS pools. Remove it from PREFECT_WORK_POOLS.`
    );
  }
  const { settings } = deps;
  const resolved = await resolveJobConfiguration(
    {
      workPool,
      deployment,
      flow,
      flowRun: run,
      workerName: settings.workerName,
      prefectEnvironment: { PREFECT_API_URL: settings.prefectApiUrl },
      environment: settings.templateEnvironment,
      allowedEnvironment: settings.templateEnvAllowlist,
    },
    { lookups: deps.templateLookups }
  );
  const context: FlowRunContext = {
    flowRunId: run.id,
    flowId: run.flow_id,
    deploymentId: run.deployment_id,
    workPoolName: workPool.name,
  };
  return {
    configuration: resolved.configuration,
    context,
    warnings: resolved.warnings,
    workPool,
  };
};
