import * as z from 'zod';
import { type FlowRunFilterInput, toFlowRunFilterBody } from './flow-run-filter.ts';
import { apiPath, type HttpTransport } from './http.ts';
import { hasStatus } from './prefect-api-error.ts';
import type { Redactor } from './redact.ts';
import {
  type FlowRun,
  FlowRunSchema,
  type OrchestrationResult,
  OrchestrationResultSchema,
  type State,
  StateSchema,
} from './schemas.ts';
import { type StateInput, toStateCreate } from './state-create.ts';
import { compact } from './wire.ts';

/** Options of a state proposal. */
export interface SetStateOptions {
  /**
   * Skip the core orchestration rules (Prefect's MinimalFlowPolicy). Effectively always ACCEPT,
   * terminal states included: read the run first. Default `false`.
   */
  force?: boolean;
  /**
   * Resend on a retryable failure (default `true`). Pass `false` for a proposal that is right only
   * in the state it was decided from (a claim, a PENDING sub-state, CRASHED for a stopped task, a
   * forced CANCELLED): Prefect accepts PENDING after COMPLETED and RUNNING after CANCELLED, so a
   * blind resend could undo what happened meanwhile. On failure, read the run again and decide again.
   */
  replay?: boolean;
}

/** The server's answer to a proposal, plus what the client knows about the exchange. */
export type SetStateResult = OrchestrationResult & {
  /** `true` when the server wrote a new state row (HTTP 201), `false` otherwise (200). */
  stateWritten: boolean;
  /** The `transition_id` sent: the caller's, or the one generated for this proposal. */
  transitionId: string;
};

/** `FlowRunUpdate` fields we change; only the given keys are sent. */
export interface UpdateFlowRunInput {
  /** `<cluster>::<task ARN>`, the prefect-aws ECS worker's format. */
  infrastructurePid?: string | null;
  name?: string;
  flowVersion?: string | null;
  parameters?: Record<string, unknown>;
  tags?: readonly string[];
  /** Only while the run is SCHEDULED (otherwise 400). */
  jobVariables?: Record<string, unknown> | null;
}

/** Label values Prefect accepts (`KeyValueLabels`). */
export type FlowRunLabels = Readonly<Record<string, string | number | boolean>>;

/** Paging limits of {@link FlowRunCalls.filterAllFlowRuns}. */
export interface PagingOptions {
  /** Runs per request, 1–200 (default 200). */
  pageSize?: number;
  /** Stop after this many runs (default 10 000). */
  maxResults?: number;
}

/** Flow-run calls. */
export interface FlowRunCalls {
  /** `GET /flow_runs/{id}`. 404 → `PrefectNotFoundError`. */
  readFlowRun(id: string): Promise<FlowRun>;
  /**
   * `GET /flow_run_states/?flow_run_id=`: every state the run went through, across all its
   * attempts, ordered by `timestamp` (oldest first) as the server sorts them. An unknown run is
   * `[]`, not a 404.
   */
  readFlowRunStates(flowRunId: string): Promise<State[]>;
  /**
   * `POST /flow_runs/{id}/set_state` with `{state: StateCreate, force}`. Generates a
   * `transition_id` unless given; HTTP retries resend the same one, so a replay is answered REJECT
   * with the current state rather than ABORT.
   */
  setFlowRunState(
    id: string,
    state: StateInput,
    options?: SetStateOptions
  ): Promise<SetStateResult>;
  /** `PATCH /flow_runs/{id}` with only the given keys (204). Nothing to change → no request. */
  updateFlowRun(id: string, update: UpdateFlowRunInput): Promise<void>;
  /**
   * `PATCH /flow_runs/{id}/labels` (merge, 3.2+). 404/405 (older servers, some Cloud
   * deployments) resolve to `'unsupported'`; a missing run on a 3.2+ server also answers 404.
   */
  updateFlowRunLabels(id: string, labels: FlowRunLabels): Promise<'updated' | 'unsupported'>;
  /** `POST /flow_runs/filter`: one page (at most 200). */
  filterFlowRuns(filter?: FlowRunFilterInput): Promise<FlowRun[]>;
  /**
   * Pages through `POST /flow_runs/filter` by offset until a short page, de-duplicating by id
   * (runs can shift between pages while states change).
   */
  filterAllFlowRuns(filter?: FlowRunFilterInput, paging?: PagingOptions): Promise<FlowRun[]>;
}

