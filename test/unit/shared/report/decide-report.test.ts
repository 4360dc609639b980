import { describe, expect, it } from 'vitest';
import { ATTEMPT_VARIABLE } from '../../../../shared/ecs/attempt-marker.ts';
import {
  decideReport,
  INFRASTRUCTURE_PENDING,
  needsAttemptCheck,
  type ReportAction,
  type RunView,
} from '../../../../shared/report/decide-report.ts';
import type { TaskStateChangeEvent } from '../../../../shared/report/task-state-change-event.ts';
import { CLUSTER_ARN, runIn, syntheticEvent, TASK_ARN, withDetail } from './fixtures.ts';

const provisioning = syntheticEvent('lifecycle-1-provisioning');
const pending = syntheticEvent('lifecycle-2-pending');
const running = syntheticEvent('lifecycle-3-running');
const exit0 = syntheticEvent('lifecycle-4-stopped-exit0');
const exit1 = syntheticEvent('stopped-essential-container-exit1');
const oom = syntheticEvent('stopped-oom-exit137');
const userStop = syntheticEvent('stopped-user-initiated');
const spot = syntheticEvent('stopped-spot-interruption');
const cannotPull = syntheticEvent('stopped-taskfailedtostart-cannotpull');
const resourceInit = syntheticEvent('stopped-taskfailedtostart-resourceinit');

const THIS_PID = `prefect::${TASK_ARN}`;
const OTHER_PID =
  'prefect::arn:aws:ecs:eu-west-1:123456789012:task/prefect/ffffffffffffffffffffffffffffffff';
const RECORDED_PID = `${CLUSTER_ARN}::${TASK_ARN}`;
const FINAL = ['COMPLETED', 'FAILED', 'CRASHED', 'CANCELLED'] as const;

/** The parts of an action a row asserts. */
type Expected =
  | { kind: 'nothing' }
  | { kind: 'stop-task' }
  | { kind: 'record-infrastructure-pid'; infrastructurePid: string }
  | {
      kind: 'propose';
      type: 'PENDING' | 'CRASHED' | 'CANCELLED';
      name: string;
      cause?: string;
      forwardLogTail: boolean;
      message?: RegExp;
    };

const summarise = (action: ReportAction): Expected => {
  switch (action.kind) {
    case 'nothing':
      return { kind: 'nothing' };
    case 'stop-task':
      return { kind: 'stop-task' };
    case 'record-infrastructure-pid':
      return { kind: action.kind, infrastructurePid: action.infrastructurePid };
    case 'propose':
      return {
        kind: 'propose',
        type: action.state.type,
        name: action.state.name,
        ...(action.diagnosis ? { cause: action.diagnosis.cause } : {}),
        forwardLogTail: action.forwardLogTail,
      };
    default:
      throw new Error(`decideReport never decides ${action.kind}`);
  }
};

const nothing: Expected = { kind: 'nothing' };
const infraPending = (status: string): Expected => ({
  kind: 'propose',
  type: 'PENDING',
  name: INFRASTRUCTURE_PENDING,
  forwardLogTail: false,
  message: new RegExp(`^ECS task 0f1e2d3c4b5a69788796a5b4c3d2e1f0 is ${status}\\.$`),
});
const crashed = (cause: string, forwardLogTail: boolean, message?: RegExp): Expected => ({
  kind: 'propose',
  type: 'CRASHED',
  name: 'Crashed',
  cause,
  forwardLogTail,
  ...(message ? { message } : {}),
});

