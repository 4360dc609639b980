/**
 * The soak's four counts (bench/soak/audit.ts) on hand-written evidence: a clean retried run, and
 * one run for each count, so that a soak's 0/0/0/0 means what the definitions say.
 */
import { describe, expect, it } from 'vitest';
import { auditRun, type RunEvidence } from '../../../bench/soak/audit.ts';
import type { EngineEntry } from '../../../bench/soak/journal.ts';
import { PROFILES } from '../../../bench/soak/profiles.ts';
import { scriptRun } from '../../../bench/soak/run-script.ts';
import type { EcsTaskSnapshot } from '../../standins/ecs/types.ts';
import type { FlowRun, StateView } from '../../standins/prefect/actors.ts';

const RUN = '0b0e3b4a-6d7e-4a53-9c5b-2f0d2b1f9a11';
const CLAIM_1 = 'aaaaaaaa-0000-8000-8000-000000000001';
const CLAIM_2 = 'aaaaaaaa-0000-8000-8000-000000000002';

let clock = 0;
const tick = (): number => {
  clock += 1;
  return clock;
};
const state = (
  type: string,
  name: string,
  options: { transitionId?: string; message?: string } = {}
): StateView =>
  ({
    id: `state-${tick()}`,
    type,
    name,
    timestamp: new Date(Date.UTC(2026, 0, 1, 0, 0, 0, clock)).toISOString(),
    message: options.message ?? null,
    state_details: { transition_id: options.transitionId ?? null },
  }) as unknown as StateView;

const task = (id: string, overrides: Partial<EcsTaskSnapshot> = {}): EcsTaskSnapshot =>
  ({
    taskArn: `arn:aws:ecs:us-east-1:123456789012:task/prefect/${id}`,
    lastStatus: 'STOPPED',
    desiredStatus: 'STOPPED',
    stopCode: 'EssentialContainerExited',
    containers: [{ name: 'prefect', lastStatus: 'STOPPED', exitCode: 0 }],
    ...overrides,
  }) as EcsTaskSnapshot;

const did = (taskId: string, action: string, answer?: string): EngineEntry => ({
  at: tick(),
  runId: RUN,
  taskArn: `arn:aws:ecs:us-east-1:123456789012:task/prefect/${taskId}`,
  attempt: undefined,
  action,
  ...(answer ? { answer } : {}),
});

const evidence = (
  history: StateView[],
  tasks: { snapshot: EcsTaskSnapshot; attempt: string }[],
  engine: EngineEntry[]
): RunEvidence => {
  const last = history.at(-1);
  return {
    script: scriptRun(1, 0, PROFILES.light),
    run: { id: RUN, state_type: last?.type ?? null, state_name: last?.name ?? null } as FlowRun,
    history,
    tasks: tasks.map((entry) => entry.snapshot),
    markers: new Map(tasks.map((entry) => [entry.snapshot.taskArn, entry.attempt])),
    engine,
  };
};

