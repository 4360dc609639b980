/**
 * The `@aws-sdk/client-sqs` adapter of the {@link QueueSender} port: `SendMessageBatch` in batches
 * of at most 10 entries and 256 KiB, a few batches in flight at once. Entries SQS fails without a
 * sender fault (`InternalError`, throttling) are sent again, up to `maxAttempts` in all, with a short
 * backoff; a request that fails as a whole is retried the same way unless the fault is ours (a
 * missing queue, access denied). Whatever is left is reported per message, never thrown.
 */
import { SendMessageBatchCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { type BatchLimits, planBatches, SQS_BATCH_LIMITS } from './message-batches.ts';
import type { OutgoingMessage, QueueSender, SendFailure, SendOutcome } from './queue-sender.ts';

/** Tuning of {@link createSqsQueueSender}; every member has a default. */
export interface SqsQueueSenderOptions {
  /** Tries per message, the first included (default 3). */
  maxAttempts?: number;
  /** First backoff in ms, doubled per attempt (default 100). */
  baseDelayMs?: number;
  /** Batches in flight at once (default 4). */
  concurrency?: number;
  /** Default: SQS's (10 entries, 256 KiB). */
  limits?: BatchLimits;
  sleep?: (ms: number) => Promise<void>;
}

/** SQS's longest message timer on a standard queue. */
export const MAX_DELAY_SECONDS = 900;

interface SdkErrorShape {
  name?: string;
  message?: string;
  $fault?: 'client' | 'server';
}

const clampDelay = (seconds: number): number =>
  Math.min(MAX_DELAY_SECONDS, Math.max(0, Math.round(seconds)));

const defaultSleep = (ms: number): Promise<void> =>
  new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Creates the adapter over an SDK client the caller built (region, endpoint, retries).
 *
 * @example
 * const queue = createSqsQueueSender(new SQSClient({}));
 * const { sent, failed } = await queue.sendMessages(config.launchQueueUrl, messages);
 */
export const createSqsQueueSender = (
  client: Pick<SQSClient, 'send'>,
  options: SqsQueueSenderOptions = {}
): QueueSender => {
  const maxAttempts = Math.max(1, options.maxAttempts ?? 3);
  const baseDelayMs = options.baseDelayMs ?? 100;
  const concurrency = Math.max(1, options.concurrency ?? 4);
  const limits = options.limits ?? SQS_BATCH_LIMITS;
  const sleep = options.sleep ?? defaultSleep;

  /** Sends one batch, retrying what may succeed; resolves with its outcome. */
  const sendBatch = async (queueUrl: string, batch: OutgoingMessage[]): Promise<SendOutcome> => {
    const outcome: SendOutcome = { sent: [], failed: [], requests: 0 };
    // Entry ids must be unique, alphanumeric/-/_ and ≤ 80 characters: use positions, not caller ids.
    let pending = batch.map((message, index) => ({ entryId: `m${index}`, message }));
    for (let attempt = 1; pending.length > 0; attempt += 1) {
      const last = attempt >= maxAttempts;
      const retry: typeof pending = [];
      outcome.requests += 1;
      try {
        const output = await client.send(
          new SendMessageBatchCommand({
            QueueUrl: queueUrl,
            Entries: pending.map(({ entryId, message }) => ({
              Id: entryId,
              MessageBody: message.body,
              ...(message.delaySeconds === undefined
                ? {}
                : { DelaySeconds: clampDelay(message.delaySeconds) }),
            })),
          })
        );
        const byEntry = new Map(pending.map((entry) => [entry.entryId, entry]));
        for (const success of output.Successful ?? []) {
          const entry = success.Id === undefined ? undefined : byEntry.get(success.Id);
          if (entry) {
            outcome.sent.push(entry.message.id);
            byEntry.delete(entry.entryId);
          }
        }
        for (const failure of output.Failed ?? []) {
          const entry = failure.Id === undefined ? undefined : byEntry.get(failure.Id);
          if (!entry) continue;
          byEntry.delete(entry.entryId);
          const senderFault = failure.SenderFault === true;
          if (!senderFault && !last) retry.push(entry);
          else {
            outcome.failed.push({
              id: entry.message.id,
              code: failure.Code ?? 'Unknown',
              message: failure.Message ?? 'SQS did not accept the message',
              senderFault,
            });
          }
        }
        // An entry SQS mentioned in neither list: treat it as failed transiently.
        retry.push(...byEntry.values());
      } catch (error) {
        const shape = error as SdkErrorShape;
        const senderFault = shape.$fault === 'client';
        if (!senderFault && !last) retry.push(...pending);
        else {
          for (const { message } of pending) {
            outcome.failed.push({
              id: message.id,
              code: shape.name ?? 'Error',
              message: shape.message ?? String(error),
              senderFault,
            });
          }
        }
      }
      if (retry.length > 0 && last) {
        for (const { message } of retry) {
          outcome.failed.push({
            id: message.id,
            code: 'NotAcknowledged',
            message: 'SQS acknowledged the request but not this entry',
            senderFault: false,
          });
        }
        break;
      }
      pending = retry;
      if (pending.length > 0) await sleep(baseDelayMs * 2 ** (attempt - 1));
    }
    return outcome;
  };

  return {
    async sendMessages(queueUrl, messages) {
      const ids = new Set(messages.map((message) => message.id));
      if (ids.size !== messages.length) {
        throw new TypeError('sendMessages: message ids must be unique within one call');
      }
      const plan = planBatches(messages, limits);
      const total: SendOutcome = {
        sent: [],
        failed: plan.oversize.map(
          (message): SendFailure => ({
            id: message.id,
            code: 'MessageTooLong',
            message: `The message body is ${Buffer.byteLength(message.body, 'utf8')} bytes; SQS takes at most ${limits.maxBytes}`,
            senderFault: true,
          })
        ),
        requests: 0,
      };
      for (let start = 0; start < plan.batches.length; start += concurrency) {
        const wave = plan.batches.slice(start, start + concurrency);
        for (const outcome of await Promise.all(wave.map((batch) => sendBatch(queueUrl, batch)))) {
          total.sent.push(...outcome.sent);
          total.failed.push(...outcome.failed);
          total.requests += outcome.requests;
        }
      }
      return total;
    },
  };
};