const rows: [string, RunView, TaskStateChangeEvent, Expected][] = [
  // PROVISIONING / PENDING → InfrastructurePending
  ['PROVISIONING, run Pending', runIn('PENDING'), provisioning, infraPending('provisioning')],
  ['PENDING, run Pending', runIn('PENDING'), pending, infraPending('pending')],
  [
    'PENDING, run Submitting',
    runIn('PENDING', { name: 'Submitting' }),
    pending,
    infraPending('pending'),
  ],
  [
    'ACTIVATING, run Pending',
    runIn('PENDING'),
    withDetail(pending, { lastStatus: 'ACTIVATING' }),
    infraPending('activating'),
  ],
  [
    'PENDING, run already InfrastructurePending without pid → record the pid',
    runIn('PENDING', { name: INFRASTRUCTURE_PENDING }),
    pending,
    { kind: 'record-infrastructure-pid', infrastructurePid: RECORDED_PID },
  ],
  [
    'PENDING, run already InfrastructurePending with this pid',
    runIn('PENDING', { name: INFRASTRUCTURE_PENDING, infrastructurePid: THIS_PID }),
    pending,
    nothing,
  ],
  ['late PROVISIONING, run RUNNING (never backwards)', runIn('RUNNING'), provisioning, nothing],
  [
    'late PENDING, run RUNNING',
    runIn('RUNNING', { infrastructurePid: THIS_PID }),
    pending,
    nothing,
  ],
  ...FINAL.map((type): [string, RunView, TaskStateChangeEvent, Expected] => [
    `late PROVISIONING, run ${type}`,
    runIn(type),
    provisioning,
    // a task starting for a CANCELLED run (a launch that raced the cancel) is stopped
    type === 'CANCELLED' ? { kind: 'stop-task' } : nothing,
  ]),
  ['PENDING, run PAUSED', runIn('PAUSED', { name: 'Suspended' }), pending, nothing],
  ['PENDING, run CANCELLING (a proposal would be REJECTed)', runIn('CANCELLING'), pending, nothing],
  [
    'PROVISIONING, run SCHEDULED (AwaitingRetry must not go back)',
    runIn('SCHEDULED'),
    provisioning,
    nothing,
  ],
  // RUNNING → nothing (a missing pid is recorded)
  [
    'RUNNING, run RUNNING without pid → record it',
    runIn('RUNNING'),
    running,
    { kind: 'record-infrastructure-pid', infrastructurePid: RECORDED_PID },
  ],
  [
    'RUNNING, run PENDING without pid → record it',
    runIn('PENDING', { name: INFRASTRUCTURE_PENDING }),
    running,
    { kind: 'record-infrastructure-pid', infrastructurePid: RECORDED_PID },
  ],
  [
    'RUNNING, run RUNNING with this pid',
    runIn('RUNNING', { infrastructurePid: THIS_PID }),
    running,
    nothing,
  ],
  ['RUNNING, run COMPLETED without pid', runIn('COMPLETED'), running, nothing],
  // STOPPED
  ...FINAL.map((type): [string, RunView, TaskStateChangeEvent, Expected] => [
    `STOPPED exit 0, run ${type}`,
    runIn(type, { infrastructurePid: THIS_PID }),
    exit0,
    nothing,
  ]),
  ['STOPPED OOM, run COMPLETED', runIn('COMPLETED'), oom, nothing],
  ['STOPPED OOM, run PAUSED (suspended)', runIn('PAUSED', { name: 'Suspended' }), oom, nothing],
  ['STOPPED OOM, run SCHEDULED', runIn('SCHEDULED', { infrastructurePid: THIS_PID }), oom, nothing],
  [
    'STOPPED exit 1, run in-process AwaitingRetry in this task → CRASHED',
    runIn('SCHEDULED', {
      name: 'AwaitingRetry',
      retryType: 'in_process',
      infrastructurePid: THIS_PID,
    }),
    exit1,
    crashed('non-zero-exit', false, /waiting to retry inside this task/),
  ],
  [
    'STOPPED exit 0, run in-process AwaitingRetry in this task → CRASHED',
    runIn('SCHEDULED', {
      name: 'AwaitingRetry',
      retryType: 'in_process',
      infrastructurePid: THIS_PID,
    }),
    exit0,
    crashed('exited-without-final-state', false),
  ],
  [
    'STOPPED, run in-process AwaitingRetry without pid',
    runIn('SCHEDULED', { name: 'AwaitingRetry', retryType: 'in_process' }),
    exit1,
    nothing,
  ],
  [
    'STOPPED, run in-process AwaitingRetry of another task',
    runIn('SCHEDULED', {
      name: 'AwaitingRetry',
      retryType: 'in_process',
      infrastructurePid: OTHER_PID,
    }),
    exit1,
    nothing,
  ],
  [
    'STOPPED, run AwaitingRetry rescheduled (a new task will run it)',
    runIn('SCHEDULED', {
      name: 'AwaitingRetry',
      retryType: 'reschedule',
      infrastructurePid: THIS_PID,
    }),
    exit1,
    nothing,
  ],
  [
    'STOPPED by StopTask, run CANCELLING → CANCELLED',
    runIn('CANCELLING', { infrastructurePid: THIS_PID }),
    userStop,
    {
      kind: 'propose',
      type: 'CANCELLED',
      name: 'Cancelled',
      forwardLogTail: false,
      message:
        /^Flow run cancelled: its ECS task 0f1e2d3c4b5a69788796a5b4c3d2e1f0 stopped \(Task stopped by user\)\.$/,
    },
  ],
  [
    'STOPPED exit 0, run CANCELLING → CANCELLED',
    runIn('CANCELLING'),
    exit0,
    { kind: 'propose', type: 'CANCELLED', name: 'Cancelled', forwardLogTail: false },
  ],
  [
    'STOPPED exit 1, run RUNNING → CRASHED',
    runIn('RUNNING', { infrastructurePid: THIS_PID }),
    exit1,
    crashed('non-zero-exit', false),
  ],
  [
    'STOPPED exit 0, run RUNNING → CRASHED (engine never reported a final state)',
    runIn('RUNNING', { infrastructurePid: THIS_PID }),
    exit0,
    crashed(
      'exited-without-final-state',
      false,
      /the container exited without the flow reporting a final state/
    ),
  ],
  [
    'STOPPED exit 0, run PENDING → CRASHED + log tail',
    runIn('PENDING'),
    exit0,
    crashed('exited-without-final-state', true),
  ],
  [
    'STOPPED exit 137 OOM, run RUNNING → CRASHED',
    runIn('RUNNING'),
    oom,
    crashed('out-of-memory', false),
  ],
  [
    'STOPPED exit 137 OOM, run PENDING → CRASHED + log tail',
    runIn('PENDING', { name: INFRASTRUCTURE_PENDING }),
    oom,
    crashed('out-of-memory', true),
  ],
  [
    'STOPPED Spot, run RUNNING → CRASHED',
    runIn('RUNNING'),
    spot,
    crashed('spot-interruption', false),
  ],
  [
    'STOPPED by StopTask, run RUNNING → CRASHED',
    runIn('RUNNING'),
    userStop,
    crashed('stopped-by-user', false),
  ],
  [
    'TaskFailedToStart image pull, run PENDING → CRASHED + log tail',
    runIn('PENDING', { infrastructurePid: THIS_PID }),
    cannotPull,
    crashed('image-pull', true),
  ],
  [
    'TaskFailedToStart secrets, run PENDING → CRASHED + log tail',
    runIn('PENDING'),
    resourceInit,
    crashed('resource-initialization', true),
  ],
  [
    'TaskFailedToStart without containers, run PENDING → CRASHED',
    runIn('PENDING'),
    withDetail(cannotPull, {
      containers: [],
      stoppedReason: 'The capacity provider could not place the task: RESOURCE:GPU',
    }),
    crashed('failed-to-start', true),
  ],
  [
    'STOPPED, run RUNNING on another task (stale event)',
    runIn('RUNNING', { infrastructurePid: OTHER_PID }),
    oom,
    nothing,
  ],
  [
    'STOPPED, run RUNNING with a pid that is no ECS task',
    runIn('RUNNING', { infrastructurePid: '4242' }),
    oom,
    nothing,
  ],
  [
    'PROVISIONING, run Pending on another task',
    runIn('PENDING', { infrastructurePid: OTHER_PID }),
    provisioning,
    nothing,
  ],
  // other statuses
  [
    'DEACTIVATING, run RUNNING',
    runIn('RUNNING'),
    withDetail(running, { lastStatus: 'DEACTIVATING' }),
    nothing,
  ],
  [
    'STOPPING, run RUNNING',
    runIn('RUNNING'),
    withDetail(running, { lastStatus: 'STOPPING' }),
    nothing,
  ],
  ['a run without a state', { ...runIn('RUNNING'), state: null }, exit1, nothing],
];

