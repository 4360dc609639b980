/** Deployments: create (upsert on flow + name), read, delete, and `create_flow_run`. */
import { normaliseDateTime } from '../datetime.ts';
import { createFlowRun } from '../flow-run-factory.ts';
import { clientVersionOf } from '../flow-run-states.ts';
import { HttpError, httpError, notFound } from '../http-errors.ts';
import { jobVariablesFailure, parametersFailure } from '../job-variables.ts';
import type { ProposedState } from '../orchestration.ts';
import type { RouteDefinition } from '../router.ts';
import {
  type DeploymentRecord,
  findQueueByName,
  newId,
  nowString,
  type Store,
  type WorkPoolRecord,
} from '../store.ts';
import { deploymentView, flowRunView } from '../views.ts';
import { createWorkQueue } from '../work-queues.ts';
import {
  bodyOf,
  canonicalId,
  integrityConflict,
  type Json,
  requireDeployment,
  requireWorkPool,
} from './lookups.ts';

/** The pool of 2.x agents; deployments naming it are not validated against a template. */
const DEFAULT_AGENT_WORK_POOL_NAME = 'default-agent-pool';
const DEFAULT_PARAMETER_SCHEMA = { type: 'object', properties: {} };

/** A pydantic model-validator failure on the whole body. */
const bodyValueError = (message: string, input: unknown): HttpError =>
  new HttpError(422, {
    exception_message: 'Invalid request received.',
    exception_detail: [
      {
        type: 'value_error',
        loc: ['body'],
        msg: `Value error, ${message}`,
        input,
        ctx: { error: {} },
      },
    ],
    request_body: input,
  });

const queueIdFor = (store: Store, pool: WorkPoolRecord, queueName: string | null): string => {
  if (queueName === null) return pool.default_queue_id ?? '';
  const existing = findQueueByName(store, pool.id, queueName);
  return (existing ?? createWorkQueue(store, pool.id, { name: queueName })).id;
};

/** ConcurrencyOptions as pydantic serialises it: every field present. */
const concurrencyOptionsOf = (value: unknown): DeploymentRecord['concurrency_options'] => {
  if (value === null || value === undefined) return null;
  const options = value as Json;
  return {
    collision_strategy: options.collision_strategy === 'CANCEL_NEW' ? 'CANCEL_NEW' : 'ENQUEUE',
    grace_period_seconds: (options.grace_period_seconds as number | null | undefined) ?? null,
  };
};

/** Interval / cron / rrule schedules with the defaults the server fills in. */
const normaliseSchedule = (schedule: Json, now: string): Json => {
  const timezone = (schedule.timezone as string | null | undefined) ?? 'UTC';
  if ('interval' in schedule) {
    const anchor = schedule.anchor_date;
    return {
      interval: schedule.interval,
      anchor_date: typeof anchor === 'string' ? normaliseDateTime(anchor) : now,
      timezone,
    };
  }
  if ('cron' in schedule) {
    return { cron: schedule.cron, timezone, day_or: schedule.day_or ?? true };
  }
  return { rrule: schedule.rrule, timezone };
};

const scheduleView = (deploymentId: string, schedule: Json, now: string): Json => ({
  id: newId(),
  created: now,
  updated: now,
  deployment_id: deploymentId,
  schedule: normaliseSchedule(schedule.schedule as Json, now),
  active: schedule.active ?? true,
  max_scheduled_runs: schedule.max_scheduled_runs ?? null,
  parameters: schedule.parameters ?? {},
  slug: schedule.slug ?? null,
});

