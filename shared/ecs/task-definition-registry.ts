/**
 * Register task definitions only when their content changes, never per run (DESIGN.md "Task
 * definitions"). The content hash (`hashTaskDefinition`) is kept as a tag on the revision; a warm
 * container remembers `family → {hash, arn}` so a hot launcher makes no ECS call at all for it.
 */
import { EcsApiError } from '../errors/ecs-api-error.ts';
import { LaunchError } from '../errors/launch-error.ts';
import {
  CONCURRENT_REGISTRATION_MESSAGE,
  type DescribedTaskDefinition,
  type EcsApi,
  type RegisterTaskDefinitionInput,
} from './ecs-api.ts';
import { CONTENT_HASH_TAG_KEY } from './task-definition-hash.ts';

/** A revision we know holds the content with this hash. */
export interface MemoEntry {
  hash: string;
  arn: string;
  /** The flow run it was registered for, when registered with `registeredFor`. */
  registeredFor?: string | undefined;
}

/**
 * Tag of a revision registered for one flow run's auto-deregister (`registeredFor`): the run id. A
 * delivery of the same run that finds the revision again (its first RunTask failed and the message
 * came back) still counts it as registered for the run, so its task carries the deregister tag and
 * the reporter deregisters the revision when the task stops; any other run reusing it does not.
 */
export const REGISTERED_FOR_TAG_KEY = 'prefect-ecs-serverless.registered-for';

/** Warm-container memory of the task definitions in use; one per container (module scope). */
export interface TaskDefinitionMemo {
  get(family: string): MemoEntry | undefined;
  set(family: string, entry: MemoEntry): void;
  /** Forget a family (e.g. RunTask said its revision is inactive). */
  delete(family: string): void;
  /** Registrations in flight in this container, by `family\0hash`, so parallel records share one. */
  readonly inflight: Map<string, Promise<EnsuredTaskDefinition>>;
}

/** Families remembered at most; the oldest is forgotten first. */
export const MEMO_CAPACITY = 500;

/**
 * Creates an empty memo.
 *
 * @example
 * const memo = createTaskDefinitionMemo(); // at module scope, once per container
 */
export const createTaskDefinitionMemo = (capacity = MEMO_CAPACITY): TaskDefinitionMemo => {
  const entries = new Map<string, MemoEntry>();
  return {
    get: (family) => entries.get(family),
    set(family, entry) {
      entries.delete(family);
      entries.set(family, entry);
      while (entries.size > capacity) {
        const oldest = entries.keys().next().value;
        if (oldest === undefined) break;
        entries.delete(oldest);
      }
    },
    delete: (family) => {
      entries.delete(family);
    },
    inflight: new Map(),
  };
};

/** What to ensure. */
export interface EnsureTaskDefinitionInput {
  /** The configuration's `task_definition_arn`: used as is, nothing registered or described. */
  taskDefinitionArn?: string | null | undefined;
  /** The built RegisterTaskDefinition input (its `family` names the family). */
  taskDefinition: RegisterTaskDefinitionInput;
  /** `hashTaskDefinition(taskDefinition)`. */
  hash: string;
  /**
   * The flow run id, when the run asks to deregister the revision it registers
   * (auto_deregister_task_definition): see {@link REGISTERED_FOR_TAG_KEY}.
   */
  registeredFor?: string | undefined;
}

/** The revision to run. */
export interface EnsuredTaskDefinition {
  arn: string;
  /** Whether this call registered a new revision (drives the auto-deregister tag). */
  registered: boolean;
}

/** I/O of {@link ensureTaskDefinition}. */
export interface TaskDefinitionRegistryDeps {
  ecs: EcsApi;
  memo: TaskDefinitionMemo;
  /** The tag key that holds the content hash on a revision (default `CONTENT_HASH_TAG_KEY`). */
  hashTagKey?: string;
  sleep?: (ms: number) => Promise<void>;
  /** Uniform in [0, 1), for backoff jitter. */
  random?: () => number;
  /** Registrations tried when families collide (default 5). */
  maxRegisterAttempts?: number;
  /** First backoff in ms (default 500), doubled per attempt up to `maxBackoffMs` (default 8000). */
  baseBackoffMs?: number;
  maxBackoffMs?: number;
}

const isConcurrentRegistration = (error: unknown): boolean =>
  error instanceof EcsApiError &&
  error.code === 'ClientException' &&
  error.message.includes(CONCURRENT_REGISTRATION_MESSAGE);

const matches = (
  described: DescribedTaskDefinition | undefined,
  hash: string,
  hashTagKey: string
): described is DescribedTaskDefinition =>
  described !== undefined &&
  described.taskDefinition.status !== 'INACTIVE' &&
  described.taskDefinition.status !== 'DELETE_IN_PROGRESS' &&
  described.tags.some((tag) => tag.key === hashTagKey && tag.value === hash);

