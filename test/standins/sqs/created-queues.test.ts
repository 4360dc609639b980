/**
 * Queues created over HTTP (`CreateQueue` through the front, as the aws CLI or an SDK would do with
 * `npm run standin -- sqs`) get URLs that resolve: fauxqs answers with
 * `http://sqs.<region>.localhost:<port>`, which the front rewrites in every answer.
 */
import {
  CreateQueueCommand,
  DeleteMessageCommand,
  GetQueueUrlCommand,
  ListQueuesCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { type SqsStandin, startSqsStandin } from './server.ts';

const credentials = { accessKeyId: 'test', secretAccessKey: 'test' };

describe('SQS stand-in: queues created over HTTP', () => {
  let standin: SqsStandin;
  let admin: SQSClient;

  beforeAll(async () => {
    standin = await startSqsStandin({ queues: [{ name: 'launch', maxReceiveCount: 3 }] });
    admin = new SQSClient({ region: 'us-east-1', endpoint: standin.url, credentials });
  });

  afterEach(() => {
    vi.unstubAllEnvs();
  });

  afterAll(async () => {
    admin?.destroy();
    await standin?.close();
  });

  it('answers CreateQueue with a URL on the front, which SendMessage and ReceiveMessage then use', async () => {
    // Prepare: a client configured as the aws CLI or a bundle is (AWS_ENDPOINT_URL_SQS, not the
    // client's `endpoint`), so the SDK sends each queue call to its QueueUrl's host
    vi.stubEnv('AWS_ENDPOINT_URL_SQS', standin.url);
    const tool = new SQSClient({ region: 'us-east-1', credentials });
    try {
      // Act
      const { QueueUrl } = await tool.send(new CreateQueueCommand({ QueueName: 'made-by-a-tool' }));
      const sent = await tool.send(new SendMessageCommand({ QueueUrl, MessageBody: 'hello' }));
      const received = await tool.send(
        new ReceiveMessageCommand({ QueueUrl, WaitTimeSeconds: 1, MaxNumberOfMessages: 1 })
      );
      const handle = received.Messages?.[0]?.ReceiptHandle;
      await tool.send(new DeleteMessageCommand({ QueueUrl, ReceiptHandle: handle }));
      // Assess
      expect(QueueUrl).toBe(`${standin.url}/000000000000/made-by-a-tool`);
      expect(received.Messages?.map((message) => [message.MessageId, message.Body])).toEqual([
        [sent.MessageId, 'hello'],
      ]);
    } finally {
      tool.destroy();
    }
  });

  it('answers GetQueueUrl and ListQueues with front URLs, for queues made at start and over HTTP', async () => {
    // Prepare
    await admin.send(new CreateQueueCommand({ QueueName: 'listed' }));
    // Act
    const got = await admin.send(new GetQueueUrlCommand({ QueueName: 'listed' }));
    const gotLaunch = await admin.send(new GetQueueUrlCommand({ QueueName: 'launch' }));
    const listed = await admin.send(new ListQueuesCommand({}));
    // Assess
    expect(got.QueueUrl).toBe(`${standin.url}/000000000000/listed`);
    expect(gotLaunch.QueueUrl).toBe(standin.queues.launch?.url);
    expect(listed.QueueUrls?.length).toBeGreaterThanOrEqual(3);
    for (const url of listed.QueueUrls ?? []) expect(url.startsWith(`${standin.url}/`)).toBe(true);
    expect(listed.QueueUrls).toEqual(
      expect.arrayContaining([got.QueueUrl, standin.queues.launch?.url])
    );
  });
});
