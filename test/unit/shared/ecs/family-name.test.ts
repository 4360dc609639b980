import { describe, expect, it } from 'vitest';
import { taskDefinitionFamily, toValidFamily } from '../../../../shared/ecs/family-name.ts';
import { IDS } from './job-configuration-factory.ts';

const VALID_FAMILY = /^[a-zA-Z0-9_-]{1,255}$/;

describe('taskDefinitionFamily', () => {
  it.each([
    [
      'a deployment run: prefect_<pool>_<deployment id>',
      { workPoolName: 'ecs-pool', deploymentId: IDS.deployment, flowId: IDS.flow },
      `prefect_ecs-pool_${IDS.deployment}`,
    ],
    [
      'a run without deployment: prefect_<pool>_<flow id>',
      { workPoolName: 'ecs-pool', deploymentId: null, flowId: IDS.flow },
      `prefect_ecs-pool_${IDS.flow}`,
    ],
    [
      "a pool named 'My Pool.v2' gives a valid family (prefect-aws discards its slug and ECS refuses the name)",
      { workPoolName: 'My Pool.v2', deploymentId: IDS.deployment, flowId: IDS.flow },
      `prefect_My-Pool-v2_${IDS.deployment}`,
    ],
    [
      'a valid name keeps its case, so existing families stay the same',
      { workPoolName: 'Prod_ECS', deploymentId: IDS.deployment, flowId: IDS.flow },
      `prefect_Prod_ECS_${IDS.deployment}`,
    ],
  ])('%s', (_name, context, expected) => {
    // Act
    const family = taskDefinitionFamily(undefined, context);
    // Assess
    expect(family).toBe(expected);
    expect(family).toMatch(VALID_FAMILY);
  });

  it('keeps the deployment id when a long pool name must be shortened', () => {
    // Act
    const family = taskDefinitionFamily(undefined, {
      workPoolName: 'p'.repeat(400),
      deploymentId: IDS.deployment,
      flowId: IDS.flow,
    });
    // Assess
    expect(family).toHaveLength(255);
    expect(family.endsWith(`_${IDS.deployment}`)).toBe(true);
    expect(family).toMatch(VALID_FAMILY);
  });

  it.each([
    ['a templated family is used as is', 'etl-family', 'etl-family'],
    ['an invalid templated family is made valid', 'etl family:v2', 'etl-family-v2'],
  ])('%s', (_name, templated, expected) => {
    // Act / Assess
    expect(
      taskDefinitionFamily(templated, { workPoolName: 'x', deploymentId: null, flowId: IDS.flow })
    ).toBe(expected);
  });

  it('cuts any name to 255 characters', () => {
    expect(toValidFamily('a'.repeat(300))).toHaveLength(255);
  });
});
