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
