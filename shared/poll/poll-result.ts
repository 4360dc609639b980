/** What a poll did, per pool: the value `pollPools` resolves with, and what the webhook sums. */

/** Where in a pool's poll something went wrong. */
export type PollStage =
  | 'read-pool'
  | 'heartbeat'
  | 'get-scheduled'
  | 'claim'
  | 'label'
  | 'enqueue'
  | 'cancel'
  | 'orphan'
  /** A bug: something threw that should not have. */
  | 'internal';

/** One problem, with the flow run it concerns when there is one. */
export interface PollError {
  stage: PollStage;
  message: string;
  flowRunId?: string;
}

/** One pool's poll. */
export interface PoolPollResult {
  name: string;
  /** Set when the pool was not polled for new runs (heartbeat and sweeps still ran). */
  skipped?: 'paused';
  /** Runs claimed (PENDING ACCEPTed for us). */
  claimed: number;
  /** Claimed runs whose launch message SQS accepted. */
  enqueued: number;
  /** CANCELLING runs set CANCELLED. */
  cancelled: number;
  /** ECS tasks of recently CANCELLED runs that were still running and got StopTask. */
  stopped: number;
  /** Orphans whose launch message was sent again. */
  requeued: number;
  /** Orphans given up on (CRASHED). */
  crashed: number;
  errors: PollError[];
}

/** A whole poll. */
export interface PollResult {
  pools: PoolPollResult[];
}

/** Totals over every pool, e.g. for the webhook's `{claimed, enqueued}`. */
export interface PollTotals {
  claimed: number;
  enqueued: number;
  cancelled: number;
  stopped: number;
  requeued: number;
  crashed: number;
  errors: number;
}

/** An empty result for a pool. */
export const emptyPoolResult = (name: string): PoolPollResult => ({
  name,
  claimed: 0,
  enqueued: 0,
  cancelled: 0,
  stopped: 0,
  requeued: 0,
  crashed: 0,
  errors: [],
});

/**
 * Sums a poll over its pools.
 *
 * @example
 * const { claimed, enqueued } = summarizePoll(await pollPools({ pools: ['ecs'] }, deps));
 */
export const summarizePoll = (result: PollResult): PollTotals =>
  result.pools.reduce<PollTotals>(
    (totals, pool) => ({
      claimed: totals.claimed + pool.claimed,
      enqueued: totals.enqueued + pool.enqueued,
      cancelled: totals.cancelled + pool.cancelled,
      stopped: totals.stopped + pool.stopped,
      requeued: totals.requeued + pool.requeued,
      crashed: totals.crashed + pool.crashed,
      errors: totals.errors + pool.errors.length,
    }),
    { claimed: 0, enqueued: 0, cancelled: 0, stopped: 0, requeued: 0, crashed: 0, errors: 0 }
  );
