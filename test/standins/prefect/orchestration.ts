/**
 * Orchestration rules of the Prefect stand-in: a pure function deciding the outcome of
 * `POST /flow_runs/{id}/set_state`, modelled on Prefect 3.8's `CoreFlowPolicy` (non-forced)
 * and `MinimalFlowPolicy` (forced), plus the parts of `GlobalFlowPolicy` that shape the
 * written state or the run's `empirical_policy` / `run_count`.
 *
 * Semantics follow Prefect's rule engine: rules run in priority order, each only for the
 * transition types it governs; once a rule rejects, aborts or delays, later rules only run if
 * the replacement state still has the originally proposed type (in practice: never, for flow
 * runs). See /work/shared/reference/prefect-worker-api.md §2.4, §2.7, §3.3 and §4.
 *
 * Everything here is pure: the clock is `ctx.now`, new ids come from `ctx.newId`.
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
  /** The run's current state, or null when it has none yet. */
  current: StateRecord | null;
  /** The `state` body of the request, as received (StateCreate). */
  proposed: ProposedState;
  /** `force` body key: true → MinimalFlowPolicy. */
  force: boolean;
  run: {
    id: string;
    infrastructure_pid: string | null;
    /** FlowRunPolicy: retries, retry_delay, pause_keys, resuming, retry_type (+ deprecated max_retries, retry_delay_seconds). */
    empirical_policy: Record<string, unknown>;
    deployment_id: string | null;
    /**
     * Optional: the run's `run_count` (times it entered RUNNING). RetryFailedFlows retries while
     * `run_count <= retries`; when omitted it is taken as 1 (a run failing from RUNNING has run at
     * least once). When given, `runUpdates.run_count` reports the increment on entering RUNNING.
     */
    run_count?: number;
    /** Optional: `parent_task_run_id` (subflows). Used by HandlePausingFlows and copied into `state_details.task_run_id`. */
    parent_task_run_id?: string | null;
  };
  /** active_slots = PENDING+RUNNING runs of the deployment other than this one */
  deployment: {
    id: string;
    concurrency_limit: number | null;
    collision_strategy: 'ENQUEUE' | 'CANCEL_NEW';
    active_slots: number;
  } | null;
  /** True when `run.deployment_id` is set but that deployment no longer exists. */
  deploymentMissing: boolean;
  /** The server's clock for this request. */
  now: Date;
  /** Id generator for new ids (lease ids, default pause keys); defaults to `crypto.randomUUID`. */
  newId?: () => string;
  /**
   * Optional: Prefect client version parsed from `User-Agent` (`prefect/3.8.3 (API 0.8.4)` → `3.8.3`),
   * null/absent for other clients (our Lambdas). Versions 3.0.0rc20 and 3.0.0–3.0.3 skip
   * SecureFlowConcurrencySlots; only clients ≥ 3.4.11 get their lease validated at PENDING→RUNNING.
   */
  clientVersion?: string | null;
  /**
   * Optional: true when the current state's `deployment_concurrency_lease_id` no longer names a
   * live lease (the stand-in's lease TTL, `grace_period_seconds`, ran out). Only consulted by
   * ValidateDeploymentConcurrencyAtRunning (PENDING→RUNNING, client ≥ 3.4.11). Default false.
   */
  deploymentLeaseExpired?: boolean;
  /** Optional: PREFECT_SERVER_DEPLOYMENTS_CONCURRENCY_SLOT_WAIT_SECONDS. Default 30. */
  concurrencySlotWaitSeconds?: number;
}

/**
 * Changes the server must apply to the flow run itself, whatever the status (a REJECT from
 * RetryFailedFlows also changes `empirical_policy`). Absent when nothing changes.
 */
export interface RunUpdates {
  /** The run's complete new `empirical_policy` (pause_keys as an array). */
  empirical_policy?: Record<string, unknown>;
  /** The run's new `run_count`; only computed when `ctx.run.run_count` was given. */
  run_count?: number;
}

