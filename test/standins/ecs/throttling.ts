/**
 * ECS request throttling for the stand-in: token buckets per account and Region, as AWS documents
 * them, answering `ThrottlingException` / `Rate exceeded` (HTTP 400) as ECS does.
 *
 * Sources (read 2026-12):
 * - ECS API: https://docs.aws.amazon.com/AmazonECS/latest/APIReference/request-throttling.html
 *   "Request token bucket sizes and refill rates": every action of a category shares one bucket;
 *   each request takes one token; the bucket refills continuously at the sustained rate up to its
 *   maximum (the burst). The categories we call:
 *   - Cluster resource modify actions (RunTask, StartTask, StopTask, …): burst 100, sustained 40;
 *   - Task definition modify actions (RegisterTaskDefinition, DeregisterTaskDefinition): 20, 1;
 *   - Task definition read actions (DescribeTaskDefinition, ListTaskDefinitions, …): 50, 20;
 *   - Cluster resource read actions (DescribeTasks, ListTasks, …): 100, 20;
 *   - Tag modify actions (TagResource, UntagResource): 20, 10.
 *   Exceeding one: 400 `ThrottlingException`, message "Rate exceeded" (the page's example).
 * - Fargate: https://docs.aws.amazon.com/AmazonECS/latest/developerguide/throttling.html
 *   - task launches: a bucket of *tasks* (one token per task a RunTask starts), burst 100 and 20
 *     per second sustained, On-Demand and Spot separately;
 *   - "Throttling the RunTask API in Fargate": RunTask *calls* that launch on Fargate, 20 per
 *     second, burst and sustained (up to 10 tasks per call).
 *   Launches past these answer the same `ThrottlingException` ("Rate exceeded") on RunTask (the
 *   page's example: "An error occurred (ThrottlingException) when calling the RunTask operation …
 *   Rate exceeded").
 *
 * A request is admitted only when every bucket it draws from holds its tokens; then all of them
 * are taken at once. A refused request takes nothing (ECS's buckets are server-side; a refused
 * call is not counted twice). What the stand-in does not model: the cluster's default capacity
 * provider strategy (a RunTask with neither `launchType` nor `capacityProviderStrategy` is not
 * charged to the Fargate buckets), and the other categories (they never throttle here).
 */
import type { AwsServiceError } from '../aws/service.ts';
import { throttled } from './ecs-errors.ts';

/** One bucket's size: `capacity` tokens (the burst), refilled at `refillPerSecond` (sustained). */
export interface BucketLimits {
  capacity: number;
  refillPerSecond: number;
}

/** The buckets the stand-in keeps; names follow the documentation's categories. */
export type EcsBucketName =
  | 'clusterResourceModify'
  | 'clusterResourceRead'
  | 'taskDefinitionModify'
  | 'taskDefinitionRead'
  | 'tagModify'
  | 'fargateRunTaskCalls'
  | 'fargateOnDemandTasks'
  | 'fargateSpotTasks';

/** The documented defaults (see the module comment for the sources). */
export const DOCUMENTED_ECS_LIMITS: Readonly<Record<EcsBucketName, BucketLimits>> = {
  clusterResourceModify: { capacity: 100, refillPerSecond: 40 },
  clusterResourceRead: { capacity: 100, refillPerSecond: 20 },
  taskDefinitionModify: { capacity: 20, refillPerSecond: 1 },
  taskDefinitionRead: { capacity: 50, refillPerSecond: 20 },
  tagModify: { capacity: 20, refillPerSecond: 10 },
  fargateRunTaskCalls: { capacity: 20, refillPerSecond: 20 },
  fargateOnDemandTasks: { capacity: 100, refillPerSecond: 20 },
  fargateSpotTasks: { capacity: 100, refillPerSecond: 20 },
};

const CATEGORY_OF: Readonly<Record<string, EcsBucketName>> = {
  RunTask: 'clusterResourceModify',
  StartTask: 'clusterResourceModify',
  StopTask: 'clusterResourceModify',
  DescribeTasks: 'clusterResourceRead',
  ListTasks: 'clusterResourceRead',
  RegisterTaskDefinition: 'taskDefinitionModify',
  DeregisterTaskDefinition: 'taskDefinitionModify',
  DescribeTaskDefinition: 'taskDefinitionRead',
  ListTaskDefinitions: 'taskDefinitionRead',
  TagResource: 'tagModify',
  UntagResource: 'tagModify',
};

/**
 * Options of {@link createEcsThrottling}: per bucket, other limits or `false` (never throttles).
 * Buckets left out keep their documented limits.
 */
export interface EcsThrottlingOptions {
  buckets?: Partial<Record<EcsBucketName, BucketLimits | false>>;
  /** Epoch ms now; default `Date.now`. The stand-in passes its own clock. */
  nowMs?: () => number;
}

/** Admitted and refused requests of one operation. */
export interface ThrottlingCount {
  admitted: number;
  throttled: number;
}

