/**
 * Splitting messages into SQS `SendMessageBatch` requests: at most 10 entries and at most 256 KiB of
 * message bodies per request (SQS counts body and attribute bytes; we send no attributes). SQS has
 * allowed 1 MiB per message and per batch since 2025; 256 KiB also fits a queue whose
 * `MaximumMessageSize` is still the old 262,144, and launch messages are a few hundred bytes.
 */
import type { OutgoingMessage } from './queue-sender.ts';

/** SQS's limits for one `SendMessageBatch`. */
export interface BatchLimits {
  /** Entries per request (SQS: 10). */
  maxEntries: number;
  /** Sum of the bodies' UTF-8 bytes per request (SQS: 1,048,576, and the same for one message). */
  maxBytes: number;
}

/** The limits we send within: SQS's 10 entries, and 256 KiB (see the module comment). */
export const SQS_BATCH_LIMITS: BatchLimits = { maxEntries: 10, maxBytes: 262_144 };

/** Batches in order, plus the messages too large to send at all. */
export interface BatchPlan {
  batches: OutgoingMessage[][];
  oversize: OutgoingMessage[];
}

/**
 * Packs messages greedily, in order, into batches within `limits`. A message larger than
 * `maxBytes` on its own cannot be sent and is returned in `oversize`.
 *
 * @example
 * planBatches(Array.from({ length: 23 }, (_, i) => ({ id: `${i}`, body: '{}' }))).batches.length; // 3
 */
export const planBatches = (
  messages: readonly OutgoingMessage[],
  limits: BatchLimits = SQS_BATCH_LIMITS
): BatchPlan => {
  const batches: OutgoingMessage[][] = [];
  const oversize: OutgoingMessage[] = [];
  let current: OutgoingMessage[] = [];
  let currentBytes = 0;
  for (const message of messages) {
    const bytes = Buffer.byteLength(message.body, 'utf8');
    if (bytes > limits.maxBytes) {
      oversize.push(message);
      continue;
    }
    if (current.length >= limits.maxEntries || currentBytes + bytes > limits.maxBytes) {
      batches.push(current);
      current = [];
      currentBytes = 0;
    }
    current.push(message);
    currentBytes += bytes;
  }
  if (current.length > 0) batches.push(current);
  return { batches, oversize };
};