const create: RouteDefinition = {
  method: 'POST',
  path: '/deployments/',
  handle: ({ store, body }) => {
    const input = bodyOf(body);
    if (input.concurrency_limit && input.global_concurrency_limit_id) {
      throw bodyValueError(
        'A deployment cannot have both a concurrency limit and a global concurrency limit.',
        input
      );
    }
    const enforce = (input.enforce_parameter_schema as boolean | undefined) ?? true;
    const parameterSchema =
      (input.parameter_openapi_schema as Json | null | undefined) ?? DEFAULT_PARAMETER_SCHEMA;
    const parameters = (input.parameters as Json | undefined) ?? {};
    if (enforce) {
      const failure = parametersFailure(parameterSchema, parameters);
      if (failure) throw bodyValueError(failure, input);
    }
    const poolName = (input.work_pool_name as string | null | undefined) ?? null;
    const queueName = (input.work_queue_name as string | null | undefined) ?? null;
    const jobVariables = (input.job_variables as Json | undefined) ?? {};
    const pool =
      poolName !== null && poolName !== DEFAULT_AGENT_WORK_POOL_NAME
        ? requireWorkPool(store, poolName)
        : undefined;
    if (pool && Object.keys(jobVariables).length > 0) {
      const failure = jobVariablesFailure(store, pool.base_job_template, [jobVariables], {
        ignoreRequired: true,
      });
      if (failure) throw httpError(422, `Error creating deployment: ${failure}`);
    }
    if (input.global_concurrency_limit_id) throw notFound('Concurrency limit not found');
    const flowId = String(input.flow_id);
    if (!store.flows.has(flowId)) throw integrityConflict();

    const name = String(input.name);
    const existing = [...store.deployments.values()].find(
      (d) => d.flow_id === flowId && d.name === name
    );
    const now = nowString(store);
    const id = existing?.id ?? newId();
    const limit = (input.concurrency_limit as number | null | undefined) ?? null;
    const deployment: DeploymentRecord = {
      id,
      created: existing?.created ?? now,
      updated: now,
      name,
      version: (input.version as string | null | undefined) ?? null,
      description: (input.description as string | null | undefined) ?? null,
      flow_id: flowId,
      paused: (input.paused as boolean | undefined) ?? false,
      schedules: ((input.schedules as Json[] | undefined) ?? []).map((s) =>
        scheduleView(id, s, now)
      ),
      concurrency_limit: limit,
      concurrency_limit_record:
        limit === null
          ? null
          : (existing?.concurrency_limit_record ?? { id: newId(), created: now, updated: now }),
      concurrency_options: concurrencyOptionsOf(input.concurrency_options),
      job_variables: jobVariables,
      parameters,
      tags: (input.tags as string[] | undefined) ?? [],
      labels: {
        ...(store.flows.get(flowId)?.labels ?? {}),
        'prefect.flow.id': flowId,
        ...((input.labels as Json | null | undefined) ?? {}),
      },
      work_queue_name: pool ? null : queueName,
      work_queue_id: pool ? queueIdFor(store, pool, queueName) : null,
      last_polled: existing?.last_polled ?? null,
      parameter_openapi_schema: parameterSchema,
      path: (input.path as string | null | undefined) ?? null,
      pull_steps: (input.pull_steps as Json[] | null | undefined) ?? null,
      entrypoint: (input.entrypoint as string | null | undefined) ?? null,
      storage_document_id: (input.storage_document_id as string | null | undefined) ?? null,
      infrastructure_document_id:
        (input.infrastructure_document_id as string | null | undefined) ?? null,
      created_by: existing?.created_by ?? null,
      updated_by: null,
      enforce_parameter_schema: enforce,
    };
    store.deployments.set(id, deployment);
    return { status: existing ? 200 : 201, body: deploymentView(store, deployment) };
  },
};

const read: RouteDefinition = {
  method: 'GET',
  path: '/deployments/{id:uuid}',
  handle: ({ store, params }) => ({
    status: 200,
    body: deploymentView(store, requireDeployment(store, params.id ?? '')),
  }),
};

