/**
 * The reporter's executed-flow-run event from an ECS "Task State Change" event and the run: names
 * from the task's environment, the attempt from its marker, the exit code of the flow container.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ATTEMPT_VARIABLE } from '../../../../shared/ecs/attempt-marker.ts';
import { executedFlowRunOfTask } from '../../../../shared/events/executed-flow-run-of-task.ts';
import { flowRunEventId, WorkerEventName } from '../../../../shared/events/worker-events.ts';
import { FlowRunSchema } from '../../../../shared/prefect/schemas.ts';
import { TaskStateChangeEventSchema } from '../../../../shared/report/task-state-change-event.ts';

const FIXTURE = 'test/fixtures/aws-events/synthetic/lifecycle-4-stopped-exit0.json';
const worker = { name: 'prefect-ecs-serverless', prefectVersion: '3.8.3' };
const RUN_ID = '7a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d';
const ATTEMPT = '3b1f9c0a-1111-4222-8333-444455556666';
const TASK_ARN = 'arn:aws:ecs:eu-west-1:123456789012:task/prefect/0f1e2d3c4b5a69788796a5b4c3d2e1f0';

const stoppedEvent = (
  environment: { name: string; value: string }[] = [],
  detail: Record<string, unknown> = {}
) => {
  const raw = JSON.parse(readFileSync(FIXTURE, 'utf8'));
  raw.detail.overrides.containerOverrides[0].environment.push(...environment);
  Object.assign(raw.detail, detail);
  return TaskStateChangeEventSchema.parse(raw);
};

const run = FlowRunSchema.parse({
  id: RUN_ID,
  name: 'brave-otter',
  flow_id: '9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d',
  deployment_id: '5f0c1a2b-3c4d-4e5f-9a0b-1c2d3e4f5a6b',
  work_pool_id: '0b6a3f0e-1c2d-4e5f-8a9b-0c1d2e3f4a5b',
  work_pool_name: 'ecs-prod',
  infrastructure_pid: `prefect::${TASK_ARN}`,
  tags: ['nightly'],
});

const flowRunResource = (event: ReturnType<typeof executedFlowRunOfTask>) =>
  event.related.find((resource) => resource['prefect.resource.role'] === 'flow-run');

describe('executedFlowRunOfTask', () => {
  it('relates the run’s deployment and flow by the names in the task’s environment, and follows the attempt’s submitted event', () => {
    // Prepare
    const event = stoppedEvent(
      [
        { name: ATTEMPT_VARIABLE, value: ATTEMPT },
        { name: 'PREFECT__FLOW_NAME', value: 'etl' },
        { name: 'PREFECT__DEPLOYMENT_NAME', value: 'nightly-etl' },
      ],
      { stoppedAt: '2026-01-15T10:04:00.000Z' }
    );
    // Act
    const executed = executedFlowRunOfTask(event, run, worker);
    // Assess
    expect(executed.id).toBe(flowRunEventId(WorkerEventName.ExecutedFlowRun, RUN_ID, ATTEMPT));
    expect(executed.follows).toBe(
      flowRunEventId(WorkerEventName.SubmittedFlowRun, RUN_ID, ATTEMPT)
    );
    expect(executed.occurred).toBe('2026-01-15T10:04:00.000Z');
    expect(
      executed.related.map((r) => [r['prefect.resource.role'], r['prefect.resource.name']])
    ).toEqual([
      ['deployment', 'nightly-etl'],
      ['flow', 'etl'],
      ['flow-run', 'brave-otter'],
      ['tag', undefined],
      ['work-pool', 'ecs-prod'],
    ]);
    expect(flowRunResource(executed)).toMatchObject({
      'prefect.infrastructure.identifier': `prefect::${TASK_ARN}`,
      'prefect.infrastructure.status-code': '0',
    });
  });

  it('does not follow a submitted event more than 5 minutes old', () => {
    // Prepare: created 10:00:00, stopped 10:05:12
    const event = stoppedEvent([{ name: ATTEMPT_VARIABLE, value: ATTEMPT }]);
    // Act
    const executed = executedFlowRunOfTask(event, run, worker);
    // Assess
    expect(executed.follows).toBeNull();
  });

  it('names a task of the previous release (no attempt marker) by its own id, with the cluster ARN when the pid names another task', () => {
    // Prepare
    const event = stoppedEvent();
    const other = {
      ...run,
      infrastructure_pid: 'prefect::arn:aws:ecs:eu-west-1:1:task/prefect/other',
    };
    // Act
    const executed = executedFlowRunOfTask(event, other, worker);
    // Assess
    expect(executed.id).toBe(
      flowRunEventId(
        WorkerEventName.ExecutedFlowRun,
        RUN_ID,
        'task/0f1e2d3c4b5a69788796a5b4c3d2e1f0'
      )
    );
    expect(executed.follows).toBeNull();
    expect(flowRunResource(executed)?.['prefect.infrastructure.identifier']).toBe(
      `arn:aws:ecs:eu-west-1:123456789012:cluster/prefect::${TASK_ARN}`
    );
    // No names in the environment: the ids only.
    expect(executed.related[0]).toEqual({
      'prefect.resource.id': 'prefect.deployment.5f0c1a2b-3c4d-4e5f-9a0b-1c2d3e4f5a6b',
      'prefect.resource.role': 'deployment',
    });
  });
});