describe('decideReport: the mapping table of issue #5 §2', () => {
  it.each(rows)('%s', (_name, run, event, expected) => {
    // Act
    const action = decideReport(run, event);
    // Assess
    const { message, ...shape } = expected as Expected & { message?: RegExp };
    expect(summarise(action)).toEqual(shape);
    if (message) {
      expect(action.kind === 'propose' ? action.state.message : '').toMatch(message);
    }
  });

  it('puts the diagnosis and the fix in the CRASHED message', () => {
    // Act
    const action = decideReport(runIn('RUNNING'), oom);
    // Assess
    expect(action.kind).toBe('propose');
    if (action.kind !== 'propose' || !action.diagnosis) return;
    expect(action.state.message).toBe(`${action.diagnosis.message} ${action.diagnosis.fix}`);
  });

  it('compares pids by task id, so the cluster name or ARN form does not matter', () => {
    // Prepare
    const byArn = runIn('RUNNING', { infrastructurePid: RECORDED_PID });
    // Act / Assess
    expect(decideReport(byArn, exit1).kind).toBe('propose');
    expect(decideReport(byArn, running).kind).toBe('nothing');
  });

  it('never proposes anything that moves a run backwards, whatever the order of events', () => {
    // Prepare: every run state × every lifecycle event before STOPPED
    const states = ['RUNNING', ...FINAL, 'PAUSED', 'CANCELLING'] as const;
    // Act / Assess
    for (const type of states) {
      for (const event of [provisioning, pending, running]) {
        const action = decideReport(runIn(type, { infrastructurePid: THIS_PID }), event);
        // (a task starting or running for a CANCELLED run is stopped, never proposed for)
        expect(action.kind, `${type} + ${event.detail.lastStatus}`).toBe(
          type === 'CANCELLED' ? 'stop-task' : 'nothing'
        );
      }
    }
  });
});

