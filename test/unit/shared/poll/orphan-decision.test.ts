import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { claimTransitionId } from '../../../../shared/poll/claim-marker.ts';
import { classifyOrphan, type OrphanContext } from '../../../../shared/poll/orphan-decision.ts';
import {
  LAST_REQUEUE_LABEL,
  REQUEUES_LABEL,
  WORKER_NAME_LABEL,
} from '../../../../shared/poll/run-labels.ts';
import { flowRun, iso, NOW } from './fixtures.ts';

const WORKER = 'prod';
const OURS = claimTransitionId(WORKER, randomUUID);
const context = (seconds: number, overrides: Partial<OrphanContext> = {}): OrphanContext => ({
  workerName: WORKER,
  now: new Date(NOW.getTime() + seconds * 1000),
  orphanAfterSeconds: 300,
  maxRequeues: 2,
  leadSeconds: 0,
  ...overrides,
});
const claimed = (fields: Record<string, unknown> = {}, details: Record<string, unknown> = {}) =>
  flowRun(fields, { state_details: { transition_id: OURS, ...details } });

const TASK = 'arn:aws:ecs:us-east-1:123456789012:task/prefect/abc';
const PID = `prefect::${TASK}`;

describe('classifyOrphan: a claimed attempt that carries a pid', () => {
  it('waits, then asks ECS whose task the pid names', () => {
    // Prepare
    const run = claimed({ infrastructure_pid: PID });
    // Act / Assess
    expect(classifyOrphan(run, context(299)).kind).toBe('wait');
    expect(classifyOrphan(run, context(300))).toEqual({
      kind: 'check-task',
      pid: { cluster: 'prefect', taskArn: TASK },
    });
  });

  it.each([
    [
      'an earlier attempt’s (its marker names another claim)',
      { attempt: randomUUID(), createdAt: iso(5) },
    ],
    ['a previous release’s, created before the claim', { attempt: undefined, createdAt: iso(-60) }],
    ['unknown to ECS', 'missing' as const],
  ])('re-enqueues the attempt when the pid’s task is %s', (_case, pidTask) => {
    // Prepare
    const run = claimed({ infrastructure_pid: PID });
    // Act
    const decision = classifyOrphan(
      run,
      context(300),
      pidTask === 'missing' ? pidTask : { ...pidTask, createdAt: new Date(pidTask.createdAt) }
    );
    // Assess
    expect(decision).toMatchObject({ kind: 'requeue', transitionId: OURS, claimedAt: NOW });
  });

  it.each([
    ['carries this claim’s marker', { attempt: OURS, createdAt: new Date(iso(-60)) }],
    [
      'is unmarked but created after the claim',
      { attempt: undefined, createdAt: new Date(iso(5)) },
    ],
  ])('leaves it alone when the pid’s task %s', (_case, pidTask) => {
    // Prepare
    const run = claimed({ infrastructure_pid: PID });
    // Act / Assess
    expect(classifyOrphan(run, context(300), pidTask)).toEqual({
      kind: 'not-orphan',
      reason: 'has a task of this attempt',
    });
  });

  it('says in the crash message that the pid is an earlier attempt’s', () => {
    // Prepare
    const run = claimed({
      infrastructure_pid: PID,
      labels: { [WORKER_NAME_LABEL]: WORKER, [REQUEUES_LABEL]: 2 },
    });
    // Act
    const decision = classifyOrphan(run, context(300), { attempt: randomUUID(), createdAt: NOW });
    // Assess
    expect(decision.kind).toBe('give-up');
    expect(decision.kind === 'give-up' && decision.message).toMatch(
      /no ECS task was recorded for this attempt \(its infrastructure_pid names an earlier attempt’s task/
    );
  });
});

describe('classifyOrphan: a run whose attempt has its task but stays PENDING', () => {
  const subState = () =>
    flowRun(
      { infrastructure_pid: PID, labels: { [WORKER_NAME_LABEL]: WORKER } },
      { name: 'InfrastructurePending', state_details: { transition_id: randomUUID() } }
    );

  it('asks ECS only once it is overdue, and leaves it alone while its task lives', () => {
    // Prepare / Act / Assess
    expect(classifyOrphan(subState(), context(299)).kind).toBe('wait');
    expect(classifyOrphan(subState(), context(300)).kind).toBe('check-task');
    expect(
      classifyOrphan(subState(), context(300), {
        createdAt: NOW,
        attempt: undefined,
        lastStatus: 'PENDING',
      })
    ).toEqual({ kind: 'not-orphan', reason: 'has a task of this attempt' });
  });

  it.each([
    [
      'stopped',
      {
        createdAt: NOW,
        attempt: undefined,
        lastStatus: 'STOPPED',
        stopCode: 'EssentialContainerExited',
        stoppedReason: 'Essential container in task exited',
      },
      /stopped \(EssentialContainerExited: Essential container in task exited\), but the run stayed InfrastructurePending/,
    ],
    [
      'forgotten by ECS',
      'missing' as const,
      /is no longer known to ECS, but the run stayed InfrastructurePending/,
    ],
  ])('settles it when its task has %s', (_case, pidTask, message) => {
    // Prepare / Act
    const decision = classifyOrphan(subState(), context(300), pidTask);
    // Assess
    expect(decision).toMatchObject({ kind: 'settle', message: expect.stringMatching(message) });
  });
});

describe('classifyOrphan', () => {
  it('waits until ORPHAN_AFTER_SECONDS after the claim, then re-enqueues with the claim', () => {
    expect(classifyOrphan(claimed(), context(299))).toEqual({ kind: 'wait', dueAt: NOW });
    expect(classifyOrphan(claimed(), context(300))).toEqual({
      kind: 'requeue',
      transitionId: OURS,
      scheduledTime: NOW,
      claimedAt: NOW,
      requeue: 1,
    });
  });

  it('counts from the scheduled time minus the lead for a prefetched claim', () => {
    // Claimed 600 s ahead, launch due at 600 − 60 = 540 s: an orphan only from 840 s.
    const run = claimed({}, { scheduled_time: iso(600) });
    expect(classifyOrphan(run, context(839, { leadSeconds: 60 })).kind).toBe('wait');
    expect(classifyOrphan(run, context(840, { leadSeconds: 60 })).kind).toBe('requeue');
  });

  it('restarts the wait after each re-enqueue and gives up after the last one', () => {
    const once = claimed({
      labels: { [WORKER_NAME_LABEL]: WORKER, [REQUEUES_LABEL]: 1, [LAST_REQUEUE_LABEL]: iso(300) },
    });
    expect(classifyOrphan(once, context(599)).kind).toBe('wait');
    expect(classifyOrphan(once, context(600))).toMatchObject({ kind: 'requeue', requeue: 2 });
    const twice = claimed({ labels: { [REQUEUES_LABEL]: 2, [LAST_REQUEUE_LABEL]: iso(600) } });
    const decision = classifyOrphan(twice, context(900));
    expect(decision.kind).toBe('give-up');
    if (decision.kind === 'give-up') {
      expect(decision.message).toBe(
        `Launch never completed. The run was claimed by worker 'prod' and has been Pending since ${iso(0)}; its launch message was sent 3 times (once when claimed, then re-enqueued 2 times by the orphan sweep, last at ${iso(600)}); no ECS task was recorded (no infrastructure_pid) 300 s after the launch was due. Check the launcher's logs and the launch queue's dead-letter queue.`
      );
    }
  });

  it('gives up at once with ORPHAN_MAX_REQUEUES 0', () => {
    const decision = classifyOrphan(claimed(), context(300, { maxRequeues: 0 }));
    expect(decision.kind).toBe('give-up');
    if (decision.kind === 'give-up')
      expect(decision.message).toMatch(/sent once, when it was claimed/);
  });

  it('recognises a sub-state by the worker label and re-enqueues with its transition id', () => {
    const other = randomUUID();
    const run = flowRun(
      { labels: { [WORKER_NAME_LABEL]: WORKER } },
      { name: 'InfrastructurePending', state_details: { transition_id: other } }
    );
    expect(classifyOrphan(run, context(300))).toMatchObject({
      kind: 'requeue',
      transitionId: other,
    });
  });

  it.each([
    {
      name: 'another worker’s claim',
      run: () => flowRun({}, { state_details: { transition_id: randomUUID() } }),
    },
    {
      name: 'another worker’s label',
      run: () =>
        flowRun(
          { labels: { [WORKER_NAME_LABEL]: 'official' } },
          { state_details: { transition_id: randomUUID() } }
        ),
    },

    {
      name: 'a RUNNING run',
      run: () => flowRun({}, { type: 'RUNNING', state_details: { transition_id: OURS } }),
    },
    { name: 'a run without state', run: () => flowRun({}, null) },
  ])('leaves $name alone', ({ run }) => {
    expect(classifyOrphan(run(), context(10_000)).kind).toBe('not-orphan');
  });

  it('gives up on our run whose state has no transition id (cannot be re-enqueued)', () => {
    const run = flowRun(
      { labels: { [WORKER_NAME_LABEL]: WORKER } },
      { state_details: { transition_id: null } }
    );
    const decision = classifyOrphan(run, context(300));
    expect(decision.kind).toBe('give-up');
    if (decision.kind === 'give-up') expect(decision.message).toMatch(/no transition id/);
  });
});