/**
 * `state` (ACCEPT, and REJECT with a replacement) is the complete state to write: name defaulted
 * from the type, every StateDetails key present (unknown keys dropped, as the server's
 * `extra="ignore"` does), `flow_run_id` set, scheduled_time defaulted for SCHEDULED. The server
 * adds `id` and `timestamp`. `rule` names the Prefect rule that decided (diagnostics only).
 */
export type OrchestrationResult =
  | { status: 'ACCEPT'; state: ProposedState; runUpdates?: RunUpdates }
  | {
      status: 'REJECT';
      state: ProposedState | null;
      reason: string | null;
      runUpdates?: RunUpdates;
      rule?: string;
    }
  | { status: 'ABORT'; reason: string; runUpdates?: RunUpdates; rule?: string }
  | {
      status: 'WAIT';
      delaySeconds: number;
      reason: string;
      runUpdates?: RunUpdates;
      rule?: string;
    };

/** Prefect's `StateDetails` fields and their defaults (server/schemas/states.py). */
export const STATE_DETAILS_DEFAULTS: Readonly<Record<string, unknown>> = Object.freeze({
  flow_run_id: null,
  task_run_id: null,
  child_flow_run_id: null,
  scheduled_time: null,
  cache_key: null,
  cache_expiration: null,
  deferred: false,
  untrackable_result: false,
  pause_timeout: null,
  pause_reschedule: false,
  pause_key: null,
  run_input_keyset: null,
  refresh_cache: null,
  retriable: null,
  transition_id: null,
  task_parameters_id: null,
  traceparent: null,
  deployment_concurrency_lease_id: null,
});

const TERMINAL: ReadonlySet<StateType> = new Set(['COMPLETED', 'FAILED', 'CANCELLED', 'CRASHED']);
const DEFAULT_SLOT_WAIT_SECONDS = 30;
/** Clients that managed deployment concurrency themselves (orchestration/dependencies.py). */
const CLIENTS_MANAGING_DEPLOYMENT_CONCURRENCY = new Set([
  '3.0.0rc20',
  '3.0.0',
  '3.0.1',
  '3.0.2',
  '3.0.3',
]);
const MIN_CLIENT_FOR_LEASING: readonly [number, number, number] = [3, 4, 11];

/** Default state name for a type: `CANCELLING` → `Cancelling` (words capitalised on `_`). */
export function defaultStateName(type: StateType): string {
  return type
    .split('_')
    .map((w) => w.charAt(0) + w.slice(1).toLowerCase())
    .join(' ');
}

export function isTerminal(type: StateType): boolean {
  return TERMINAL.has(type);
}

/** A state as the server would write it (before `id` / `timestamp`). */
interface FullState {
  type: StateType;
  name: string;
  message: string | null;
  data: unknown;
  state_details: Record<string, unknown>;
}

/**
 * Normalises a proposal as `StateCreate` / `State` validation does: name from type when null or
 * absent, every StateDetails key present with its default, unknown keys dropped, and
 * `scheduled_time = now` for a SCHEDULED state that has none.
 */
export function normalizeState(p: ProposedState, now: Date): FullState {
  const details: Record<string, unknown> = { ...STATE_DETAILS_DEFAULTS };
  const given = p.state_details ?? {};
  for (const key of Object.keys(STATE_DETAILS_DEFAULTS)) {
    if (given[key] !== undefined) details[key] = given[key];
  }
  if (p.type === 'SCHEDULED' && !details.scheduled_time) details.scheduled_time = now.toISOString();
  return {
    type: p.type,
    name: p.name ?? defaultStateName(p.type),
    message: p.message ?? null,
    data: p.data === undefined ? null : p.data,
    state_details: details,
  };
}

// ---------------------------------------------------------------------------------------------
// Internals

type Decision =
  | { kind: 'REJECT'; state: FullState | null; reason: string; rule: string }
  | { kind: 'ABORT'; reason: string; rule: string }
  | { kind: 'WAIT'; delaySeconds: number; reason: string; rule: string };

interface Policy {
  retries: number | null;
  retry_delay: number | null;
  pause_keys: string[];
  resuming: boolean;
  retry_type: 'in_process' | 'reschedule' | null;
}

