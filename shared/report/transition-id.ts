/**
 * `state_details.transition_id` of the reporter's proposals, derived from the EventBridge event id.
 * EventBridge delivers at least once; a redelivered event carries the same id, so its proposal
 * carries the same transition id and Prefect's PreventDuplicateTransitions answers REJECT (with the
 * current state) instead of applying it twice (prefect-worker-api.md §4.3).
 */
import { createHash } from 'node:crypto';

/**
 * The project's namespace for name-based UUIDs: uuidv5(RFC 9562 URL namespace,
 * "https://github.com/prefect-ecs-serverless/reporter/transition-id"). Fixed forever: changing it
 * would give redelivered events new transition ids.
 */
export const TRANSITION_ID_NAMESPACE = '72744352-9562-5e69-a0d5-ba5376a76948';

const uuidBytes = (uuid: string): Buffer => Buffer.from(uuid.replaceAll('-', ''), 'hex');

const formatUuid = (bytes: Buffer): string => {
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
};

/**
 * A name-based (version 5, SHA-1) UUID, RFC 9562 §5.5.
 *
 * @example
 * uuidV5('www.example.com', '6ba7b810-9dad-11d1-80b4-00c04fd430c8');
 * // '2ed6657d-e927-568b-95e1-2665a8aea6a2'
 */
export const uuidV5 = (name: string, namespace: string): string => {
  const hash = createHash('sha1')
    .update(uuidBytes(namespace))
    .update(Buffer.from(name, 'utf8'))
    .digest()
    .subarray(0, 16);
  hash[6] = ((hash[6] ?? 0) & 0x0f) | 0x50;
  hash[8] = ((hash[8] ?? 0) & 0x3f) | 0x80;
  return formatUuid(hash);
};

/**
 * The transition id of the proposal an event leads to: the same event id always gives the same
 * UUID, different ids give different ones.
 *
 * @example
 * transitionIdFromEventId('00000000-0000-4000-8000-000000000006'); // always the same UUID
 */
export const transitionIdFromEventId = (eventId: string): string =>
  uuidV5(`ecs-task-state-change:${eventId}`, TRANSITION_ID_NAMESPACE);
