/** Flow runs and orchestration answers for the poll's unit tests, parsed by the client's schemas. */
import type { SetStateResult } from '../../../../shared/prefect/flow-run-calls.ts';
import {
  type FlowRun,
  FlowRunSchema,
  OrchestrationResultSchema,
} from '../../../../shared/prefect/schemas.ts';

export const RUN_ID = '7f0e4c2a-1b2c-4d3e-8f90-123456789abc';
export const NOW = new Date('2026-08-21T12:00:00Z');

export const iso = (secondsFromNow: number): string =>
  new Date(NOW.getTime() + secondsFromNow * 1000).toISOString();

/** A flow run with a state; `state` fields override a PENDING "Pending" written now. */
export const flowRun = (
  fields: Record<string, unknown> = {},
  state: Record<string, unknown> | null = {}
): FlowRun =>
  FlowRunSchema.parse({
    id: RUN_ID,
    name: 'crimson-otter',
    flow_id: 'a1b2c3d4-0000-4000-8000-000000000001',
    start_time: null,
    infrastructure_pid: null,
    labels: {},
    state:
      state === null
        ? null
        : {
            id: 'c3d4e5f6-0000-4000-8000-000000000002',
            type: 'PENDING',
            name: 'Pending',
            timestamp: iso(0),
            ...state,
            state_details: {
              flow_run_id: RUN_ID,
              scheduled_time: iso(0),
              ...((state.state_details as Record<string, unknown> | undefined) ?? {}),
            },
          },
    ...fields,
  });

/** A `set_state` answer. */
export const setStateResult = (
  status: 'ACCEPT' | 'REJECT' | 'ABORT' | 'WAIT',
  state: { type: string; name?: string; transition_id?: string } | null,
  details: Record<string, unknown> = { type: `${status.toLowerCase()}_details` }
): SetStateResult => ({
  ...OrchestrationResultSchema.parse({
    status,
    state:
      state === null
        ? null
        : {
            id: 'c3d4e5f6-0000-4000-8000-000000000003',
            type: state.type,
            name: state.name ?? null,
            timestamp: iso(0),
            state_details: { transition_id: state.transition_id ?? null, scheduled_time: iso(30) },
          },
    details,
  }),
  stateWritten: status === 'ACCEPT',
  transitionId: 'ignored',
});
