/**
 * The heart of a poll: page through `get_scheduled_flow_runs`, claim each run (PENDING with a fresh
 * transition id that marks it ours), write the worker and attempt labels (so the launcher finds them
 * in place), then enqueue a launch message per claim with the delay that makes RunTask happen at the
 * scheduled time minus the lead.
 *
 * Order matters for "lose nothing": each page's claims are enqueued before the next page is asked
 * for, so a failure later in the poll never strands earlier claims. A claim whose message SQS did
 * not take (or whose answer was lost) stays PENDING without infrastructure and is recognisable as
 * ours (`claim-marker.ts`): the orphan sweep re-enqueues it.
 */
import { isRetryable } from '../errors/is-retryable.ts';
import type { SetStateResult } from '../prefect/flow-run-calls.ts';
import type { FlowRun, WorkPool } from '../prefect/schemas.ts';
import { interpretClaim } from './claim-decision.ts';
import { claimTransitionId } from './claim-marker.ts';
import { type Claim, enqueueLaunches } from './enqueue-launches.ts';
import { mapWithConcurrency } from './map-with-concurrency.ts';
import { describeError, type ResolvedPollDeps } from './poll-deps.ts';
import type { PoolPollResult } from './poll-result.ts';
import { claimLabels } from './run-labels.ts';

/** The SCHEDULED state name the server gives runs waiting for a deployment concurrency slot. */
export const AWAITING_SLOT = 'AwaitingConcurrencySlot';

const scheduledTimeOf = (run: FlowRun, accepted: string | null, now: Date): Date => {
  const iso = accepted ?? run.next_scheduled_start_time ?? run.expected_start_time;
  const time = iso ? new Date(iso) : now;
  return Number.isNaN(time.getTime()) ? now : time;
};

/**
 * A run the server rescheduled for lack of a deployment concurrency slot is proposed again only
 * once its new time has come, not as soon as the prefetch window reaches it: otherwise every poll
 * (and every webhook call an `AwaitingConcurrencySlot` event triggers) would be answered with one
 * more REJECT, one more state and one more event, as fast as we poll.
 */
const isWaitingForSlot = (run: FlowRun, now: Date): boolean => {
  if (run.state_name !== AWAITING_SLOT) return false;
  const next = run.next_scheduled_start_time
    ? Date.parse(run.next_scheduled_start_time)
    : Number.NaN;
  return Number.isFinite(next) && next > now.getTime();
};

/**
 * Proposes the claim without resending it blindly: a claim is right only while the run is
 * SCHEDULED, and Prefect would accept a late PENDING even after the run completed elsewhere. On a
 * retryable failure the run is read again: still SCHEDULED → propose again (same transition id, so
 * a first write that did happen is answered REJECT with our own id, which `interpretClaim` takes as
 * ours); our claim already there → the claim as the server has it; anything else → `undefined`.
 */
const proposeClaim = async (
  run: FlowRun,
  transitionId: string,
  deps: ResolvedPollDeps
): Promise<SetStateResult | undefined> => {
  const proposal = {
    type: 'PENDING',
    name: 'Pending',
    stateDetails: { transitionId },
  } as const;
  for (let decision = 1; ; decision++) {
    try {
      return await deps.prefect.setFlowRunState(run.id, proposal, { replay: false });
    } catch (error) {
      if (!isRetryable(error) || decision >= CLAIM_DECISIONS) throw error;
    }
    const current = await deps.prefect.readFlowRun(run.id);
    const state = current.state;
    if (state?.type === 'PENDING' && state.state_details.transition_id === transitionId) {
      return {
        status: 'ACCEPT',
        state,
        details: { type: 'accept_details' },
        stateWritten: true,
        transitionId,
      };
    }
    if (state?.type !== 'SCHEDULED') return undefined;
  }
};

/** Proposals of one claim before the failure goes to the poll's errors. */
const CLAIM_DECISIONS = 3;

