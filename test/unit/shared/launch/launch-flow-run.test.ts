import { describe, expect, it } from 'vitest';
import { ATTEMPT_LABEL, ATTEMPT_VARIABLE } from '../../../../shared/ecs/attempt-marker.ts';
import { claimClientToken } from '../../../../shared/ecs/client-token.ts';
import { EcsApiError } from '../../../../shared/errors/ecs-api-error.ts';
import { LaunchError } from '../../../../shared/errors/launch-error.ts';
import { launchFlowRun } from '../../../../shared/launch/launch-flow-run.ts';
import {
  apiError,
  CLAIM,
  flowRun,
  launchDeps,
  legacyMessage,
  message,
  notFound,
  RUN_ID,
} from './fakes.ts';

const TASK_1 = 'arn:aws:ecs:us-east-1:123456789012:task/prefect/task1';

describe('launchFlowRun: the happy path', () => {
  it('renders, registers, runs and records the task', async () => {
    // Prepare
    const { deps, prefect, ecs, ec2 } = launchDeps();
    // Act
    const outcome = await launchFlowRun(message, deps);
    // Assess
    expect(outcome).toMatchObject({
      status: 'launched',
      taskArn: TASK_1,
      infrastructurePid: `prefect::${TASK_1}`,
      registered: true,
      via: 'run_task',
      pidRecorded: true,
    });
    expect(prefect.calls).toEqual([
      'readFlowRun',
      'readDeployment',
      'readFlow',
      'readWorkPool',
      'updateFlowRunLabels',
      'readFlowRun',
      'updateFlowRun',
      'createLogs',
    ]);
    expect(prefect.labels).toMatchObject({
      'prefect.worker.name': deps.settings.workerName,
      [ATTEMPT_LABEL]: CLAIM,
    });
    expect(ecs.calls).toEqual(['describeTaskDefinition', 'registerTaskDefinition', 'runTask']);
    expect(ec2.calls).toEqual(['describeVpcs', 'describeSubnets']);
    expect(ecs.runInputs[0]).toMatchObject({
      clientToken: claimClientToken(RUN_ID, CLAIM),
      startedBy: `prefect/${RUN_ID}`,
      cluster: 'prefect',
      launchType: 'FARGATE',
    });
    expect(prefect.infrastructurePid).toBe(`prefect::${TASK_1}`);
    expect(prefect.logs.at(-1)?.message).toContain(`Created ECS task '${TASK_1}'`);
  });

  it('costs one ECS call and five Prefect calls per run once warm (labels written by the poller)', async () => {
    // Prepare
    const { deps, prefect, ecs, ec2 } = launchDeps();
    await launchFlowRun(message, deps);
    prefect.clearPid();
    prefect.calls.length = 0;
    ecs.calls.length = 0;
    ec2.calls.length = 0;
    // Act
    await launchFlowRun(message, deps);
    // Assess
    expect(ecs.calls).toEqual(['runTask']);
    expect(ec2.calls).toEqual([]);
    expect(prefect.calls).toEqual([
      'readFlowRun',
      'readDeployment',
      'readFlowRun', // after RunTask: did it leave PENDING meanwhile?
      'updateFlowRun',
      'createLogs',
    ]);
  });

  it('tolerates the log failing after the task started, and a refused label before it', async () => {
    // Prepare
    const { deps, prefect, lines } = launchDeps();
    prefect.failOn('updateFlowRunLabels', apiError(422, false));
    prefect.failOn('createLogs', apiError(503, true));
    // Act
    const outcome = await launchFlowRun(message, deps);
    // Assess
    expect(outcome.status).toBe('launched');
    expect(lines.filter((line) => line.level === 'warn').map((line) => line.message)).toEqual([
      'Could not label the flow run with its attempt',
      'Could not post the launch to the flow run logs',
    ]);
  });

  it('retries later, starting nothing, when the attempt label cannot be written for now', async () => {
    // Prepare
    const { deps, prefect, ecs } = launchDeps();
    prefect.failOn('updateFlowRunLabels', apiError(503, true));
    // Act / Assess
    await expect(launchFlowRun(message, deps)).rejects.toMatchObject({ retryable: true });
    expect(ecs.calls).not.toContain('runTask');
  });
});

