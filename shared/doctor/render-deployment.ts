/**
 * Renders a pool's job configuration for one deployment (or for the pool alone) through the
 * launcher's own render and build path (`renderJobConfiguration`, `renderLaunchRequests`), for a
 * flow run made up for the check. Prefect variables that do not exist are recorded: Prefect renders
 * them as `""` without an error, which the doctor reports.
 */
import { randomUUID } from 'node:crypto';
import type { EcsJobConfiguration } from '../jobs/ecs-job-configuration.ts';
import { memoizeTemplateLookups, type TemplateLookups } from '../jobs/template-lookups.ts';
import {
  type RenderedLaunchRequests,
  type RenderSettings,
  renderJobConfiguration,
  renderLaunchRequests,
} from '../launch/render-launch-requests.ts';
import {
  type Deployment,
  type Flow,
  type FlowRun,
  FlowRunSchema,
  FlowSchema,
  type WorkPool,
} from '../prefect/schemas.ts';

/** What rendering gave. */
export type RenderOutcome =
  | {
      ok: true;
      configuration: EcsJobConfiguration;
      requests: RenderedLaunchRequests;
      /** `{{ prefect.variables.<name> }}` names that do not exist. */
      missingVariables: string[];
    }
  | { ok: false; error: unknown };

/** The flow run the check renders for: scheduled now, no run-level job variables. */
export const doctorFlowRun = (
  workPool: WorkPool,
  deployment: Deployment | null,
  flow: Flow
): FlowRun =>
  FlowRunSchema.parse({
    id: randomUUID(),
    name: 'prefect-ecs-serverless-doctor',
    flow_id: flow.id,
    deployment_id: deployment?.id ?? null,
    work_queue_id: null,
    work_queue_name: deployment?.work_queue_name ?? null,
    work_pool_id: workPool.id,
    work_pool_name: workPool.name,
    state: null,
    state_type: 'SCHEDULED',
    state_name: 'Scheduled',
    infrastructure_pid: null,
    start_time: null,
    expected_start_time: new Date().toISOString(),
    next_scheduled_start_time: null,
    job_variables: {},
    labels: {},
    tags: deployment?.tags ?? [],
    parameters: {},
    created: new Date().toISOString(),
  });

/** A flow for rendering a pool that has no deployment. */
export const placeholderFlow = (): Flow =>
  FlowSchema.parse({ id: randomUUID(), name: 'prefect-ecs-serverless-doctor' });

/** `lookups` that also note which variables were missing. */
const recordingMisses = (lookups: TemplateLookups, missing: Set<string>): TemplateLookups => ({
  readVariable: async (name) => {
    const variable = await lookups.readVariable(name);
    if (variable === undefined) missing.add(name);
    return variable;
  },
  readBlockDocument: (id) => lookups.readBlockDocument(id),
  readBlockDocumentByName: (slug, name) => lookups.readBlockDocumentByName(slug, name),
});

/** Renders the configuration and the launch requests; never throws. */
export const renderDeployment = async (
  objects: { workPool: WorkPool; deployment: Deployment | null; flow: Flow },
  settings: RenderSettings,
  lookups: TemplateLookups
): Promise<RenderOutcome> => {
  const missing = new Set<string>();
  // One memo for both renders: each block and variable is read once.
  const once = memoizeTemplateLookups(recordingMisses(lookups, missing));
  const launch = {
    ...objects,
    flowRun: doctorFlowRun(objects.workPool, objects.deployment, objects.flow),
  };
  try {
    const { configuration } = await renderJobConfiguration(launch, settings, once);
    const requests = await renderLaunchRequests(launch, settings, once);
    return { ok: true, configuration, requests, missingVariables: [...missing].sort() };
  } catch (error) {
    return { ok: false, error };
  }
};
