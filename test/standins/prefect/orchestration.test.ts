import { describe, expect, it } from 'vitest';
import {
  type OrchestrationContext,
  type OrchestrationResult,
  orchestrate,
  type ProposedState,
  type StateRecord,
  type StateType,
} from './orchestration.ts';

const NOW = new Date('2026-08-21T12:00:00.000Z');
const RUN_ID = '7f0e0000-0000-4000-8000-000000000001';
const DEPLOYMENT_ID = 'e5f60000-0000-4000-8000-000000000002';
const PAST = '2026-08-21T11:59:00.000Z';
const PERSISTED_RESULT = { type: 'reference', storage_key: 's3://bucket/result' };

function at(secondsFromNow: number): string {
  return new Date(NOW.getTime() + secondsFromNow * 1000).toISOString();
}

interface StateOpts {
  name?: string;
  data?: unknown;
  details?: Record<string, unknown>;
}

function current(type: StateType, opts: StateOpts = {}): StateRecord {
  const name = opts.name ?? type.charAt(0) + type.slice(1).toLowerCase();
  const scheduled = type === 'SCHEDULED' || type === 'PENDING' ? { scheduled_time: PAST } : {};
  return {
    id: 'c3d40000-0000-4000-8000-000000000003',
    type,
    name,
    timestamp: PAST,
    message: null,
    data: opts.data ?? null,
    state_details: { flow_run_id: RUN_ID, ...scheduled, ...opts.details },
  };
}

type Overrides = Omit<Partial<OrchestrationContext>, 'run'> & {
  run?: Partial<OrchestrationContext['run']>;
};

function context(
  from: StateRecord | null,
  proposed: ProposedState,
  overrides: Overrides = {}
): OrchestrationContext {
  let n = 0;
  const { run, ...rest } = overrides;
  return {
    current: from,
    proposed,
    force: false,
    run: {
      id: RUN_ID,
      infrastructure_pid: null,
      empirical_policy: { retries: null, retry_delay: null, pause_keys: [], resuming: false },
      deployment_id: DEPLOYMENT_ID,
      ...run,
    },
    deployment: null,
    deploymentMissing: false,
    now: NOW,
    newId: () => `id-${++n}`,
    ...rest,
  };
}

function deployment(
  concurrency_limit: number | null,
  active_slots: number,
  collision_strategy: 'ENQUEUE' | 'CANCEL_NEW' = 'ENQUEUE'
): OrchestrationContext['deployment'] {
  return { id: DEPLOYMENT_ID, concurrency_limit, collision_strategy, active_slots };
}

/** The state the server writes: the proposal on ACCEPT, the replacement on REJECT, else none. */
function writtenState(result: OrchestrationResult): ProposedState | null {
  return result.status === 'ACCEPT' || result.status === 'REJECT' ? result.state : null;
}

function reasonOf(result: OrchestrationResult): string | null {
  return result.status === 'ACCEPT' ? null : result.reason;
}

const COMPLETED_PERSISTED = current('COMPLETED', { data: PERSISTED_RESULT });

// ---------------------------------------------------------------------------------------------
// Reference table 4.1: from × {PENDING, RUNNING, CRASHED, CANCELLED, FAILED}, non-forced.
// `writes`: type/name of the state written; null = nothing written (REJECT/ABORT return current).

interface Cell {
  from: StateRecord;
  to: StateType;
  status: OrchestrationResult['status'];
  writes: { type: StateType; name: string } | null;
}

function row(
  from: StateRecord,
  cells: Record<'PENDING' | 'RUNNING' | 'CRASHED' | 'CANCELLED' | 'FAILED', Cell['status']>
): Cell[] {
  return Object.entries(cells).map(([to, status]) => {
    const type = to as StateType;
    return {
      from,
      to: type,
      status,
      writes:
        status === 'ACCEPT' ? { type, name: type.charAt(0) + type.slice(1).toLowerCase() } : null,
    };
  });
}

const TABLE_4_1: Cell[] = [
  ...row(current('SCHEDULED'), {
    PENDING: 'ACCEPT',
    RUNNING: 'ACCEPT',
    CRASHED: 'ACCEPT',
    CANCELLED: 'ACCEPT',
    FAILED: 'ACCEPT',
  }),
  ...['Late', 'AwaitingRetry', 'AwaitingConcurrencySlot'].flatMap((name) =>
    row(current('SCHEDULED', { name }), {
      PENDING: 'ACCEPT',
      RUNNING: 'ACCEPT',
      CRASHED: 'ACCEPT',
      CANCELLED: 'ACCEPT',
      FAILED: 'ACCEPT',
    })
  ),
  ...row(current('PENDING'), {
    PENDING: 'ABORT',
    RUNNING: 'ACCEPT',
    CRASHED: 'ACCEPT',
    CANCELLED: 'ACCEPT',
    FAILED: 'ACCEPT',
  }),
  ...row(current('RUNNING'), {
    PENDING: 'ABORT',
    RUNNING: 'ACCEPT', // "—" in the table: no rule governs RUNNING→RUNNING
    CRASHED: 'ACCEPT',
    CANCELLED: 'ACCEPT',
    FAILED: 'ACCEPT', // no retries configured
  }),
  ...row(current('CANCELLING'), {
    // The reference table says ABORT; Prefect 3.8 rejects it first in
    // EnforceCancellingToCancelledTransition (TO_STATES = every type but CANCELLED).
    PENDING: 'REJECT',
    RUNNING: 'REJECT',
    CRASHED: 'REJECT',
    CANCELLED: 'ACCEPT',
    FAILED: 'REJECT',
  }),
  ...row(current('PAUSED'), {
    PENDING: 'REJECT',
    RUNNING: 'ACCEPT',
    CRASHED: 'ACCEPT',
    CANCELLED: 'ACCEPT',
    FAILED: 'ACCEPT',
  }),
  ...row(current('COMPLETED'), {
    PENDING: 'ACCEPT',
    RUNNING: 'ACCEPT',
    CRASHED: 'ABORT',
    CANCELLED: 'ACCEPT',
    FAILED: 'ACCEPT',
  }),
  ...row(COMPLETED_PERSISTED, {
    PENDING: 'REJECT',
    RUNNING: 'REJECT',
    CRASHED: 'ABORT',
    CANCELLED: 'ACCEPT',
    FAILED: 'ACCEPT',
  }),
  ...(['FAILED', 'CRASHED'] as const).flatMap((t) =>
    row(current(t), {
      PENDING: 'ACCEPT',
      RUNNING: 'ACCEPT',
      CRASHED: 'ABORT',
      CANCELLED: 'ACCEPT',
      FAILED: 'ACCEPT',
    })
  ),
  ...row(current('CANCELLED'), {
    PENDING: 'ABORT',
    RUNNING: 'ACCEPT',
    CRASHED: 'ABORT',
    CANCELLED: 'ACCEPT',
    FAILED: 'ACCEPT',
  }),
];

