import { describe, expect, it } from 'vitest';
import {
  type FlowRunSubmission,
  prepareForFlowRun,
} from '../../../../shared/jobs/prepare-for-flow-run.ts';
import { validateJobConfiguration } from '../../../../shared/jobs/validate-job-configuration.ts';
import { deployment, flow, flowRun, IDS } from './fixtures.ts';

const API_URL = 'https://api.prefect.cloud/api/accounts/acc/workspaces/ws';

const submission = (overrides: Partial<FlowRunSubmission> = {}): FlowRunSubmission => ({
  flowRun: flowRun(),
  flow: flow(),
  deployment: deployment(),
  workPool: { id: IDS.pool, name: 'ecs-serverless' },
  workerName: 'ecs-serverless-lambda',
  prefectVersion: '3',
  prefectEnvironment: { PREFECT_API_URL: API_URL },
  ...overrides,
});

const templated = (fields: Record<string, unknown> = {}) =>
  validateJobConfiguration({
    task_definition: { containerDefinitions: [{ name: 'prefect' }] },
    ...fields,
  });

describe('prepareForFlowRun: env', () => {
  it('layers Prefect settings, the flow run id, attribution, then the user env', () => {
    // Act
    const { configuration, warnings } = prepareForFlowRun(
      templated({ env: { LOG_LEVEL: 'DEBUG', PREFECT_API_URL: 'http://override/api' } }),
      submission({
        workerId: 'c0de2d4e-1111-4aaa-8bbb-000000000007',
        prefectEnvironment: {
          PREFECT_API_URL: API_URL,
          PREFECT__FLOW_RUN_ID: 'stale',
          PREFECT_LOGGING_LEVEL: 'INFO',
        },
      }),
      {}
    );
    // Assess
    expect(Object.entries(configuration.env)).toEqual([
      ['PREFECT_API_URL', 'http://override/api'],
      ['PREFECT__FLOW_RUN_ID', IDS.run],
      ['PREFECT_LOGGING_LEVEL', 'INFO'],
      ['PREFECT__WORKER_ID', 'c0de2d4e-1111-4aaa-8bbb-000000000007'],
      ['PREFECT__WORKER_NAME', 'ecs-serverless-lambda'],
      ['PREFECT__FLOW_ID', IDS.flow],
      ['PREFECT__FLOW_NAME', 'etl'],
      ['PREFECT__DEPLOYMENT_ID', IDS.deployment],
      ['PREFECT__DEPLOYMENT_NAME', 'etl-prod'],
      ['LOG_LEVEL', 'DEBUG'],
    ]);
    expect(warnings).toEqual([]);
  });

  it('keeps a user null, even over a base layer, so the builders can unset the variable', () => {
    // Act
    const { configuration } = prepareForFlowRun(
      templated({ env: { PREFECT_API_URL: null, LEGACY: null } }),
      submission(),
      {}
    );
    // Assess
    expect(configuration.env.PREFECT_API_URL).toBeNull();
    expect(configuration.env.LEGACY).toBeNull();
  });

  it('leaves deployment attribution out for a run without a deployment', () => {
    // Act
    const { configuration } = prepareForFlowRun(
      templated(),
      submission({ deployment: null, flowRun: flowRun({ deployment_id: null }) }),
      {}
    );
    // Assess
    expect(configuration.env).not.toHaveProperty('PREFECT__DEPLOYMENT_ID');
    expect(configuration.env).not.toHaveProperty('PREFECT__DEPLOYMENT_NAME');
    expect(configuration.env).not.toHaveProperty('PREFECT__WORKER_ID');
    expect(configuration.env.PREFECT__FLOW_ID).toBe(IDS.flow);
  });
});

describe('prepareForFlowRun: Prefect credentials never travel as environment variables', () => {
  it('drops them from the launcher environment with a warning', () => {
    // Act
    const { configuration, warnings } = prepareForFlowRun(
      templated(),
      submission({
        prefectEnvironment: {
          PREFECT_API_URL: API_URL,
          PREFECT_API_KEY: 'pnu_secret',
          PREFECT_API_AUTH_STRING: 'admin:pass',
        },
      }),
      {}
    );
    // Assess
    expect(configuration.env).not.toHaveProperty('PREFECT_API_KEY');
    expect(configuration.env).not.toHaveProperty('PREFECT_API_AUTH_STRING');
    expect(warnings).toEqual([
      expect.stringMatching(
        /^PREFECT_API_KEY and PREFECT_API_AUTH_STRING were left out .*launcher's Prefect environment/
      ),
    ]);
    expect(JSON.stringify({ configuration, warnings })).not.toMatch(/pnu_secret|admin:pass/);
  });

  it('drops them from the job variable env and from the templated container overrides', () => {
    // Prepare
    const env = { PREFECT_API_KEY: 'pnu_user', APP: '1' };
    // Act
    const { configuration, warnings } = prepareForFlowRun(
      templated({
        env,
        task_run_request: {
          overrides: {
            containerOverrides: [{ name: 'prefect', environment: env }, { name: 'sidecar' }],
          },
        },
      }),
      submission(),
      {}
    );
    // Assess
    expect(configuration.env).not.toHaveProperty('PREFECT_API_KEY');
    expect(configuration.env.APP).toBe('1');
    expect(configuration.task_run_request).toEqual({
      overrides: {
        containerOverrides: [{ name: 'prefect', environment: { APP: '1' } }, { name: 'sidecar' }],
      },
    });
    expect(warnings).toEqual([expect.stringContaining('PREFECT_API_KEY was left out')]);
    expect(JSON.stringify(configuration)).not.toContain('pnu_user');
  });

  it('drops them from a [{name, value}] overrides list too', () => {
    // Act
    const { configuration } = prepareForFlowRun(
      templated({
        task_run_request: {
          overrides: {
            containerOverrides: [
              {
                environment: [
                  { name: 'PREFECT_API_AUTH_STRING', value: 'a:b' },
                  { name: 'X', value: '1' },
                ],
              },
            ],
          },
        },
      }),
      submission(),
      {}
    );
    // Assess
    expect(configuration.task_run_request).toEqual({
      overrides: { containerOverrides: [{ environment: [{ name: 'X', value: '1' }] }] },
    });
  });

  it('a null credential is simply dropped, with no warning', () => {
    // Act
    const { configuration, warnings } = prepareForFlowRun(
      templated({ env: { PREFECT_API_KEY: null } }),
      submission(),
      {}
    );
    // Assess
    expect(configuration.env).not.toHaveProperty('PREFECT_API_KEY');
    expect(warnings).toEqual([]);
  });
});

