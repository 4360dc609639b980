/**
 * Orchestration rules of the Prefect stand-in: a pure function deciding the
 * outcome of `POST /flow_runs/{id}/set_state`, modelled on Prefect 3.8's
 * CoreFlowPolicy (non-forced) and MinimalFlowPolicy (forced).
 */

export type StateType =
  | 'SCHEDULED'
  | 'PENDING'
  | 'RUNNING'
  | 'COMPLETED'
  | 'FAILED'
  | 'CANCELLED'
  | 'CRASHED'
  | 'PAUSED'
  | 'CANCELLING';

export interface StateRecord {
  id: string;
  type: StateType;
  name: string;
  timestamp: string;
  message: string | null;
  data: unknown;
  state_details: Record<string, unknown>;
}

export interface ProposedState {
  type: StateType;
  name?: string | null;
  message?: string | null;
  data?: unknown;
  state_details?: Record<string, unknown>;
}

export interface OrchestrationContext {
  current: StateRecord | null;
  proposed: ProposedState;
  force: boolean;
  run: {
    id: string;
    infrastructure_pid: string | null;
    empirical_policy: Record<string, unknown>;
    deployment_id: string | null;
  };
  /** active_slots = PENDING+RUNNING runs of the deployment other than this one */
  deployment: {
    id: string;
    concurrency_limit: number | null;
    collision_strategy: 'ENQUEUE' | 'CANCEL_NEW';
    active_slots: number;
  } | null;
  deploymentMissing: boolean;
  now: Date;
  /** Id generator for new ids (lease ids); defaults to `crypto.randomUUID`. */
  newId?: () => string;
}

export type OrchestrationResult =
  | { status: 'ACCEPT'; state: ProposedState }
  | { status: 'REJECT'; state: ProposedState | null; reason: string | null }
  | { status: 'ABORT'; reason: string }
  | { status: 'WAIT'; delaySeconds: number; reason: string };

export function orchestrate(ctx: OrchestrationContext): OrchestrationResult {
  return { status: 'ACCEPT', state: ctx.proposed };
}
