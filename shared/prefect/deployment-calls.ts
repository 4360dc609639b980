import { apiPath, type HttpTransport } from './http.ts';
import {
  type Deployment,
  DeploymentSchema,
  type Flow,
  type FlowRun,
  FlowRunSchema,
  FlowSchema,
} from './schemas.ts';
import { type StateInput, toStateCreate } from './state-create.ts';
import { compact } from './wire.ts';

/** Fields of `FlowCreate` (admin/seeding). */
export interface CreateFlowInput {
  name: string;
  tags?: readonly string[];
  labels?: Record<string, unknown>;
}

/** Fields of `DeploymentCreate` we seed with (admin). */
export interface CreateDeploymentInput {
  name: string;
  flowId: string;
  workPoolName?: string | null;
  workQueueName?: string | null;
  jobVariables?: Record<string, unknown>;
  parameters?: Record<string, unknown>;
  tags?: readonly string[];
  labels?: Record<string, unknown>;
  paused?: boolean;
  concurrencyLimit?: number | null;
  concurrencyOptions?: {
    collisionStrategy: 'ENQUEUE' | 'CANCEL_NEW';
    gracePeriodSeconds?: number | null;
  } | null;
  entrypoint?: string | null;
  path?: string | null;
  description?: string | null;
  version?: string | null;
  enforceParameterSchema?: boolean;
}

/** Fields of `DeploymentFlowRunCreate` (admin: "Run" in the UI). */
export interface CreateFlowRunFromDeploymentInput {
  name?: string;
  parameters?: Record<string, unknown>;
  tags?: readonly string[];
  labels?: Record<string, unknown>;
  jobVariables?: Record<string, unknown> | null;
  workQueueName?: string | null;
  idempotencyKey?: string | null;
  /** Initial state; the server defaults to Scheduled now. */
  state?: StateInput;
}

/** Deployment and flow calls. */
export interface DeploymentCalls {
  /** `GET /deployments/{id}`. 404 → `PrefectNotFoundError` (the worker then cancels the run). */
  readDeployment(id: string): Promise<Deployment>;
  /** `GET /flows/{id}`. */
  readFlow(id: string): Promise<Flow>;
  /** `POST /flows/` (admin). Idempotent by name: an existing flow is returned. */
  createFlow(flow: CreateFlowInput): Promise<Flow>;
  /** `POST /deployments/` (admin). Upserts by flow and name. */
  createDeployment(deployment: CreateDeploymentInput): Promise<Deployment>;
  /** `POST /deployments/{id}/create_flow_run` (admin). */
  createFlowRunFromDeployment(
    deploymentId: string,
    run?: CreateFlowRunFromDeploymentInput
  ): Promise<FlowRun>;
}

/** Binds the deployment and flow calls to a transport. */
export const createDeploymentCalls = (http: HttpTransport): DeploymentCalls => ({
  async readDeployment(id) {
    const path = apiPath`/deployments/${id}`;
    const request = { operation: 'readDeployment', method: 'GET', path } as const;
    return (await http.sendParsed(request, DeploymentSchema)).data;
  },

  async readFlow(id) {
    const path = apiPath`/flows/${id}`;
    return (await http.sendParsed({ operation: 'readFlow', method: 'GET', path }, FlowSchema)).data;
  },

  async createFlow(flow) {
    const request = {
      operation: 'createFlow',
      method: 'POST',
      path: '/flows/',
      body: compact({ name: flow.name, tags: flow.tags, labels: flow.labels }),
    } as const;
    return (await http.sendParsed(request, FlowSchema)).data;
  },

  async createDeployment(deployment) {
    const options = deployment.concurrencyOptions;
    const request = {
      operation: 'createDeployment',
      method: 'POST',
      path: '/deployments/',
      body: compact({
        name: deployment.name,
        flow_id: deployment.flowId,
        work_pool_name: deployment.workPoolName,
        work_queue_name: deployment.workQueueName,
        job_variables: deployment.jobVariables,
        parameters: deployment.parameters,
        tags: deployment.tags,
        labels: deployment.labels,
        paused: deployment.paused,
        concurrency_limit: deployment.concurrencyLimit,
        concurrency_options:
          options === undefined || options === null
            ? options
            : compact({
                collision_strategy: options.collisionStrategy,
                grace_period_seconds: options.gracePeriodSeconds,
              }),
        entrypoint: deployment.entrypoint,
        path: deployment.path,
        description: deployment.description,
        version: deployment.version,
        enforce_parameter_schema: deployment.enforceParameterSchema,
      }),
    } as const;
    return (await http.sendParsed(request, DeploymentSchema)).data;
  },

  async createFlowRunFromDeployment(deploymentId, run = {}) {
    const request = {
      operation: 'createFlowRunFromDeployment',
      method: 'POST',
      path: apiPath`/deployments/${deploymentId}/create_flow_run`,
      body: compact({
        name: run.name,
        parameters: run.parameters,
        tags: run.tags,
        labels: run.labels,
        job_variables: run.jobVariables,
        work_queue_name: run.workQueueName,
        idempotency_key: run.idempotencyKey,
        state: run.state === undefined ? undefined : toStateCreate(run.state),
      }),
    } as const;
    return (await http.sendParsed(request, FlowRunSchema)).data;
  },
});
