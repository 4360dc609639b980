/**
 * Flow run states (`api/flow_run_states.py`): a run's state history and one state by id. Both read
 * what `set_state` wrote (`FlowRunRecord.history`); states go when their run is deleted.
 */
import { toMillis } from '../datetime.ts';
import { notFound } from '../http-errors.ts';
import type { RouteDefinition } from '../router.ts';
import { stateView } from '../views.ts';
import { canonicalId } from './lookups.ts';

/**
 * `GET /flow_run_states/?flow_run_id=`: the run's states ordered by `timestamp`, oldest first
 * (`models.flow_run_states.read_flow_run_states`). An unknown run is an empty list, not a 404.
 */
const readStates: RouteDefinition = {
  method: 'GET',
  path: '/flow_run_states/',
  handle: ({ store, query }) => {
    const run = store.flowRuns.get(String(query.flow_run_id));
    const states = [...(run?.history ?? [])].sort(
      (a, b) => toMillis(a.timestamp) - toMillis(b.timestamp)
    );
    return { status: 200, body: states.map(stateView) };
  },
};

/** `GET /flow_run_states/{id}`: 404 `Flow run state not found` for an unknown id. */
const readState: RouteDefinition = {
  method: 'GET',
  path: '/flow_run_states/{id:uuid}',
  handle: ({ store, params }) => {
    const id = canonicalId(params.id ?? '');
    for (const run of store.flowRuns.values()) {
      const state = run.history.find((s) => s.id === id);
      if (state) return { status: 200, body: stateView(state) };
    }
    throw notFound('Flow run state not found');
  },
};

export const flowRunStateRoutes: readonly RouteDefinition[] = [readStates, readState];
