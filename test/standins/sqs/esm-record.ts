/**
 * The record Lambda's SQS event source mapping builds from a received message
 * (https://docs.aws.amazon.com/lambda/latest/dg/with-sqs.html, "Example standard queue message
 * event"): its system attributes as strings, taken from the message when it was received with
 * `MessageSystemAttributeNames: ['All']`, else the values a first delivery would have now.
 * One home for the tests, benches and simulated event sources that invoke our SQS handlers.
 */
import type { Message } from '@aws-sdk/client-sqs';
import type { SQSEvent, SQSRecord } from 'aws-lambda';

/**
 * @example
 * const record = sqsRecord(received, { arn: queue.arn }, 'us-east-1');
 */
export const sqsRecord = (
  message: Message,
  queue: { arn: string },
  region = 'us-east-1'
): SQSRecord => {
  const attributes = message.Attributes ?? {};
  const now = String(Date.now());
  return {
    messageId: message.MessageId ?? '',
    receiptHandle: message.ReceiptHandle ?? '',
    body: message.Body ?? '',
    attributes: {
      ApproximateReceiveCount: attributes.ApproximateReceiveCount ?? '1',
      SentTimestamp: attributes.SentTimestamp ?? now,
      SenderId: attributes.SenderId ?? 'AIDAEXAMPLE',
      ApproximateFirstReceiveTimestamp: attributes.ApproximateFirstReceiveTimestamp ?? now,
    },
    messageAttributes: {},
    md5OfBody: message.MD5OfBody ?? '',
    eventSource: 'aws:sqs',
    eventSourceARN: queue.arn,
    awsRegion: region,
  };
};

/** The batch the mapping invokes the function with. */
export const sqsEvent = (
  messages: readonly Message[],
  queue: { arn: string },
  region = 'us-east-1'
): SQSEvent => ({ Records: messages.map((message) => sqsRecord(message, queue, region)) });
