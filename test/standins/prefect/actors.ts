/**
 * The other parties of a flow run, played through the same REST API real clients use (plain
 * `fetch`, no private access to the stand-in): the flow engine inside the container, a user in the
 * UI, and seeding helpers that create pools, deployments and runs. Works against any Prefect API.
 *
 * @example
 * const pool = await seed.workPool(apiUrl, { name: 'ecs-pool' });
 * const deployment = await seed.deployment(apiUrl, { name: 'etl', workPoolName: 'ecs-pool' });
 * const run = await seed.flowRun(apiUrl, deployment.id, { scheduledTime: new Date() });
 * await engine.start(apiUrl, run.id);
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';

type Json = Record<string, unknown>;

/** Extra headers for every call, e.g. `{ authorization: 'Basic …' }`. */
export interface ActorOptions {
  headers?: Record<string, string>;
}

/** A non-2xx answer from the API. */
export class PrefectActorError extends Error {
  override readonly name = 'PrefectActorError';
  readonly status: number;
  readonly body: unknown;

  constructor(method: string, url: string, status: number, body: unknown) {
    super(`[${method}] ${url}: ${status} ${JSON.stringify(body)}`);
    this.status = status;
    this.body = body;
  }
}

/** The ECS work pool's default base job template as prefect-aws 0.7.x generates it. */
export const ECS_BASE_JOB_TEMPLATE: Json = JSON.parse(
  readFileSync(
    new URL('../../fixtures/prefect/ecs-base-job-template.current.json', import.meta.url),
    'utf8'
  )
) as Json;