describe('orchestrate: reference table 4.1 (non-forced)', () => {
  it.each(
    TABLE_4_1.map((c) => ({
      ...c,
      label: `${c.from.type}(${c.from.name}${c.from.data ? ', persisted result' : ''}) → ${c.to}`,
    }))
  )('$label: $status', ({ from, to, status, writes }) => {
    // Prepare
    const ctx = context(from, { type: to });
    // Act
    const result = orchestrate(ctx);
    // Assess
    expect(result.status).toBe(status);
    const state = writtenState(result);
    if (writes === null) expect(state).toBeNull();
    else expect(state).toMatchObject(writes);
  });

  it.each([
    {
      from: 'PENDING',
      to: 'PENDING',
      reason: 'This run is in a PENDING state and cannot transition to a PENDING state.',
    },
    {
      from: 'RUNNING',
      to: 'PENDING',
      reason: 'This run is in a RUNNING state and cannot transition to a PENDING state.',
    },
    {
      from: 'CANCELLED',
      to: 'PENDING',
      reason: 'This run is in a CANCELLED state and cannot transition to a PENDING state.',
    },
    {
      from: 'CANCELLING',
      to: 'CRASHED',
      reason: 'Cannot transition flows that are cancelling to a state other than Cancelled.',
    },
    {
      from: 'CANCELLING',
      to: 'PENDING',
      reason: 'Cannot transition flows that are cancelling to a state other than Cancelled.',
    },
    { from: 'FAILED', to: 'CRASHED', reason: 'Run is already in terminal state FAILED.' },
    {
      from: 'PAUSED',
      to: 'PENDING',
      reason:
        'This run cannot transition to the StateType.PENDING state from the StateType.PAUSED state.',
    },
  ] as const)('$from → $to gives the reason "$reason"', ({ from, to, reason }) => {
    // Prepare
    const ctx = context(current(from), { type: to });
    // Act
    const result = orchestrate(ctx);
    // Assess
    expect(reasonOf(result)).toBe(reason);
  });

  it('rejects leaving a COMPLETED state with a persisted result with "Run is already COMPLETED."', () => {
    // Prepare
    const ctx = context(COMPLETED_PERSISTED, { type: 'PENDING' });
    // Act
    const result = orchestrate(ctx);
    // Assess
    expect(result).toMatchObject({
      status: 'REJECT',
      state: null,
      reason: 'Run is already COMPLETED.',
    });
  });
});

// ---------------------------------------------------------------------------------------------

describe('orchestrate: PreventDuplicateTransitions', () => {
  const tid = '2d9f0000-0000-4000-8000-00000000000a';
  it.each([
    {
      name: 'replayed PENDING claim (same transition_id) → REJECT with the current state',
      from: current('PENDING', { details: { transition_id: tid } }),
      proposed: { type: 'PENDING', state_details: { transition_id: tid } },
      force: false,
      status: 'REJECT',
      writes: null,
    },
    {
      name: 'transition_id compared as a UUID (case-insensitive)',
      from: current('PENDING', { details: { transition_id: tid } }),
      proposed: { type: 'PENDING', state_details: { transition_id: tid.toUpperCase() } },
      force: false,
      status: 'REJECT',
      writes: null,
    },
    {
      name: 'replayed CRASHED report → REJECT before the terminal-state ABORT',
      from: current('CRASHED', { details: { transition_id: tid } }),
      proposed: { type: 'CRASHED', state_details: { transition_id: tid } },
      force: false,
      status: 'REJECT',
      writes: null,
    },
    {
      name: 'another claimer (new transition_id) → ABORT',
      from: current('PENDING', { details: { transition_id: tid } }),
      proposed: { type: 'PENDING', state_details: { transition_id: 'other' } },
      force: false,
      status: 'ABORT',
      writes: null,
    },
    {
      name: 'no transition_id on the current state → normal rules',
      from: current('SCHEDULED'),
      proposed: { type: 'PENDING', state_details: { transition_id: tid } },
      force: false,
      status: 'ACCEPT',
      writes: { type: 'PENDING' },
    },
    {
      name: 'forced duplicate is not deduplicated (MinimalFlowPolicy) → ACCEPT',
      from: current('PENDING', { details: { transition_id: tid } }),
      proposed: { type: 'PENDING', state_details: { transition_id: tid } },
      force: true,
      status: 'ACCEPT',
      writes: { type: 'PENDING' },
    },
  ] as const)('$name', ({ from, proposed, force, status, writes }) => {
    // Prepare
    const ctx = context(from, proposed, { force });
    // Act
    const result = orchestrate(ctx);
    // Assess
    expect(result.status).toBe(status);
    if (writes === null) expect(writtenState(result)).toBeNull();
    else expect(writtenState(result)).toMatchObject(writes);
    if (status === 'REJECT')
      expect(reasonOf(result)).toBe('This run has already made this state transition.');
  });
});

