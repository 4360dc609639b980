/**
 * Sending launch messages for claimed runs: one `SendMessageBatch` entry per claim, delayed so the
 * launcher sees it at the scheduled time minus the lead. The body is the launcher's own schema
 * (`buildLaunchMessage`), validated here so a bad message fails at the sender.
 */
import { buildLaunchMessage } from '../launch/launch-message.ts';
import type { OutgoingMessage } from '../queue/queue-sender.ts';
import { launchDelaySeconds } from './launch-delay.ts';
import { describeError, type ResolvedPollDeps } from './poll-deps.ts';
import type { PoolPollResult } from './poll-result.ts';

/** A run the poller claimed (or, for the orphan sweep, still holds). */
export interface Claim {
  flowRunId: string;
  /** The transition id the launcher must find on the run (or a named sub-state after it). */
  transitionId: string;
  scheduledTime: Date;
  /** When the server accepted the claim (its PENDING state's timestamp), when known. */
  claimedAt?: Date | undefined;
  /** 1 for the claim's first message; the orphan sweep sends 2, 3, … */
  attempt?: number;
}

/** What {@link enqueueLaunches} did. */
export interface EnqueueOutcome {
  sent: string[];
  failed: string[];
}

/**
 * Enqueues launch messages for `claims`; records every run not enqueued as an `enqueue` error
 * (the orphan sweep recovers it). Never throws.
 */
export const enqueueLaunches = async (
  claims: readonly Claim[],
  poolName: string,
  deps: ResolvedPollDeps,
  result: PoolPollResult,
  stage: 'enqueue' | 'orphan' = 'enqueue'
): Promise<EnqueueOutcome> => {
  if (claims.length === 0) return { sent: [], failed: [] };
  const { logger, options } = deps;
  const now = deps.now();
  const recovery =
    stage === 'enqueue'
      ? `the orphan sweep re-enqueues it ${options.orphanAfterSeconds} s after it was due`
      : 'the next sweep tries again';
  const messages: OutgoingMessage[] = [];
  const delays = new Map<string, number>();
  const failed: string[] = [];
  for (const claim of claims) {
    try {
      const body = buildLaunchMessage({
        flowRunId: claim.flowRunId,
        workPool: poolName,
        transitionId: claim.transitionId,
        scheduledTime: claim.scheduledTime,
        claimedAt: claim.claimedAt,
        attempt: claim.attempt ?? 1,
      });
      const delaySeconds =
        stage === 'enqueue' ? launchDelaySeconds(claim.scheduledTime, now, options.leadSeconds) : 0;
      delays.set(claim.flowRunId, delaySeconds);
      messages.push({ id: claim.flowRunId, body: JSON.stringify(body), delaySeconds });
    } catch (error) {
      failed.push(claim.flowRunId);
      const message = `Could not build the launch message: ${describeError(error)}`;
      result.errors.push({ stage, flowRunId: claim.flowRunId, message });
      logger.error(message, { pool: poolName, flow_run_id: claim.flowRunId });
    }
  }
  const outcome = await deps.queue.sendMessages(options.launchQueueUrl, messages);
  for (const id of outcome.sent) {
    logger.info(stage === 'enqueue' ? 'Flow run claimed and enqueued' : 'Orphan re-enqueued', {
      pool: poolName,
      flow_run_id: id,
      delay_seconds: delays.get(id),
    });
  }
  for (const failure of outcome.failed) {
    failed.push(failure.id);
    const message = `Launch message not sent (${failure.code}: ${failure.message}); ${recovery}`;
    result.errors.push({ stage, flowRunId: failure.id, message });
    logger.error(message, { pool: poolName, flow_run_id: failure.id });
  }
  return { sent: outcome.sent, failed };
};
