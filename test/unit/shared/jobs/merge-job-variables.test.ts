import { describe, expect, it } from 'vitest';
import { mergeJobVariables } from '../../../../shared/jobs/merge-job-variables.ts';
import { TemplateError } from '../../../../shared/jobs/template-error.ts';

describe('mergeJobVariables (resolve_for_flow_run step A)', () => {
  it.each([
    [
      'the flow run replaces other keys whole',
      {
        image: 'etl:1',
        cpu: 512,
        network_configuration: { subnets: ['a'], securityGroups: ['x'] },
      },
      { cpu: 1024, network_configuration: { subnets: ['b'] } },
      { image: 'etl:1', cpu: 1024, network_configuration: { subnets: ['b'] } },
    ],
    [
      'env is merged per key, the flow run winning',
      { env: { A: '1', B: 'deployment' } },
      { env: { B: 'flow-run', C: null } },
      { env: { A: '1', B: 'flow-run', C: null } },
    ],
    [
      'a flow-run env replaces a deployment env that is not an object',
      { env: 'A=1' },
      { env: { B: '2' } },
      { env: { B: '2' } },
    ],
    ['no deployment env: the flow run env as is', {}, { env: { B: '2' } }, { env: { B: '2' } }],
    [
      'a null flow-run env merges as {}',
      { env: { A: '1' } },
      { env: null, cpu: 256 },
      { env: { A: '1' }, cpu: 256 },
    ],
    [
      'dotted keys are kept for expansion later',
      { env: { A: '1' } },
      { 'env.B': '2' },
      { env: { A: '1' }, 'env.B': '2' },
    ],
    [
      'labels are replaced whole (only env is merged)',
      { labels: { team: 'data', cost: 'a' } },
      { labels: { team: 'ml' } },
      { labels: { team: 'ml' } },
    ],
  ])('%s', (_case, deploymentVariables, flowRunVariables, expected) => {
    // Act
    const merged = mergeJobVariables(deploymentVariables, flowRunVariables);
    // Assess
    expect(merged).toEqual(expected);
  });

  it('does not modify its inputs', () => {
    // Prepare
    const deploymentVariables = { env: { A: '1' } };
    const flowRunVariables = { env: { B: '2' } };
    // Act
    mergeJobVariables(deploymentVariables, flowRunVariables);
    // Assess
    expect(deploymentVariables).toEqual({ env: { A: '1' } });
    expect(flowRunVariables).toEqual({ env: { B: '2' } });
  });

  it('refuses a flow-run env that is not an object, naming the variable', () => {
    // Act
    const act = () => mergeJobVariables({ env: { A: '1' } }, { env: ['A=1'] });
    // Assess
    expect(act).toThrow(TemplateError);
    expect(act).toThrow(/"env" must be an object/);
  });
});
