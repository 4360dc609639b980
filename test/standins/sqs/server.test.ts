import {
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  SendMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type SqsStandin, startSqsStandin } from './server.ts';

describe('SQS stand-in (fauxqs)', () => {
  let standin: SqsStandin;
  let sqs: SQSClient;

  beforeAll(async () => {
    standin = await startSqsStandin({
      queues: [{ name: 'launch', maxReceiveCount: 3, visibilityTimeout: 60 }, { name: 'tick' }],
    });
    sqs = new SQSClient({
      region: 'us-east-1',
      endpoint: standin.url,
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    });
  });

  afterAll(async () => {
    sqs.destroy();
    await standin.close();
  });

  it('creates the launch queue with its DLQ redrive policy', async () => {
    // Prepare
    const launch = standin.queues.launch;
    // Act
    const { Attributes } = await sqs.send(
      new GetQueueAttributesCommand({ QueueUrl: launch?.url, AttributeNames: ['All'] })
    );
    // Assess
    expect(Attributes?.VisibilityTimeout).toBe('60');
    expect(JSON.parse(Attributes?.RedrivePolicy ?? '{}')).toEqual({
      deadLetterTargetArn: launch?.dlq?.arn,
      maxReceiveCount: 3,
    });
  });

  it('holds a delayed message back until its DelaySeconds pass', async () => {
    // Prepare
    const queueUrl = standin.queues.tick?.url;
    await sqs.send(
      new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: 'poll', DelaySeconds: 1 })
    );
    // Act
    const early = await sqs.send(
      new ReceiveMessageCommand({ QueueUrl: queueUrl, WaitTimeSeconds: 0 })
    );
    const later = await sqs.send(
      new ReceiveMessageCommand({ QueueUrl: queueUrl, WaitTimeSeconds: 3 })
    );
    // Assess
    expect(early.Messages ?? []).toHaveLength(0);
    expect(later.Messages?.map((m) => m.Body)).toEqual(['poll']);
  });

  it('rejects a DelaySeconds above 900 as SQS does', async () => {
    // Prepare
    const queueUrl = standin.queues.tick?.url;
    // Act
    const sending = sqs.send(
      new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: 'late', DelaySeconds: 901 })
    );
    // Assess
    await expect(sending).rejects.toThrow(/DelaySeconds|900|invalid/i);
  });

  it('rejects a batch whose entry asks for more than 900 s of delay', async () => {
    // Prepare
    const queueUrl = standin.queues.tick?.url;
    // Act
    const sending = sqs.send(
      new SendMessageBatchCommand({
        QueueUrl: queueUrl,
        Entries: [
          { Id: 'ok', MessageBody: 'a', DelaySeconds: 900 },
          { Id: 'late', MessageBody: 'b', DelaySeconds: 1200 },
        ],
      })
    );
    // Assess
    await expect(sending).rejects.toMatchObject({
      name: expect.stringMatching(/InvalidParameterValue/),
      message: expect.stringMatching(/1200/),
    });
  });

  // SQS's limits since 2025 (the SendMessageBatch documentation of the current model): a message
  // and the sum of a batch's messages are both at most 1 MiB (1,048,576 bytes), no longer 256 KiB.
  it('accepts a 1 MiB batch and a 1 MiB message, as SQS does since 2025', async () => {
    // Prepare
    const queueUrl = standin.queues.tick?.url;
    const quarter = 'q'.repeat(262_144);
    // Act
    const batch = await sqs.send(
      new SendMessageBatchCommand({
        QueueUrl: queueUrl,
        Entries: ['a', 'b', 'c', 'd'].map((Id) => ({ Id, MessageBody: quarter })),
      })
    );
    const single = await sqs.send(
      new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: 'm'.repeat(1_048_576) })
    );
    // Assess
    expect(batch.Successful).toHaveLength(4);
    expect(batch.Failed ?? []).toEqual([]);
    expect(single.MessageId).toMatch(/[0-9a-f-]{36}/);
  });

  it('rejects a batch whose messages add up to more than 1 MiB, and a message over 1 MiB', async () => {
    // Prepare
    const queueUrl = standin.queues.tick?.url;
    // Act
    const batch = sqs.send(
      new SendMessageBatchCommand({
        QueueUrl: queueUrl,
        Entries: [
          { Id: 'a', MessageBody: 'a'.repeat(524_288) },
          { Id: 'b', MessageBody: 'b'.repeat(524_289) },
        ],
      })
    );
    const single = sqs.send(
      new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: 'm'.repeat(1_048_577) })
    );
    // Assess
    await expect(batch).rejects.toMatchObject({
      name: expect.stringMatching(/BatchRequestTooLong/),
    });
    await expect(single).rejects.toMatchObject({
      name: expect.stringMatching(/InvalidParameterValue/),
      message: expect.stringMatching(/1048576 bytes/),
    });
  });

  it('serves queue URLs that a client with no endpoint configured can reach', async () => {
    // Prepare: no endpoint on the client, as a Lambda in AWS has none; the queue URL is enough
    const plain = new SQSClient({
      region: 'us-east-1',
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    });
    const queueUrl = standin.queues.launch?.url ?? '';
    // Act
    const sent = await plain.send(
      new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: '{}' })
    );
    plain.destroy();
    // Assess
    expect(queueUrl.startsWith(standin.url)).toBe(true);
    expect(sent.MessageId).toMatch(/[0-9a-f-]{36}/);
  });
});