describe('orchestrate: PENDING sub-state renames (PreventPendingTransitions exception)', () => {
  it.each([
    { from: 'Pending', to: 'Submitting', status: 'ACCEPT' },
    { from: 'Pending', to: 'InfrastructurePending', status: 'ACCEPT' },
    { from: 'Submitting', to: 'InfrastructurePending', status: 'ACCEPT' },
    { from: 'InfrastructurePending', to: 'Submitting', status: 'ACCEPT' },
    { from: 'Submitting', to: 'Submitting', status: 'ABORT' },
    { from: 'InfrastructurePending', to: 'InfrastructurePending', status: 'ABORT' },
    { from: 'Submitting', to: 'Pending', status: 'ABORT' },
    { from: 'Submitting', to: null, status: 'ABORT' }, // name defaults to "Pending"
  ] as const)('PENDING($from) → PENDING($to): $status', ({ from, to, status }) => {
    // Prepare
    const ctx = context(current('PENDING', { name: from }), { type: 'PENDING', name: to });
    // Act
    const result = orchestrate(ctx);
    // Assess
    expect(result.status).toBe(status);
    if (status === 'ACCEPT')
      expect(writtenState(result)).toMatchObject({ type: 'PENDING', name: to });
  });

  it.each(['RUNNING', 'CANCELLED'] as const)('%s → PENDING(Submitting): ABORT', (from) => {
    // Prepare
    const ctx = context(current(from), { type: 'PENDING', name: 'Submitting' });
    // Act
    const result = orchestrate(ctx);
    // Assess
    expect(result.status).toBe('ABORT');
  });

  it('carries scheduled_time and the deployment lease from the PENDING state into the rename', () => {
    // Prepare
    const from = current('PENDING', {
      details: { scheduled_time: at(5), deployment_concurrency_lease_id: 'lease-1' },
    });
    const ctx = context(from, {
      type: 'PENDING',
      name: 'Submitting',
      state_details: { scheduled_time: at(60), deployment_concurrency_lease_id: null },
    });
    // Act
    const result = orchestrate(ctx);
    // Assess
    expect(result.status).toBe('ACCEPT');
    expect(writtenState(result)?.state_details).toMatchObject({
      scheduled_time: at(5),
      deployment_concurrency_lease_id: 'lease-1',
    });
  });
});

describe('orchestrate: deployment concurrency at →PENDING (SecureFlowConcurrencySlots)', () => {
  it.each([
    {
      name: 'slot free → ACCEPT with a lease id',
      from: current('SCHEDULED'),
      deployment: deployment(2, 1),
      extra: {},
      status: 'ACCEPT',
      writes: {
        type: 'PENDING',
        name: 'Pending',
        state_details: { deployment_concurrency_lease_id: 'id-1' },
      },
    },
    {
      name: 'ENQUEUE, no slot → REJECT with Scheduled(AwaitingConcurrencySlot) at now+30 s',
      from: current('SCHEDULED'),
      deployment: deployment(2, 2),
      extra: {},
      status: 'REJECT',
      writes: {
        type: 'SCHEDULED',
        name: 'AwaitingConcurrencySlot',
        state_details: { scheduled_time: at(30), flow_run_id: RUN_ID },
      },
    },
    {
      name: 'ENQUEUE honours a configured slot wait',
      from: current('SCHEDULED'),
      deployment: deployment(1, 1),
      extra: { concurrencySlotWaitSeconds: 5 },
      status: 'REJECT',
      writes: {
        type: 'SCHEDULED',
        name: 'AwaitingConcurrencySlot',
        state_details: { scheduled_time: at(5) },
      },
    },
    {
      name: 'CANCEL_NEW, no slot → REJECT with Cancelled',
      from: current('SCHEDULED'),
      deployment: deployment(1, 1, 'CANCEL_NEW'),
      extra: {},
      status: 'REJECT',
      writes: {
        type: 'CANCELLED',
        name: 'Cancelled',
        message: 'Deployment concurrency limit reached.',
      },
    },
    {
      name: 'limit 0 → ABORT',
      from: current('SCHEDULED'),
      deployment: deployment(0, 0),
      extra: {},
      status: 'ABORT',
      writes: null,
    },
    {
      name: 'deployment missing → ABORT',
      from: current('SCHEDULED'),
      deployment: null,
      extra: { deploymentMissing: true },
      status: 'ABORT',
      writes: null,
    },
    {
      name: 'no concurrency limit → ACCEPT without a lease',
      from: current('SCHEDULED'),
      deployment: deployment(null, 7),
      extra: {},
      status: 'ACCEPT',
      writes: { type: 'PENDING', state_details: { deployment_concurrency_lease_id: null } },
    },
    {
      name: 'run without a deployment → no check, even with deploymentMissing',
      from: current('SCHEDULED'),
      deployment: null,
      extra: { deploymentMissing: true, run: { deployment_id: null } },
      status: 'ACCEPT',
      writes: { type: 'PENDING' },
    },
    {
      name: 'Prefect 3.0.2 clients manage concurrency themselves → no check',
      from: current('SCHEDULED'),
      deployment: deployment(1, 1),
      extra: { clientVersion: '3.0.2' },
      status: 'ACCEPT',
      writes: { type: 'PENDING' },
    },
    {
      name: 'run with no state yet, no slot → REJECT AwaitingConcurrencySlot',
      from: null,
      deployment: deployment(1, 1),
      extra: {},
      status: 'REJECT',
      writes: { type: 'SCHEDULED', name: 'AwaitingConcurrencySlot' },
    },
    {
      name: 'FAILED → PENDING (manual re-run), no slot → REJECT AwaitingConcurrencySlot',
      from: current('FAILED'),
      deployment: deployment(1, 1),
      extra: {},
      status: 'REJECT',
      writes: { type: 'SCHEDULED', name: 'AwaitingConcurrencySlot' },
    },
    {
      name: 'PAUSED → PENDING, no slot → the slot rule fires before HandleResumingPausedFlows',
      from: current('PAUSED'),
      deployment: deployment(1, 1),
      extra: {},
      status: 'REJECT',
      writes: { type: 'SCHEDULED', name: 'AwaitingConcurrencySlot' },
    },
    {
      name: 'PENDING → PENDING stays an ABORT even with a full deployment',
      from: current('PENDING'),
      deployment: deployment(1, 1),
      extra: {},
      status: 'ABORT',
      writes: null,
    },
  ] as const)('$name', ({ from, deployment: dep, extra, status, writes }) => {
    // Prepare
    const ctx = context(from, { type: 'PENDING' }, { deployment: dep, ...extra });
    // Act
    const result = orchestrate(ctx);
    // Assess
    expect(result.status).toBe(status);
    if (writes === null) expect(writtenState(result)).toBeNull();
    else expect(writtenState(result)).toMatchObject(writes);
  });

  it.each([
    { deploymentMissing: true, dep: null, reason: 'Deployment not found.' },
    {
      deploymentMissing: false,
      dep: deployment(0, 0),
      reason: 'The deployment concurrency limit is 0. The flow will deadlock if submitted again.',
    },
  ])('ABORT reason "$reason"', ({ deploymentMissing, dep, reason }) => {
    // Prepare
    const ctx = context(
      current('SCHEDULED'),
      { type: 'PENDING' },
      { deploymentMissing, deployment: dep }
    );
    // Act
    const result = orchestrate(ctx);
    // Assess
    expect(result).toMatchObject({ status: 'ABORT', reason });
  });

  it('uses crypto.randomUUID for the lease id when no generator is injected', () => {
    // Prepare
    const { newId: _unused, ...ctx } = context(
      current('SCHEDULED'),
      { type: 'PENDING' },
      { deployment: deployment(1, 0) }
    );
    // Act
    const result = orchestrate(ctx);
    // Assess
    expect(writtenState(result)?.state_details?.deployment_concurrency_lease_id).toMatch(
      /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/
    );
  });

  it('restores the run policy when a terminal departure is then rejected for lack of a slot', () => {
    // Prepare
    const ctx = context(
      current('FAILED'),
      { type: 'PENDING' },
      {
        deployment: deployment(1, 1),
        run: { empirical_policy: { pause_keys: ['k'], resuming: false, retry_type: 'in_process' } },
      }
    );
    // Act
    const result = orchestrate(ctx);
    // Assess
    expect(result.status).toBe('REJECT');
    expect(result.runUpdates).toBeUndefined();
  });
});