/**
 * Binds the flow-run calls to a transport; `randomUUID` makes transition ids; `redact` scrubs the
 * client's credentials from state messages.
 */
export const createFlowRunCalls = (
  http: HttpTransport,
  randomUUID: () => string,
  redact: Redactor = (text) => text
): FlowRunCalls => {
  const filterFlowRuns = async (filter: FlowRunFilterInput = {}): Promise<FlowRun[]> => {
    const request = {
      operation: 'filterFlowRuns',
      method: 'POST',
      path: '/flow_runs/filter',
      body: toFlowRunFilterBody(filter),
    } as const;
    return (await http.sendParsed(request, z.array(FlowRunSchema))).data;
  };

  return {
    async readFlowRun(id) {
      const path = apiPath`/flow_runs/${id}`;
      return (
        await http.sendParsed({ operation: 'readFlowRun', method: 'GET', path }, FlowRunSchema)
      ).data;
    },

    async readFlowRunStates(flowRunId) {
      const request = {
        operation: 'readFlowRunStates',
        method: 'GET',
        path: '/flow_run_states/',
        query: { flow_run_id: flowRunId },
      } as const;
      return (await http.sendParsed(request, z.array(StateSchema))).data;
    },

    async setFlowRunState(id, state, options = {}) {
      const transitionId = state.stateDetails?.transitionId ?? randomUUID();
      const request = {
        operation: 'setFlowRunState',
        method: 'POST',
        path: apiPath`/flow_runs/${id}/set_state`,
        body: {
          // A state message may quote what a container or ECS said: never the client's credentials.
          state: toStateCreate(
            state.message ? { ...state, message: redact(state.message) } : state,
            { flow_run_id: id, transition_id: transitionId }
          ),
          force: options.force ?? false,
        },
        ...(options.replay === false ? { replay: false } : {}),
      } as const;
      const { status, data } = await http.sendParsed(request, OrchestrationResultSchema);
      return { ...data, stateWritten: status === 201, transitionId };
    },

    async updateFlowRun(id, update) {
      const body = compact({
        infrastructure_pid: update.infrastructurePid,
        name: update.name,
        flow_version: update.flowVersion,
        parameters: update.parameters,
        tags: update.tags,
        job_variables: update.jobVariables,
      });
      if (Object.keys(body).length === 0) return;
      await http.send({
        operation: 'updateFlowRun',
        method: 'PATCH',
        path: apiPath`/flow_runs/${id}`,
        body,
      });
    },

    async updateFlowRunLabels(id, labels) {
      try {
        await http.send({
          operation: 'updateFlowRunLabels',
          method: 'PATCH',
          path: apiPath`/flow_runs/${id}/labels`,
          body: labels,
        });
        return 'updated';
      } catch (error) {
        if (hasStatus(error, 404, 405)) return 'unsupported';
        throw error;
      }
    },

    filterFlowRuns,

    async filterAllFlowRuns(filter = {}, paging = {}) {
      const pageSize = paging.pageSize ?? 200;
      const maxResults = paging.maxResults ?? 10_000;
      const seen = new Map<string, FlowRun>();
      let offset = filter.offset ?? 0;
      // Bounded even if a misbehaving server keeps returning full pages of the same runs.
      const maxPages = 2 * Math.ceil(maxResults / pageSize) + 1;
      for (let pages = 0; pages < maxPages; pages += 1) {
        const limit = Math.min(pageSize, maxResults - seen.size);
        if (limit <= 0) break;
        const page = await filterFlowRuns({ ...filter, limit, offset });
        for (const run of page) if (seen.size < maxResults) seen.set(run.id, run);
        if (page.length < limit) break;
        offset += page.length;
      }
      return [...seen.values()];
    },
  };
};
