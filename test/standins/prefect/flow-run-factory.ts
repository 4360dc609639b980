/**
 * Creating flow runs (`POST /flow_runs/` and `POST /deployments/{id}/create_flow_run`): idempotency
 * on (flow_id, idempotency_key), system labels, a generated name, and the initial state written
 * through a forced `set_state`, as `models.flow_runs.create_flow_run` does.
 */
import { randomInt } from 'node:crypto';
import { setFlowRunState } from './flow-run-states.ts';
import type { ProposedState } from './orchestration.ts';
import { type FlowRunRecord, newId, nowString, type Store } from './store.ts';

/** What a create request resolves to before the run exists. */
export interface FlowRunDraft {
  flow_id: string;
  name?: string | undefined;
  deployment_id: string | null;
  deployment_version: string | null;
  flow_version: string | null;
  parameters: Record<string, unknown>;
  context: Record<string, unknown>;
  empirical_policy: Record<string, unknown> | undefined;
  tags: string[];
  labels: Record<string, unknown> | null | undefined;
  idempotency_key: string | null;
  parent_task_run_id: string | null;
  infrastructure_document_id: string | null;
  work_queue_id: string | null;
  work_queue_name: string | null;
  job_variables: Record<string, unknown> | null;
  created_by: unknown;
  state: ProposedState;
}

/** FlowRunPolicy with every field at its default. */
export const DEFAULT_EMPIRICAL_POLICY: Readonly<Record<string, unknown>> = Object.freeze({
  max_retries: 0,
  retry_delay_seconds: 0,
  retries: null,
  retry_delay: null,
  pause_keys: [],
  resuming: false,
  retry_type: null,
});

const ADJECTIVES = ['amber', 'brisk', 'crimson', 'dapper', 'eager', 'fuzzy', 'gentle', 'hasty'];
const ANIMALS = ['otter', 'heron', 'lynx', 'marmot', 'newt', 'okapi', 'puffin', 'quokka'];

const pick = (words: readonly string[]): string => words[randomInt(words.length)] ?? 'run';

/** A Prefect-style random slug, e.g. `crimson-otter`. */
export const generateRunName = (): string => `${pick(ADJECTIVES)}-${pick(ANIMALS)}`;

const systemLabels = (store: Store, draft: FlowRunDraft): Record<string, unknown> => {
  const user = draft.labels ?? {};
  const deployment = draft.deployment_id ? store.deployments.get(draft.deployment_id) : undefined;
  if (deployment) {
    return {
      ...deployment.labels,
      'prefect.flow.id': deployment.flow_id,
      'prefect.deployment.id': deployment.id,
      ...user,
    };
  }
  const flowLabels = store.flows.get(draft.flow_id)?.labels ?? {};
  return { ...flowLabels, 'prefect.flow.id': draft.flow_id, ...user };
};

/** Creates the run (or returns the idempotent match); `created` is false for a match. */
export const createFlowRun = (
  store: Store,
  draft: FlowRunDraft,
  clientVersion: string | null = null
): { run: FlowRunRecord; created: boolean } => {
  if (draft.idempotency_key) {
    const existing = [...store.flowRuns.values()].find(
      (run) => run.flow_id === draft.flow_id && run.idempotency_key === draft.idempotency_key
    );
    if (existing) return { run: existing, created: false };
  }
  const now = nowString(store);
  const run: FlowRunRecord = {
    id: newId(),
    created: now,
    updated: now,
    name: draft.name ?? generateRunName(),
    flow_id: draft.flow_id,
    state_id: null,
    deployment_id: draft.deployment_id,
    deployment_version: draft.deployment_version,
    work_queue_id: draft.work_queue_id,
    work_queue_name: draft.work_queue_name,
    flow_version: draft.flow_version,
    parameters: draft.parameters,
    idempotency_key: draft.idempotency_key,
    context: draft.context,
    empirical_policy: { ...DEFAULT_EMPIRICAL_POLICY, ...(draft.empirical_policy ?? {}) },
    tags: draft.tags,
    labels: systemLabels(store, draft),
    parent_task_run_id: draft.parent_task_run_id,
    state_type: null,
    state_name: null,
    run_count: 0,
    expected_start_time: null,
    next_scheduled_start_time: null,
    start_time: null,
    end_time: null,
    total_run_time: 0,
    auto_scheduled: false,
    infrastructure_document_id: draft.infrastructure_document_id,
    infrastructure_pid: null,
    created_by: draft.created_by,
    job_variables: draft.job_variables,
    state: null,
    history: [],
  };
  store.flowRuns.set(run.id, run);
  setFlowRunState(store, run, draft.state, true, clientVersion);
  return { run, created: true };
};
