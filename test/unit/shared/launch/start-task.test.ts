import { describe, expect, it } from 'vitest';
import type {
  EcsApi,
  LiveTask,
  RunTaskInput,
  RunTaskResult,
} from '../../../../shared/ecs/ecs-api.ts';
import { EcsApiError } from '../../../../shared/errors/ecs-api-error.ts';
import { LaunchError } from '../../../../shared/errors/launch-error.ts';
import { PermanentLaunchError } from '../../../../shared/errors/permanent-launch-error.ts';
import {
  AttemptAlreadyLaunchedError,
  claimClientToken,
  clusterArnOfTask,
  isTaskOfAttempt,
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

const CLAIMED_AT = new Date('2026-03-01T10:00:00.000Z');
const BEFORE_CLAIM = new Date('2026-03-01T09:00:00.000Z');
const AFTER_CLAIM = new Date('2026-03-01T10:00:01.000Z');
const TOKEN = claimClientToken(RUN, CLAIM);
const OTHER_CLAIM = '7c1d0a9e-2222-4333-8444-555566667777';

const task = (id: string, desiredStatus = 'RUNNING', createdAt = AFTER_CLAIM): RunTaskResult => ({
  tasks: [
    {
      taskArn: TASK(id),
      clusterArn: CLUSTER_ARN,
      taskDefinitionArn: input.taskDefinition,
      desiredStatus,
      lastStatus: desiredStatus === 'RUNNING' ? 'PROVISIONING' : 'STOPPED',
      createdAt,
    },
  ],
  failures: [],
});

/** An ECS fake answering RunTask per clientToken from a script, recording calls. */
const fakeEcs = (
  answers: Record<string, RunTaskResult | Error>,
  live: LiveTask[] = []
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

const attempt = {
  runTaskInput: input,
  flowRunId: RUN,
  claimTransitionId: CLAIM,
  claimedAt: CLAIMED_AT,
};

describe('startTaskOnce', () => {
  it("starts the task with the attempt's clientToken (one ECS call)", async () => {
    // Prepare
    const ecs = fakeEcs({ [TOKEN]: task('t1') });
    // Act
    const started = await startTaskOnce(attempt, { ecs });
    // Assess
    expect(started).toEqual({ taskArn: TASK('t1'), clusterArn: CLUSTER_ARN, via: 'run_task' });
    expect(ecs.calls).toEqual([`runTask ${TOKEN}`]);
  });

  it('gives each attempt of the run a token of its own', () => {
    // Prepare / Act
    const second = claimClientToken(RUN, OTHER_CLAIM);
    // Assess
    expect(second).not.toBe(TOKEN);
    expect(TOKEN).not.toBe(RUN);
  });

  it("returns the attempt's task even when it has already stopped, starting nothing else", async () => {
    // Prepare: an earlier delivery of this attempt started the task; it ran and ended.
    const ecs = fakeEcs({ [TOKEN]: task('ended', 'STOPPED') });
    // Act
    const started = await startTaskOnce(attempt, { ecs });
    // Assess
    expect(started.taskArn).toBe(TASK('ended'));
    expect(ecs.calls).toEqual([`runTask ${TOKEN}`]);
  });

  it("adopts the attempt's live task after a ConflictException, never an older attempt's", async () => {
    // Prepare: the older attempt's Spot task is still stopping; the attempt's own task is live.
    const ecs = fakeEcs({ [TOKEN]: conflict() }, [
      { taskArn: TASK('older'), createdAt: AFTER_CLAIM, attempt: OTHER_CLAIM },
      { taskArn: TASK('mine'), createdAt: AFTER_CLAIM, attempt: CLAIM },
    ]);
    // Act
    const started = await startTaskOnce(attempt, { ecs });
    // Assess
    expect(started).toEqual({
      taskArn: TASK('mine'),
      clusterArn: CLUSTER_ARN,
      via: 'attempt_task',
    });
    expect(ecs.calls).toEqual([`runTask ${TOKEN}`, `listTasks prefect prefect/${RUN}`]);
  });

  it('tells an unmarked task of the previous release by its creation after the claim', async () => {
    // Prepare
    const ecs = fakeEcs({ [TOKEN]: conflict() }, [
      { taskArn: TASK('older'), createdAt: BEFORE_CLAIM, attempt: undefined },
      { taskArn: TASK('mine'), createdAt: AFTER_CLAIM, attempt: undefined },
    ]);
    // Act
    const started = await startTaskOnce(attempt, { ecs });
    // Assess
    expect(started.taskArn).toBe(TASK('mine'));
  });

  it("starts nothing after a ConflictException when only an older attempt's task lives", async () => {
    // Prepare
    const ecs = fakeEcs({ [TOKEN]: conflict() }, [
      { taskArn: TASK('older'), createdAt: BEFORE_CLAIM, attempt: OTHER_CLAIM },
    ]);
    // Act
    const failure = startTaskOnce(attempt, { ecs });
    // Assess
    await expect(failure).rejects.toBeInstanceOf(AttemptAlreadyLaunchedError);
    expect(ecs.calls.filter((call) => call.startsWith('runTask'))).toHaveLength(1);
  });

  it('adopts no unmarked live task after a ConflictException when the claim time is unknown', async () => {
    // Prepare
    const ecs = fakeEcs({ [TOKEN]: conflict() }, [
      { taskArn: TASK('any'), createdAt: AFTER_CLAIM, attempt: undefined },
    ]);
    // Act / Assess
    await expect(
      startTaskOnce({ ...attempt, claimedAt: undefined }, { ecs })
    ).rejects.toBeInstanceOf(AttemptAlreadyLaunchedError);
  });

  describe("a message of the previous release (the flow run id was its launcher's token)", () => {
    const legacy = { ...attempt, legacyToken: true };

    it('finds again the live task its launcher started before dying', async () => {
      // Prepare
      const ecs = fakeEcs({ [RUN]: task('started-by-old-launcher') });
      // Act
      const started = await startTaskOnce(legacy, { ecs });
      // Assess
      expect(started).toEqual({
        taskArn: TASK('started-by-old-launcher'),
        clusterArn: CLUSTER_ARN,
        via: 'legacy_token',
      });
      expect(ecs.calls).toEqual([`runTask ${RUN}`]);
    });

    it.each([
      ['has stopped', task('old', 'STOPPED')],
      ["is an older attempt's (created before the claim)", task('old', 'RUNNING', BEFORE_CLAIM)],
      ['conflicts', conflict()],
    ])("uses the attempt's token when the flow run id's task %s", async (_case, answer) => {
      // Prepare
      const ecs = fakeEcs({ [RUN]: answer, [TOKEN]: task('new') });
      // Act
      const started = await startTaskOnce(legacy, { ecs });
      // Assess
      expect(started).toEqual({ taskArn: TASK('new'), clusterArn: CLUSTER_ARN, via: 'run_task' });
      expect(ecs.calls).toEqual([`runTask ${RUN}`, `runTask ${TOKEN}`]);
    });
  });

  it.each([
    ['RESOURCE:MEMORY', LaunchError, true],
    ['MISSING', PermanentLaunchError, false],
  ])('turns a %s failure into a %s', async (reason, type, retryable) => {
    // Prepare
    const ecs = fakeEcs({
      [TOKEN]: { tasks: [], failures: [{ reason, arn: CLUSTER_ARN, detail: undefined }] },
    });
    // Act
    const failure = startTaskOnce(attempt, { ecs });
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
    const ecs = fakeEcs({ [TOKEN]: refused });
    // Act / Assess
    await expect(startTaskOnce(attempt, { ecs })).rejects.toBe(refused);
  });
});

describe('isTaskOfAttempt', () => {
  const identity = { transitionId: CLAIM, claimedAt: CLAIMED_AT };
  it.each([
    [
      'marked for this attempt, even if created "before" (a skewed clock)',
      { attempt: CLAIM, createdAt: BEFORE_CLAIM },
      true,
    ],
    ['marked for another attempt', { attempt: OTHER_CLAIM, createdAt: AFTER_CLAIM }, false],
    ['unmarked, created after the claim', { createdAt: AFTER_CLAIM }, true],
    ['unmarked, created at the claim', { createdAt: CLAIMED_AT }, true],
    ['unmarked, created before the claim', { createdAt: BEFORE_CLAIM }, false],
    ['unmarked, creation unknown', {}, true],
  ])('%s → %s', (_case, task, expected) => {
    // Prepare / Act / Assess
    expect(isTaskOfAttempt(task, identity)).toBe(expected);
  });

  it('gives an unmarked task the benefit of the doubt when the claim time is unknown', () => {
    // Prepare / Act / Assess
    expect(
      isTaskOfAttempt({ createdAt: BEFORE_CLAIM }, { transitionId: CLAIM, claimedAt: undefined })
    ).toBe(true);
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
