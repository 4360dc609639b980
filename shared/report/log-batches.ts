/**
 * Splits flow-run logs into `POST /logs/` bodies Prefect accepts. Prefect's own API log handler
 * sends batches of at most 4,000,000 bytes (`PREFECT_LOGGING_TO_API_BATCH_SIZE`) and logs of at most
 * 1,000,000 bytes (`PREFECT_LOGGING_TO_API_MAX_LOG_SIZE`); staying within them keeps us under the
 * request-body limits of Prefect Cloud and of proxies in front of self-hosted servers.
 */
import type { LogInput } from '../prefect/log-calls.ts';

/** Largest request body we send, in bytes. */
export const MAX_LOG_BATCH_BYTES = 4_000_000;
/** Largest single message, in bytes; longer ones are cut. */
export const MAX_LOG_MESSAGE_BYTES = 1_000_000;

const TRUNCATED = ' … [truncated]';

/**
 * Cuts a message to `maxBytes` of UTF-8, never inside a character, marking the cut.
 *
 * @example
 * truncateMessage('x'.repeat(2_000_000)).length; // < 1_000_000
 */
export const truncateMessage = (message: string, maxBytes = MAX_LOG_MESSAGE_BYTES): string => {
  if (Buffer.byteLength(message, 'utf8') <= maxBytes) return message;
  const room = Math.max(0, maxBytes - Buffer.byteLength(TRUNCATED, 'utf8'));
  let cut = Buffer.from(message, 'utf8').subarray(0, room).toString('utf8');
  // A character split by the cut decodes as U+FFFD: drop it.
  if (cut.endsWith('\uFFFD')) cut = cut.slice(0, -1);
  return `${cut}${TRUNCATED}`;
};

/** The bytes one log adds to the JSON array body (its JSON, a comma, some slack for field names). */
const sizeOf = (log: LogInput): number => Buffer.byteLength(JSON.stringify(log), 'utf8') + 64;

/**
 * Groups logs, in order, into batches whose JSON bodies stay under `maxBytes`; each message is cut
 * to {@link MAX_LOG_MESSAGE_BYTES} first.
 *
 * @example
 * batchLogs(lines).length; // 1 for 200 ordinary lines
 */
export const batchLogs = (
  logs: readonly LogInput[],
  maxBytes = MAX_LOG_BATCH_BYTES
): LogInput[][] => {
  const batches: LogInput[][] = [];
  let current: LogInput[] = [];
  let bytes = 2;
  for (const original of logs) {
    const log = { ...original, message: truncateMessage(original.message) };
    const size = sizeOf(log);
    if (current.length > 0 && bytes + size > maxBytes) {
      batches.push(current);
      current = [];
      bytes = 2;
    }
    current.push(log);
    bytes += size;
  }
  if (current.length > 0) batches.push(current);
  return batches;
};