/** Proposes PENDING for one run; resolves with the claim when it is ours. */
const claimRun = async (
  run: FlowRun,
  pool: WorkPool,
  deps: ResolvedPollDeps,
  result: PoolPollResult
): Promise<Claim | undefined> => {
  const { logger, options } = deps;
  const transitionId = claimTransitionId(options.workerName, deps.randomUUID);
  const log = { pool: pool.name, flow_run_id: run.id, flow_run_name: run.name };
  try {
    const answer = await proposeClaim(run, transitionId, deps);
    if (answer === undefined) {
      logger.debug('Flow run not claimed', {
        ...log,
        reason: 'it moved on while the claim failed',
      });
      return undefined;
    }
    const verdict = interpretClaim(answer, transitionId);
    if (!verdict.claimed) {
      logger.debug('Flow run not claimed', { ...log, reason: verdict.reason });
      return undefined;
    }
    const claimedAt = new Date(verdict.claimedAt);
    return {
      flowRunId: run.id,
      transitionId,
      scheduledTime: scheduledTimeOf(run, verdict.scheduledTime, deps.now()),
      claimedAt: Number.isNaN(claimedAt.getTime()) ? deps.now() : claimedAt,
    };
  } catch (error) {
    // The server may or may not have written our PENDING: if it did, the run carries our
    // transition id and the orphan sweep picks it up; if not, it is still SCHEDULED for the next poll.
    const message = `Claim failed: ${describeError(error)}`;
    result.errors.push({ stage: 'claim', flowRunId: run.id, message });
    logger.warn(message, log);
    return undefined;
  }
};

/**
 * Writes the worker and attempt labels on the claimed runs; a failure only costs the write, since
 * the launcher writes them before RunTask when they are missing.
 */
const labelClaims = async (
  claims: readonly Claim[],
  pool: WorkPool,
  deps: ResolvedPollDeps,
  result: PoolPollResult
): Promise<void> => {
  let unsupported = false;
  await mapWithConcurrency(claims, deps.options.claimConcurrency, async (claim) => {
    if (unsupported) return;
    try {
      const outcome = await deps.prefect.updateFlowRunLabels(
        claim.flowRunId,
        claimLabels(deps.options.workerName, pool, claim.transitionId)
      );
      if (outcome === 'unsupported') unsupported = true;
    } catch (error) {
      const message = `Could not label the claimed run: ${describeError(error)}`;
      result.errors.push({ stage: 'label', flowRunId: claim.flowRunId, message });
      deps.logger.warn(message, { pool: pool.name, flow_run_id: claim.flowRunId });
    }
  });
  if (unsupported) {
    deps.logger.debug('Flow-run labels are not supported by this Prefect server (before 3.2)', {
      pool: pool.name,
    });
  }
};

/**
 * Claims and enqueues every due run of the pool, page by page, until a short page, a page with no
 * new claim, or `maxRunsPerPoll`.
 */
export const claimScheduledRuns = async (
  pool: WorkPool,
  deps: ResolvedPollDeps,
  result: PoolPollResult
): Promise<void> => {
  const { options, logger } = deps;
  const seen = new Set<string>();
  let budget = options.maxRunsPerPoll;
  while (budget > 0) {
    const limit = Math.min(options.limit, budget);
    let page: FlowRun[];
    try {
      const scheduledBefore = new Date(deps.now().getTime() + options.prefetchSeconds * 1000);
      page = (
        await deps.prefect.getScheduledFlowRuns(pool.name, {
          ...(options.workQueues.length > 0 ? { workQueueNames: options.workQueues } : {}),
          scheduledBefore,
          limit,
        })
      ).map((item) => item.flow_run);
    } catch (error) {
      const message = `Could not get scheduled flow runs: ${describeError(error)}`;
      result.errors.push({ stage: 'get-scheduled', message });
      logger.error(message, { pool: pool.name });
      return;
    }
    const fresh = page.filter((run) => !seen.has(run.id));
    for (const run of fresh) seen.add(run.id);
    budget -= fresh.length;
    const now = deps.now();
    const claimable = fresh.filter((run) => !isWaitingForSlot(run, now));
    const claims = (
      await mapWithConcurrency(claimable, options.claimConcurrency, (run) =>
        claimRun(run, pool, deps, result)
      )
    ).filter((claim): claim is Claim => claim !== undefined);
    result.claimed += claims.length;
    // Labels first: the launcher then finds the attempt label in place and writes nothing.
    await labelClaims(claims, pool, deps, result);
    result.enqueued += (await enqueueLaunches(claims, pool.name, deps, result)).sent.length;
    if (page.length < limit || claims.length === 0) return;
  }
};