describe('orchestrate: ValidateDeploymentConcurrencyAtRunning (PENDING → RUNNING)', () => {
  const pending = current('PENDING', { details: { deployment_concurrency_lease_id: 'lease-1' } });
  it.each([
    {
      name: 'lease carried into RUNNING',
      extra: { deployment: deployment(1, 0) },
      status: 'ACCEPT',
      writes: { type: 'RUNNING', state_details: { deployment_concurrency_lease_id: 'lease-1' } },
    },
    {
      name: 'lease expired, non-Prefect client → not validated, ACCEPT',
      extra: { deployment: deployment(1, 1), deploymentLeaseExpired: true },
      status: 'ACCEPT',
      writes: { type: 'RUNNING', state_details: { deployment_concurrency_lease_id: 'lease-1' } },
    },
    {
      name: 'lease expired, client 3.4.10 → not validated, ACCEPT',
      extra: {
        deployment: deployment(1, 1),
        deploymentLeaseExpired: true,
        clientVersion: '3.4.10',
      },
      status: 'ACCEPT',
      writes: { type: 'RUNNING' },
    },
    {
      name: 'lease expired, client 3.8.3, slot free → ACCEPT with a new lease',
      extra: { deployment: deployment(1, 0), deploymentLeaseExpired: true, clientVersion: '3.8.3' },
      status: 'ACCEPT',
      writes: { type: 'RUNNING', state_details: { deployment_concurrency_lease_id: 'id-1' } },
    },
    {
      name: 'lease expired, client 3.8.3, no slot → REJECT with Cancelled',
      extra: { deployment: deployment(1, 1), deploymentLeaseExpired: true, clientVersion: '3.8.3' },
      status: 'REJECT',
      writes: {
        type: 'CANCELLED',
        message:
          'Deployment concurrency slot lost during provisioning - no slots available to continue execution',
      },
    },
  ] as const)('$name', ({ extra, status, writes }) => {
    // Prepare
    const ctx = context(pending, { type: 'RUNNING' }, extra);
    // Act
    const result = orchestrate(ctx);
    // Assess
    expect(result.status).toBe(status);
    expect(writtenState(result)).toMatchObject(writes);
  });
});

describe('orchestrate: scheduled time (CopyScheduledTime, WaitForScheduledTime)', () => {
  it.each([
    {
      name: 'copied from the Scheduled state when the proposal has none',
      proposed: undefined,
      expected: at(90),
    },
    { name: "the proposal's own scheduled_time wins", proposed: at(7), expected: at(7) },
  ])('SCHEDULED → PENDING: $name', ({ proposed, expected }) => {
    // Prepare
    const from = current('SCHEDULED', { details: { scheduled_time: at(90) } });
    const ctx = context(from, { type: 'PENDING', state_details: { scheduled_time: proposed } });
    // Act
    const result = orchestrate(ctx);
    // Assess
    expect(result.status).toBe('ACCEPT');
    expect(writtenState(result)?.state_details?.scheduled_time).toBe(expected);
  });

  it.each([
    { from: 'SCHEDULED', scheduled: at(90), status: 'WAIT', delay: 90 },
    { from: 'PENDING', scheduled: at(10.6), status: 'WAIT', delay: 11 },
    { from: 'PENDING', scheduled: at(10.5), status: 'WAIT', delay: 10 }, // Python round(0.5) == 0
    { from: 'PENDING', scheduled: at(0.6), status: 'WAIT', delay: 1 },
    { from: 'PENDING', scheduled: at(0.4), status: 'ACCEPT', delay: null },
    { from: 'SCHEDULED', scheduled: at(-5), status: 'ACCEPT', delay: null },
    { from: 'PENDING', scheduled: null, status: 'ACCEPT', delay: null },
  ] as const)(
    '$from(scheduled $scheduled) → RUNNING: $status $delay',
    ({ from, scheduled, status, delay }) => {
      // Prepare
      const ctx = context(current(from, { details: { scheduled_time: scheduled } }), {
        type: 'RUNNING',
      });
      // Act
      const result = orchestrate(ctx);
      // Assess
      expect(result.status).toBe(status);
      if (result.status === 'WAIT') {
        expect(result).toMatchObject({
          delaySeconds: delay,
          reason: 'Scheduled time is in the future',
        });
      }
    }
  );

  it('force skips the wait', () => {
    // Prepare
    const ctx = context(
      current('SCHEDULED', { details: { scheduled_time: at(90) } }),
      { type: 'RUNNING' },
      { force: true }
    );
    // Act
    const result = orchestrate(ctx);
    // Assess
    expect(result.status).toBe('ACCEPT');
  });
});

