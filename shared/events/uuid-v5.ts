import { createHash } from 'node:crypto';

const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * A name-based UUID (RFC 9562 §5.5, version 5): SHA-1 of the namespace's 16 bytes followed by the
 * name's UTF-8 bytes, cut to 16 bytes, with the version (5) and variant (10) bits set. The same
 * namespace and name always give the same id, which is what lets a retried or redelivered emitter
 * send an event again without making a second one (Prefect stores events by id and ignores one it
 * already has: `write_events`, src/prefect/server/events/storage/database.py).
 *
 * @example
 * uuidV5('www.example.com', '6ba7b810-9dad-11d1-80b4-00c04fd430c8');
 * // '2ed6657d-e927-568b-95e1-2665a8aea6a2' (Python's uuid.uuid5(uuid.NAMESPACE_DNS, …))
 */
export const uuidV5 = (name: string, namespace: string): string => {
  if (!UUID_PATTERN.test(namespace)) throw new RangeError(`Not a UUID: ${namespace}`);
  const digest = createHash('sha1')
    .update(Buffer.from(namespace.replaceAll('-', ''), 'hex'))
    .update(name, 'utf8')
    .digest();
  const bytes = digest.subarray(0, 16);
  bytes[6] = ((bytes[6] ?? 0) & 0x0f) | 0x50;
  bytes[8] = ((bytes[8] ?? 0) & 0x3f) | 0x80;
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
};