describe('decideReport: attempts', () => {
  const CURRENT = '3b1f9c0a-1111-8222-8333-444455556666';
  const OLDER = '3b1f9c0a-9999-8222-8333-444455556666';
  const CLAIMED_AT = new Date('2026-01-15T10:05:00.000Z');
  const marked = (event: TaskStateChangeEvent, attempt: string): TaskStateChangeEvent =>
    withDetail(event, {
      overrides: {
        containerOverrides: [
          { name: 'prefect', environment: [{ name: ATTEMPT_VARIABLE, value: attempt }] },
        ],
      },
    });
  const current = { transitionId: CURRENT, claimedAt: CLAIMED_AT };

  it.each([
    ['a RUNNING run', runIn('RUNNING', { infrastructurePid: THIS_PID })],
    [
      'a re-claimed PENDING run that still carries the old pid',
      runIn('PENDING', { infrastructurePid: THIS_PID }),
    ],
    [
      'an InfrastructurePending run',
      runIn('PENDING', { name: 'InfrastructurePending', infrastructurePid: THIS_PID }),
    ],
  ])("ignores a STOPPED event of an older attempt's task (by its marker) on %s", (_case, run) => {
    // Prepare / Act
    const action = decideReport(run, marked(exit1, OLDER), current);
    // Assess
    expect(action).toMatchObject({
      kind: 'nothing',
      reason: expect.stringMatching(/older attempt/),
    });
  });

  it("acts on the current attempt's task even when the clocks disagree (the marker decides)", () => {
    // Prepare: the task looks created before the claim (a Prefect server clock running ahead)
    const event = withDetail(marked(exit1, CURRENT), { createdAt: '2026-01-15T10:04:00.000Z' });
    // Act
    const action = decideReport(runIn('RUNNING', { infrastructurePid: THIS_PID }), event, current);
    // Assess
    expect(summarise(action)).toMatchObject({ kind: 'propose', type: 'CRASHED' });
  });

  it('tells an unmarked task of the previous release by its creation before the claim', () => {
    // Prepare: created 10:00, the current attempt claimed 10:05
    const run = runIn('PENDING', { infrastructurePid: THIS_PID });
    // Act / Assess
    expect(decideReport(run, exit1, current).kind).toBe('nothing');
    expect(
      summarise(
        decideReport(run, withDetail(exit1, { createdAt: '2026-01-15T10:05:01.000Z' }), current)
      )
    ).toMatchObject({ kind: 'propose', type: 'CRASHED' });
  });

  it("treats the current attempt's task as unrecorded while the pid is still an older attempt's", () => {
    // Prepare: the pid names the first attempt's task; this event is the second attempt's task
    const run = runIn('PENDING', { name: 'InfrastructurePending', infrastructurePid: OTHER_PID });
    // Act
    const action = decideReport(run, marked(pending, CURRENT), current);
    // Assess
    expect(action).toMatchObject({
      kind: 'record-infrastructure-pid',
      infrastructurePid: RECORDED_PID,
    });
  });

  it('keeps the pid-only decision when nothing is known of the current attempt', () => {
    // Prepare / Act / Assess
    expect(decideReport(runIn('RUNNING', { infrastructurePid: OTHER_PID }), exit1).kind).toBe(
      'nothing'
    );
    expect(
      summarise(
        decideReport(runIn('RUNNING', { infrastructurePid: THIS_PID }), marked(exit1, OLDER))
      )
    ).toMatchObject({ kind: 'propose', type: 'CRASHED' });
  });

  it('asks for the attempt check only when the answer could matter', () => {
    // Prepare / Act / Assess
    expect(
      needsAttemptCheck(decideReport(runIn('RUNNING', { infrastructurePid: THIS_PID }), exit1))
    ).toBe(true);
    expect(
      needsAttemptCheck(decideReport(runIn('RUNNING', { infrastructurePid: OTHER_PID }), exit1))
    ).toBe(true);
    expect(
      needsAttemptCheck(decideReport(runIn('COMPLETED', { infrastructurePid: THIS_PID }), exit1))
    ).toBe(false);
  });
});