describe('orchestrate: RetryFailedFlows (RUNNING → FAILED)', () => {
  it.each([
    {
      name: 'retries remain → REJECT with AwaitingRetry at now + retry_delay, retry_type in_process',
      policy: { retries: 2, retry_delay: 10, pause_keys: ['p'], resuming: true },
      run_count: 1,
      status: 'REJECT',
      writes: {
        type: 'SCHEDULED',
        name: 'AwaitingRetry',
        state_details: { scheduled_time: at(10) },
      },
      policyUpdate: { retry_type: 'in_process', pause_keys: [], resuming: false, retries: 2 },
    },
    {
      name: 'last retry (run_count == retries) still retries',
      policy: { retries: 2, retry_delay: null },
      run_count: 2,
      status: 'REJECT',
      writes: {
        type: 'SCHEDULED',
        name: 'AwaitingRetry',
        state_details: { scheduled_time: at(0) },
      },
      policyUpdate: { retry_type: 'in_process' },
    },
    {
      name: 'retries exhausted → ACCEPT and retry_type cleared',
      policy: { retries: 2, retry_delay: 10, retry_type: 'in_process' },
      run_count: 3,
      status: 'ACCEPT',
      writes: { type: 'FAILED', name: 'Failed' },
      policyUpdate: { retry_type: null },
    },
    {
      name: 'retries 0 → ACCEPT',
      policy: { retries: 0 },
      run_count: 1,
      status: 'ACCEPT',
      writes: { type: 'FAILED' },
      policyUpdate: undefined,
    },
    {
      name: 'no retries configured → ACCEPT',
      policy: {},
      run_count: 1,
      status: 'ACCEPT',
      writes: { type: 'FAILED' },
      policyUpdate: undefined,
    },
    {
      name: 'deprecated max_retries / retry_delay_seconds still count',
      policy: { max_retries: 1, retry_delay_seconds: 3 },
      run_count: 1,
      status: 'REJECT',
      writes: {
        type: 'SCHEDULED',
        name: 'AwaitingRetry',
        state_details: { scheduled_time: at(3) },
      },
      policyUpdate: { retry_type: 'in_process' },
    },
  ] as const)('$name', ({ policy, run_count, status, writes, policyUpdate }) => {
    // Prepare
    const ctx = context(
      current('RUNNING'),
      { type: 'FAILED', message: 'boom' },
      {
        run: { empirical_policy: { ...policy }, run_count },
      }
    );
    // Act
    const result = orchestrate(ctx);
    // Assess
    expect(result.status).toBe(status);
    expect(writtenState(result)).toMatchObject(writes);
    if (policyUpdate === undefined) expect(result.runUpdates?.empirical_policy).toBeUndefined();
    else expect(result.runUpdates?.empirical_policy).toMatchObject(policyUpdate);
  });

  it('carries the failure message and data into AwaitingRetry', () => {
    // Prepare
    const data = { type: 'reference', storage_key: 'x' };
    const ctx = context(
      current('RUNNING'),
      { type: 'FAILED', message: 'boom', data },
      {
        run: { empirical_policy: { retries: 1 }, run_count: 1 },
      }
    );
    // Act
    const result = orchestrate(ctx);
    // Assess
    expect(result).toMatchObject({
      status: 'REJECT',
      reason: 'Retrying',
      state: { message: 'boom', data },
    });
  });

  it('force accepts the failure without retrying', () => {
    // Prepare
    const ctx = context(
      current('RUNNING'),
      { type: 'FAILED' },
      {
        force: true,
        run: { empirical_policy: { retries: 3 }, run_count: 1 },
      }
    );
    // Act
    const result = orchestrate(ctx);
    // Assess
    expect(result.status).toBe('ACCEPT');
  });
});

describe('orchestrate: cancellation', () => {
  it.each([
    {
      name: 'SCHEDULED, no infrastructure_pid',
      from: current('SCHEDULED'),
      pid: null,
      force: false,
      status: 'REJECT',
      writes: 'CANCELLED',
    },
    {
      name: 'SCHEDULED with a pid',
      from: current('SCHEDULED'),
      pid: 'c::arn',
      force: false,
      status: 'ACCEPT',
      writes: 'CANCELLING',
    },
    {
      name: 'SCHEDULED(Resuming) even with a pid',
      from: current('SCHEDULED', { name: 'Resuming' }),
      pid: 'c::arn',
      force: false,
      status: 'REJECT',
      writes: 'CANCELLED',
    },
    {
      name: 'AwaitingRetry with a pid (may have infra)',
      from: current('SCHEDULED', { name: 'AwaitingRetry' }),
      pid: 'c::arn',
      force: false,
      status: 'ACCEPT',
      writes: 'CANCELLING',
    },
    {
      name: 'PAUSED, suspended (pause_reschedule)',
      from: current('PAUSED', { name: 'Suspended', details: { pause_reschedule: true } }),
      pid: 'c::arn',
      force: false,
      status: 'REJECT',
      writes: 'CANCELLED',
    },
    // HandleResumingPausedFlows: from PAUSED only RUNNING, SCHEDULED or a final state may follow.
    {
      name: 'PAUSED in process',
      from: current('PAUSED'),
      pid: 'c::arn',
      force: false,
      status: 'REJECT',
      writes: null,
    },
    {
      name: 'forced, PAUSED in process',
      from: current('PAUSED'),
      pid: 'c::arn',
      force: true,
      status: 'ACCEPT',
      writes: 'CANCELLING',
    },
    {
      name: 'PENDING without a pid',
      from: current('PENDING'),
      pid: null,
      force: false,
      status: 'ACCEPT',
      writes: 'CANCELLING',
    },
    {
      name: 'RUNNING',
      from: current('RUNNING'),
      pid: 'c::arn',
      force: false,
      status: 'ACCEPT',
      writes: 'CANCELLING',
    },
    {
      name: 'CANCELLING again',
      from: current('CANCELLING'),
      pid: 'c::arn',
      force: false,
      status: 'REJECT',
      writes: null,
    },
    {
      name: 'COMPLETED',
      from: current('COMPLETED'),
      pid: null,
      force: false,
      status: 'ABORT',
      writes: null,
    },
    {
      name: 'forced, SCHEDULED, no pid (bypass still applies)',
      from: current('SCHEDULED'),
      pid: null,
      force: true,
      status: 'REJECT',
      writes: 'CANCELLED',
    },
  ] as const)('$name → CANCELLING: $status', ({ from, pid, force, status, writes }) => {
    // Prepare
    const ctx = context(from, { type: 'CANCELLING' }, { force, run: { infrastructure_pid: pid } });
    // Act
    const result = orchestrate(ctx);
    // Assess
    expect(result.status).toBe(status);
    if (writes === null) expect(writtenState(result)).toBeNull();
    else expect(writtenState(result)).toMatchObject({ type: writes, message: null });
  });

  it('the reporter: CANCELLING → CANCELLED is accepted, CANCELLING → CRASHED returns the current state', () => {
    // Prepare
    const cancelled = context(current('CANCELLING'), { type: 'CANCELLED', message: 'stopped' });
    const crashed = context(current('CANCELLING'), { type: 'CRASHED' });
    // Act
    const results = [orchestrate(cancelled), orchestrate(crashed)];
    // Assess
    expect(results.map((r) => [r.status, writtenState(r)?.type ?? null])).toEqual([
      ['ACCEPT', 'CANCELLED'],
      ['REJECT', null],
    ]);
  });
});

