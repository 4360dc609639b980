/**
 * When a launch that failed transiently is tried again. SQS redelivers a failed record once its
 * visibility timeout ends; the launcher sets that timeout per attempt (ChangeMessageVisibility), so
 * retries back off without a hot loop, and the last one lands on the retry deadline.
 */

/** First retry delay in seconds. */
export const BASE_RETRY_DELAY_SECONDS = 15;
/** Longest retry delay in seconds (ChangeMessageVisibility allows up to 12 h). */
export const MAX_RETRY_DELAY_SECONDS = 900;
/** How long a malformed message stays invisible before its next (and equally futile) delivery. */
export const MALFORMED_MESSAGE_VISIBILITY_SECONDS = 900;

/** Inputs to {@link computeRedeliveryDelay}. */
export interface RedeliveryInput {
  /** `ApproximateReceiveCount` of the record: 1 on the first delivery. */
  receiveCount: number;
  /** Epoch ms now. */
  nowMs: number;
  /** Epoch ms after which the run is CRASHED instead of retried. */
  deadlineMs: number;
  /** Uniform in [0, 1), for ±20 % jitter. */
  random: () => number;
}

/**
 * Seconds until the next delivery: 15 s × 2^(receiveCount − 1) ±20 %, at most 900 s, and never past
 * the deadline (so the final attempt happens at the deadline and then gives up). At least 1 s.
 *
 * @example
 * computeRedeliveryDelay({ receiveCount: 3, nowMs: 0, deadlineMs: 900_000, random: () => 0.5 }); // 60
 */
export const computeRedeliveryDelay = ({
  receiveCount,
  nowMs,
  deadlineMs,
  random,
}: RedeliveryInput): number => {
  const exponent = Math.min(Math.max(receiveCount, 1) - 1, 16);
  const base = Math.min(MAX_RETRY_DELAY_SECONDS, BASE_RETRY_DELAY_SECONDS * 2 ** exponent);
  const jittered = base * (1 + 0.2 * (2 * random() - 1));
  const untilDeadline = Math.ceil((deadlineMs - nowMs) / 1000);
  return Math.max(1, Math.round(Math.min(jittered, MAX_RETRY_DELAY_SECONDS, untilDeadline)));
};