const remove: RouteDefinition = {
  method: 'DELETE',
  path: '/deployments/{id:uuid}',
  handle: ({ store, params }) => {
    const id = canonicalId(params.id ?? '');
    if (!store.deployments.delete(id)) throw notFound('Deployment not found');
    // Its SCHEDULED runs go with it; runs already claimed keep their dangling deployment_id.
    for (const run of [...store.flowRuns.values()]) {
      if (run.deployment_id === id && run.state_type === 'SCHEDULED') store.flowRuns.delete(run.id);
    }
    for (const [leaseId, lease] of store.leases) {
      if (lease.deploymentId === id) store.leases.delete(leaseId);
    }
    return { status: 204 };
  },
};

const createRun: RouteDefinition = {
  method: 'POST',
  path: '/deployments/{id:uuid}/create_flow_run',
  handle: ({ store, params, body, headers }) => {
    const input = bodyOf(body);
    const deployment = requireDeployment(store, params.id ?? '');
    const parameters = {
      ...deployment.parameters,
      ...((input.parameters as Json | undefined) ?? {}),
    };
    const enforce =
      (input.enforce_parameter_schema as boolean | null | undefined) ??
      deployment.enforce_parameter_schema;
    if (enforce) {
      if (deployment.parameter_openapi_schema === null) {
        throw httpError(
          409,
          'Error updating deployment: Cannot update parameters because parameter schema enforcement is enabled and the deployment does not have a valid parameter schema.'
        );
      }
      const failure = parametersFailure(deployment.parameter_openapi_schema, parameters);
      if (failure) throw httpError(409, `Error creating flow run: ${failure}`);
    }
    const queue = deployment.work_queue_id
      ? store.workQueues.get(deployment.work_queue_id)
      : undefined;
    const pool = queue ? store.workPools.get(queue.work_pool_id) : undefined;
    const runJobVariables = (input.job_variables as Json | null | undefined) ?? {};
    if (pool) {
      const failure = jobVariablesFailure(
        store,
        pool.base_job_template,
        [deployment.job_variables, runJobVariables],
        { ignoreRequired: false }
      );
      if (failure) throw httpError(422, `Error creating flow run: ${failure}`);
    }
    let workQueueId = deployment.work_queue_id;
    let workQueueName = queue?.name ?? deployment.work_queue_name;
    const requestedQueue = input.work_queue_name;
    if (typeof requestedQueue === 'string' && requestedQueue !== '') {
      if (!pool) {
        throw httpError(
          400,
          `Cannot create flow run in work queue ${requestedQueue} because deployment ${deployment.id} is not associated with a work pool. Please remove work_pool_name and try again.`
        );
      }
      workQueueId = queueIdFor(store, pool, requestedQueue);
      workQueueName = requestedQueue;
    }
    const tags = [
      ...new Set([...deployment.tags, ...((input.tags as string[] | undefined) ?? [])]),
    ];
    const { run, created } = createFlowRun(
      store,
      {
        flow_id: deployment.flow_id,
        name: input.name as string | undefined,
        deployment_id: deployment.id,
        deployment_version: deployment.version,
        flow_version: null,
        parameters,
        context: (input.context as Json | undefined) ?? {},
        empirical_policy: input.empirical_policy as Json | undefined,
        tags,
        labels: input.labels as Json | null | undefined,
        idempotency_key: (input.idempotency_key as string | null | undefined) ?? null,
        parent_task_run_id: (input.parent_task_run_id as string | null | undefined) ?? null,
        infrastructure_document_id:
          (input.infrastructure_document_id as string | null | undefined) ??
          deployment.infrastructure_document_id,
        work_queue_id: workQueueId,
        work_queue_name: workQueueName,
        job_variables: runJobVariables,
        created_by: null,
        state: (input.state as ProposedState | null | undefined) ?? { type: 'SCHEDULED' },
      },
      clientVersionOf(headers['user-agent'])
    );
    return { status: created ? 201 : 200, body: flowRunView(store, run) };
  },
};

export const deploymentRoutes: readonly RouteDefinition[] = [create, read, remove, createRun];