describe('orchestrate: force (MinimalFlowPolicy)', () => {
  it.each([
    { from: current('CANCELLING'), to: 'CRASHED' },
    { from: current('CANCELLED'), to: 'PENDING' },
    { from: current('PENDING'), to: 'PENDING' },
    { from: current('COMPLETED'), to: 'CRASHED' },
    { from: COMPLETED_PERSISTED, to: 'CANCELLED' },
    { from: COMPLETED_PERSISTED, to: 'SCHEDULED' },
    { from: current('PAUSED'), to: 'PENDING' },
    { from: current('FAILED'), to: 'SCHEDULED' },
    { from: null, to: 'CANCELLED' },
  ] as const)('$from.type($from.name) → $to: ACCEPT', ({ from, to }) => {
    // Prepare
    const ctx = context(from, { type: to }, { force: true, run: { deployment_id: null } });
    // Act
    const result = orchestrate(ctx);
    // Assess
    expect(result).toMatchObject({ status: 'ACCEPT', state: { type: to } });
  });

  it('does not take a deployment slot', () => {
    // Prepare
    const ctx = context(
      current('SCHEDULED'),
      { type: 'PENDING' },
      { force: true, deployment: deployment(1, 1) }
    );
    // Act
    const result = orchestrate(ctx);
    // Assess
    expect(result).toMatchObject({
      status: 'ACCEPT',
      state: { state_details: { deployment_concurrency_lease_id: null } },
    });
  });

  it.each([
    { name: 'unpersisted data', data: { type: 'unpersisted' }, status: 'REJECT' },
    { name: 'no data', data: null, status: 'REJECT' },
    { name: 'persisted data', data: PERSISTED_RESULT, status: 'ACCEPT' },
  ] as const)(
    'COMPLETED(persisted) → COMPLETED with $name: $status (PreventResultDataLoss)',
    ({ data, status }) => {
      // Prepare
      const ctx = context(COMPLETED_PERSISTED, { type: 'COMPLETED', data }, { force: true });
      // Act
      const result = orchestrate(ctx);
      // Assess
      expect(result.status).toBe(status);
    }
  );
});

describe('orchestrate: terminal states (HandleFlowTerminalStateTransitions)', () => {
  it.each([
    {
      name: '→ SCHEDULED without a deployment',
      from: current('FAILED'),
      to: 'SCHEDULED',
      deploymentId: null,
      status: 'ABORT',
    },
    {
      name: '→ SCHEDULED with a deployment',
      from: current('FAILED'),
      to: 'SCHEDULED',
      deploymentId: DEPLOYMENT_ID,
      status: 'ACCEPT',
    },
    {
      name: '→ PAUSED',
      from: current('COMPLETED'),
      to: 'PAUSED',
      deploymentId: DEPLOYMENT_ID,
      status: 'ABORT',
    },
    {
      name: '→ CANCELLING',
      from: current('CANCELLED'),
      to: 'CANCELLING',
      deploymentId: DEPLOYMENT_ID,
      status: 'ABORT',
    },
    {
      name: 'COMPLETED(persisted) → SCHEDULED',
      from: COMPLETED_PERSISTED,
      to: 'SCHEDULED',
      deploymentId: DEPLOYMENT_ID,
      status: 'REJECT',
    },
    {
      name: 'COMPLETED(persisted) → COMPLETED(no data)',
      from: COMPLETED_PERSISTED,
      to: 'COMPLETED',
      deploymentId: DEPLOYMENT_ID,
      status: 'REJECT',
    },
    {
      name: 'COMPLETED(unpersisted result) → RUNNING',
      from: current('COMPLETED', { data: { type: 'unpersisted' } }),
      to: 'RUNNING',
      deploymentId: DEPLOYMENT_ID,
      status: 'ACCEPT',
    },
    {
      name: 'COMPLETED(empty data) → RUNNING',
      from: current('COMPLETED', { data: {} }),
      to: 'RUNNING',
      deploymentId: DEPLOYMENT_ID,
      status: 'ACCEPT',
    },
  ] as const)('$name: $status', ({ from, to, deploymentId, status }) => {
    // Prepare
    const ctx = context(from, { type: to }, { run: { deployment_id: deploymentId } });
    // Act
    const result = orchestrate(ctx);
    // Assess
    expect(result.status).toBe(status);
  });

  it.each([
    { to: 'SCHEDULED', retryType: 'reschedule' },
    { to: 'RUNNING', retryType: null },
  ] as const)(
    'leaving a terminal state for $to resets pause data and sets retry_type $retryType',
    ({ to, retryType }) => {
      // Prepare
      const ctx = context(
        current('FAILED'),
        { type: to },
        {
          run: {
            empirical_policy: {
              retries: 1,
              pause_keys: ['a'],
              resuming: true,
              retry_type: 'in_process',
            },
          },
        }
      );
      // Act
      const result = orchestrate(ctx);
      // Assess
      expect(result.status).toBe('ACCEPT');
      expect(result.runUpdates?.empirical_policy).toEqual({
        retries: 1,
        pause_keys: [],
        resuming: false,
        retry_type: retryType,
      });
    }
  );
});