/** The throttling state of one stand-in. */
export interface EcsThrottling {
  /**
   * Takes the request's tokens, or returns the `ThrottlingException` ECS would answer (and takes
   * nothing) when a bucket it draws from is short.
   */
  admit(operation: string, input: unknown): AwsServiceError | undefined;
  /** Tokens a bucket holds now (refilled to this instant), for tests and benches. */
  tokens(bucket: EcsBucketName): number;
  /** The limits in force. */
  readonly limits: Readonly<Partial<Record<EcsBucketName, BucketLimits>>>;
  /** Per operation: admitted and throttled requests so far. */
  counts(): Record<string, ThrottlingCount>;
}

/** A token bucket on an injectable clock: continuous refill, capped at the capacity. */
export class TokenBucket {
  readonly capacity: number;
  readonly refillPerSecond: number;
  #tokens: number;
  #at: number;

  constructor(limits: BucketLimits, nowMs: number) {
    if (!(limits.capacity > 0) || !(limits.refillPerSecond > 0)) {
      throw new Error(
        `A token bucket needs a positive capacity and refill rate, not ${JSON.stringify(limits)}`
      );
    }
    this.capacity = limits.capacity;
    this.refillPerSecond = limits.refillPerSecond;
    this.#tokens = limits.capacity;
    this.#at = nowMs;
  }

  /** Tokens now (a clock that goes back refills nothing). */
  available(nowMs: number): number {
    if (nowMs > this.#at) {
      this.#tokens = Math.min(
        this.capacity,
        this.#tokens + ((nowMs - this.#at) / 1000) * this.refillPerSecond
      );
      this.#at = nowMs;
    }
    return this.#tokens;
  }

  /** Takes `cost` tokens (call only after `available(now) >= cost`). */
  take(cost: number): void {
    this.#tokens -= cost;
  }
}

interface Charge {
  bucket: EcsBucketName;
  cost: number;
}

const fargateCharges = (input: unknown): Charge[] => {
  if (typeof input !== 'object' || input === null) return [];
  const request = input as {
    count?: unknown;
    launchType?: unknown;
    capacityProviderStrategy?: unknown;
  };
  const count = typeof request.count === 'number' && request.count >= 1 ? request.count : 1;
  const providers = Array.isArray(request.capacityProviderStrategy)
    ? request.capacityProviderStrategy
        .map((item: unknown) => (item as { capacityProvider?: unknown })?.capacityProvider)
        .filter((name): name is string => typeof name === 'string')
    : [];
  let tasks: EcsBucketName | undefined;
  if (request.launchType === 'FARGATE' || providers.includes('FARGATE')) {
    tasks = 'fargateOnDemandTasks';
  } else if (providers.includes('FARGATE_SPOT')) {
    tasks = 'fargateSpotTasks';
  }
  return tasks
    ? [
        { bucket: 'fargateRunTaskCalls', cost: 1 },
        { bucket: tasks, cost: count },
      ]
    : [];
};

/**
 * Throttling with the documented limits, or the given ones.
 *
 * @example
 * const throttling = createEcsThrottling({ buckets: { fargateOnDemandTasks: { capacity: 5, refillPerSecond: 1 } } });
 * throttling.admit('RunTask', { launchType: 'FARGATE' }); // undefined: admitted
 */
export const createEcsThrottling = (options: EcsThrottlingOptions = {}): EcsThrottling => {
  const nowMs = options.nowMs ?? Date.now;
  const limits: Partial<Record<EcsBucketName, BucketLimits>> = {};
  const buckets = new Map<EcsBucketName, TokenBucket>();
  const start = nowMs();
  for (const name of Object.keys(DOCUMENTED_ECS_LIMITS) as EcsBucketName[]) {
    const chosen = options.buckets?.[name] ?? DOCUMENTED_ECS_LIMITS[name];
    if (chosen === false) continue;
    limits[name] = chosen;
    buckets.set(name, new TokenBucket(chosen, start));
  }
  const counts = new Map<string, ThrottlingCount>();
  const count = (operation: string, key: keyof ThrottlingCount) => {
    const entry = counts.get(operation) ?? { admitted: 0, throttled: 0 };
    entry[key] += 1;
    counts.set(operation, entry);
  };

  return {
    limits,
    admit(operation, input) {
      const category = CATEGORY_OF[operation];
      const charges: Charge[] = [
        ...(category ? [{ bucket: category, cost: 1 }] : []),
        ...(operation === 'RunTask' ? fargateCharges(input) : []),
      ].filter((charge) => buckets.has(charge.bucket));
      const now = nowMs();
      const short = charges.some(
        (charge) => (buckets.get(charge.bucket)?.available(now) ?? 0) < charge.cost
      );
      if (short) {
        count(operation, 'throttled');
        return throttled();
      }
      for (const charge of charges) buckets.get(charge.bucket)?.take(charge.cost);
      count(operation, 'admitted');
      return undefined;
    },
    tokens(bucket) {
      return buckets.get(bucket)?.available(nowMs()) ?? Number.POSITIVE_INFINITY;
    },
    counts: () => Object.fromEntries([...counts].map(([op, entry]) => [op, { ...entry }])),
  };
};
