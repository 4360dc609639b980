/**
 * The SQS adapter of the poller's queue port against the SQS stand-in (fauxqs behind its strict
 * front): batching by 10 entries and 256 KiB, message timers, per-message outcomes.
 */
import { SendMessageBatchCommand } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { OutgoingMessage } from '../../shared/queue/queue-sender.ts';
import { createSqsQueueSender } from '../../shared/queue/sqs-queue-sender.ts';
import { type PollerWorld, startPollerWorld } from './poller-fixtures.ts';

describe('SQS queue sender against the SQS stand-in', () => {
  let world: PollerWorld;
  const batches: { entries: number; bytes: number }[] = [];

  beforeAll(async () => {
    world = await startPollerWorld();
    world.sqsClient.middlewareStack.add(
      (next) => async (args) => {
        const input = args.input as { Entries?: { MessageBody?: string }[] };
        if (input.Entries) {
          batches.push({
            entries: input.Entries.length,
            bytes: input.Entries.reduce(
              (sum, e) => sum + Buffer.byteLength(e.MessageBody ?? ''),
              0
            ),
          });
        }
        return next(args);
      },
      { step: 'initialize', name: 'recordBatches' }
    );
  });
  afterAll(async () => {
    await world.close();
  });
  beforeEach(() => {
    world.purge();
    batches.length = 0;
  });

  it('sends 23 messages in 3 requests of at most 10, with their timers', async () => {
    // Prepare
    const queue = createSqsQueueSender(world.sqsClient);
    const messages: OutgoingMessage[] = Array.from({ length: 23 }, (_, i) => ({
      id: `run-${i}`,
      body: JSON.stringify({ i }),
      delaySeconds: i % 3 === 0 ? 0 : i,
    }));
    // Act
    const outcome = await queue.sendMessages(world.launchQueueUrl, messages);
    // Assess
    expect(outcome.failed).toEqual([]);
    expect(outcome.sent.sort()).toEqual(messages.map((m) => m.id).sort());
    expect(outcome.requests).toBe(3);
    expect(batches.map((b) => b.entries)).toEqual([10, 10, 3]);
    const inspected = world.sqs.fauxqs.inspectQueue('launch');
    expect(inspected?.messages.ready).toHaveLength(8);
    expect(inspected?.messages.delayed).toHaveLength(15);
  });

  it('keeps each request within 256 KiB and refuses a message that cannot fit', async () => {
    // Prepare
    const queue = createSqsQueueSender(world.sqsClient);
    const big = 'x'.repeat(100 * 1024);
    const messages: OutgoingMessage[] = [
      ...Array.from({ length: 5 }, (_, i) => ({ id: `big-${i}`, body: big })),
      { id: 'huge', body: 'y'.repeat(300 * 1024) },
    ];
    // Act
    const outcome = await queue.sendMessages(world.launchQueueUrl, messages);
    // Assess
    expect(outcome.sent.sort()).toEqual(['big-0', 'big-1', 'big-2', 'big-3', 'big-4']);
    expect(outcome.failed).toEqual([
      expect.objectContaining({ id: 'huge', code: 'MessageTooLong', senderFault: true }),
    ]);
    expect(batches.map((b) => b.entries)).toEqual([2, 2, 1]);
    expect(batches.every((b) => b.bytes <= 262_144)).toBe(true);
  });

  it('clamps a timer to SQS range instead of letting the whole batch fail', async () => {
    // Prepare
    const queue = createSqsQueueSender(world.sqsClient);
    // Act
    const outcome = await queue.sendMessages(world.launchQueueUrl, [
      { id: 'far', body: '{}', delaySeconds: 5000 },
      { id: 'past', body: '{}', delaySeconds: -3 },
    ]);
    // Assess
    expect(outcome).toMatchObject({ failed: [], requests: 1 });
    expect(outcome.sent.sort()).toEqual(['far', 'past']);
  });

  it('reports every message of a request SQS refuses as a whole (missing queue), without retrying', async () => {
    // Prepare
    const queue = createSqsQueueSender(world.sqsClient, { sleep: async () => {} });
    const missing = `${world.sqs.url}/123456789012/no-such-queue`;
    // Act
    const outcome = await queue.sendMessages(missing, [
      { id: 'a', body: '{}' },
      { id: 'b', body: '{}' },
    ]);
    // Assess
    expect(outcome.sent).toEqual([]);
    expect(outcome.failed.map((f) => [f.id, f.senderFault])).toEqual([
      ['a', true],
      ['b', true],
    ]);
    expect(outcome.requests).toBe(1);
  });

  it('is what the stand-in itself accepts (a sanity check of the entry shape)', async () => {
    const answer = await world.sqsClient.send(
      new SendMessageBatchCommand({
        QueueUrl: world.launchQueueUrl,
        Entries: [{ Id: 'm0', MessageBody: '{}', DelaySeconds: 900 }],
      })
    );
    expect(answer.Successful).toHaveLength(1);
  });
});