describe('orchestrate: pausing and resuming', () => {
  it.each([
    {
      name: 'RUNNING → PAUSED',
      from: current('RUNNING'),
      details: { pause_key: 'k1' },
      keys: [],
      deploymentId: DEPLOYMENT_ID,
      status: 'ACCEPT',
    },
    {
      name: 'repeat pause key',
      from: current('RUNNING'),
      details: { pause_key: 'k1' },
      keys: ['k1'],
      deploymentId: DEPLOYMENT_ID,
      status: 'REJECT',
    },
    {
      name: 'PENDING → PAUSED',
      from: current('PENDING'),
      details: {},
      keys: [],
      deploymentId: DEPLOYMENT_ID,
      status: 'REJECT',
    },
    {
      name: 'PAUSED → PAUSED',
      from: current('PAUSED'),
      details: {},
      keys: [],
      deploymentId: DEPLOYMENT_ID,
      status: 'REJECT',
    },
    {
      name: 'no state → PAUSED',
      from: null,
      details: {},
      keys: [],
      deploymentId: DEPLOYMENT_ID,
      status: 'ABORT',
    },
    {
      name: 'suspend without a deployment',
      from: current('RUNNING'),
      details: { pause_reschedule: true },
      keys: [],
      deploymentId: null,
      status: 'ABORT',
    },
    {
      name: 'CANCELLING → PAUSED',
      from: current('CANCELLING'),
      details: {},
      keys: [],
      deploymentId: DEPLOYMENT_ID,
      status: 'REJECT',
    },
  ] as const)('$name: $status', ({ from, details, keys, deploymentId, status }) => {
    // Prepare
    const ctx = context(
      from,
      { type: 'PAUSED', state_details: details },
      {
        run: { deployment_id: deploymentId, empirical_policy: { pause_keys: [...keys] } },
      }
    );
    // Act
    const result = orchestrate(ctx);
    // Assess
    expect(result.status).toBe(status);
  });

  it('records the pause key (a generated one when none is given)', () => {
    // Prepare
    const ctx = context(current('RUNNING'), { type: 'PAUSED' });
    // Act
    const result = orchestrate(ctx);
    // Assess
    expect(result.runUpdates?.empirical_policy).toMatchObject({ pause_keys: ['id-1'] });
  });

  it.each([
    {
      name: 'timed-out pause → REJECT with Failed',
      details: { pause_timeout: at(-1) },
      to: 'RUNNING',
      deploymentId: DEPLOYMENT_ID,
      status: 'REJECT',
      writes: { type: 'FAILED', message: 'The flow was running and never resumed.' },
    },
    {
      name: 'pause not yet timed out → ACCEPT',
      details: { pause_timeout: at(60) },
      to: 'RUNNING',
      deploymentId: DEPLOYMENT_ID,
      status: 'ACCEPT',
      writes: { type: 'RUNNING' },
    },
    {
      name: 'timed-out pause, CRASHED proposal → REJECT with Failed',
      details: { pause_timeout: at(-1) },
      to: 'CRASHED',
      deploymentId: DEPLOYMENT_ID,
      status: 'REJECT',
      writes: { type: 'FAILED' },
    },
    {
      name: 'suspended run rescheduled without a deployment → REJECT',
      details: { pause_reschedule: true },
      to: 'SCHEDULED',
      deploymentId: null,
      status: 'REJECT',
      writes: null,
    },
    {
      name: 'suspended run rescheduled with a deployment → ACCEPT',
      details: { pause_reschedule: true },
      to: 'SCHEDULED',
      deploymentId: DEPLOYMENT_ID,
      status: 'ACCEPT',
      writes: { type: 'SCHEDULED' },
    },
  ] as const)('PAUSED → $to: $name', ({ details, to, deploymentId, status, writes }) => {
    // Prepare
    const ctx = context(
      current('PAUSED', { details }),
      { type: to },
      { run: { deployment_id: deploymentId } }
    );
    // Act
    const result = orchestrate(ctx);
    // Assess
    expect(result.status).toBe(status);
    if (writes === null) expect(writtenState(result)).toBeNull();
    else expect(writtenState(result)).toMatchObject(writes);
    expect(result.runUpdates?.empirical_policy).toMatchObject({ resuming: true });
  });

  it('a resumed run does not count a new run (run_count unchanged), an ordinary start does', () => {
    // Prepare
    const resuming = context(
      current('SCHEDULED', { name: 'Resuming' }),
      { type: 'RUNNING' },
      {
        run: { run_count: 1, empirical_policy: { resuming: true } },
      }
    );
    const fresh = context(current('PENDING'), { type: 'RUNNING' }, { run: { run_count: 0 } });
    // Act
    const results = [orchestrate(resuming), orchestrate(fresh)];
    // Assess
    expect(results.map((r) => r.runUpdates)).toEqual([
      { empirical_policy: expect.objectContaining({ resuming: false }) },
      { run_count: 1 },
    ]);
  });
});

describe('orchestrate: Late (EnsureOnlyScheduledFlowsMarkedLate)', () => {
  it.each([
    { from: current('SCHEDULED'), status: 'ACCEPT' },
    { from: current('SCHEDULED', { name: 'Late' }), status: 'REJECT' },
    { from: current('PENDING'), status: 'REJECT' },
  ] as const)('$from.type($from.name) → SCHEDULED(Late): $status', ({ from, status }) => {
    // Prepare
    const ctx = context(from, { type: 'SCHEDULED', name: 'Late' });
    // Act
    const result = orchestrate(ctx);
    // Assess
    expect(result.status).toBe(status);
  });
});

