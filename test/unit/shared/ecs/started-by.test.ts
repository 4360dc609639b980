import { describe, expect, it } from 'vitest';
import {
  infrastructurePid,
  parseInfrastructurePid,
} from '../../../../shared/ecs/infrastructure-pid.ts';
import {
  flowRunIdFromStartedBy,
  STARTED_BY_PREFIX,
  startedByForFlowRun,
} from '../../../../shared/ecs/started-by.ts';
import { IDS } from './job-configuration-factory.ts';

const ECS_STARTED_BY = /^[a-zA-Z0-9_/-]{1,128}$/;

describe('startedBy', () => {
  it('is prefect/<flow run id> and fits what ECS accepts', () => {
    // Act
    const startedBy = startedByForFlowRun(IDS.flowRun);
    // Assess
    expect(STARTED_BY_PREFIX).toBe('prefect/');
    expect(startedBy).toBe(`prefect/${IDS.flowRun}`);
    expect(startedBy).toMatch(ECS_STARTED_BY);
  });

  it.each([
    ['ours', `prefect/${IDS.flowRun}`, IDS.flowRun],
    ['the legacy prefect: form', `prefect:${IDS.flowRun}`, IDS.flowRun],
    ['upper-case ids, normalised', `prefect/${IDS.flowRun.toUpperCase()}`, IDS.flowRun],
    ['an ECS service task', 'ecs-svc/1234567890', undefined],
    ['our prefix without a UUID', 'prefect/not-a-uuid', undefined],
    ['nothing', undefined, undefined],
    ['empty', '', undefined],
  ])('flowRunIdFromStartedBy: %s', (_name, startedBy, expected) => {
    expect(flowRunIdFromStartedBy(startedBy)).toBe(expected);
  });
});

describe('infrastructure_pid', () => {
  const task = {
    clusterArn: 'arn:aws:ecs:us-east-1:123456789012:cluster/prefect',
    taskArn: 'arn:aws:ecs:us-east-1:123456789012:task/prefect/0123456789abcdef0123456789abcdef',
  };

  it.each([
    ['the configured cluster name', 'prefect', `prefect::${task.taskArn}`],
    ['the cluster ARN when none is configured', null, `${task.clusterArn}::${task.taskArn}`],
    ['the cluster ARN when the configured one is empty', '', `${task.clusterArn}::${task.taskArn}`],
  ])('uses %s', (_name, configured, expected) => {
    expect(infrastructurePid(configured, task)).toBe(expected);
  });

  it.each([
    ['name::arn', `prefect::${task.taskArn}`, { cluster: 'prefect', taskArn: task.taskArn }],
    [
      'arn::arn (split at the first ::)',
      `${task.clusterArn}::${task.taskArn}`,
      { cluster: task.clusterArn, taskArn: task.taskArn },
    ],
    ['no separator', task.taskArn, undefined],
    ['an empty cluster', `::${task.taskArn}`, undefined],
    ['an empty task', 'prefect::', undefined],
  ])('parses %s', (_name, pid, expected) => {
    expect(parseInfrastructurePid(pid)).toEqual(expected);
  });
});