/** The input with our hash tag set (replacing any tag of the same key). */
const withHashTag = (
  input: RegisterTaskDefinitionInput,
  hashTagKey: string,
  hash: string
): RegisterTaskDefinitionInput => ({
  ...input,
  tags: [
    ...(input.tags ?? []).filter((tag) => tag.key !== hashTagKey),
    { key: hashTagKey, value: hash },
  ],
});

const ensureFamily = async (
  family: string,
  input: EnsureTaskDefinitionInput,
  deps: TaskDefinitionRegistryDeps
): Promise<EnsuredTaskDefinition> => {
  const { ecs, memo } = deps;
  const hashTagKey = deps.hashTagKey ?? CONTENT_HASH_TAG_KEY;
  const sleep = deps.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const random = deps.random ?? Math.random;
  const maxAttempts = deps.maxRegisterAttempts ?? 5;
  const base = deps.baseBackoffMs ?? 500;
  const cap = deps.maxBackoffMs ?? 8000;

  const reuse = (described: DescribedTaskDefinition): EnsuredTaskDefinition => {
    const arn = described.taskDefinition.taskDefinitionArn;
    const registeredFor = described.tags.find((tag) => tag.key === REGISTERED_FOR_TAG_KEY)?.value;
    memo.set(family, { hash: input.hash, arn, registeredFor });
    return {
      arn,
      registered: input.registeredFor !== undefined && registeredFor === input.registeredFor,
    };
  };

  const latest = await ecs.describeTaskDefinition(family, { includeTags: true });
  if (matches(latest, input.hash, hashTagKey)) return reuse(latest);

  const tagged = withHashTag(input.taskDefinition, hashTagKey, input.hash);
  const request =
    input.registeredFor === undefined
      ? tagged
      : {
          ...tagged,
          tags: [
            ...(tagged.tags ?? []),
            { key: REGISTERED_FOR_TAG_KEY, value: input.registeredFor },
          ],
        };
  for (let attempt = 1; ; attempt++) {
    try {
      const registered = await ecs.registerTaskDefinition(request);
      const arn = registered.taskDefinition.taskDefinitionArn;
      memo.set(family, { hash: input.hash, arn, registeredFor: input.registeredFor });
      return { arn, registered: true };
    } catch (error) {
      if (!isConcurrentRegistration(error)) throw error;
      if (attempt >= maxAttempts) {
        throw new LaunchError(
          `Task definition family '${family}' is being registered by too many launchers at once (${attempt} attempts); trying again later.`,
          true,
          { cause: error }
        );
      }
      // Full jitter: another launcher is registering this family, probably with our content.
      await sleep(random() * Math.min(cap, base * 2 ** (attempt - 1)));
      const now = await ecs.describeTaskDefinition(family, { includeTags: true });
      if (matches(now, input.hash, hashTagKey)) return reuse(now);
    }
  }
};

/**
 * Returns the task definition ARN to run:
 * 1. the configuration's `task_definition_arn` when given (no ECS call);
 * 2. the memo's revision when its hash is ours (no ECS call);
 * 3. the family's latest ACTIVE revision when its hash tag is ours (one DescribeTaskDefinition);
 * 4. else a new revision, registered with the hash tag. ECS's "Too many concurrent attempts to
 *    create a new revision" is retried with jittered backoff, re-checking (describe) before each
 *    new attempt, since the concurrent registration was probably the same content.
 *
 * Records of one container that need the same family and content share a single registration.
 *
 * @example
 * const { arn, registered } = await ensureTaskDefinition(
 *   { taskDefinitionArn: config.task_definition_arn, taskDefinition, hash },
 *   { ecs, memo }
 * );
 */
export const ensureTaskDefinition = async (
  input: EnsureTaskDefinitionInput,
  deps: TaskDefinitionRegistryDeps
): Promise<EnsuredTaskDefinition> => {
  if (input.taskDefinitionArn) return { arn: input.taskDefinitionArn, registered: false };
  const family = input.taskDefinition.family;
  if (!family) {
    throw new LaunchError('The rendered task definition has no family.', false);
  }
  const remembered = deps.memo.get(family);
  if (remembered?.hash === input.hash) {
    return {
      arn: remembered.arn,
      registered:
        input.registeredFor !== undefined && remembered.registeredFor === input.registeredFor,
    };
  }

  const key = `${family}\u0000${input.hash}`;
  const inflight = deps.memo.inflight.get(key);
  if (inflight !== undefined) {
    // Another record of this container is registering it; it registered, we reuse.
    const shared = await inflight;
    return { arn: shared.arn, registered: false };
  }
  const pending = ensureFamily(family, input, deps);
  deps.memo.inflight.set(key, pending);
  try {
    return await pending;
  } finally {
    deps.memo.inflight.delete(key);
  }
};