describe('launchFlowRun: attempts', () => {
  it("launches a claimed attempt whatever pid an earlier attempt left, with the attempt's token", async () => {
    // Prepare: a retried run, claimed again; Prefect kept the first attempt's pid.
    const run = flowRun({
      infrastructure_pid: 'prefect::arn:aws:ecs:us-east-1:123456789012:task/prefect/old',
    });
    const { deps, ecs } = launchDeps({ run });
    // Act
    const outcome = await launchFlowRun(message, deps);
    // Assess
    expect(outcome).toMatchObject({ status: 'launched', infrastructurePid: `prefect::${TASK_1}` });
    const input = ecs.runInputs[0];
    expect(input?.clientToken).toBe(claimClientToken(RUN_ID, CLAIM));
    expect(input?.overrides?.containerOverrides?.[0]?.environment).toContainEqual({
      name: ATTEMPT_VARIABLE,
      value: CLAIM,
    });
  });

  it('goes on under a PENDING sub-state without a pid when the history shows this claim is the latest', async () => {
    // Prepare
    const run = flowRun(
      {},
      { name: 'InfrastructurePending', state_details: { transition_id: RUN_ID } }
    );
    const { deps, prefect } = launchDeps({ run });
    // Act
    const outcome = await launchFlowRun(message, deps);
    // Assess
    expect(outcome.status).toBe('launched');
    expect(prefect.calls.slice(0, 2)).toEqual(['readFlowRun', 'readFlowRunStates']);
  });

  it("drops a message of an older attempt under a sub-state (the history's latest claim is another)", async () => {
    // Prepare
    const run = flowRun(
      {},
      { name: 'InfrastructurePending', state_details: { transition_id: RUN_ID } }
    );
    const { deps, ecs } = launchDeps({ run });
    const older = { ...message, transition_id: '9e8d7c6b-5a49-4838-8726-150413029181' };
    // Act
    const outcome = await launchFlowRun(older, deps);
    // Assess
    expect(outcome).toMatchObject({
      status: 'skipped',
      reason: expect.stringMatching(/claimed by another proposal/),
    });
    expect(ecs.calls).toEqual([]);
  });

  it("tries the previous release's token (the flow run id) first for its messages", async () => {
    // Prepare
    const { deps, ecs } = launchDeps();
    // Act
    const outcome = await launchFlowRun(legacyMessage, deps);
    // Assess
    expect(outcome).toMatchObject({ status: 'launched', via: 'legacy_token' });
    expect(ecs.runInputs.map((input) => input.clientToken)).toEqual([RUN_ID]);
  });
});

describe('launchFlowRun: ownership', () => {
  it.each([
    [
      'another claim',
      flowRun({}, { transition_id: undefined, state_details: { transition_id: RUN_ID } }),
    ],
    ['a cancelled run', flowRun({}, { type: 'CANCELLING', name: 'Cancelling' })],
    [
      'an attempt that has its task (a sub-state with a pid)',
      flowRun(
        { infrastructure_pid: 'prefect::arn' },
        { name: 'InfrastructurePending', state_details: { transition_id: RUN_ID } }
      ),
    ],
    ['a run of another pool', flowRun({ work_pool_name: 'other' })],
  ])('skips %s without touching ECS', async (_name, run) => {
    // Prepare
    const { deps, ecs, prefect } = launchDeps({ run });
    // Act
    const outcome = await launchFlowRun(message, deps);
    // Assess
    expect(outcome.status).toBe('skipped');
    expect(ecs.calls).toEqual([]);
    expect(prefect.calls).toEqual(['readFlowRun']);
  });

  it('skips a run that was deleted', async () => {
    // Prepare
    const { deps, prefect } = launchDeps();
    prefect.failOn('readFlowRun', notFound(`/flow_runs/${RUN_ID}`));
    // Act / Assess
    expect(await launchFlowRun(message, deps)).toEqual({
      status: 'skipped',
      reason: 'the flow run no longer exists',
    });
  });

  it('goes on from a named PENDING sub-state set after the claim', async () => {
    // Prepare
    const run = flowRun(
      {},
      { name: 'InfrastructurePending', state_details: { transition_id: RUN_ID } }
    );
    const { deps } = launchDeps({ run });
    // Act / Assess
    expect((await launchFlowRun(message, deps)).status).toBe('launched');
    expect(CLAIM).not.toBe(RUN_ID);
  });
});

