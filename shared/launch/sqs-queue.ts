import { ChangeMessageVisibilityCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { QueueApi } from './queue-api.ts';

/** SQS's upper bound for a visibility timeout, in seconds. */
const MAX_VISIBILITY_SECONDS = 43_200;

/**
 * The SQS adapter of {@link QueueApi} for one queue.
 *
 * @example
 * const queue = createSqsQueue(new SQSClient({}), config.launchQueueUrl);
 * await queue.changeVisibility(record.receiptHandle, 60);
 */
export const createSqsQueue = (client: SQSClient, queueUrl: string): QueueApi => ({
  async changeVisibility(receiptHandle, seconds) {
    await client.send(
      new ChangeMessageVisibilityCommand({
        QueueUrl: queueUrl,
        ReceiptHandle: receiptHandle,
        VisibilityTimeout: Math.max(0, Math.min(MAX_VISIBILITY_SECONDS, Math.round(seconds))),
      })
    );
  },
});