const call = async <T>(
  apiUrl: string,
  method: string,
  path: string,
  body: unknown,
  options: ActorOptions = {}
): Promise<T> => {
  const url = `${apiUrl}${path}`;
  const response = await fetch(url, {
    method,
    headers: {
      'content-type': 'application/json',
      'x-prefect-api-version': '0.8.4',
      ...options.headers,
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await response.text();
  const parsed: unknown = text === '' ? undefined : JSON.parse(text);
  if (!response.ok) throw new PrefectActorError(method, url, response.status, parsed);
  return parsed as T;
};

/** The body of `set_state` answers. */
export interface OrchestrationResult {
  status: 'ACCEPT' | 'REJECT' | 'ABORT' | 'WAIT';
  state: (Json & { id: string; type: string; name: string; state_details: Json }) | null;
  details: Json & { type: string; reason?: string | null; delay_seconds?: number };
}

/** The fields of flow runs, deployments and pools that tests read. */
export type FlowRun = Json & {
  id: string;
  name: string;
  state: OrchestrationResult['state'];
  state_type: string | null;
  state_name: string | null;
  deployment_id: string | null;
  work_queue_name: string | null;
  infrastructure_pid: string | null;
  start_time: string | null;
  end_time: string | null;
  next_scheduled_start_time: string | null;
  job_variables: Json | null;
};
export type Deployment = Json & { id: string; name: string; flow_id: string };
export type WorkPool = Json & { id: string; name: string; default_queue_id: string };
export type WorkQueue = Json & { id: string; name: string; priority: number };

/** `POST /flow_runs/{id}/set_state` with a fresh `transition_id`, the way Prefect clients send it. */
export const proposeState = (
  apiUrl: string,
  flowRunId: string,
  state: Json & { type: string },
  force = false,
  options: ActorOptions = {}
): Promise<OrchestrationResult> =>
  call<OrchestrationResult>(
    apiUrl,
    'POST',
    `/flow_runs/${flowRunId}/set_state`,
    {
      state: {
        ...state,
        state_details: {
          flow_run_id: flowRunId,
          transition_id: randomUUID(),
          ...((state.state_details as Json | undefined) ?? {}),
        },
      },
      force,
    },
    options
  );

/** What the flow engine (`prefect flow-run execute`) proposes from inside the container. */
export const engine = {
  /** Proposes RUNNING; the answer may be WAIT until the scheduled time. */
  start: (apiUrl: string, flowRunId: string, options?: ActorOptions) =>
    proposeState(apiUrl, flowRunId, { type: 'RUNNING', name: 'Running' }, false, options),
  complete: (apiUrl: string, flowRunId: string, options?: ActorOptions) =>
    proposeState(apiUrl, flowRunId, { type: 'COMPLETED', name: 'Completed' }, false, options),
  fail: (apiUrl: string, flowRunId: string, options: ActorOptions & { message?: string } = {}) =>
    proposeState(
      apiUrl,
      flowRunId,
      {
        type: 'FAILED',
        name: 'Failed',
        message: options.message ?? 'Flow run encountered an exception.',
      },
      false,
      options
    ),
  /**
   * `prefect flow-run execute` on SIGTERM with `PREFECT_FLOW_RUN_EXECUTE_SIGTERM_BEHAVIOR=reschedule`
   * (an ECS spot interruption): once the engine acknowledged the intent, the supervisor proposes
   * `AwaitingRetry()` through `propose_state(client, AwaitingRetry(), flow_run_id=id)`, **not
   * forced**, kills the engine and exits 0 ("Flow run successfully rescheduled."); an ABORT is
   * swallowed. `AwaitingRetry()` is a SCHEDULED state named "AwaitingRetry" with no message and
   * `scheduled_time` = the client's now; the client adds `flow_run_id` and a fresh `transition_id`.
   * Sources: src/prefect/cli/flow_run.py (`execute`, `_termination_intent`),
   * src/prefect/states.py (`AwaitingRetry`, `Scheduled`), src/prefect/utilities/engine/__init__.py
   * (`propose_state`, force=False), src/prefect/client/orchestration/_flow_runs/client.py
   * (`set_flow_run_state`).
   *
   * `now` stands for the container's clock (default: the real one); pass the test clock.
   */
  reschedule: (apiUrl: string, flowRunId: string, options: ActorOptions & { now?: Date } = {}) =>
    proposeState(
      apiUrl,
      flowRunId,
      {
        type: 'SCHEDULED',
        name: 'AwaitingRetry',
        message: null,
        data: null,
        state_details: { scheduled_time: (options.now ?? new Date()).toISOString() },
      },
      false,
      options
    ),
};

/** What a person does in the UI (`ui-v2/src/components/flow-runs/flow-run-actions/*`). */
export const user = {
  /** "Cancel": CANCELLING named "Cancelling", forced. */
  cancel: (apiUrl: string, flowRunId: string, options?: ActorOptions) =>
    call<OrchestrationResult>(
      apiUrl,
      'POST',
      `/flow_runs/${flowRunId}/set_state`,
      { state: { type: 'CANCELLING', name: 'Cancelling' }, force: true },
      options
    ),
  /**
   * "Retry" (offered for a run in a terminal state that has a deployment): SCHEDULED named
   * "AwaitingRetry" with the message "Retry from the UI", **forced**, no `state_details` (the
   * server schedules it now), no `transition_id`. The run keeps its id, `infrastructure_pid` and
   * `run_count`. Sources: ui-v2/src/components/flow-runs/flow-run-actions/retry-flow-run-dialog.tsx
   * (the body), ui-v2/src/components/flow-runs/flow-run-details-page/flow-run-header.tsx
   * (`canRetry = isTerminalState(state_type) && deployment_id`).
   */
  retry: (apiUrl: string, flowRunId: string, options?: ActorOptions) =>
    call<OrchestrationResult>(
      apiUrl,
      'POST',
      `/flow_runs/${flowRunId}/set_state`,
      {
        state: { type: 'SCHEDULED', name: 'AwaitingRetry', message: 'Retry from the UI' },
        force: true,
      },
      options
    ),
  /** "Pause": PAUSED named "Suspended" with a reschedule, forced. */
  pause: (
    apiUrl: string,
    flowRunId: string,
    options: ActorOptions & { timeoutSeconds?: number; now?: Date } = {}
  ) =>
    call<OrchestrationResult>(
      apiUrl,
      'POST',
      `/flow_runs/${flowRunId}/set_state`,
      {
        state: {
          type: 'PAUSED',
          name: 'Suspended',
          state_details: {
            pause_timeout: new Date(
              (options.now ?? new Date()).getTime() + (options.timeoutSeconds ?? 300) * 1000
            ).toISOString(),
            pause_reschedule: true,
            deferred: false,
            untrackable_result: false,
          },
        },
        force: true,
      },
      options
    ),
  /** Pauses or resumes a work pool. */
  pauseWorkPool: (apiUrl: string, name: string, paused = true, options?: ActorOptions) =>
    call<void>(
      apiUrl,
      'PATCH',
      `/work_pools/${encodeURIComponent(name)}`,
      { is_paused: paused },
      options
    ),
  /** Pauses or resumes a work queue. */
  pauseWorkQueue: (
    apiUrl: string,
    poolName: string,
    queueName: string,
    paused = true,
    options?: ActorOptions
  ) =>
    call<void>(
      apiUrl,
      'PATCH',
      `/work_pools/${encodeURIComponent(poolName)}/queues/${encodeURIComponent(queueName)}`,
      { is_paused: paused },
      options
    ),
};

export interface SeedWorkPool {
  name: string;
  type?: string;
  base_job_template?: Json;
  concurrency_limit?: number | null;
  is_paused?: boolean;
}

export interface SeedDeployment {
  name: string;
  /** The flow is created (or reused) by name; default `<name>-flow`. */
  flowName?: string;
  workPoolName?: string;
  workQueueName?: string;
  jobVariables?: Json;
  concurrencyLimit?: number;
  collisionStrategy?: 'ENQUEUE' | 'CANCEL_NEW';
  gracePeriodSeconds?: number;
  parameters?: Json;
  tags?: string[];
}

export interface SeedFlowRun {
  /** Default: now (the caller's clock). */
  scheduledTime?: Date | string;
  jobVariables?: Json;
  name?: string;
  parameters?: Json;
  tags?: string[];
  workQueueName?: string;
  empiricalPolicy?: Json;
}

/** Creates objects through the API and returns what the server answered. */
export const seed = {
  workPool: (apiUrl: string, pool: SeedWorkPool, options?: ActorOptions) =>
    call<WorkPool>(
      apiUrl,
      'POST',
      '/work_pools/',
      {
        name: pool.name,
        type: pool.type ?? 'ecs',
        base_job_template: pool.base_job_template ?? ECS_BASE_JOB_TEMPLATE,
        ...(pool.concurrency_limit === undefined
          ? {}
          : { concurrency_limit: pool.concurrency_limit }),
        ...(pool.is_paused === undefined ? {} : { is_paused: pool.is_paused }),
      },
      options
    ),

  workQueue: (
    apiUrl: string,
    poolName: string,
    queue: {
      name: string;
      priority?: number;
      concurrency_limit?: number | null;
      is_paused?: boolean;
    },
    options?: ActorOptions
  ) =>
    call<WorkQueue>(
      apiUrl,
      'POST',
      `/work_pools/${encodeURIComponent(poolName)}/queues`,
      queue,
      options
    ),

  deployment: async (apiUrl: string, deployment: SeedDeployment, options?: ActorOptions) => {
    const flow = await call<Json & { id: string }>(
      apiUrl,
      'POST',
      '/flows/',
      { name: deployment.flowName ?? `${deployment.name}-flow` },
      options
    );
    const concurrencyOptions =
      deployment.collisionStrategy || deployment.gracePeriodSeconds
        ? {
            concurrency_options: {
              collision_strategy: deployment.collisionStrategy ?? 'ENQUEUE',
              ...(deployment.gracePeriodSeconds
                ? { grace_period_seconds: deployment.gracePeriodSeconds }
                : {}),
            },
          }
        : {};
    return call<Deployment>(
      apiUrl,
      'POST',
      '/deployments/',
      {
        name: deployment.name,
        flow_id: flow.id,
        ...(deployment.workPoolName ? { work_pool_name: deployment.workPoolName } : {}),
        ...(deployment.workQueueName ? { work_queue_name: deployment.workQueueName } : {}),
        job_variables: deployment.jobVariables ?? {},
        parameters: deployment.parameters ?? {},
        tags: deployment.tags ?? [],
        ...(deployment.concurrencyLimit ? { concurrency_limit: deployment.concurrencyLimit } : {}),
        ...concurrencyOptions,
      },
      options
    );
  },

  flowRun: (
    apiUrl: string,
    deploymentId: string,
    run: SeedFlowRun = {},
    options?: ActorOptions
  ) => {
    const scheduled = run.scheduledTime ?? new Date();
    return call<FlowRun>(
      apiUrl,
      'POST',
      `/deployments/${deploymentId}/create_flow_run`,
      {
        state: {
          type: 'SCHEDULED',
          state_details: {
            scheduled_time: typeof scheduled === 'string' ? scheduled : scheduled.toISOString(),
          },
        },
        ...(run.name ? { name: run.name } : {}),
        ...(run.parameters ? { parameters: run.parameters } : {}),
        ...(run.tags ? { tags: run.tags } : {}),
        ...(run.jobVariables ? { job_variables: run.jobVariables } : {}),
        ...(run.workQueueName ? { work_queue_name: run.workQueueName } : {}),
        ...(run.empiricalPolicy ? { empirical_policy: run.empiricalPolicy } : {}),
      },
      options
    );
  },
};

/** Reads a flow run (`GET /flow_runs/{id}`). */
export const readFlowRun = (apiUrl: string, flowRunId: string, options?: ActorOptions) =>
  call<FlowRun>(apiUrl, 'GET', `/flow_runs/${flowRunId}`, undefined, options);

/** A state as `GET /flow_run_states/` answers it. */
export type StateView = NonNullable<OrchestrationResult['state']> & {
  timestamp: string;
  message: string | null;
};

/** Reads a run's states, oldest first (`GET /flow_run_states/?flow_run_id=`). */
export const readFlowRunStates = (apiUrl: string, flowRunId: string, options?: ActorOptions) =>
  call<StateView[]>(
    apiUrl,
    'GET',
    `/flow_run_states/?flow_run_id=${encodeURIComponent(flowRunId)}`,
    undefined,
    options
  );

/** `PATCH /flow_runs/{id}/labels` (merge), as a worker writes its labels after a claim. */
export const labelFlowRun = (
  apiUrl: string,
  flowRunId: string,
  labels: Record<string, string | number | boolean>,
  options?: ActorOptions
) => call<void>(apiUrl, 'PATCH', `/flow_runs/${flowRunId}/labels`, labels, options);

/** `GET /work_pools/{name}`. */
export const readWorkPool = (apiUrl: string, name: string, options?: ActorOptions) =>
  call<WorkPool>(apiUrl, 'GET', `/work_pools/${encodeURIComponent(name)}`, undefined, options);