describe('launchFlowRun: failures before the task starts', () => {
  it('cancels (forced) when the deployment no longer exists', async () => {
    // Prepare
    const { deps, prefect, ecs } = launchDeps();
    prefect.failOn('readDeployment', notFound('/deployments/x'));
    // Act
    const outcome = await launchFlowRun(message, deps);
    // Assess
    expect(outcome.status).toBe('cancelled');
    expect(prefect.states).toEqual([
      {
        type: 'CANCELLED',
        message: 'Deployment 22222222-2222-4222-8222-222222222222 no longer exists, cancelled run.',
        force: true,
      },
    ]);
    expect(ecs.calls).toEqual([]);
  });

  it('crashes at once, not forced, on a permanent error with what to fix', async () => {
    // Prepare
    const { deps, prefect, ecs } = launchDeps();
    ecs.script(
      new EcsApiError(
        "ECS runTask failed: ClusterNotFoundException: Cluster not found. ECS cluster 'prefect' was not found in us-east-1. Create it, or set the work pool's (or deployment's) `cluster` job variable to an existing cluster name or ARN. (not retryable)",
        { operation: 'runTask', code: 'ClusterNotFoundException' },
        false
      )
    );
    // Act
    const outcome = await launchFlowRun(message, deps);
    // Assess
    expect(outcome).toMatchObject({ status: 'crashed', retryable: false });
    expect(prefect.states).toEqual([
      {
        type: 'CRASHED',
        message: expect.stringMatching(
          /^Failed to submit flow run to infrastructure: EcsApiError: .*`cluster` job variable/
        ),
        force: false,
      },
    ]);
    expect(prefect.logs.at(-1)).toMatchObject({ level: 40 });
  });

  it('crashes on a template error naming the variable', async () => {
    // Prepare
    const { deps, prefect } = launchDeps();
    prefect.setJobVariables({ cluster: 'prefect', env: 'not an object' });
    // Act
    const outcome = await launchFlowRun(message, deps);
    // Assess
    expect(outcome.status).toBe('crashed');
    expect(prefect.states[0]?.message).toMatch(/ConfigurationError: .*"env"/);
  });

  it('throws a transient error before the deadline, so the queue retries', async () => {
    // Prepare
    const { deps, prefect, ecs } = launchDeps();
    ecs.script({
      tasks: [],
      failures: [{ reason: 'RESOURCE:MEMORY', arn: undefined, detail: undefined }],
    });
    // Act / Assess
    await expect(launchFlowRun(message, deps)).rejects.toMatchObject({ retryable: true });
    expect(prefect.states).toEqual([]);
  });

  it('crashes a transient failure once the deadline has passed', async () => {
    // Prepare
    const { deps, prefect, ecs } = launchDeps({ now: '2026-08-21T12:15:01Z' });
    ecs.script({
      tasks: [],
      failures: [{ reason: 'RESOURCE:MEMORY', arn: undefined, detail: undefined }],
    });
    // Act
    const outcome = await launchFlowRun(message, deps);
    // Assess
    expect(outcome).toMatchObject({ status: 'crashed', retryable: true });
    expect(prefect.states[0]?.message).toMatch(
      /RESOURCE:MEMORY\. The cluster lacks capacity right now\. The launcher kept retrying for 900 s after its scheduled time \(2026-08-21T12:00:00\.000Z\) and has given up/
    );
    expect(prefect.states[0]?.message).not.toMatch(/is retried|retries the launch/);
  });

  it('gives a run claimed late the whole deadline, counted from the claim', async () => {
    // Prepare: claimed 40 minutes after its scheduled time (a paused pool, say); ECS is full.
    const late = { ...message, claimed_at: '2026-08-21T12:40:00.000Z' };
    const capacity = {
      tasks: [],
      failures: [{ reason: 'RESOURCE:MEMORY', arn: undefined, detail: undefined }],
    };
    const during = launchDeps({ now: '2026-08-21T12:54:00Z' });
    during.ecs.script(capacity);
    const after = launchDeps({ now: '2026-08-21T12:55:01Z' });
    after.ecs.script(capacity);
    // Act
    const retried = launchFlowRun(late, during.deps);
    const crashed = await launchFlowRun(late, after.deps);
    // Assess
    await expect(retried).rejects.toMatchObject({ retryable: true });
    expect(during.prefect.states).toEqual([]);
    expect(crashed).toMatchObject({ status: 'crashed', retryable: true });
    expect(after.prefect.states[0]?.message).toMatch(
      /kept retrying for 900 s after the run was claimed \(2026-08-21T12:40:00\.000Z\)/
    );
  });

  it('never crashes runs for its own Prefect credentials (401/403)', async () => {
    // Prepare
    const { deps, prefect } = launchDeps();
    prefect.failOn('readDeployment', apiError(401, false));
    // Act / Assess
    await expect(launchFlowRun(message, deps)).rejects.toMatchObject({ status: 401 });
    expect(prefect.states).toEqual([]);
  });

  it('registers again, right away, when the remembered revision became inactive', async () => {
    // Prepare
    const { deps, ecs, prefect } = launchDeps();
    await launchFlowRun(message, deps);
    prefect.clearPid();
    ecs.calls.length = 0;
    for (const list of ecs.revisions.values()) {
      for (const revision of list) revision.taskDefinition.status = 'INACTIVE';
    }
    ecs.script(
      new EcsApiError(
        'ECS runTask failed: InvalidParameterException: TaskDefinition is inactive (retryable)',
        { operation: 'runTask', code: 'InvalidParameterException' },
        true
      )
    );
    // Act
    const outcome = await launchFlowRun(message, deps);
    // Assess
    expect(outcome).toMatchObject({ status: 'launched', registered: true });
    expect(ecs.calls).toEqual([
      'runTask',
      'describeTaskDefinition',
      'registerTaskDefinition',
      'runTask',
    ]);
  });
});

