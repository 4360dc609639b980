import { describe, expect, it } from 'vitest';
import {
  CONCURRENT_REGISTRATION_MESSAGE,
  type DescribedTaskDefinition,
  type EcsApi,
  type RegisterTaskDefinitionInput,
} from '../../../../shared/ecs/ecs-api.ts';
import {
  createTaskDefinitionMemo,
  ensureTaskDefinition,
} from '../../../../shared/ecs/task-definition-registry.ts';
import { EcsApiError } from '../../../../shared/errors/ecs-api-error.ts';
import { LaunchError } from '../../../../shared/errors/launch-error.ts';

const HASH_TAG = 'prefect-ecs-serverless/hash';
const ARN = (family: string, revision: number) =>
  `arn:aws:ecs:us-east-1:123456789012:task-definition/${family}:${revision}`;

interface Revision {
  input: RegisterTaskDefinitionInput;
  status: 'ACTIVE' | 'INACTIVE';
}

/** An in-memory ECS with task-definition families; scriptable register failures. */
const fakeEcs = () => {
  const families = new Map<string, Revision[]>();
  const calls: string[] = [];
  const registerFailures: Error[] = [];
  const onRegisterFailure: (() => void)[] = [];
  const describe = (
    family: string,
    revision: Revision,
    index: number
  ): DescribedTaskDefinition => ({
    taskDefinition: {
      family,
      revision: index + 1,
      status: revision.status,
      taskDefinitionArn: ARN(family, index + 1),
    },
    tags: (revision.input.tags ?? []).map((tag) => ({
      key: tag.key ?? '',
      value: tag.value ?? '',
    })),
  });
  const register = (input: RegisterTaskDefinitionInput): DescribedTaskDefinition => {
    const family = input.family ?? '';
    const revisions = families.get(family) ?? [];
    revisions.push({ input, status: 'ACTIVE' });
    families.set(family, revisions);
    return describe(family, revisions.at(-1) as Revision, revisions.length - 1);
  };
  const ecs: EcsApi = {
    async registerTaskDefinition(input) {
      calls.push(`register ${input.family}`);
      const failure = registerFailures.shift();
      if (failure) {
        onRegisterFailure.shift()?.();
        throw failure;
      }
      return register(input);
    },
    async describeTaskDefinition(family) {
      calls.push(`describe ${family}`);
      const revisions = families.get(family) ?? [];
      for (let i = revisions.length - 1; i >= 0; i--) {
        const revision = revisions[i] as Revision;
        if (revision.status === 'ACTIVE') return describe(family, revision, i);
      }
      return undefined;
    },
    runTask: async () => ({ tasks: [], failures: [] }),
    listLiveTasksStartedBy: async () => [],
  };
  return { ecs, calls, families, registerFailures, onRegisterFailure, register };
};

const definition = (
  family: string,
  image = 'prefecthq/prefect:3-latest'
): RegisterTaskDefinitionInput => ({
  family,
  containerDefinitions: [{ name: 'prefect', image }],
  tags: [{ key: 'owner', value: 'data' }],
});

const concurrent = () =>
  new EcsApiError(
    `ECS registerTaskDefinition failed: ClientException: ${CONCURRENT_REGISTRATION_MESSAGE}. (retryable)`,
    { operation: 'registerTaskDefinition', code: 'ClientException', status: 400 },
    true
  );

const setUp = () => {
  const fake = fakeEcs();
  const memo = createTaskDefinitionMemo();
  const sleeps: number[] = [];
  const deps = {
    ecs: fake.ecs,
    memo,
    hashTagKey: HASH_TAG,
    random: () => 0.5,
    sleep: async (ms: number) => {
      sleeps.push(ms);
    },
  };
  return { ...fake, memo, deps, sleeps };
};