describe('soak audit', () => {
  it('counts nothing for a run that crashed, was retried from the UI and completed', () => {
    // Prepare
    const history = [
      state('SCHEDULED', 'Scheduled'),
      state('PENDING', 'Pending', { transitionId: CLAIM_1 }),
      state('RUNNING', 'Running'),
      state('CRASHED', 'Crashed', { message: 'exit code 1' }),
      state('SCHEDULED', 'AwaitingRetry', { message: 'Retry from the UI' }),
      state('PENDING', 'Pending', { transitionId: CLAIM_2 }),
      state('RUNNING', 'Running'),
      state('COMPLETED', 'Completed'),
    ];
    const tasks = [
      {
        snapshot: task('t1', {
          containers: [{ name: 'prefect', lastStatus: 'STOPPED', exitCode: 1 }],
        }),
        attempt: CLAIM_1,
      },
      { snapshot: task('t2'), attempt: CLAIM_2 },
    ];
    const engine = [
      did('t1', 'start', 'ACCEPT'),
      did('t2', 'start', 'ACCEPT'),
      did('t2', 'complete', 'ACCEPT'),
    ];
    // Act
    const verdict = auditRun(evidence(history, tasks, engine));
    // Assess
    expect(verdict).toMatchObject({ duplicates: 0, lost: 0, stuck: false, wrong: [] });
    expect(verdict.attempts.map((attempt) => attempt.tasks.map((fate) => fate.outcome))).toEqual([
      ['crashed'],
      ['completed'],
    ]);
  });

  it('counts a duplicate for two tasks of one attempt, and a stray task as one more', () => {
    // Prepare
    const history = [
      state('PENDING', 'Pending', { transitionId: CLAIM_1 }),
      state('RUNNING', 'Running'),
      state('COMPLETED', 'Completed'),
    ];
    const tasks = [
      { snapshot: task('t1'), attempt: CLAIM_1 },
      { snapshot: task('t2'), attempt: CLAIM_1 },
      { snapshot: task('t3'), attempt: CLAIM_2 },
    ];
    // Act
    const verdict = auditRun(evidence(history, tasks, [did('t1', 'complete', 'ACCEPT')]));
    // Assess
    expect(verdict.duplicates).toBe(2);
    expect(verdict.strayTasks.map((fate) => fate.taskArn)).toEqual([tasks[2]?.snapshot.taskArn]);
  });

  it('counts an attempt without a task as lost unless a final state says why', () => {
    // Prepare
    const lost = [
      state('PENDING', 'Pending', { transitionId: CLAIM_1 }),
      state('CRASHED', 'Crashed'),
    ];
    const explained = [
      state('PENDING', 'Pending', { transitionId: CLAIM_1 }),
      state('CANCELLING', 'Cancelling'),
      state('CANCELLED', 'Cancelled', {
        message: 'Flow run cancelled by worker (no infrastructure found).',
      }),
    ];
    // Act
    const lostVerdict = auditRun(evidence(lost, [], []));
    const explainedVerdict = auditRun(evidence(explained, [], []));
    // Assess
    expect(lostVerdict.lost).toBe(1);
    expect(explainedVerdict).toMatchObject({ lost: 0, stuck: false, wrong: [] });
  });

  it("counts a retried attempt as lost when its run only gets an earlier attempt's end back", () => {
    // Prepare: attempt 2's claim is overwritten, then the run is set back to attempt 1's CRASHED
    const crashed = { message: 'the container exited with code 1' };
    const history = [
      state('PENDING', 'Pending', { transitionId: CLAIM_1 }),
      state('RUNNING', 'Running'),
      state('CRASHED', 'Crashed', crashed),
      state('SCHEDULED', 'AwaitingRetry', { message: 'Retry from the UI' }),
      state('PENDING', 'Pending', { transitionId: CLAIM_2 }),
      state('PENDING', 'InfrastructurePending'),
      state('CRASHED', 'Crashed', crashed),
    ];
    const first = task('t1', {
      containers: [{ name: 'prefect', lastStatus: 'STOPPED', exitCode: 1 }],
    });
    // Act
    const verdict = auditRun(
      evidence(history, [{ snapshot: first, attempt: CLAIM_1 }], [did('t1', 'start', 'ACCEPT')])
    );
    // Assess
    expect(verdict.lost).toBe(1);
  });

  it('counts a run left PENDING as stuck', () => {
    // Prepare
    const history = [
      state('PENDING', 'Pending', { transitionId: CLAIM_1 }),
      state('PENDING', 'InfrastructurePending'),
    ];
    // Act
    const verdict = auditRun(evidence(history, [{ snapshot: task('t1'), attempt: CLAIM_1 }], []));
    // Assess
    expect(verdict.stuck).toBe(true);
  });

  it.each([
    [
      'a completed run crashed later',
      [state('RUNNING', 'Running'), state('COMPLETED', 'Completed'), state('CRASHED', 'Crashed')],
      'moved after final: COMPLETED:Completed → CRASHED:Crashed',
    ],
    [
      'a finished run back to PENDING',
      [
        state('RUNNING', 'Running'),
        state('COMPLETED', 'Completed'),
        state('PENDING', 'InfrastructurePending'),
        state('CRASHED', 'Crashed'),
      ],
      'moved after final: COMPLETED:Completed → PENDING:InfrastructurePending',
    ],
    [
      'a cancelled run that ran after the cancel',
      [
        state('CANCELLING', 'Cancelling'),
        state('CANCELLED', 'Cancelled', { message: 'no infrastructure' }),
        state('RUNNING', 'Running'),
        state('COMPLETED', 'Completed'),
      ],
      'ran after cancel: RUNNING after the user cancelled',
    ],
  ])('counts %s as wrong', (_case, after, reason) => {
    // Prepare
    const history = [state('PENDING', 'Pending', { transitionId: CLAIM_1 }), ...after];
    const engine = [did('t1', 'start', 'ACCEPT'), did('t1', 'complete', 'ACCEPT')];
    // Act
    const verdict = auditRun(
      evidence(history, [{ snapshot: task('t1'), attempt: CLAIM_1 }], engine)
    );
    // Assess
    expect(verdict.wrong).toContain(reason);
  });

  it('counts a final state that contradicts the task and a task alive for a final run as wrong', () => {
    // Prepare: the engine completed, yet the run ends CRASHED, and its task still runs
    const history = [
      state('PENDING', 'Pending', { transitionId: CLAIM_1 }),
      state('RUNNING', 'Running'),
      state('CRASHED', 'Crashed', { message: 'exit code 1' }),
    ];
    const engine = [did('t1', 'start', 'ACCEPT'), did('t1', 'complete', 'ACCEPT')];
    const alive = task('t1', { lastStatus: 'RUNNING', desiredStatus: 'RUNNING' });
    // Act
    const verdict = auditRun(evidence(history, [{ snapshot: alive, attempt: CLAIM_1 }], engine));
    // Assess
    expect(verdict.wrong).toEqual([
      expect.stringMatching(
        /^final vs fate: CRASHED but the current attempt's task ended completed/
      ),
      'task alive for a final run: t1 is RUNNING',
    ]);
  });

  it('counts a late PENDING undone by a repair (the same final state written again) as restored, not wrong', () => {
    // Prepare
    const history = [
      state('PENDING', 'Pending', { transitionId: CLAIM_1 }),
      state('RUNNING', 'Running'),
      state('COMPLETED', 'Completed'),
      state('PENDING', 'InfrastructurePending'),
      state('COMPLETED', 'Completed'),
    ];
    const engine = [did('t1', 'start', 'ACCEPT'), did('t1', 'complete', 'ACCEPT')];
    // Act
    const verdict = auditRun(
      evidence(history, [{ snapshot: task('t1'), attempt: CLAIM_1 }], engine)
    );
    // Assess
    expect(verdict.wrong).toEqual([]);
    expect(verdict.restored).toBe(1);
  });
});
