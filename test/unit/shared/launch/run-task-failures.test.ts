import { describe, expect, it } from 'vitest';
import { classifyRunTaskFailure } from '../../../../shared/launch/run-task-failures.ts';

describe('classifyRunTaskFailure', () => {
  it.each([
    ['RESOURCE:MEMORY', true],
    ['RESOURCE:CPU', true],
    ['RESOURCE:ENI', true],
    ['AGENT', true],
    [
      'Capacity is unavailable at this time. Please try again later or in a different availability zone',
      true,
    ],
    ['INACTIVE', true],
    ['SOMETHING_NEW', true],
    ['MISSING', false],
    ['ATTRIBUTE', false],
  ])('%s → retryable %s', (reason, retryable) => {
    // Prepare / Act
    const classified = classifyRunTaskFailure({
      reason,
      arn: 'arn:aws:ecs:…:cluster/prefect',
      detail: undefined,
    });
    // Assess
    expect(classified.retryable).toBe(retryable);
    expect(classified.message).toContain(reason);
  });

  it('says what to check for permanent failures', () => {
    // Prepare / Act / Assess
    expect(
      classifyRunTaskFailure({ reason: 'ATTRIBUTE', arn: undefined, detail: 'gpu' }).message
    ).toMatch(/placementConstraints/);
  });
});