describe('ensureTaskDefinition', () => {
  it('uses a given task_definition_arn without calling ECS', async () => {
    // Prepare
    const { deps, calls } = setUp();
    // Act
    const result = await ensureTaskDefinition(
      { taskDefinitionArn: ARN('mine', 7), taskDefinition: definition('x'), hash: 'h1' },
      deps
    );
    // Assess
    expect(result).toEqual({ arn: ARN('mine', 7), registered: false });
    expect(calls).toEqual([]);
  });

  it('registers a new family with the hash tag (keeping the other tags)', async () => {
    // Prepare
    const { deps, calls, families } = setUp();
    // Act
    const result = await ensureTaskDefinition(
      { taskDefinition: definition('f'), hash: 'h1' },
      deps
    );
    // Assess
    expect(result).toEqual({ arn: ARN('f', 1), registered: true });
    expect(calls).toEqual(['describe f', 'register f']);
    expect(families.get('f')?.[0]?.input.tags).toEqual([
      { key: 'owner', value: 'data' },
      { key: HASH_TAG, value: 'h1' },
    ]);
  });

  it('makes zero ECS calls on a warm memo hit', async () => {
    // Prepare
    const { deps, calls } = setUp();
    await ensureTaskDefinition({ taskDefinition: definition('f'), hash: 'h1' }, deps);
    calls.length = 0;
    // Act
    const results = [];
    for (let i = 0; i < 100; i++) {
      results.push(
        await ensureTaskDefinition({ taskDefinition: definition('f'), hash: 'h1' }, deps)
      );
    }
    // Assess
    expect(calls).toEqual([]);
    expect(new Set(results.map((r) => r.arn))).toEqual(new Set([ARN('f', 1)]));
  });

  it('reuses the latest ACTIVE revision whose hash tag matches (cold container)', async () => {
    // Prepare
    const { deps, calls, register } = setUp();
    register({ ...definition('f'), tags: [{ key: HASH_TAG, value: 'h1' }] });
    // Act
    const result = await ensureTaskDefinition(
      { taskDefinition: definition('f'), hash: 'h1' },
      deps
    );
    // Assess
    expect(result).toEqual({ arn: ARN('f', 1), registered: false });
    expect(calls).toEqual(['describe f']);
  });

  it('registers exactly one more revision when the content changes', async () => {
    // Prepare
    const { deps, calls } = setUp();
    await ensureTaskDefinition({ taskDefinition: definition('f'), hash: 'h1' }, deps);
    calls.length = 0;
    // Act
    const changed = await ensureTaskDefinition(
      { taskDefinition: definition('f', 'new:image'), hash: 'h2' },
      deps
    );
    const again = await ensureTaskDefinition(
      { taskDefinition: definition('f', 'new:image'), hash: 'h2' },
      deps
    );
    // Assess
    expect(changed).toEqual({ arn: ARN('f', 2), registered: true });
    expect(again).toEqual({ arn: ARN('f', 2), registered: false });
    expect(calls).toEqual(['describe f', 'register f']);
  });

  it('does not reuse a revision with another hash or without the tag', async () => {
    // Prepare
    const { deps, register } = setUp();
    register({ ...definition('f'), tags: [{ key: HASH_TAG, value: 'other' }] });
    register({ ...definition('f'), tags: [] });
    // Act
    const result = await ensureTaskDefinition(
      { taskDefinition: definition('f'), hash: 'h1' },
      deps
    );
    // Assess
    expect(result).toEqual({ arn: ARN('f', 3), registered: true });
  });

  it('shares one registration between parallel records of one container', async () => {
    // Prepare
    const { deps, calls } = setUp();
    // Act
    const results = await Promise.all(
      Array.from({ length: 10 }, () =>
        ensureTaskDefinition({ taskDefinition: definition('f'), hash: 'h1' }, deps)
      )
    );
    // Assess
    expect(calls).toEqual(['describe f', 'register f']);
    expect(results.filter((r) => r.registered)).toHaveLength(1);
    expect(new Set(results.map((r) => r.arn))).toEqual(new Set([ARN('f', 1)]));
  });

  it('on "Too many concurrent attempts" backs off and re-checks, reusing the racing revision', async () => {
    // Prepare
    const { deps, calls, sleeps, registerFailures, onRegisterFailure, register } = setUp();
    registerFailures.push(concurrent());
    // The other launcher's registration lands while ours is refused.
    onRegisterFailure.push(() => {
      register({ ...definition('f'), tags: [{ key: HASH_TAG, value: 'h1' }] });
    });
    // Act
    const result = await ensureTaskDefinition(
      { taskDefinition: definition('f'), hash: 'h1' },
      deps
    );
    // Assess
    expect(result).toEqual({ arn: ARN('f', 1), registered: false });
    expect(calls).toEqual(['describe f', 'register f', 'describe f']);
    expect(sleeps).toEqual([250]);
  });

  it('registers again after the back-off when the racing revision had other content', async () => {
    // Prepare
    const { deps, calls, sleeps, registerFailures } = setUp();
    registerFailures.push(concurrent(), concurrent());
    // Act
    const result = await ensureTaskDefinition(
      { taskDefinition: definition('f'), hash: 'h1' },
      deps
    );
    // Assess
    expect(result).toEqual({ arn: ARN('f', 1), registered: true });
    expect(calls).toEqual([
      'describe f',
      'register f',
      'describe f',
      'register f',
      'describe f',
      'register f',
    ]);
    expect(sleeps).toEqual([250, 500]);
  });

  it('gives up with a retryable error after the last attempt', async () => {
    // Prepare
    const { deps, registerFailures } = setUp();
    registerFailures.push(...Array.from({ length: 5 }, concurrent));
    // Act
    const failure = ensureTaskDefinition({ taskDefinition: definition('f'), hash: 'h1' }, deps);
    // Assess
    await expect(failure).rejects.toBeInstanceOf(LaunchError);
    await expect(failure).rejects.toMatchObject({ retryable: true });
  });

  it('passes other registration errors through', async () => {
    // Prepare
    const { deps, registerFailures } = setUp();
    const refused = new EcsApiError(
      'ECS registerTaskDefinition failed: ClientException: Container.image should not be null or empty.',
      { operation: 'registerTaskDefinition', code: 'ClientException' },
      false
    );
    registerFailures.push(refused);
    // Act / Assess
    await expect(
      ensureTaskDefinition({ taskDefinition: definition('f'), hash: 'h1' }, deps)
    ).rejects.toBe(refused);
  });

  it('checks again after the memo is told a revision went away', async () => {
    // Prepare
    const { deps, calls, families, memo } = setUp();
    await ensureTaskDefinition({ taskDefinition: definition('f'), hash: 'h1' }, deps);
    const first = families.get('f')?.[0];
    if (first) first.status = 'INACTIVE';
    memo.delete('f');
    calls.length = 0;
    // Act
    const result = await ensureTaskDefinition(
      { taskDefinition: definition('f'), hash: 'h1' },
      deps
    );
    // Assess
    expect(result).toEqual({ arn: ARN('f', 2), registered: true });
    expect(calls).toEqual(['describe f', 'register f']);
  });
});
