/**
 * The ECS task-state rule against the reporter it feeds: the pattern, as `osls package` builds it
 * from infra/events.yml and infra/parameters.cjs, must deliver every status the reporter acts on and
 * nothing else. An event the rule drops must be one the reporter would have answered with no Prefect
 * call, no ECS call and no log read; an event it delivers must be one the reporter may act on.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { decideWithoutRun } from '../../shared/report/decide-report.ts';
import { type SyncTaskStateDeps, syncTaskState } from '../../shared/report/sync-task-state.ts';
import {
  type TaskStateChangeEvent,
  TaskStateChangeEventSchema,
} from '../../shared/report/task-state-change-event.ts';
import { matchesEventPattern, taskStateRulePattern } from '../integration/end-to-end-fixtures.ts';

const FLOW_RUN_ID = '7a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d';

/** Every task `lastStatus` ECS documents, in lifecycle order. */
const LIFECYCLE = [
  'PROVISIONING',
  'PENDING',
  'ACTIVATING',
  'RUNNING',
  'DEACTIVATING',
  'STOPPING',
  'DEPROVISIONING',
  'STOPPED',
] as const;

const STOPPING_SIDE = new Set(['DEACTIVATING', 'STOPPING', 'DEPROVISIONING', 'STOPPED']);

/** A task of ours (startedBy `prefect/<id>`) in `lastStatus`, from the synthetic RUNNING fixture. */
const eventIn = (lastStatus: string, desiredStatus?: string): TaskStateChangeEvent => {
  const raw = JSON.parse(
    readFileSync(
      new URL('../fixtures/aws-events/synthetic/lifecycle-3-running.json', import.meta.url),
      'utf8'
    )
  );
  const event = TaskStateChangeEventSchema.parse(raw);
  return {
    ...event,
    id: `event-${lastStatus}-${desiredStatus ?? ''}`,
    detail: {
      ...event.detail,
      startedBy: `prefect/${FLOW_RUN_ID}`,
      lastStatus,
      desiredStatus: desiredStatus ?? (STOPPING_SIDE.has(lastStatus) ? 'STOPPED' : 'RUNNING'),
    },
  };
};

/** Reporter dependencies that record any call (and fail it): the reporter must make none. */
const untouchable = () => {
  const calls: string[] = [];
  const refuse = (name: string) => async () => {
    calls.push(name);
    throw new Error(`unexpected call: ${name}`);
  };
  const quiet = () => {};
  const deps = {
    prefect: {
      readFlowRun: refuse('prefect.readFlowRun'),
      setFlowRunState: refuse('prefect.setFlowRunState'),
      updateFlowRun: refuse('prefect.updateFlowRun'),
      createLogs: refuse('prefect.createLogs'),
    },
    ecs: {
      describeTaskDefinition: refuse('ecs.describeTaskDefinition'),
      describeTaskTags: refuse('ecs.describeTaskTags'),
      deregisterTaskDefinition: refuse('ecs.deregisterTaskDefinition'),
    },
    logs: new Proxy({}, { get: (_, name) => refuse(`logs.${String(name)}`) }),
    logger: { debug: quiet, info: quiet, warn: quiet, error: quiet },
    config: { logTailLines: 200 },
  } as unknown as SyncTaskStateDeps;
  return { deps, calls };
};

describe('the task-state rule delivers exactly what the reporter acts on', () => {
  it('matches PROVISIONING, PENDING, ACTIVATING, RUNNING and STOPPED, and no other status', async () => {
    // Arrange
    const pattern = await taskStateRulePattern();
    // Act
    const delivered = LIFECYCLE.filter((status) => matchesEventPattern(pattern, eventIn(status)));
    // Assess
    expect(delivered).toEqual(['PROVISIONING', 'PENDING', 'ACTIVATING', 'RUNNING', 'STOPPED']);
  });

  it.each(LIFECYCLE)('delivers %s if and only if the reporter may act on it', async (status) => {
    // Arrange
    const pattern = await taskStateRulePattern();
    const event = eventIn(status);
    // Act
    const delivered = matchesEventPattern(pattern, event);
    const decidedWithoutRun = decideWithoutRun(event);
    // Assess: undefined means the run's state decides, so the reporter must see the event
    expect(delivered).toBe(decidedWithoutRun === undefined);
  });

  it.each(['DEACTIVATING', 'STOPPING', 'DEPROVISIONING', 'SOMETHING_ECS_ADDS_LATER'])(
    'drops %s, which the reporter answers with no call to Prefect, ECS or CloudWatch Logs',
    async (status) => {
      // Arrange
      const pattern = await taskStateRulePattern();
      const event = eventIn(status, 'STOPPED');
      const { deps, calls } = untouchable();
      // Act
      const outcome = await syncTaskState(event, deps);
      // Assess
      expect(matchesEventPattern(pattern, event)).toBe(false);
      expect(outcome).toMatchObject({ flowRunId: FLOW_RUN_ID, action: 'nothing' });
      expect(outcome.deregister).toBeUndefined();
      expect(calls).toEqual([]);
    }
  );

  it('still delivers a RUNNING task ECS is stopping (a lastStatus pattern cannot tell it apart); the reporter makes no call for it', async () => {
    // Arrange
    const pattern = await taskStateRulePattern();
    const event = eventIn('RUNNING', 'STOPPED');
    const { deps, calls } = untouchable();
    // Act
    const outcome = await syncTaskState(event, deps);
    // Assess
    expect(matchesEventPattern(pattern, event)).toBe(true);
    expect(outcome.action).toBe('nothing');
    expect(calls).toEqual([]);
  });

  it('keeps the other filters: a task not started by us is dropped in every status', async () => {
    // Arrange
    const pattern = await taskStateRulePattern();
    // Act
    const delivered = LIFECYCLE.filter((status) => {
      const event = eventIn(status);
      return matchesEventPattern(pattern, {
        ...event,
        detail: { ...event.detail, startedBy: `prefect:${FLOW_RUN_ID}` },
      });
    });
    // Assess
    expect(delivered).toEqual([]);
  });
});
