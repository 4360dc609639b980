/**
 * How fast the launcher may call RunTask, and each launcher container's share of it.
 *
 * The limits (per account and Region, token buckets; cited in test/standins/ecs/throttling.ts):
 * - Fargate task launches: burst 100, 20 tasks/s sustained
 *   (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/throttling.html);
 * - RunTask calls that launch on Fargate: 20/s, burst and sustained (same page, "Throttling the
 *   RunTask API in Fargate");
 * - RunTask in the ECS API's "cluster resource modify" bucket (shared with StopTask): burst 100,
 *   40/s sustained (https://docs.aws.amazon.com/AmazonECS/latest/APIReference/request-throttling.html).
 * One run is one RunTask of one task, so 20 launches per second is what the account allows, and
 * that is `LAUNCH_RATE_PER_SECOND`'s default. Raise it only after AWS raised the quotas (docs/deploy.md,
 * "ECS limits").
 *
 * The launchers do not talk to each other. The event source mapping runs at most
 * `LAUNCHER_MAX_CONCURRENCY` invocations at once ("limits the number of concurrent instances of the
 * function that an Amazon SQS event source can invoke", 2–1000; Lambda starts with five batches at
 * a time and adds up to 300 instances a minute while messages wait:
 * https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-scaling.html), each in its own
 * container, so each container paces itself to rate / concurrency (and a burst of one second's
 * worth, shared the same way): together they stay at or under the account's rate without
 * coordination. No batching window (`MaximumBatchingWindowInSeconds` defaults to 0,
 * https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-parameters.html): a lone run is not
 * held back to fill a batch, and a burst fills batches at once anyway.
 */
import * as z from 'zod';

/** The documented sustained Fargate launch rate (tasks and RunTask calls per second). */
export const DEFAULT_LAUNCH_RATE_PER_SECOND = 20;
/** serverless.yml's default `launcherMaxConcurrency` (the event source's `maximumConcurrency`). */
export const DEFAULT_LAUNCHER_MAX_CONCURRENCY = 5;
/** serverless.yml's launcher `batchSize`: records one invocation launches together. */
export const LAUNCHER_BATCH_SIZE = 5;

/** The account-wide pacing of launches, as deployed. */
export interface LaunchPacing {
  /** RunTask calls per second all launchers together may make. */
  ratePerSecond: number;
  /** The event source's `maximumConcurrency`: launcher invocations at once. */
  maxConcurrency: number;
  /** Records per invocation (the event source's `batchSize`). */
  batchSize: number;
}

const PacingEnv = z.object({
  LAUNCH_RATE_PER_SECOND: z.coerce.number().positive().max(10_000).optional(),
  LAUNCHER_MAX_CONCURRENCY: z.coerce.number().int().min(1).max(1000).optional(),
});

/**
 * Reads the pacing from the launcher's environment (`LAUNCH_RATE_PER_SECOND`,
 * `LAUNCHER_MAX_CONCURRENCY`; empty or absent: the defaults). Throws on a value that is not a
 * number in range, so a bad deploy fails loudly on the first invocation.
 *
 * @example
 * readLaunchPacing({ LAUNCH_RATE_PER_SECOND: '40', LAUNCHER_MAX_CONCURRENCY: '10' });
 * // { ratePerSecond: 40, maxConcurrency: 10, batchSize: 5 }
 */
export const readLaunchPacing = (env: Record<string, string | undefined>): LaunchPacing => {
  const blankless = Object.fromEntries(
    Object.entries(env).filter(([, value]) => value !== undefined && value.trim() !== '')
  );
  const parsed = PacingEnv.safeParse(blankless);
  if (!parsed.success) {
    throw new Error(
      `Invalid launch pacing: ${parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`).join('; ')}`
    );
  }
  return {
    ratePerSecond: parsed.data.LAUNCH_RATE_PER_SECOND ?? DEFAULT_LAUNCH_RATE_PER_SECOND,
    maxConcurrency: parsed.data.LAUNCHER_MAX_CONCURRENCY ?? DEFAULT_LAUNCHER_MAX_CONCURRENCY,
    batchSize: LAUNCHER_BATCH_SIZE,
  };
};

/** One container's share: RunTask calls per second and the tokens it may spend at once. */
export interface ContainerShare {
  ratePerSecond: number;
  burst: number;
}

/**
 * One container's share of the account's rate: rate / concurrency per second, and a burst of one
 * second's worth of that (at least one call, so a lone ad-hoc run never waits).
 *
 * @example
 * containerShare({ ratePerSecond: 20, maxConcurrency: 5, batchSize: 5 }); // { ratePerSecond: 4, burst: 4 }
 */
export const containerShare = (pacing: LaunchPacing): ContainerShare => {
  const ratePerSecond = pacing.ratePerSecond / pacing.maxConcurrency;
  return { ratePerSecond, burst: Math.max(1, Math.floor(ratePerSecond)) };
};
