import { describe, expect, it } from 'vitest';
import type { TaskSighting } from '../../../../shared/poll/cancel-decision.ts';
import {
  decideCancelledTask,
  STOP_REASON_MAX_LENGTH,
} from '../../../../shared/poll/cancelled-task-decision.ts';
import { flowRun, RUN_ID } from './fixtures.ts';

const TASK = 'arn:aws:ecs:us-east-1:123456789012:task/prefect/abc';
const PID = `prefect::${TASK}`;
const cancelled = { type: 'CANCELLED', name: 'Cancelled' };
const found = (lastStatus: string, desiredStatus: string): TaskSighting => ({
  kind: 'found',
  lastStatus,
  desiredStatus,
});

describe('decideCancelledTask', () => {
  it.each<{
    name: string;
    pid: string | null;
    sighting: TaskSighting;
    kind: 'stop' | 'leave';
    state?: { type: string; name: string };
  }>([
    { name: 'task RUNNING', pid: PID, sighting: found('RUNNING', 'RUNNING'), kind: 'stop' },
    {
      name: 'task still PROVISIONING',
      pid: PID,
      sighting: found('PROVISIONING', 'RUNNING'),
      kind: 'stop',
    },
    {
      name: 'task already asked to stop',
      pid: PID,
      sighting: found('RUNNING', 'STOPPED'),
      kind: 'leave',
    },
    { name: 'task STOPPED', pid: PID, sighting: found('STOPPED', 'STOPPED'), kind: 'leave' },
    { name: 'task MISSING', pid: PID, sighting: { kind: 'missing' }, kind: 'leave' },
    { name: 'task not described', pid: PID, sighting: { kind: 'unknown' }, kind: 'leave' },
    { name: 'no pid', pid: null, sighting: { kind: 'unknown' }, kind: 'leave' },
    {
      name: 'a pid that is not cluster::arn',
      pid: '4242',
      sighting: found('RUNNING', 'RUNNING'),
      kind: 'leave',
    },
    {
      name: 'a run that is no longer CANCELLED',
      pid: PID,
      sighting: found('RUNNING', 'RUNNING'),
      kind: 'leave',
      state: { type: 'SCHEDULED', name: 'AwaitingRetry' },
    },
  ])('$name → $kind', ({ pid, sighting, kind, state }) => {
    // Prepare
    const run = flowRun({ infrastructure_pid: pid }, state ?? cancelled);
    // Act
    const action = decideCancelledTask(run, sighting);
    // Assess
    expect(action.kind).toBe(kind);
    if (action.kind === 'stop') {
      expect(action.pid).toEqual({ cluster: 'prefect', taskArn: TASK });
      expect(action.logMessage).toContain(TASK);
    }
  });

  it('names the run in a StopTask reason ECS accepts, and in the log line', () => {
    // Prepare
    const run = flowRun({ infrastructure_pid: PID }, cancelled);
    // Act
    const action = decideCancelledTask(run, found('RUNNING', 'RUNNING'));
    // Assess
    expect(action).toMatchObject({
      kind: 'stop',
      reason: `Prefect flow run ${RUN_ID} (crimson-otter) is Cancelled but its task was still running (prefect-ecs-serverless)`,
      logMessage: `Stopped ECS task ${TASK}: the flow run is Cancelled but its task was still running (last status RUNNING).`,
    });
  });

  it('shortens a long run name so the reason stays within 255 characters, keeping the id', () => {
    // Prepare
    const run = flowRun({ infrastructure_pid: PID, name: 'n'.repeat(400) }, cancelled);
    // Act
    const action = decideCancelledTask(run, found('RUNNING', 'RUNNING'));
    // Assess
    if (action.kind !== 'stop') throw new Error(`expected stop, got ${action.reason}`);
    expect(action.reason.length).toBe(STOP_REASON_MAX_LENGTH);
    expect(action.reason).toContain(RUN_ID);
    expect(action.reason).toContain('n…)');
    expect(action.reason.endsWith('(prefect-ecs-serverless)')).toBe(true);
  });
});
