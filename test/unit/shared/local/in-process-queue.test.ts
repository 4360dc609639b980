import { createHash } from 'node:crypto';
import type { SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  InProcessQueue,
  type InProcessQueueOptions,
} from '../../../../shared/local/in-process-queue.ts';

const URL = 'http://localhost/prefect-ecs-serverless/in-process/launch';

interface Delivery {
  at: number;
  records: SQSRecord[];
}

/** A queue whose consumer records each batch and answers with `decide`. */
const setUp = (
  decide: (
    record: SQSRecord,
    queue: InProcessQueue
  ) => Promise<'ok' | 'fail'> | 'ok' | 'fail' = () => 'ok',
  options: Partial<InProcessQueueOptions> = {}
) => {
  const deliveries: Delivery[] = [];
  const queue: InProcessQueue = new InProcessQueue({
    queueUrl: URL,
    visibilityTimeoutSeconds: 30,
    consumer: async (event: SQSEvent): Promise<SQSBatchResponse> => {
      deliveries.push({ at: Date.now(), records: event.Records });
      const failures: { itemIdentifier: string }[] = [];
      for (const record of event.Records) {
        if ((await decide(record, queue)) === 'fail') {
          failures.push({ itemIdentifier: record.messageId });
        }
      }
      return { batchItemFailures: failures };
    },
    ...options,
  });
  queue.start();
  return {
    queue,
    deliveries,
    bodies: () => deliveries.flatMap((d) => d.records.map((r) => r.body)),
  };
};

const message = (id: string, delaySeconds?: number) => ({
  id,
  body: JSON.stringify({ id }),
  ...(delaySeconds === undefined ? {} : { delaySeconds }),
});