describe('orchestrate: the written state', () => {
  it.each([
    ['PENDING', 'Pending'],
    ['RUNNING', 'Running'],
    ['CRASHED', 'Crashed'],
    ['CANCELLED', 'Cancelled'],
    ['CANCELLING', 'Cancelling'],
    ['FAILED', 'Failed'],
    ['COMPLETED', 'Completed'],
    ['SCHEDULED', 'Scheduled'],
    ['PAUSED', 'Paused'],
  ] as const)('%s without a name is named %s', (type, name) => {
    // Prepare
    const ctx = context(null, { type, name: null }, { force: true });
    // Act
    const result = orchestrate(ctx);
    // Assess
    expect(writtenState(result)?.name).toBe(name);
  });

  it('fills every StateDetails key, sets flow_run_id and drops unknown keys', () => {
    // Prepare
    const ctx = context(current('SCHEDULED'), {
      type: 'PENDING',
      state_details: { transition_id: 't-1', bogus: 1 },
    });
    // Act
    const result = orchestrate(ctx);
    // Assess
    const details = writtenState(result)?.state_details ?? {};
    expect(details).toMatchObject({
      flow_run_id: RUN_ID,
      transition_id: 't-1',
      scheduled_time: PAST,
      deferred: false,
      untrackable_result: false,
      pause_reschedule: false,
      deployment_concurrency_lease_id: null,
    });
    expect(Object.keys(details)).toHaveLength(18);
    expect(details).not.toHaveProperty('bogus');
  });

  it('a SCHEDULED proposal without scheduled_time is scheduled now', () => {
    // Prepare
    const ctx = context(current('FAILED'), { type: 'SCHEDULED' });
    // Act
    const result = orchestrate(ctx);
    // Assess
    expect(writtenState(result)?.state_details?.scheduled_time).toBe(NOW.toISOString());
  });

  it('keeps the deployment lease on the states that follow PENDING', () => {
    // Prepare
    const lease = { deployment_concurrency_lease_id: 'lease-9' };
    const ctx = context(current('RUNNING', { details: lease }), { type: 'COMPLETED' });
    // Act
    const result = orchestrate(ctx);
    // Assess
    expect(writtenState(result)?.state_details).toMatchObject(lease);
  });
});

describe('orchestrate: attempts (UI Retry, SIGTERM reschedule, a second claim)', () => {
  /** ui-v2 retry-flow-run-dialog.tsx: no state_details, forced. */
  const UI_RETRY: ProposedState = {
    type: 'SCHEDULED',
    name: 'AwaitingRetry',
    message: 'Retry from the UI',
  };
  /** cli/flow_run.py `execute`: `propose_state(client, AwaitingRetry(), …)`, not forced. */
  const RESCHEDULE: ProposedState = {
    type: 'SCHEDULED',
    name: 'AwaitingRetry',
    state_details: { scheduled_time: at(0), transition_id: 'sigterm-1' },
  };
  const POLICY = { retries: 2, retry_delay: 5, pause_keys: ['k'], resuming: false };
  const LEASE = { deployment_concurrency_lease_id: 'lease-attempt-1' };

  it.each([
    current('CRASHED', { details: LEASE }),
    current('FAILED'),
    current('COMPLETED'),
    COMPLETED_PERSISTED,
    current('CANCELLED'),
  ])(
    'UI Retry from $type(data: $data): ACCEPT, policy and run_count untouched, no lease carried',
    (from) => {
      // Prepare
      const ctx = context(from, UI_RETRY, {
        force: true,
        run: { empirical_policy: POLICY, run_count: 1, infrastructure_pid: 'c::arn' },
      });
      // Act
      const result = orchestrate(ctx);
      // Assess
      expect(result).toMatchObject({
        status: 'ACCEPT',
        state: {
          type: 'SCHEDULED',
          name: 'AwaitingRetry',
          message: 'Retry from the UI',
          state_details: {
            scheduled_time: NOW.toISOString(),
            transition_id: null,
            deployment_concurrency_lease_id: null,
          },
        },
      });
      expect(result.runUpdates).toBeUndefined();
    }
  );

  it('the same retry not forced (an automation) leaves the terminal state with retry_type "reschedule"', () => {
    // Prepare
    const ctx = context(current('CRASHED'), UI_RETRY, { run: { empirical_policy: POLICY } });
    // Act
    const result = orchestrate(ctx);
    // Assess
    expect(result.status).toBe('ACCEPT');
    expect(result.runUpdates?.empirical_policy).toMatchObject({
      pause_keys: [],
      resuming: false,
      retry_type: 'reschedule',
    });
  });

  it.each(['RUNNING', 'PENDING'] as const)(
    'SIGTERM reschedule from %s: ACCEPT, nothing else changes, the lease id is carried',
    (type) => {
      // Prepare
      const ctx = context(current(type, { details: LEASE }), RESCHEDULE, {
        run: { empirical_policy: POLICY, run_count: 1 },
      });
      // Act
      const result = orchestrate(ctx);
      // Assess
      expect(result).toMatchObject({
        status: 'ACCEPT',
        state: {
          type: 'SCHEDULED',
          name: 'AwaitingRetry',
          message: null,
          state_details: { scheduled_time: at(0), ...LEASE },
        },
      });
      expect(result.runUpdates).toBeUndefined();
    }
  );

  it('SIGTERM reschedule from CANCELLING: REJECT, the run stays CANCELLING', () => {
    // Prepare
    const ctx = context(current('CANCELLING'), RESCHEDULE);
    // Act
    const result = orchestrate(ctx);
    // Assess
    expect(result).toMatchObject({ status: 'REJECT', state: null });
  });

  it('a second claim from AwaitingRetry takes a fresh deployment lease; its RUNNING counts run 2', () => {
    // Prepare
    const awaiting = current('SCHEDULED', { name: 'AwaitingRetry', details: LEASE });
    const claimCtx = context(
      awaiting,
      { type: 'PENDING' },
      { deployment: deployment(1, 0), run: { run_count: 1 } }
    );
    const startCtx = context(
      current('PENDING', { details: { deployment_concurrency_lease_id: 'id-1' } }),
      { type: 'RUNNING' },
      { run: { run_count: 1 } }
    );
    // Act
    const claim = orchestrate(claimCtx);
    const start = orchestrate(startCtx);
    // Assess
    expect(claim).toMatchObject({
      status: 'ACCEPT',
      state: {
        type: 'PENDING',
        state_details: { scheduled_time: PAST, deployment_concurrency_lease_id: 'id-1' },
      },
    });
    expect(claim.runUpdates).toBeUndefined();
    expect(start).toMatchObject({ status: 'ACCEPT', runUpdates: { run_count: 2 } });
  });
});
