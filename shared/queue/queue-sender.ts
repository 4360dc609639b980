/**
 * Sending messages to an SQS queue, as a port: the poller sends launch messages and poll ticks
 * through it. The adapter is `createSqsQueueSender` (`sqs-queue-sender.ts`); tests use fakes.
 *
 * A send never throws for a failed message: every message ends up in `sent` or in `failed`, so the
 * caller can say which flow runs were not enqueued and recover them.
 */

/** One message to send. */
export interface OutgoingMessage {
  /** The caller's identifier (e.g. the flow run id), echoed in the outcome; unique per call. */
  id: string;
  body: string;
  /** 0–900 s (SQS message timer on a standard queue); whole seconds. */
  delaySeconds?: number;
}

/** A message SQS did not take. */
export interface SendFailure {
  id: string;
  /** SQS's code (`InternalError`, `InvalidMessageContents`, …), or the SDK error's name. */
  code: string;
  message: string;
  /** `true` when the request itself was wrong (SQS's `SenderFault`): trying again will not help. */
  senderFault: boolean;
}

/** What happened to the messages of one call. */
export interface SendOutcome {
  /** Ids of the messages SQS accepted. */
  sent: string[];
  failed: SendFailure[];
  /** HTTP requests made (batches and retries), for cost accounting. */
  requests: number;
}

/** The port. */
export interface QueueSender {
  /** Sends the messages in as few requests as SQS allows; never throws for a failed message. */
  sendMessages(queueUrl: string, messages: readonly OutgoingMessage[]): Promise<SendOutcome>;
}