describe('prepareForFlowRun: labels', () => {
  it('layers the prefect.io labels, then the user labels (which win)', () => {
    // Act
    const { configuration } = prepareForFlowRun(
      templated({ labels: { team: 'data', 'prefect.io/flow-run-name': 'custom' } }),
      submission({ prefectVersion: '3.8.3' }),
      {}
    );
    // Assess
    expect(configuration.labels).toEqual({
      'prefect.io/flow-run-id': IDS.run,
      'prefect.io/flow-run-name': 'custom',
      'prefect.io/version': '3.8.3',
      'prefect.io/work-pool-name': 'ecs-serverless',
      'prefect.io/work-pool-id': IDS.pool,
      'prefect.io/worker-name': 'ecs-serverless-lambda',
      'prefect.io/flow-id': IDS.flow,
      'prefect.io/flow-name': 'etl',
      'prefect.io/deployment-id': IDS.deployment,
      'prefect.io/deployment-name': 'etl-prod',
      'prefect.io/deployment-updated': '2026-08-20T09:15:30.123456+00:00',
      team: 'data',
    });
  });

  it('has no deployment labels without a deployment, nor deployment-updated when unknown', () => {
    // Act
    const none = prepareForFlowRun(templated(), submission({ deployment: null }), {});
    const noUpdate = prepareForFlowRun(
      templated(),
      submission({ deployment: deployment({ updated: null }) }),
      {}
    );
    // Assess
    expect(Object.keys(none.configuration.labels).filter((k) => k.includes('deployment'))).toEqual(
      []
    );
    expect(noUpdate.configuration.labels).toHaveProperty('prefect.io/deployment-id');
    expect(noUpdate.configuration.labels).not.toHaveProperty('prefect.io/deployment-updated');
  });
});

describe('prepareForFlowRun: name and command', () => {
  it.each([
    ['unset: the flow run name', null, 'crimson-otter'],
    ['a plain name', 'nightly-etl', 'nightly-etl'],
    [
      'rendered with ctx.flow and ctx.flow_run',
      '{{ ctx.flow.name }}-{{ ctx.flow_run.name }}',
      'etl-crimson-otter',
    ],
    [
      'a whole ctx value that is 0 is falsy: the flow run name',
      '{{ ctx.flow_run.run_count }}',
      'crimson-otter',
    ],
    ['parameters are reachable', 'etl-{{ ctx.flow_run.parameters.day }}', 'etl-2026-08-21'],
    [
      'a whole unset ctx value leaves the name as written (Prefect)',
      '{{ ctx.flow_run.nope }}',
      '{{ ctx.flow_run.nope }}',
    ],
    [
      'rendered empty: the flow run name',
      '{{ ctx.flow.nope }}{{ ctx.flow.nope }}',
      'crimson-otter',
    ],
  ])('name %s', (_case, name, expected) => {
    // Act
    const { configuration } = prepareForFlowRun(templated({ name }), submission(), {});
    // Assess
    expect(configuration.name).toBe(expected);
  });

  it('a whole ctx value that is a truthy number becomes its str()', () => {
    // Act
    const { configuration } = prepareForFlowRun(
      templated({ name: '{{ ctx.flow_run.run_count }}' }),
      submission({ flowRun: flowRun({ run_count: 2 }) }),
      {}
    );
    // Assess
    expect(configuration.name).toBe('2');
  });

  it('renders {{ $NAME }} in the name through the allow-list', () => {
    // Act
    const { configuration, warnings } = prepareForFlowRun(
      templated({ name: 'etl-{{ $STAGE }}-{{ $SECRET }}' }),
      submission(),
      { environment: { STAGE: 'prod', SECRET: 'x' }, allowedEnvironment: ['STAGE'] }
    );
    // Assess
    expect(configuration.name).toBe('etl-prod-');
    expect(warnings).toEqual([expect.stringContaining('SECRET is not in the launcher')]);
  });

  it.each([
    ['unset', null, 'prefect flow-run execute'],
    ['empty', '', 'prefect flow-run execute'],
    ['set', 'python -m etl.main --fast', 'python -m etl.main --fast'],
  ])('command %s', (_case, command, expected) => {
    // Act
    const { configuration } = prepareForFlowRun(templated({ command }), submission(), {});
    // Assess
    expect(configuration.command).toBe(expected);
  });
});