describe('InProcessQueue', () => {
  beforeEach(() => {
    vi.useFakeTimers({ now: new Date('2026-08-21T12:00:00Z') });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('delivers a message at once as an SQS record and deletes it when acknowledged', async () => {
    // Prepare
    const { queue, deliveries } = setUp();
    // Act
    const outcome = await queue.sendMessages(URL, [message('run-1')]);
    await vi.advanceTimersByTimeAsync(0);
    // Assess
    expect(outcome).toEqual({ sent: ['run-1'], failed: [], requests: 1 });
    expect(deliveries).toHaveLength(1);
    const record = deliveries[0]?.records[0];
    expect(record).toEqual({
      messageId: expect.any(String),
      receiptHandle: expect.any(String),
      body: '{"id":"run-1"}',
      attributes: {
        ApproximateReceiveCount: '1',
        SentTimestamp: String(Date.parse('2026-08-21T12:00:00Z')),
        SenderId: expect.any(String),
        ApproximateFirstReceiveTimestamp: String(Date.parse('2026-08-21T12:00:00Z')),
      },
      messageAttributes: {},
      md5OfBody: createHash('md5').update('{"id":"run-1"}').digest('hex'),
      eventSource: 'aws:sqs',
      eventSourceARN: expect.stringMatching(/^arn:aws:sqs:us-east-1:\d{12}:launch$/),
      awsRegion: 'us-east-1',
    });
    expect(queue.pending()).toEqual([]);
    expect(queue.stats()).toMatchObject({ deleted: 1, invocations: 1, inFlight: 0 });
  });

  it('honours DelaySeconds: nothing before the timer ends, the message when it does', async () => {
    // Prepare
    const { queue, deliveries } = setUp();
    const sentAt = Date.now();
    // Act
    await queue.sendMessages(URL, [message('later', 15), message('now')]);
    await vi.advanceTimersByTimeAsync(14_999);
    const before = deliveries.flatMap((d) => d.records.map((r) => JSON.parse(r.body).id));
    const statsBefore = queue.stats();
    await vi.advanceTimersByTimeAsync(1);
    // Assess
    expect(before).toEqual(['now']);
    expect(statsBefore).toMatchObject({ delayed: 1, ready: 0 });
    expect(deliveries).toHaveLength(2);
    expect(deliveries[1]?.at).toBe(sentAt + 15_000);
    expect(JSON.parse(deliveries[1]?.records[0]?.body ?? '{}')).toEqual({ id: 'later' });
  });

  it('brings a failed record back after the visibility timeout and deletes the others', async () => {
    // Prepare
    const { queue, deliveries } = setUp((record) =>
      record.body.includes('bad') && record.attributes.ApproximateReceiveCount === '1'
        ? 'fail'
        : 'ok'
    );
    // Act
    await queue.sendMessages(URL, [message('good'), message('bad')]);
    await vi.advanceTimersByTimeAsync(29_999);
    const afterFirst = deliveries.length;
    await vi.advanceTimersByTimeAsync(1);
    // Assess
    expect(afterFirst).toBe(1);
    expect(deliveries[0]?.records).toHaveLength(2);
    expect(deliveries).toHaveLength(2);
    const again = deliveries[1]?.records ?? [];
    expect(again.map((r) => [r.body, r.attributes.ApproximateReceiveCount])).toEqual([
      ['{"id":"bad"}', '2'],
    ]);
    expect(again[0]?.messageId).toBe(deliveries[0]?.records[1]?.messageId);
    expect(again[0]?.receiptHandle).not.toBe(deliveries[0]?.records[1]?.receiptHandle);
    expect(queue.pending()).toEqual([]);
  });

  it('redelivers when the consumer set the visibility (ChangeMessageVisibility), not at the timeout', async () => {
    // Prepare
    const { queue, deliveries } = setUp(async (record, q) => {
      if (record.attributes.ApproximateReceiveCount !== '1') return 'ok';
      await q.changeVisibility(record.receiptHandle, 5);
      return 'fail';
    });
    // Act
    await queue.sendMessages(URL, [message('retry')]);
    await vi.advanceTimersByTimeAsync(4_999);
    const early = deliveries.length;
    await vi.advanceTimersByTimeAsync(1);
    // Assess
    expect(early).toBe(1);
    expect(deliveries).toHaveLength(2);
    expect(queue.stats()).toMatchObject({ deleted: 1, inFlight: 0 });
  });

  it('refuses a stale receipt handle, as SQS does', async () => {
    // Prepare
    const handles: string[] = [];
    const { queue } = setUp((record) => {
      handles.push(record.receiptHandle);
      return handles.length === 1 ? 'fail' : 'ok';
    });
    await queue.sendMessages(URL, [message('one')]);
    await vi.advanceTimersByTimeAsync(30_000);
    // Act / Assess
    expect(handles).toHaveLength(2);
    await expect(queue.changeVisibility(handles[0] ?? '', 10)).rejects.toThrow(
      /ReceiptHandleIsInvalid/
    );
  });

  it('leaves every record of a batch whose invocation threw to its visibility timeout', async () => {
    // Prepare
    const errors: unknown[] = [];
    let calls = 0;
    const deliveries: number[] = [];
    const queue = new InProcessQueue({
      queueUrl: URL,
      visibilityTimeoutSeconds: 30,
      onConsumerError: (error) => errors.push(error),
      consumer: async (event) => {
        calls += 1;
        deliveries.push(event.Records.length);
        if (calls === 1) throw new Error('the launcher crashed');
        return { batchItemFailures: [] };
      },
    });
    queue.start();
    // Act
    await queue.sendMessages(URL, [message('a'), message('b')]);
    await vi.advanceTimersByTimeAsync(29_000);
    const inFlight = queue.stats().inFlight;
    await vi.advanceTimersByTimeAsync(1_000);
    // Assess
    expect(errors).toEqual([new Error('the launcher crashed')]);
    expect(inFlight).toBe(2);
    expect(deliveries).toEqual([2, 2]);
    expect(queue.pending()).toEqual([]);
  });

  it('moves a message received maxReceiveCount times to the dead letters', async () => {
    // Prepare
    const dead: string[] = [];
    const { queue, deliveries } = setUp(() => 'fail', {
      maxReceiveCount: 3,
      onDeadLetter: (m) => dead.push(m.senderId),
    });
    // Act
    await queue.sendMessages(URL, [message('poison')]);
    await vi.advanceTimersByTimeAsync(10 * 30_000);
    // Assess
    expect(deliveries.map((d) => d.records[0]?.attributes.ApproximateReceiveCount)).toEqual([
      '1',
      '2',
      '3',
    ]);
    expect(dead).toEqual(['poison']);
    expect(queue.deadLettered().map((m) => m.receiveCount)).toEqual([3]);
    expect(queue.pending()).toEqual([]);
  });

  it('fails what SQS refuses, per message, and sends the rest', async () => {
    // Prepare
    const { queue } = setUp();
    // Act
    const outcome = await queue.sendMessages(URL, [
      message('fine'),
      message('too-late', 901),
      message('fractional', 1.5),
      { id: 'huge', body: 'x'.repeat(262_145) },
    ]);
    const elsewhere = await queue.sendMessages('http://localhost/other', [message('lost')]);
    // Assess
    expect(outcome.sent).toEqual(['fine']);
    expect(outcome.failed.map((f) => [f.id, f.code, f.senderFault])).toEqual([
      ['too-late', 'InvalidParameterValue', true],
      ['fractional', 'InvalidParameterValue', true],
      ['huge', 'MessageTooLong', true],
    ]);
    expect(elsewhere.failed.map((f) => f.code)).toEqual([
      'AWS.SimpleQueueService.NonExistentQueue',
    ]);
    await expect(queue.sendMessages(URL, [message('x'), message('x')])).rejects.toThrow(TypeError);
  });

  it('delivers batches of at most batchSize, at most maxConcurrentBatches at once', async () => {
    // Prepare
    let running = 0;
    let most = 0;
    const sizes: number[] = [];
    const queue = new InProcessQueue({
      queueUrl: URL,
      batchSize: 10,
      maxConcurrentBatches: 2,
      consumer: async (event) => {
        running += 1;
        most = Math.max(most, running);
        sizes.push(event.Records.length);
        await new Promise((resolve) => setTimeout(resolve, 100));
        running -= 1;
        return { batchItemFailures: [] };
      },
    });
    queue.start();
    // Act
    await queue.sendMessages(
      URL,
      Array.from({ length: 25 }, (_, i) => message(`run-${i}`))
    );
    await vi.advanceTimersByTimeAsync(1_000);
    // Assess
    expect(sizes).toEqual([10, 10, 5]);
    expect(most).toBe(2);
    expect(queue.stats()).toMatchObject({ deleted: 25, invocations: 3 });
  });

  it('keeps messages sent before start and delivers them once started', async () => {
    // Prepare
    const deliveries: number[] = [];
    const queue = new InProcessQueue({
      queueUrl: URL,
      consumer: async (event) => {
        deliveries.push(event.Records.length);
        return { batchItemFailures: [] };
      },
    });
    await queue.sendMessages(URL, [message('early')]);
    await vi.advanceTimersByTimeAsync(1_000);
    const before = deliveries.length;
    // Act
    queue.start();
    await vi.advanceTimersByTimeAsync(0);
    // Assess
    expect(before).toBe(0);
    expect(deliveries).toEqual([1]);
  });

  it('on close, lets the invocation in flight finish and delivers nothing more', async () => {
    // Prepare
    let finished = false;
    const delivered: string[] = [];
    const queue = new InProcessQueue({
      queueUrl: URL,
      consumer: async (event) => {
        delivered.push(...event.Records.map((r) => r.body));
        await new Promise((resolve) => setTimeout(resolve, 500));
        finished = true;
        return { batchItemFailures: [] };
      },
    });
    queue.start();
    await queue.sendMessages(URL, [message('now'), message('later', 10)]);
    await vi.advanceTimersByTimeAsync(0);
    // Act
    const closing = queue.close(5_000);
    await vi.advanceTimersByTimeAsync(500);
    const drained = await closing;
    await vi.advanceTimersByTimeAsync(20_000);
    // Assess
    expect(drained).toBe(true);
    expect(finished).toBe(true);
    expect(delivered).toEqual(['{"id":"now"}']);
    expect(queue.pending().map((m) => [m.senderId, m.receiveCount])).toEqual([['later', 0]]);
  });

  it('on close, gives up waiting after the timeout', async () => {
    // Prepare
    const queue = new InProcessQueue({
      queueUrl: URL,
      consumer: () => new Promise(() => {}),
    });
    queue.start();
    await queue.sendMessages(URL, [message('stuck')]);
    await vi.advanceTimersByTimeAsync(0);
    // Act
    const closing = queue.close(1_000);
    await vi.advanceTimersByTimeAsync(1_000);
    // Assess
    await expect(closing).resolves.toBe(false);
    expect(queue.stats().inFlight).toBe(1);
  });
});
