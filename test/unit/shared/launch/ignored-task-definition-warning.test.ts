import { describe, expect, it } from 'vitest';
import { ignoredTaskDefinitionWarning } from '../../../../shared/launch/ignored-task-definition-warning.ts';

const ARN = 'arn:aws:ecs:us-east-1:123456789012:task-definition/etl:3';

describe('ignoredTaskDefinitionWarning', () => {
  it('names each template setting a given task definition makes moot, as prefect-aws warns', () => {
    // Prepare
    const templated = {
      containerDefinitions: [{ image: 'repo/etl:2', name: 'prefect' }],
      cpu: '1024',
    };
    // Act
    const warning = ignoredTaskDefinitionWarning(ARN, templated);
    // Assess
    expect(warning).toContain(ARN);
    expect(warning).toContain(
      'containerDefinitions[0].image, containerDefinitions[0].name, cpu. RunTask cannot'
    );
    expect(warning).toContain('Unset task_definition_arn');
  });

  it('stays quiet when the template leaves the task definition unset (the default template)', () => {
    // Prepare: unset placeholders are removed, leaving an empty container entry
    const templated = { containerDefinitions: [{}], family: '', executionRoleArn: null };
    // Act
    const warning = ignoredTaskDefinitionWarning(ARN, templated);
    // Assess
    expect(warning).toBeUndefined();
  });

  it('lists at most ten settings and counts the rest', () => {
    // Prepare
    const templated = Object.fromEntries(Array.from({ length: 12 }, (_, i) => [`k${i}`, 'v']));
    // Act
    const warning = ignoredTaskDefinitionWarning(ARN, templated) ?? '';
    // Assess
    expect(warning).toContain('k9 and 2 more.');
    expect(warning).not.toContain('k10');
  });
});