interface Env {
  ctx: OrchestrationContext;
  current: StateRecord | null;
  /** The proposal being orchestrated; rules may adjust its state_details. */
  proposed: FullState;
  policy: Policy;
  newId: () => string;
  /** Set by HandlePausingFlows when it lets a pause through: the key its after-hook records. */
  pauseKey: string | null;
  /** Set by HandleFlowTerminalStateTransitions before it resets the policy; its cleanup restores it. */
  policyBeforeTerminalDeparture: Policy | null;
}

interface Rule {
  name: string;
  from: ReadonlySet<StateType | null> | 'ALL';
  to: ReadonlySet<StateType | null> | 'ALL';
  apply: (env: Env) => Decision | undefined;
}

function str(value: unknown): string | null {
  return typeof value === 'string' && value !== '' ? value : null;
}

function num(value: unknown): number | null {
  return typeof value === 'number' && Number.isFinite(value) ? value : null;
}

function parseTime(value: unknown): number | null {
  if (typeof value !== 'string' || value === '') return null;
  const ms = Date.parse(value);
  return Number.isNaN(ms) ? null : ms;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Prefect's `_has_persisted_result`: a dict whose `type` is not "unpersisted". */
function hasPersistedResult(data: unknown): boolean {
  return isPlainObject(data) && data.type !== 'unpersisted';
}

/** The current state carries persisted result data (`initial_state.data and _has_persisted_result(...)`). */
function currentHasPersistedResult(data: unknown): boolean {
  return hasPersistedResult(data) && Object.keys(data as object).length > 0;
}

function readPolicy(raw: Record<string, unknown>): Policy {
  // set_run_policy_deprecated_fields: max_retries / retry_delay_seconds fill in unset new fields.
  let retries = num(raw.retries);
  if (!retries && (num(raw.max_retries) ?? 0) !== 0) retries = num(raw.max_retries);
  let retryDelay = num(raw.retry_delay);
  if (!retryDelay && (num(raw.retry_delay_seconds) ?? 0) !== 0) {
    retryDelay = num(raw.retry_delay_seconds);
  }
  const keys = Array.isArray(raw.pause_keys)
    ? raw.pause_keys.filter((k): k is string => typeof k === 'string')
    : [];
  const retryType =
    raw.retry_type === 'in_process' || raw.retry_type === 'reschedule' ? raw.retry_type : null;
  return {
    retries,
    retry_delay: retryDelay,
    pause_keys: keys,
    resuming: raw.resuming === true,
    retry_type: retryType,
  };
}

function samePolicy(a: Policy, b: Policy): boolean {
  return (
    a.resuming === b.resuming &&
    a.retry_type === b.retry_type &&
    a.pause_keys.length === b.pause_keys.length &&
    a.pause_keys.every((k, i) => b.pause_keys[i] === k)
  );
}

function clonePolicy(p: Policy): Policy {
  return { ...p, pause_keys: [...p.pause_keys] };
}

/** `version >= min` for PEP 440-ish versions (`3.4.11`, `3.4.11rc1` < `3.4.11`, `3.4.11.post1`). */
function versionAtLeast(version: string, min: readonly [number, number, number]): boolean {
  const m = /^v?(\d+)(?:\.(\d+))?(?:\.(\d+))?(.*)$/i.exec(version.trim());
  if (!m) return false;
  const parts = [Number(m[1]), Number(m[2] ?? 0), Number(m[3] ?? 0)];
  for (let i = 0; i < 3; i++) {
    const a = parts[i] ?? 0;
    const b = min[i] ?? 0;
    if (a !== b) return a > b;
  }
  const rest = (m[4] ?? '').toLowerCase();
  return !/^[.\-_]?(a|b|c|rc|alpha|beta|pre|preview|dev)/.test(rest);
}

function clientAtLeast(ctx: OrchestrationContext, min: readonly [number, number, number]) {
  const v = ctx.clientVersion;
  return typeof v === 'string' && v !== '' && versionAtLeast(v, min);
}

function newState(
  type: StateType,
  now: Date,
  opts: { name?: string; message?: string | null; data?: unknown; scheduled_time?: string } = {}
): FullState {
  return normalizeState(
    {
      type,
      name: opts.name ?? null,
      message: opts.message ?? null,
      data: opts.data,
      state_details:
        opts.scheduled_time === undefined ? {} : { scheduled_time: opts.scheduled_time },
    },
    now
  );
}

function plusSeconds(now: Date, seconds: number): string {
  return new Date(now.getTime() + seconds * 1000).toISOString();
}

function set(...types: (StateType | null)[]): ReadonlySet<StateType | null> {
  return new Set(types);
}

const ALL_TYPES: readonly StateType[] = [
  'SCHEDULED',
  'PENDING',
  'RUNNING',
  'COMPLETED',
  'FAILED',
  'CANCELLED',
  'CRASHED',
  'PAUSED',
  'CANCELLING',
];

function allExcept(...types: StateType[]): ReadonlySet<StateType | null> {
  return new Set<StateType | null>([null, ...ALL_TYPES.filter((t) => !types.includes(t))]);
}

function governs(rule: Rule, from: StateType | null, to: StateType): boolean {
  return (rule.from === 'ALL' || rule.from.has(from)) && (rule.to === 'ALL' || rule.to.has(to));
}

// ---------------------------------------------------------------------------------------------
// Rules (names are Prefect's; behaviour re-stated from core_policy.py 3.8)

const preventDuplicateTransitions: Rule = {
  name: 'PreventDuplicateTransitions',
  from: 'ALL',
  to: 'ALL',
  apply({ current, proposed }) {
    if (!current) return undefined;
    const a = str(current.state_details.transition_id);
    const b = str(proposed.state_details.transition_id);
    if (a !== null && b !== null && a.toLowerCase() === b.toLowerCase()) {
      return reject(this.name, null, 'This run has already made this state transition.');
    }
    return undefined;
  },
};

const handleFlowTerminalStateTransitions: Rule = {
  name: 'HandleFlowTerminalStateTransitions',
  from: TERMINAL,
  to: 'ALL',
  apply(env) {
    const { current, proposed, ctx } = env;
    if (!current) return undefined;
    if (
      proposed.type === 'CANCELLING' ||
      proposed.type === 'PAUSED' ||
      proposed.type === 'CRASHED'
    ) {
      return abort(this.name, `Run is already in terminal state ${current.type}.`);
    }
    const persisted = current.type === 'COMPLETED' && currentHasPersistedResult(current.data);
    if (persisted && !isTerminal(proposed.type)) {
      return reject(this.name, null, 'Run is already COMPLETED.');
    }
    if (persisted && proposed.type === 'COMPLETED' && !hasPersistedResult(proposed.data)) {
      return reject(
        this.name,
        null,
        'Cannot overwrite a COMPLETED state that carries persisted result data with one that does not.'
      );
    }
    if (proposed.type === 'SCHEDULED' && !ctx.run.deployment_id) {
      return abort(this.name, 'Cannot reschedule a run without an associated deployment.');
    }
    if (!isTerminal(proposed.type)) {
      env.policyBeforeTerminalDeparture = clonePolicy(env.policy);
      env.policy.resuming = false;
      env.policy.pause_keys = [];
      env.policy.retry_type = proposed.type === 'SCHEDULED' ? 'reschedule' : null;
    }
    return undefined;
  },
};

const enforceCancellingToCancelledTransition: Rule = {
  name: 'EnforceCancellingToCancelledTransition',
  from: set('CANCELLING'),
  // Every type but CANCELLED, PENDING included: CANCELLING→PENDING is a REJECT here, before
  // PreventPendingTransitions could ABORT it.
  to: allExcept('CANCELLED'),
  apply() {
    return reject(
      this.name,
      null,
      'Cannot transition flows that are cancelling to a state other than Cancelled.'
    );
  },
};

const bypassCancellingFlowRunsWithNoInfra: Rule = {
  name: 'BypassCancellingFlowRunsWithNoInfra',
  from: set('SCHEDULED', 'PAUSED'),
  to: set('CANCELLING'),
  apply({ current, ctx }) {
    if (!current) return undefined;
    if (
      (current.type === 'SCHEDULED' && !ctx.run.infrastructure_pid) ||
      current.name === 'Resuming'
    ) {
      return reject(
        this.name,
        newState('CANCELLED', ctx.now),
        'Scheduled flow run has no infrastructure to terminate.'
      );
    }
    if (current.type === 'PAUSED' && current.state_details.pause_reschedule === true) {
      return reject(
        this.name,
        newState('CANCELLED', ctx.now),
        'Suspended flow run has no infrastructure to terminate.'
      );
    }
    return undefined;
  },
};

const preventPendingTransitions: Rule = {
  name: 'PreventPendingTransitions',
  from: set('PENDING', 'CANCELLING', 'RUNNING', 'CANCELLED'),
  to: set('PENDING'),
  apply({ current, proposed }) {
    if (!current) return undefined;
    if (
      current.type === 'PENDING' &&
      current.name !== proposed.name &&
      proposed.name !== 'Pending'
    ) {
      // Renamed sub-state (Submitting, InfrastructurePending): carry forward what earlier rules
      // put on the PENDING state.
      proposed.state_details.scheduled_time = current.state_details.scheduled_time ?? null;
      proposed.state_details.deployment_concurrency_lease_id =
        current.state_details.deployment_concurrency_lease_id ?? null;
      return undefined;
    }
    return abort(
      this.name,
      `This run is in a ${current.type} state and cannot transition to a PENDING state.`
    );
  },
};

const validateDeploymentConcurrencyAtRunning: Rule = {
  name: 'ValidateDeploymentConcurrencyAtRunning',
  from: set('PENDING'),
  to: set('RUNNING'),
  apply(env) {
    const { current, proposed, ctx } = env;
    if (!current) return undefined;
    const leaseId = current.state_details.deployment_concurrency_lease_id ?? null;
    proposed.state_details.deployment_concurrency_lease_id = leaseId;
    if (!leaseId) return undefined;
    // Only clients that renew leases (≥ 3.4.11) are validated; unknown clients count as 2.0.0.
    if (!clientAtLeast(ctx, MIN_CLIENT_FOR_LEASING)) return undefined;
    if (!ctx.run.deployment_id || !ctx.deployment || ctx.deployment.concurrency_limit === null) {
      return undefined;
    }
    if (!ctx.deploymentLeaseExpired) return undefined; // lease renewed
    if (ctx.deployment.active_slots < ctx.deployment.concurrency_limit) {
      proposed.state_details.deployment_concurrency_lease_id = env.newId();
      return undefined;
    }
    return reject(
      this.name,
      newState('CANCELLED', ctx.now, {
        message:
          'Deployment concurrency slot lost during provisioning - no slots available to continue execution',
      }),
      'Deployment concurrency limit reached after lease expiry.'
    );
  },
};

const secureFlowConcurrencySlots: Rule = {
  name: 'SecureFlowConcurrencySlots',
  from: allExcept('PENDING', 'RUNNING', 'CANCELLING'),
  to: set('PENDING'),
  apply(env) {
    const { ctx, proposed } = env;
    if (!ctx.run.deployment_id) return undefined;
    if (ctx.clientVersion && CLIENTS_MANAGING_DEPLOYMENT_CONCURRENCY.has(ctx.clientVersion)) {
      return undefined;
    }
    if (ctx.deploymentMissing) return abort(this.name, 'Deployment not found.');
    const deployment = ctx.deployment;
    if (!deployment || deployment.concurrency_limit === null) return undefined;
    if (deployment.concurrency_limit === 0) {
      return abort(
        this.name,
        'The deployment concurrency limit is 0. The flow will deadlock if submitted again.'
      );
    }
    if (deployment.active_slots < deployment.concurrency_limit) {
      proposed.state_details.deployment_concurrency_lease_id = env.newId();
      return undefined;
    }
    const reason = 'Deployment concurrency limit reached.';
    if (deployment.collision_strategy === 'CANCEL_NEW') {
      return reject(this.name, newState('CANCELLED', ctx.now, { message: reason }), reason);
    }
    const wait = ctx.concurrencySlotWaitSeconds ?? DEFAULT_SLOT_WAIT_SECONDS;
    return reject(
      this.name,
      newState('SCHEDULED', ctx.now, {
        name: 'AwaitingConcurrencySlot',
        scheduled_time: plusSeconds(ctx.now, wait),
      }),
      reason
    );
  },
};

const ensureOnlyScheduledFlowsMarkedLate: Rule = {
  name: 'EnsureOnlyScheduledFlowsMarkedLate',
  from: 'ALL',
  to: set('SCHEDULED'),
  apply({ current, proposed }) {
    if (!current || proposed.name !== 'Late') return undefined;
    if (current.type !== 'SCHEDULED') {
      return reject(this.name, null, 'Only scheduled flows can be marked late.');
    }
    if (current.name === 'Late') {
      return reject(this.name, null, 'This flow run is already marked late.');
    }
    return undefined;
  },
};

const handlePausingFlows: Rule = {
  name: 'HandlePausingFlows',
  from: 'ALL',
  to: set('PAUSED'),
  apply(env) {
    const { current, proposed, ctx, policy } = env;
    const verb = proposed.name === 'Suspended' ? 'suspend' : 'pause';
    if (!current) return abort(this.name, `Cannot ${verb} flows with no state.`);
    if (current.type !== 'RUNNING') {
      return reject(this.name, null, `Cannot ${verb} flows that are not currently running.`);
    }
    const key = str(proposed.state_details.pause_key) ?? env.newId();
    if (policy.pause_keys.includes(key)) {
      return reject(this.name, null, `This ${verb} has already fired.`);
    }
    if (proposed.state_details.pause_reschedule === true) {
      if (ctx.run.parent_task_run_id) return abort(this.name, `Cannot ${verb} subflows.`);
      if (!ctx.run.deployment_id) {
        return abort(this.name, `Cannot ${verb} flows without a deployment.`);
      }
    }
    env.pauseKey = key;
    return undefined;
  },
};

const handleResumingPausedFlows: Rule = {
  name: 'HandleResumingPausedFlows',
  from: set('PAUSED'),
  to: 'ALL',
  apply(env) {
    const { current, proposed, ctx } = env;
    if (!current) return undefined;
    if (
      !(proposed.type === 'RUNNING' || proposed.type === 'SCHEDULED' || isTerminal(proposed.type))
    ) {
      // Python ≥ 3.11 formats a str-mixin Enum in an f-string as `StateType.X`.
      return reject(
        this.name,
        null,
        `This run cannot transition to the StateType.${proposed.type} state from the StateType.${current.type} state.`
      );
    }
    const verb = proposed.name === 'Suspended' ? 'suspend' : 'pause';
    const displayName = proposed.name ? proposed.name.toLowerCase() : proposed.type.toLowerCase();
    if (current.state_details.pause_reschedule === true && !ctx.run.deployment_id) {
      return reject(
        this.name,
        null,
        `Cannot reschedule a ${displayName} flow run without a deployment.`
      );
    }
    const timeout = parseTime(current.state_details.pause_timeout);
    if (timeout !== null && timeout < ctx.now.getTime()) {
      return reject(
        this.name,
        newState('FAILED', ctx.now, { message: `The flow was ${displayName} and never resumed.` }),
        `The flow run ${verb} has timed out and can no longer resume.`
      );
    }
    return undefined;
  },
};

const copyScheduledTime: Rule = {
  name: 'CopyScheduledTime',
  from: set('SCHEDULED'),
  to: set('PENDING'),
  apply({ current, proposed }) {
    if (!current) return undefined;
    if (!proposed.state_details.scheduled_time) {
      proposed.state_details.scheduled_time = current.state_details.scheduled_time ?? null;
    }
    return undefined;
  },
};

const waitForScheduledTime: Rule = {
  name: 'WaitForScheduledTime',
  from: set('SCHEDULED', 'PENDING'),
  to: set('RUNNING'),
  apply({ current, ctx }) {
    if (!current) return undefined;
    const scheduled = parseTime(current.state_details.scheduled_time);
    if (scheduled === null) return undefined;
    // floor(seconds) + round(fraction), Python's round: exactly .5 rounds down to even (0).
    const delayMs = scheduled - ctx.now.getTime();
    const whole = Math.floor(delayMs / 1000);
    const fraction = (delayMs - whole * 1000) / 1000;
    const delaySeconds = whole + (fraction > 0.5 ? 1 : 0);
    if (delaySeconds > 0) {
      return {
        kind: 'WAIT',
        delaySeconds,
        reason: 'Scheduled time is in the future',
        rule: this.name,
      };
    }
    return undefined;
  },
};

const retryFailedFlows: Rule = {
  name: 'RetryFailedFlows',
  from: set('RUNNING'),
  to: set('FAILED'),
  apply({ current, proposed, ctx, policy }) {
    if (!current) return undefined;
    const runCount = ctx.run.run_count ?? 1;
    if (policy.retries === null || runCount > policy.retries) {
      policy.retry_type = null; // allow later infrastructure-level retries
      return undefined;
    }
    policy.resuming = false;
    policy.pause_keys = [];
    policy.retry_type = 'in_process';
    return reject(
      this.name,
      newState('SCHEDULED', ctx.now, {
        name: 'AwaitingRetry',
        message: proposed.message,
        data: proposed.data,
        scheduled_time: plusSeconds(ctx.now, policy.retry_delay ?? 0),
      }),
      'Retrying'
    );
  },
};

/** CoreFlowPolicy.priority(), minus rules with no effect on a pure decision. */
const CORE_FLOW_POLICY: readonly Rule[] = [
  preventDuplicateTransitions,
  handleFlowTerminalStateTransitions,
  enforceCancellingToCancelledTransition,
  bypassCancellingFlowRunsWithNoInfra,
  preventPendingTransitions,
  validateDeploymentConcurrencyAtRunning,
  secureFlowConcurrencySlots,
  ensureOnlyScheduledFlowsMarkedLate,
  handlePausingFlows,
  handleResumingPausedFlows,
  copyScheduledTime,
  waitForScheduledTime,
  retryFailedFlows,
];

const preventResultDataLoss: Rule = {
  name: 'PreventResultDataLoss',
  from: TERMINAL,
  to: TERMINAL,
  apply({ current, proposed }) {
    if (!current) return undefined;
    if (
      current.type === 'COMPLETED' &&
      proposed.type === 'COMPLETED' &&
      currentHasPersistedResult(current.data) &&
      !hasPersistedResult(proposed.data)
    ) {
      return reject(
        this.name,
        null,
        'Cannot overwrite a COMPLETED state that carries persisted result data with one that does not.'
      );
    }
    return undefined;
  },
};

/** MinimalFlowPolicy.priority() (force=true). */
const MINIMAL_FLOW_POLICY: readonly Rule[] = [
  preventResultDataLoss,
  bypassCancellingFlowRunsWithNoInfra,
];

function reject(rule: string, state: FullState | null, reason: string): Decision {
  return { kind: 'REJECT', state, reason, rule };
}

function abort(rule: string, reason: string): Decision {
  return { kind: 'ABORT', reason, rule };
}

// ---------------------------------------------------------------------------------------------

/**
 * Decides a flow-run `set_state` request.
 *
 * - ACCEPT: write `state`.
 * - REJECT: write `state` when non-null (a replacement such as AwaitingRetry,
 *   AwaitingConcurrencySlot or Cancelled); when null, write nothing and return the current state.
 * - ABORT / WAIT: write nothing; return the current state.
 * - In every case apply `runUpdates` when present.
 *
 * Not covered (server's job): state `id`/`timestamp`, run bookkeeping from GlobalFlowPolicy
 * (state_type/state_name, start_time on first RUNNING, end_time on entering a terminal state and
 * cleared on leaving one, total_run_time, expected_start_time, next_scheduled_start_time),
 * slot accounting and events.
 */
export function orchestrate(ctx: OrchestrationContext): OrchestrationResult {
  const from = ctx.current?.type ?? null;
  const to = ctx.proposed.type;
  const initialPolicy = readPolicy(ctx.run.empirical_policy);
  const env: Env = {
    ctx,
    current: ctx.current,
    proposed: normalizeState(ctx.proposed, ctx.now),
    policy: clonePolicy(initialPolicy),
    newId: ctx.newId ?? (() => crypto.randomUUID()),
    pauseKey: null,
    policyBeforeTerminalDeparture: null,
  };

  if (!ctx.force && ctx.current) {
    // PreserveDeploymentConcurrencyLeaseId (universal transform, CoreFlowPolicy only).
    const lease = ctx.current.state_details.deployment_concurrency_lease_id;
    if (lease != null && env.proposed.state_details.deployment_concurrency_lease_id == null) {
      env.proposed.state_details.deployment_concurrency_lease_id = lease;
    }
  }

  // Rules run while the proposal still has the intended type; a decision replaces it. For each
  // rule that ran, remember the proposal type it left behind: a rule whose type still matches at
  // the end fires its after-hook, one whose type changed under it "fizzles" (cleanup).
  let decision: Decision | null = null;
  let proposedType: StateType | null = to;
  const exitTypes = new Map<Rule, StateType | null>();
  for (const rule of ctx.force ? MINIMAL_FLOW_POLICY : CORE_FLOW_POLICY) {
    if (proposedType !== to) break;
    if (!governs(rule, from, to)) continue;
    const d = rule.apply(env);
    if (d) {
      decision = d;
      proposedType = d.kind === 'REJECT' && d.state ? d.state.type : null;
      if (d.kind === 'REJECT' && d.state) env.proposed = d.state;
    }
    exitTypes.set(rule, proposedType);
  }
  const written: FullState | null =
    decision === null ? env.proposed : decision.kind === 'REJECT' ? decision.state : null;

  // GlobalFlowPolicy transforms on the state being written.
  let runCount: number | undefined;
  if (written) {
    if (ctx.run.parent_task_run_id) written.state_details.task_run_id = ctx.run.parent_task_run_id;
    written.state_details.flow_run_id = ctx.run.id;
    if (written.type === 'RUNNING' && !env.policy.resuming && ctx.run.run_count !== undefined) {
      runCount = ctx.run.run_count + 1; // IncrementFlowRunCount
    }
    if ((written.type === 'RUNNING' || isTerminal(written.type)) && env.policy.resuming) {
      env.policy.resuming = false; // RemoveResumingIndicator
    }
  }

  // After-hooks and cleanups, innermost (lowest priority) first.
  const exitedWith = (rule: Rule, type: StateType | null) =>
    exitTypes.has(rule) && exitTypes.get(rule) === type;
  if (exitedWith(handleResumingPausedFlows, proposedType)) {
    // Fires even when the rule itself rejected (its TO_STATES include "no state").
    env.policy.resuming = true;
  }
  if (
    env.pauseKey !== null &&
    exitedWith(handlePausingFlows, 'PAUSED') &&
    proposedType === 'PAUSED'
  ) {
    if (!env.policy.pause_keys.includes(env.pauseKey)) env.policy.pause_keys.push(env.pauseKey);
  }
  if (env.policyBeforeTerminalDeparture && proposedType !== to) {
    env.policy = env.policyBeforeTerminalDeparture;
  }

  const runUpdates: RunUpdates = {};
  if (!samePolicy(initialPolicy, env.policy)) {
    runUpdates.empirical_policy = {
      ...ctx.run.empirical_policy,
      pause_keys: env.policy.pause_keys,
      resuming: env.policy.resuming,
      retry_type: env.policy.retry_type,
    };
  }
  if (runCount !== undefined) runUpdates.run_count = runCount;
  const updates = Object.keys(runUpdates).length > 0 ? { runUpdates } : {};

  if (decision === null) return { status: 'ACCEPT', state: env.proposed, ...updates };
  switch (decision.kind) {
    case 'REJECT':
      return {
        status: 'REJECT',
        state: decision.state,
        reason: decision.reason,
        rule: decision.rule,
        ...updates,
      };
    case 'ABORT':
      return { status: 'ABORT', reason: decision.reason, rule: decision.rule, ...updates };
    case 'WAIT':
      return {
        status: 'WAIT',
        delaySeconds: decision.delaySeconds,
        reason: decision.reason,
        rule: decision.rule,
        ...updates,
      };
  }
}
