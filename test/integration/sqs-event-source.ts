/**
 * Lambda's SQS event source mapping, as far as the launcher can tell: up to `maximumConcurrency`
 * pollers, each receiving up to `batchSize` messages (a short long-poll, no batching window),
 * invoking its own warm container's handler with the SQS event Lambda builds, and deleting the
 * records the handler did not report in `batchItemFailures` (the others come back when the
 * visibility timeout the handler set ends). One poller = one container: each gets its own handler
 * from `createHandler`, so per-container state (the RunTask pacer, the caches) is not shared, as in
 * Lambda. Used by the burst integration test and bench/burst.bench.ts.
 */
import {
  DeleteMessageBatchCommand,
  ReceiveMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { sqsRecord } from '../standins/sqs/esm-record.ts';

/** One container's handler. */
export type SqsBatchHandler = (event: SQSEvent) => Promise<SQSBatchResponse>;

/** Options of {@link startSqsEventSource}. */
export interface SqsEventSourceOptions {
  sqs: SQSClient;
  queueUrl: string;
  queueArn: string;
  /** `maximumConcurrency`: pollers, each with its own container. */
  maxConcurrency: number;
  /** `batchSize`. */
  batchSize: number;
  /** Builds container `index`'s handler (called once per poller, before it polls). */
  createHandler: (index: number) => Promise<SqsBatchHandler>;
  /** Long-poll seconds per ReceiveMessage (short, so `stop` returns quickly); default 1. */
  waitTimeSeconds?: number;
}

/** A running event source. */
export interface SqsEventSource {
  /** Invocations so far, and the records reported failed by them. */
  readonly stats: { invocations: number; records: number; failedRecords: number };
  /** Stops polling and waits for the invocations under way. */
  stop(): Promise<void>;
}

/**
 * Starts the pollers.
 *
 * @example
 * const source = await startSqsEventSource({ sqs, queueUrl, queueArn, maxConcurrency: 5, batchSize: 5, createHandler });
 * // … later
 * await source.stop();
 */
export const startSqsEventSource = async (
  options: SqsEventSourceOptions
): Promise<SqsEventSource> => {
  const stats = { invocations: 0, records: 0, failedRecords: 0 };
  let stopped = false;
  const handlers = await Promise.all(
    Array.from({ length: options.maxConcurrency }, (_, index) => options.createHandler(index))
  );
  const poll = async (handler: SqsBatchHandler): Promise<void> => {
    while (!stopped) {
      const { Messages = [] } = await options.sqs.send(
        new ReceiveMessageCommand({
          QueueUrl: options.queueUrl,
          MaxNumberOfMessages: options.batchSize,
          WaitTimeSeconds: options.waitTimeSeconds ?? 1,
          MessageSystemAttributeNames: ['All'],
        })
      );
      if (Messages.length === 0) continue;
      stats.invocations += 1;
      stats.records += Messages.length;
      const response = await handler({
        Records: Messages.map((message) => sqsRecord(message, { arn: options.queueArn })),
      });
      const failed = new Set(response.batchItemFailures.map((failure) => failure.itemIdentifier));
      stats.failedRecords += failed.size;
      const done = Messages.filter((message) => !failed.has(message.MessageId ?? ''));
      if (done.length > 0) {
        await options.sqs.send(
          new DeleteMessageBatchCommand({
            QueueUrl: options.queueUrl,
            Entries: done.map((message, index) => ({
              Id: String(index),
              ReceiptHandle: message.ReceiptHandle ?? '',
            })),
          })
        );
      }
    }
  };
  const running = handlers.map((handler) => poll(handler));
  return {
    stats,
    async stop() {
      stopped = true;
      await Promise.all(running);
    },
  };
};
