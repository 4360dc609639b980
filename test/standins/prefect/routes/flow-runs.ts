/** Flow runs: create, read, update, labels, filter, delete, and `set_state`. */
import { createFlowRun, DEFAULT_EMPIRICAL_POLICY } from '../flow-run-factory.ts';
import { filterFlowRuns } from '../flow-run-filter.ts';
import { clientVersionOf, setFlowRunState } from '../flow-run-states.ts';
import { httpError, notFound, objectNotFound } from '../http-errors.ts';
import { jobVariablesFailure } from '../job-variables.ts';
import { page } from '../limits.ts';
import type { ProposedState } from '../orchestration.ts';
import type { RouteDefinition } from '../router.ts';
import { nowString } from '../store.ts';
import { flowRunView, poolOfRun } from '../views.ts';
import {
  bodyOf,
  canonicalId,
  has,
  integrityConflict,
  type Json,
  requireFlowRun,
  requireWorkPool,
  requireWorkQueue,
} from './lookups.ts';

const create: RouteDefinition = {
  method: 'POST',
  path: '/flow_runs/',
  handle: ({ store, body, headers }) => {
    const input = bodyOf(body);
    const poolName = (input.work_pool_name as string | null | undefined) ?? null;
    const queueName = (input.work_queue_name as string | null | undefined) ?? null;
    let workQueueId: string | null = null;
    if (poolName !== null) {
      workQueueId =
        queueName !== null
          ? requireWorkQueue(store, poolName, queueName).id
          : requireWorkPool(store, poolName).default_queue_id;
    }
    const flowId = String(input.flow_id);
    if (!store.flows.has(flowId)) throw integrityConflict();
    const queue = workQueueId ? store.workQueues.get(workQueueId) : undefined;
    const { run, created } = createFlowRun(
      store,
      {
        flow_id: flowId,
        name: input.name as string | undefined,
        deployment_id: (input.deployment_id as string | null | undefined) ?? null,
        deployment_version: null,
        flow_version: (input.flow_version as string | null | undefined) ?? null,
        parameters: (input.parameters as Json | undefined) ?? {},
        context: (input.context as Json | undefined) ?? {},
        empirical_policy: input.empirical_policy as Json | undefined,
        tags: (input.tags as string[] | undefined) ?? [],
        labels: input.labels as Json | null | undefined,
        idempotency_key: (input.idempotency_key as string | null | undefined) ?? null,
        parent_task_run_id: (input.parent_task_run_id as string | null | undefined) ?? null,
        infrastructure_document_id:
          (input.infrastructure_document_id as string | null | undefined) ?? null,
        work_queue_id: workQueueId,
        work_queue_name: queue?.name ?? queueName,
        job_variables: (input.job_variables as Json | null | undefined) ?? null,
        created_by: null,
        state: (input.state as ProposedState | null | undefined) ?? { type: 'PENDING' },
      },
      clientVersionOf(headers['user-agent'])
    );
    return { status: created ? 201 : 200, body: flowRunView(store, run) };
  },
};

const read: RouteDefinition = {
  method: 'GET',
  path: '/flow_runs/{id:uuid}',
  handle: ({ store, params }) => ({
    status: 200,
    body: flowRunView(store, requireFlowRun(store, params.id ?? '')),
  }),
};

const update: RouteDefinition = {
  method: 'PATCH',
  path: '/flow_runs/{id:uuid}',
  handle: ({ store, params, body }) => {
    const input = bodyOf(body);
    const run = requireFlowRun(store, params.id ?? '');
    const jobVariables = input.job_variables;
    if (jobVariables !== null && jobVariables !== undefined) {
      if (!run.state) {
        throw httpError(400, 'Flow run state is required to update job variables but none exists');
      }
      if (run.state.type !== 'SCHEDULED') {
        throw httpError(
          400,
          `Job variables for a flow run in state ${run.state.type} cannot be updated`
        );
      }
      const deployment = run.deployment_id ? store.deployments.get(run.deployment_id) : undefined;
      if (!deployment) throw httpError(400, 'A deployment for the flow run could not be found');
      const pool = poolOfRun(store, run);
      if (pool) {
        const failure = jobVariablesFailure(
          store,
          pool.base_job_template,
          [deployment.job_variables, jobVariables as Json],
          { ignoreRequired: false }
        );
        if (failure) throw httpError(422, `Error updating flow run: ${failure}`);
      }
    }
    if (typeof input.name === 'string') run.name = input.name;
    if (has(input, 'flow_version')) run.flow_version = input.flow_version as string | null;
    if (has(input, 'parameters')) run.parameters = input.parameters as Json;
    if (has(input, 'empirical_policy')) {
      run.empirical_policy = {
        ...DEFAULT_EMPIRICAL_POLICY,
        ...(input.empirical_policy as Json),
      };
    }
    if (has(input, 'tags')) run.tags = input.tags as string[];
    if (has(input, 'infrastructure_pid')) {
      run.infrastructure_pid = input.infrastructure_pid as string | null;
    }
    if (has(input, 'job_variables')) run.job_variables = jobVariables as Json | null;
    run.updated = nowString(store);
    return { status: 204 };
  },
};

const remove: RouteDefinition = {
  method: 'DELETE',
  path: '/flow_runs/{id:uuid}',
  handle: ({ store, params }) => {
    if (!store.flowRuns.delete(canonicalId(params.id ?? ''))) {
      throw notFound('Flow run not found');
    }
    return { status: 204 };
  },
};

const labels: RouteDefinition = {
  method: 'PATCH',
  path: '/flow_runs/{id:uuid}/labels',
  handle: ({ store, params, body }) => {
    const id = canonicalId(params.id ?? '');
    const run = store.flowRuns.get(id);
    if (!run) throw objectNotFound(`Flow run with id ${id} not found`);
    run.labels = { ...run.labels, ...bodyOf(body) };
    run.updated = nowString(store);
    return { status: 204 };
  },
};

const filter: RouteDefinition = {
  method: 'POST',
  path: '/flow_runs/filter',
  handle: ({ store, body }) => {
    const input = bodyOf(body);
    const matches = page(filterFlowRuns(store, input), input);
    return { status: 200, body: matches.map((run) => flowRunView(store, run)) };
  },
};

const setState: RouteDefinition = {
  method: 'POST',
  path: '/flow_runs/{id:uuid}/set_state',
  handle: ({ store, params, body, headers }) => {
    const input = bodyOf(body);
    const id = canonicalId(params.id ?? '');
    const run = store.flowRuns.get(id);
    if (!run) throw objectNotFound(`Flow run with id ${id} not found`);
    const { status, body: result } = setFlowRunState(
      store,
      run,
      input.state as ProposedState,
      input.force === true,
      clientVersionOf(headers['user-agent'])
    );
    return { status, body: result };
  },
};

export const flowRunRoutes: readonly RouteDefinition[] = [
  create,
  read,
  update,
  remove,
  labels,
  filter,
  setState,
];