describe('launchFlowRun: after the task started', () => {
  it('throws a retryable error naming the task when the pid cannot be recorded yet', async () => {
    // Prepare
    const { deps, prefect } = launchDeps({ now: '2026-08-21T13:00:00Z' });
    prefect.failOn('updateFlowRun', apiError(503, true));
    // Act
    const failure = launchFlowRun(message, deps);
    // Assess
    await expect(failure).rejects.toBeInstanceOf(LaunchError);
    await expect(failure).rejects.toMatchObject({ retryable: true, taskArn: TASK_1 });
    expect(prefect.states).toEqual([]);
  });

  it('records the same task on the next delivery', async () => {
    // Prepare
    const { deps, prefect, ecs } = launchDeps();
    prefect.failOn('updateFlowRun', apiError(500, false));
    await launchFlowRun(message, deps).catch(() => undefined);
    // Act
    const outcome = await launchFlowRun(message, deps);
    // Assess
    expect(outcome).toMatchObject({ status: 'launched', taskArn: TASK_1 });
    expect(ecs.taskCount).toBe(1);
    expect(prefect.infrastructurePid).toBe(`prefect::${TASK_1}`);
  });

  it('logs and settles when the run refuses the pid for good', async () => {
    // Prepare
    const { deps, prefect, lines } = launchDeps();
    prefect.failOn('updateFlowRun', apiError(422, false));
    // Act
    const outcome = await launchFlowRun(message, deps);
    // Assess
    expect(outcome).toMatchObject({ status: 'launched', pidRecorded: false });
    expect(lines.some((line) => line.message.includes('will not be cancellable'))).toBe(true);
  });
});
