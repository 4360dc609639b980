import { describe, expect, it } from 'vitest';
import { checkClaim } from '../../../../shared/launch/claim.ts';
import type { LaunchMessage } from '../../../../shared/launch/launch-message.ts';
import { type FlowRun, FlowRunSchema } from '../../../../shared/prefect/schemas.ts';

const RUN = '0b6c0e4e-8c4f-4f53-9d0e-7f6f3c1d2a10';
const CLAIM = '2d9f0c1e-1111-4222-8333-444455556666';
const OTHER = '7e1a0c1e-1111-4222-8333-444455556666';

const message: LaunchMessage = {
  flow_run_id: RUN,
  work_pool: 'ecs',
  transition_id: CLAIM,
  scheduled_time: '2026-08-21T12:00:00Z',
};

const run = (
  state: { type: string; name: string; transition_id: string | null } | null,
  infrastructurePid: string | null = null
): FlowRun =>
  FlowRunSchema.parse({
    id: RUN,
    name: 'brave-fox',
    flow_id: '11111111-1111-4111-8111-111111111111',
    infrastructure_pid: infrastructurePid,
    state:
      state === null
        ? null
        : {
            id: '22222222-2222-4222-8222-222222222222',
            type: state.type,
            name: state.name,
            timestamp: '2026-08-21T11:59:58Z',
            state_details: { transition_id: state.transition_id },
          },
  });

describe('checkClaim', () => {
  it.each([
    [
      'the claim itself',
      { type: 'PENDING', name: 'Pending', transition_id: CLAIM },
      'transition_id',
    ],
    [
      'a sub-state the reporter set after a task started',
      { type: 'PENDING', name: 'InfrastructurePending', transition_id: OTHER },
      'sub_state',
    ],
    [
      'a Submitting sub-state',
      { type: 'PENDING', name: 'Submitting', transition_id: OTHER },
      'sub_state',
    ],
  ])('owns the run in %s', (_name, state, via) => {
    // Prepare / Act / Assess
    expect(checkClaim(run(state), message)).toEqual({ owned: true, via });
  });

  it('owns a claimed attempt whatever infrastructure_pid an earlier attempt left', () => {
    // Prepare: a retried run, claimed again; Prefect kept the first attempt's pid.
    const retried = run(
      { type: 'PENDING', name: 'Pending', transition_id: CLAIM },
      'prefect::arn:old'
    );
    // Act / Assess
    expect(checkClaim(retried, message)).toEqual({ owned: true, via: 'transition_id' });
  });

  it.each([
    [
      'another claim',
      run({ type: 'PENDING', name: 'Pending', transition_id: OTHER }),
      /claimed by another proposal/,
    ],
    [
      'a run the user cancelled',
      run({ type: 'CANCELLING', name: 'Cancelling', transition_id: OTHER }),
      /CANCELLING \(Cancelling\), no longer PENDING/,
    ],
    ['a running run', run({ type: 'RUNNING', name: 'Running', transition_id: OTHER }), /RUNNING/],
    [
      'an attempt that already has its task (a sub-state with a pid)',
      run(
        { type: 'PENDING', name: 'InfrastructurePending', transition_id: OTHER },
        'prefect::arn:task'
      ),
      /this attempt already has a task: .*prefect::arn:task/,
    ],
    ['a run without state', run(null), /no state/],
  ])('drops the message for %s', (_name, flowRun, reason) => {
    // Prepare / Act
    const check = checkClaim(flowRun, message);
    // Assess
    expect(check.owned).toBe(false);
    expect(check.owned === false && check.reason).toMatch(reason);
  });
});
