import { describe, expect, it } from 'vitest';
import {
  DeploymentSchema,
  FlowRunSchema,
  OrchestrationResultSchema,
  StateSchema,
  WorkPoolSchema,
} from '../../../../shared/prefect/schemas.ts';
import {
  deploymentBody,
  flowRunBody,
  orchestrationBody,
  stateBody,
  workPoolBody,
} from './fixtures.ts';

describe('Prefect response schemas', () => {
  it('keep unknown fields and normalise missing collections', () => {
    // Prepare
    const body = flowRunBody({
      job_variables: null,
      labels: null,
      tags: undefined,
      empirical_policy: null,
      brand_new_field: 42,
    });
    // Act
    const run = FlowRunSchema.parse(body);
    // Assess
    expect(run).toMatchObject({ job_variables: {}, labels: {}, tags: [], brand_new_field: 42 });
    expect(run.empirical_policy.retry_type).toBeNull();
  });

  it('read the core FlowRun shape of get_scheduled_flow_runs (no work_pool_name, state null)', () => {
    // Prepare
    const { work_pool_name: _name, work_pool_id: _id, ...core } = flowRunBody({ state: null });
    // Act
    const run = FlowRunSchema.parse(core);
    // Assess
    expect(run.work_pool_name).toBeNull();
    expect(run.state).toBeNull();
    expect(run.state_type).toBe('SCHEDULED');
  });

  it('are strict on fields we read', () => {
    // Prepare / Act
    const badType = FlowRunSchema.safeParse(flowRunBody({ state_type: 'EXPLODED' }));
    const badId = FlowRunSchema.safeParse(flowRunBody({ id: 'not-a-uuid' }));
    const missingName = WorkPoolSchema.safeParse(workPoolBody({ name: undefined }));
    // Assess
    expect(badType.success).toBe(false);
    expect(badId.success).toBe(false);
    expect(missingName.success).toBe(false);
  });

  it('default state_details to an object with null ids', () => {
    // Prepare / Act
    const state = StateSchema.parse(stateBody({ state_details: null }));
    // Assess
    expect(state.state_details.transition_id).toBeNull();
  });

  it('discriminate orchestration details by type', () => {
    // Prepare / Act
    const wait = OrchestrationResultSchema.parse(orchestrationBody('WAIT'));
    const bad = OrchestrationResultSchema.safeParse(
      orchestrationBody('ACCEPT', { details: { type: 'mystery_details' } })
    );
    // Assess
    expect(wait.details).toEqual({ type: 'wait_details', delay_seconds: 5, reason: 'wait' });
    expect(bad.success).toBe(false);
  });

  it('take deployment job variables from job_variables, then infra_overrides, then {}', () => {
    // Prepare / Act
    const current = DeploymentSchema.parse(deploymentBody({ infra_overrides: { cpu: 1 } }));
    const legacy = DeploymentSchema.parse(
      deploymentBody({ job_variables: undefined, infra_overrides: { cpu: 1 } })
    );
    const none = DeploymentSchema.parse(deploymentBody({ job_variables: null }));
    // Assess
    expect(current.job_variables).toEqual({ image: 'acct.dkr.ecr/x:1' });
    expect(legacy.job_variables).toEqual({ cpu: 1 });
    expect(none.job_variables).toEqual({});
    expect(none).not.toHaveProperty('infra_overrides');
  });
});
