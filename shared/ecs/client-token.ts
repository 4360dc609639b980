/**
 * RunTask's `clientToken` for one attempt (claim) of a flow run. ECS answers a repeated token
 * within about 24 h with the task it started for it, so every delivery of one claim gets one task,
 * and another claim of the same run (a retry, a reschedule) gets a task of its own.
 */
import { createHash } from 'node:crypto';

/**
 * A UUID-shaped digest of the run id and the claim's transition id (36 characters, within ECS's 64
 * and its 33–126 character range).
 *
 * @example
 * claimClientToken('0b6c…', '2d9f…'); // 'a3c1…-…' (always the same for the same pair)
 */
export const claimClientToken = (flowRunId: string, transitionId: string): string => {
  const hex = createHash('sha256').update(`${flowRunId}/${transitionId}`).digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
};
