import { describe, expect, it } from 'vitest';
import type { EcsApi, RunTaskInput, RunTaskResult } from '../../../../shared/ecs/ecs-api.ts';
import { EcsApiError } from '../../../../shared/errors/ecs-api-error.ts';
import { LaunchError } from '../../../../shared/errors/launch-error.ts';
import { PermanentLaunchError } from '../../../../shared/errors/permanent-launch-error.ts';
import {
  claimClientToken,
  clusterArnOfTask,
  startTaskOnce,
} from '../../../../shared/launch/start-task.ts';

const RUN = '0b6c0e4e-8c4f-4f53-9d0e-7f6f3c1d2a10';
const CLAIM = '2d9f0c1e-1111-4222-8333-444455556666';
const CLUSTER_ARN = 'arn:aws:ecs:us-east-1:123456789012:cluster/prefect';
const TASK = (id: string) => `arn:aws:ecs:us-east-1:123456789012:task/prefect/${id}`;

const input: RunTaskInput = {
  cluster: 'prefect',
  taskDefinition: 'arn:aws:ecs:us-east-1:123456789012:task-definition/f:1',
  clientToken: RUN,
  startedBy: `prefect/${RUN}`,
};

const task = (id: string, desiredStatus = 'RUNNING'): RunTaskResult => ({
  tasks: [
    {
      taskArn: TASK(id),
      clusterArn: CLUSTER_ARN,
      taskDefinitionArn: input.taskDefinition,
      desiredStatus,
      lastStatus: desiredStatus === 'RUNNING' ? 'PROVISIONING' : 'STOPPED',
      createdAt: new Date(),
    },
  ],
  failures: [],
});

/** An ECS fake answering RunTask per clientToken from a script, recording calls. */
const fakeEcs = (
  answers: Record<string, RunTaskResult | Error>,
  live: string[] = []
): EcsApi & { calls: string[] } => {
  const calls: string[] = [];
  return {
    calls,
    registerTaskDefinition: async () => {
      throw new Error('unused');
    },
    describeTaskDefinition: async () => undefined,
    async runTask(request) {
      calls.push(`runTask ${request.clientToken}`);
      const answer = answers[request.clientToken ?? ''];
      if (answer instanceof Error) throw answer;
      if (!answer) throw new Error(`no scripted answer for ${request.clientToken}`);
      return answer;
    },
    async listLiveTasksStartedBy(cluster, startedBy) {
      calls.push(`listTasks ${cluster} ${startedBy}`);
      return live;
    },
  };
};

const conflict = () =>
  new EcsApiError(
    'ECS runTask failed: ConflictException: The provided clientToken is already in use with a different RunTask request.',
    { operation: 'runTask', code: 'ConflictException', status: 400 },
    false
  );

describe('startTaskOnce', () => {
  it('starts the task with the flow run id as clientToken (one ECS call)', async () => {
    // Prepare
    const ecs = fakeEcs({ [RUN]: task('t1') });
    // Act
    const started = await startTaskOnce(
      { runTaskInput: input, flowRunId: RUN, claimTransitionId: CLAIM },
      { ecs }
    );
    // Assess
    expect(started).toEqual({ taskArn: TASK('t1'), clusterArn: CLUSTER_ARN, via: 'run_task' });
    expect(ecs.calls).toEqual([`runTask ${RUN}`]);
  });

  it('adopts a live task of the run when the token names an ended one (a retried run)', async () => {
    // Prepare
    const ecs = fakeEcs({ [RUN]: task('old', 'STOPPED') }, [TASK('live')]);
    // Act
    const started = await startTaskOnce(
      { runTaskInput: input, flowRunId: RUN, claimTransitionId: CLAIM },
      { ecs }
    );
    // Assess
    expect(started).toEqual({ taskArn: TASK('live'), clusterArn: CLUSTER_ARN, via: 'live_task' });
    expect(ecs.calls).toEqual([`runTask ${RUN}`, `listTasks prefect prefect/${RUN}`]);
  });

  it('starts a new task with a claim-scoped token when the old one ended and none lives', async () => {
    // Prepare
    const token = claimClientToken(RUN, CLAIM);
    const ecs = fakeEcs({ [RUN]: task('old', 'STOPPED'), [token]: task('new') });
    // Act
    const started = await startTaskOnce(
      { runTaskInput: input, flowRunId: RUN, claimTransitionId: CLAIM },
      { ecs }
    );
    // Assess
    expect(started).toEqual({ taskArn: TASK('new'), clusterArn: CLUSTER_ARN, via: 'claim_token' });
    expect(ecs.calls).toEqual([
      `runTask ${RUN}`,
      `listTasks prefect prefect/${RUN}`,
      `runTask ${token}`,
    ]);
  });

  it('treats a ConflictException like an ended token: adopt the live task', async () => {
    // Prepare
    const ecs = fakeEcs({ [RUN]: conflict() }, [TASK('live')]);
    // Act
    const started = await startTaskOnce(
      { runTaskInput: input, flowRunId: RUN, claimTransitionId: CLAIM },
      { ecs }
    );
    // Assess
    expect(started.via).toBe('live_task');
  });

  it('retries later when the claim token conflicts too', async () => {
    // Prepare
    const token = claimClientToken(RUN, CLAIM);
    const ecs = fakeEcs({ [RUN]: conflict(), [token]: conflict() });
    // Act / Assess
    await expect(
      startTaskOnce({ runTaskInput: input, flowRunId: RUN, claimTransitionId: CLAIM }, { ecs })
    ).rejects.toMatchObject({ name: 'LaunchError', retryable: true });
  });

  it.each([
    ['RESOURCE:MEMORY', LaunchError, true],
    ['MISSING', PermanentLaunchError, false],
  ])('turns a %s failure into a %s', async (reason, type, retryable) => {
    // Prepare
    const ecs = fakeEcs({
      [RUN]: { tasks: [], failures: [{ reason, arn: CLUSTER_ARN, detail: undefined }] },
    });
    // Act
    const failure = startTaskOnce(
      { runTaskInput: input, flowRunId: RUN, claimTransitionId: CLAIM },
      { ecs }
    );
    // Assess
    await expect(failure).rejects.toBeInstanceOf(type);
    await expect(failure).rejects.toMatchObject({ retryable, flowRunId: RUN });
  });

  it('passes refused calls through', async () => {
    // Prepare
    const refused = new EcsApiError(
      'ECS runTask failed: ClusterNotFoundException',
      { operation: 'runTask', code: 'ClusterNotFoundException' },
      false
    );
    const ecs = fakeEcs({ [RUN]: refused });
    // Act / Assess
    await expect(
      startTaskOnce({ runTaskInput: input, flowRunId: RUN, claimTransitionId: CLAIM }, { ecs })
    ).rejects.toBe(refused);
  });
});

describe('claimClientToken / clusterArnOfTask', () => {
  it('derives a stable UUID-shaped token per claim', () => {
    // Prepare / Act
    const token = claimClientToken(RUN, CLAIM);
    // Assess
    expect(token).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    expect(claimClientToken(RUN, CLAIM)).toBe(token);
    expect(claimClientToken(RUN, RUN)).not.toBe(token);
  });

  it('reads the cluster ARN out of a task ARN', () => {
    // Prepare / Act / Assess
    expect(clusterArnOfTask(TASK('abc'))).toBe(CLUSTER_ARN);
    expect(clusterArnOfTask('arn:aws:ecs:us-east-1:123456789012:task/abc')).toBeUndefined();
  });
});
