/**
 * The launch queue inside one process, for `npm start`: the poller sends to it through the
 * {@link QueueSender} port, the launcher changes visibility through the {@link QueueApi} port, and
 * it invokes a consumer with the SQS event Lambda's event source mapping would build (same record
 * shape, `ReportBatchItemFailures` honoured). It behaves as the SQS launch queue does where the
 * launcher's correctness depends on it:
 *
 * - `DelaySeconds` (0–900): a message is invisible until its timer ends;
 * - a received message is invisible for the visibility timeout; a record the consumer reports as
 *   failed (or every record of a batch whose invocation threw) comes back when that timeout ends,
 *   or when the consumer set another with `changeVisibility`; acknowledged records are deleted;
 * - `ApproximateReceiveCount` grows per receive; a message received more than `maxReceiveCount`
 *   times goes to the dead letters instead (the redrive policy of `infra/queues.yml`).
 *
 * Messages live in memory only: a process that stops loses them, which the design tolerates (the
 * runs stay claimed in Prefect and the poller's orphan sweep re-enqueues them).
 */
import { createHash, randomUUID } from 'node:crypto';
import type { SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import type { QueueApi } from '../launch/queue-api.ts';
import { SQS_BATCH_LIMITS } from '../queue/message-batches.ts';
import type {
  OutgoingMessage,
  QueueSender,
  SendFailure,
  SendOutcome,
} from '../queue/queue-sender.ts';

/** SQS's longest message timer on a standard queue. */
export const MAX_DELAY_SECONDS = 900;
/** SQS's longest visibility timeout. */
export const MAX_VISIBILITY_SECONDS = 43_200;

/** What the queue invokes with each batch: the launcher's handler fits. */
export type QueueConsumer = (event: SQSEvent) => Promise<SQSBatchResponse>;

/** Options of {@link InProcessQueue}. */
export interface InProcessQueueOptions {
  /** The URL senders name (messages to any other URL fail as SQS fails them). */
  queueUrl: string;
  /** Invoked with each batch; records not listed in `batchItemFailures` are deleted. */
  consumer: QueueConsumer;
  /** Seconds a received message stays invisible (default 360, as `infra/queues.yml`). */
  visibilityTimeoutSeconds?: number;
  /** Receives before a message goes to the dead letters (default 5, as `infra/queues.yml`). */
  maxReceiveCount?: number;
  /** Records per invocation (default 10, the event source mapping's default). */
  batchSize?: number;
  /** Invocations in flight at once (default 2). */
  maxConcurrentBatches?: number;
  /** For `eventSourceARN` and `awsRegion` (default `us-east-1`). */
  region?: string;
  /** Called when a message goes to the dead letters. */
  onDeadLetter?: (message: QueuedMessage) => void;
  /** Called when an invocation throws (its records come back after the visibility timeout). */
  onConsumerError?: (error: unknown) => void;
  /** Epoch ms (default `Date.now`). */
  now?: () => number;
}

/** A message as the queue keeps it. */
export interface QueuedMessage {
  messageId: string;
  /** The sender's id (e.g. the flow run id). */
  senderId: string;
  body: string;
  sentAt: number;
  /** Epoch ms from which the message can be received. */
  visibleAt: number;
  receiveCount: number;
  firstReceivedAt: number | undefined;
  /** The handle of the latest receive; undefined before the first. */
  receiptHandle: string | undefined;
}

/** Counts, for status lines and the shutdown report. */
export interface QueueStats {
  /** Waiting for their timer (never received yet). */
  delayed: number;
  /** Visible now, not yet received. */
  ready: number;
  /** Received, not deleted (being processed, or waiting to come back). */
  inFlight: number;
  deadLettered: number;
  /** Records acknowledged (deleted). */
  deleted: number;
  /** Consumer invocations. */
  invocations: number;
}

const md5 = (text: string): string => createHash('md5').update(text, 'utf8').digest('hex');

const failure = (id: string, code: string, message: string): SendFailure => ({
  id,
  code,
  message,
  senderFault: true,
});

/**
 * @example
 * const queue = new InProcessQueue({ queueUrl, consumer: launcherHandler });
 * queue.start();
 * await queue.sendMessages(queueUrl, [{ id: runId, body, delaySeconds: 15 }]);
 * // 15 s later: launcherHandler({ Records: [{ messageId, receiptHandle, body, … }] })
 */
export class InProcessQueue implements QueueSender, QueueApi {
  readonly queueUrl: string;
  readonly arn: string;
  private readonly consumer: QueueConsumer;
  private readonly visibilityMs: number;
  private readonly maxReceiveCount: number;
  private readonly batchSize: number;
  private readonly maxConcurrentBatches: number;
  private readonly region: string;
  private readonly now: () => number;
  private readonly onDeadLetter: ((message: QueuedMessage) => void) | undefined;
  private readonly onConsumerError: ((error: unknown) => void) | undefined;
  private readonly messages = new Map<string, QueuedMessage>();
  private readonly deadLetters: QueuedMessage[] = [];
  private readonly running = new Set<Promise<void>>();
  private timer: NodeJS.Timeout | undefined;
  private timerAt = Number.POSITIVE_INFINITY;
  private started = false;
  private closed = false;
  private deleted = 0;
  private invocations = 0;

  constructor(options: InProcessQueueOptions) {
    this.queueUrl = options.queueUrl;
    this.consumer = options.consumer;
    this.visibilityMs = (options.visibilityTimeoutSeconds ?? 360) * 1000;
    this.maxReceiveCount = options.maxReceiveCount ?? 5;
    this.batchSize = Math.max(1, options.batchSize ?? 10);
    this.maxConcurrentBatches = Math.max(1, options.maxConcurrentBatches ?? 2);
    this.region = options.region ?? 'us-east-1';
    this.now = options.now ?? Date.now;
    this.onDeadLetter = options.onDeadLetter;
    this.onConsumerError = options.onConsumerError;
    const name = this.queueUrl.split('/').filter(Boolean).at(-1) ?? 'launch';
    this.arn = `arn:aws:sqs:${this.region}:000000000000:${name}`;
  }

  /** Starts delivering (messages sent before are kept and delivered from now on). */
  start(): void {
    if (this.closed) throw new Error('The queue is closed');
    this.started = true;
    this.pump();
  }

  /**
   * Stops delivering and waits up to `timeoutMs` for the invocations in flight. Resolves `true`
   * when they all finished. Messages left in the queue stay in {@link pending}.
   */
  async close(timeoutMs = 30_000): Promise<boolean> {
    this.closed = true;
    this.clearTimer();
    return this.idle(timeoutMs);
  }

  /** Waits up to `timeoutMs` for the invocations in flight now (and any they lead to). */
  async idle(timeoutMs = 30_000): Promise<boolean> {
    let timeout: NodeJS.Timeout | undefined;
    const expired = new Promise<false>((resolve) => {
      timeout = setTimeout(() => resolve(false), timeoutMs);
    });
    try {
      while (this.running.size > 0) {
        const done = await Promise.race([
          Promise.allSettled([...this.running]).then(() => true),
          expired,
        ]);
        if (!done) return false;
      }
      return true;
    } finally {
      clearTimeout(timeout);
    }
  }

  async sendMessages(queueUrl: string, messages: readonly OutgoingMessage[]): Promise<SendOutcome> {
    const ids = new Set(messages.map((message) => message.id));
    if (ids.size !== messages.length) {
      throw new TypeError('sendMessages: message ids must be unique within one call');
    }
    const outcome: SendOutcome = {
      sent: [],
      failed: [],
      requests: Math.ceil(messages.length / SQS_BATCH_LIMITS.maxEntries),
    };
    const now = this.now();
    for (const message of messages) {
      const problem = this.refusal(queueUrl, message);
      if (problem) {
        outcome.failed.push(problem);
        continue;
      }
      const messageId = randomUUID();
      this.messages.set(messageId, {
        messageId,
        senderId: message.id,
        body: message.body,
        sentAt: now,
        visibleAt: now + (message.delaySeconds ?? 0) * 1000,
        receiveCount: 0,
        firstReceivedAt: undefined,
        receiptHandle: undefined,
      });
      outcome.sent.push(message.id);
    }
    this.pump();
    return outcome;
  }

  async changeVisibility(receiptHandle: string, seconds: number): Promise<void> {
    const message = [...this.messages.values()].find(
      (candidate) => candidate.receiptHandle === receiptHandle
    );
    if (!message) {
      throw new Error(
        `ReceiptHandleIsInvalid: the receipt handle is not the latest of a message in the queue`
      );
    }
    const clamped = Math.max(0, Math.min(MAX_VISIBILITY_SECONDS, Math.round(seconds)));
    message.visibleAt = this.now() + clamped * 1000;
    this.pump();
  }

  /** The messages not deleted yet (delayed, ready, or in flight), oldest first. */
  pending(): QueuedMessage[] {
    return [...this.messages.values()]
      .sort((a, b) => a.sentAt - b.sentAt)
      .map((message) => ({ ...message }));
  }

  /** Messages received more than `maxReceiveCount` times. */
  deadLettered(): QueuedMessage[] {
    return this.deadLetters.map((message) => ({ ...message }));
  }

  stats(): QueueStats {
    const now = this.now();
    let delayed = 0;
    let ready = 0;
    let inFlight = 0;
    for (const message of this.messages.values()) {
      if (message.receiveCount > 0) inFlight += 1;
      else if (message.visibleAt > now) delayed += 1;
      else ready += 1;
    }
    return {
      delayed,
      ready,
      inFlight,
      deadLettered: this.deadLetters.length,
      deleted: this.deleted,
      invocations: this.invocations,
    };
  }

  private refusal(queueUrl: string, message: OutgoingMessage): SendFailure | undefined {
    if (queueUrl !== this.queueUrl) {
      return failure(
        message.id,
        'AWS.SimpleQueueService.NonExistentQueue',
        `The specified queue does not exist: ${queueUrl} (this process has only ${this.queueUrl})`
      );
    }
    const delay = message.delaySeconds ?? 0;
    if (!Number.isInteger(delay) || delay < 0 || delay > MAX_DELAY_SECONDS) {
      return failure(
        message.id,
        'InvalidParameterValue',
        `Value ${delay} for parameter DelaySeconds is invalid. Reason: must be between 0 and ${MAX_DELAY_SECONDS}, if provided.`
      );
    }
    const bytes = Buffer.byteLength(message.body, 'utf8');
    if (bytes > SQS_BATCH_LIMITS.maxBytes) {
      return failure(
        message.id,
        'MessageTooLong',
        `The message body is ${bytes} bytes; SQS takes at most ${SQS_BATCH_LIMITS.maxBytes}`
      );
    }
    return undefined;
  }

  /** Delivers what is visible (as many batches as allowed) and sets the timer for the rest. */
  private pump(): void {
    if (!this.started || this.closed) return;
    while (this.running.size < this.maxConcurrentBatches) {
      const batch = this.receive();
      if (batch.length === 0) break;
      const invocation = this.invoke(batch).finally(() => {
        this.running.delete(invocation);
        this.pump();
      });
      this.running.add(invocation);
    }
    this.armTimer();
  }

  /** Receives up to a batch of visible messages: counts, new handles, the visibility timeout. */
  private receive(): QueuedMessage[] {
    const now = this.now();
    const visible = [...this.messages.values()]
      .filter((message) => message.visibleAt <= now)
      .sort((a, b) => a.visibleAt - b.visibleAt || a.sentAt - b.sentAt);
    const batch: QueuedMessage[] = [];
    for (const message of visible) {
      if (batch.length >= this.batchSize) break;
      if (message.receiveCount >= this.maxReceiveCount) {
        this.messages.delete(message.messageId);
        this.deadLetters.push(message);
        this.onDeadLetter?.({ ...message });
        continue;
      }
      message.receiveCount += 1;
      message.firstReceivedAt ??= now;
      message.receiptHandle = `${message.messageId}#${message.receiveCount}#${randomUUID()}`;
      message.visibleAt = now + this.visibilityMs;
      batch.push(message);
    }
    return batch;
  }

  private async invoke(batch: readonly QueuedMessage[]): Promise<void> {
    this.invocations += 1;
    const records = batch.map((message) => this.record(message));
    let failed: Set<string>;
    try {
      const response = await this.consumer({ Records: records });
      failed = new Set(response.batchItemFailures.map((item) => item.itemIdentifier));
    } catch (error) {
      // As Lambda: a failed invocation leaves every record to its visibility timeout.
      this.onConsumerError?.(error);
      return;
    }
    for (const record of records) {
      if (failed.has(record.messageId)) continue;
      const message = this.messages.get(record.messageId);
      // A handle that is no longer the latest (the message came back and was received again
      // meanwhile) deletes nothing, as in SQS.
      if (message?.receiptHandle === record.receiptHandle) {
        this.messages.delete(record.messageId);
        this.deleted += 1;
      }
    }
  }

  private record(message: QueuedMessage): SQSRecord {
    return {
      messageId: message.messageId,
      receiptHandle: message.receiptHandle ?? '',
      body: message.body,
      attributes: {
        ApproximateReceiveCount: String(message.receiveCount),
        SentTimestamp: String(message.sentAt),
        SenderId: 'prefect-ecs-serverless-local',
        ApproximateFirstReceiveTimestamp: String(message.firstReceivedAt ?? message.sentAt),
      },
      messageAttributes: {},
      md5OfBody: md5(message.body),
      eventSource: 'aws:sqs',
      eventSourceARN: this.arn,
      awsRegion: this.region,
    };
  }

  /** One timer, at the earliest time a message becomes visible. */
  private armTimer(): void {
    let next = Number.POSITIVE_INFINITY;
    for (const message of this.messages.values()) next = Math.min(next, message.visibleAt);
    if (next === this.timerAt && this.timer !== undefined) return;
    this.clearTimer();
    if (!Number.isFinite(next)) return;
    // A full house: the finishing invocation pumps again, no timer needed until then.
    if (this.running.size >= this.maxConcurrentBatches) return;
    this.timerAt = next;
    this.timer = setTimeout(
      () => {
        this.timer = undefined;
        this.timerAt = Number.POSITIVE_INFINITY;
        this.pump();
      },
      Math.max(0, next - this.now())
    );
  }

  private clearTimer(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    this.timerAt = Number.POSITIVE_INFINITY;
  }
}
