import type { Answer } from './server.ts';

/** SQS accepts `DelaySeconds` from 0 to 900 (15 minutes); fauxqs 2.4 accepts any integer. */
const MAX_DELAY_SECONDS = 900;

const invalidParameterValue = (message: string): Answer => ({
  status: 400,
  headers: {
    'content-type': 'application/x-amz-json-1.0',
    'x-amzn-query-error': 'AWS.SimpleQueueService.InvalidParameterValue;Sender',
  },
  body: Buffer.from(JSON.stringify({ __type: 'com.amazonaws.sqs#InvalidParameterValue', message })),
});

const delayProblem = (delay: unknown): string | undefined => {
  if (delay === undefined || delay === null) return undefined;
  if (typeof delay === 'number' && Number.isInteger(delay) && delay >= 0) {
    return delay <= MAX_DELAY_SECONDS
      ? undefined
      : `Value ${delay} for parameter DelaySeconds is invalid. Reason: Must be >= 0 and <= ${MAX_DELAY_SECONDS}, if provided.`;
  }
  return `Value ${String(delay)} for parameter DelaySeconds is invalid. Reason: Must be >= 0 and <= ${MAX_DELAY_SECONDS}, if provided.`;
};

/**
 * The checks real SQS makes that fauxqs does not. Returns the error SQS answers with, or undefined to
 * let fauxqs handle the request (malformed JSON is fauxqs's to reject).
 */
export const checkSqsRequest = (target: string, body: Buffer): Answer | undefined => {
  if (target !== 'AmazonSQS.SendMessage' && target !== 'AmazonSQS.SendMessageBatch') {
    return undefined;
  }
  let input: unknown;
  try {
    input = JSON.parse(body.toString('utf8'));
  } catch {
    return undefined;
  }
  if (typeof input !== 'object' || input === null) return undefined;
  const request = input as { DelaySeconds?: unknown; Entries?: unknown };
  const delays =
    target === 'AmazonSQS.SendMessage'
      ? [request.DelaySeconds]
      : Array.isArray(request.Entries)
        ? request.Entries.map((entry: { DelaySeconds?: unknown } | null) => entry?.DelaySeconds)
        : [];
  for (const delay of delays) {
    const problem = delayProblem(delay);
    if (problem) return invalidParameterValue(problem);
  }
  return undefined;
};
