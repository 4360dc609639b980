import { describe, expect, it } from 'vitest';
import {
  CANCEL_MESSAGES,
  decideCancellation,
  livenessOf,
  type TaskLiveness,
  type TaskSighting,
} from '../../../../shared/poll/cancel-decision.ts';
import { flowRun, iso } from './fixtures.ts';

const TASK = 'arn:aws:ecs:us-east-1:123456789012:task/prefect/abc';
const PID = `prefect::${TASK}`;
const cancelling = { type: 'CANCELLING', name: 'Cancelling' };

describe('decideCancellation', () => {
  it.each<{
    name: string;
    pid: string | null;
    started: boolean;
    liveness: TaskLiveness;
    kind: string;
    message?: string;
  }>([
    {
      name: 'never started, no pid',
      pid: null,
      started: false,
      liveness: 'unknown',
      kind: 'cancel',
      message: CANCEL_MESSAGES.noInfrastructure,
    },
    {
      name: 'never started, task alive',
      pid: PID,
      started: false,
      liveness: 'alive',
      kind: 'stop-then-cancel',
      message: CANCEL_MESSAGES.whilePending,
    },
    {
      name: 'never started, task gone',
      pid: PID,
      started: false,
      liveness: 'gone',
      kind: 'cancel',
      message: CANCEL_MESSAGES.taskAlreadyStopped,
    },
    {
      name: 'never started, task unknown',
      pid: PID,
      started: false,
      liveness: 'unknown',
      kind: 'leave',
    },
    {
      name: 'started, task gone',
      pid: PID,
      started: true,
      liveness: 'gone',
      kind: 'cancel',
      message: CANCEL_MESSAGES.taskGone(TASK),
    },
    { name: 'started, task alive', pid: PID, started: true, liveness: 'alive', kind: 'leave' },
    { name: 'started, no pid', pid: null, started: true, liveness: 'unknown', kind: 'leave' },
    {
      name: 'a pid that is not cluster::arn',
      pid: '4242',
      started: false,
      liveness: 'alive',
      kind: 'leave',
    },
  ])('$name → $kind', ({ pid, started, liveness, kind, message }) => {
    // Prepare
    const run = flowRun(
      { infrastructure_pid: pid, start_time: started ? iso(-60) : null },
      cancelling
    );
    // Act
    const action = decideCancellation(run, liveness);
    // Assess
    expect(action.kind).toBe(kind);
    if (message) expect(action).toMatchObject({ message });
    if (action.kind === 'stop-then-cancel')
      expect(action.pid).toEqual({ cluster: 'prefect', taskArn: TASK });
  });
});

describe('livenessOf', () => {
  it.each<{ sighting: TaskSighting; liveness: TaskLiveness }>([
    {
      sighting: { kind: 'found', lastStatus: 'RUNNING', desiredStatus: 'RUNNING' },
      liveness: 'alive',
    },
    {
      sighting: { kind: 'found', lastStatus: 'RUNNING', desiredStatus: 'STOPPED' },
      liveness: 'alive',
    },
    {
      sighting: { kind: 'found', lastStatus: 'STOPPED', desiredStatus: 'STOPPED' },
      liveness: 'gone',
    },
    { sighting: { kind: 'missing' }, liveness: 'gone' },
    { sighting: { kind: 'unknown' }, liveness: 'unknown' },
  ])(
    '$sighting.kind $sighting.lastStatus/$sighting.desiredStatus → $liveness',
    ({ sighting, liveness }) => {
      // Act / Assess
      expect(livenessOf(sighting)).toBe(liveness);
    }
  );
});
