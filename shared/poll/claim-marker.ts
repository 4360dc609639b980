/**
 * How the poller recognises its own claims, atomically with the claim itself: the PENDING
 * proposal's `transition_id` is a UUID (RFC 9562 version 8, "custom") whose first 32 bits are a
 * hash of the worker name, the rest random. The server stores it in the PENDING state's
 * `state_details`, so a run whose claim was ACCEPTed is recognisable even when nothing after the
 * claim succeeded (no label written, no message sent). Invisible in Prefect's UI; other workers'
 * uuid4 transition ids never match (the version nibble differs). The orphan sweep uses this, and
 * the `prefect.worker.name` label written after the claim (`run-labels.ts`), which survives later
 * PENDING sub-states.
 */
import { createHash } from 'node:crypto';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/**
 * The 8 hex digits that mark this worker's claims.
 *
 * @example
 * workerTag('prefect-ecs-serverless'); // e.g. '3b1f9c0a'
 */
export const workerTag = (workerName: string): string =>
  createHash('sha256').update(`prefect-ecs-serverless:${workerName}`).digest('hex').slice(0, 8);

/**
 * A fresh claim `transition_id` for this worker, from a random uuid4 (`randomUUID`): the first
 * group becomes the worker tag, the version nibble 8. 90 random bits remain.
 *
 * @example
 * claimTransitionId('w', () => crypto.randomUUID()); // 'xxxxxxxx-xxxx-8xxx-yxxx-xxxxxxxxxxxx'
 */
export const claimTransitionId = (workerName: string, randomUUID: () => string): string => {
  const random = randomUUID().toLowerCase();
  if (!UUID.test(random)) throw new TypeError(`randomUUID gave a malformed UUID: ${random}`);
  const variant = ((Number.parseInt(random.charAt(19), 16) & 0x3) | 0x8).toString(16);
  return `${workerTag(workerName)}-${random.slice(9, 13)}-8${random.slice(15, 18)}-${variant}${random.slice(20)}`;
};

/**
 * Whether a `transition_id` is one of this worker's claims.
 *
 * @example
 * isClaimTransitionIdOf(claimTransitionId('w', randomUUID), 'w'); // true
 */
export const isClaimTransitionIdOf = (
  transitionId: string | null | undefined,
  workerName: string
): boolean => {
  if (!transitionId) return false;
  const id = transitionId.toLowerCase();
  return UUID.test(id) && id.charAt(14) === '8' && id.startsWith(`${workerTag(workerName)}-`);
};
