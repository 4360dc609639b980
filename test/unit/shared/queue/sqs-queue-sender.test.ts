import type { SendMessageBatchCommand, SQSClient } from '@aws-sdk/client-sqs';
import { describe, expect, it } from 'vitest';
import { planBatches } from '../../../../shared/queue/message-batches.ts';
import { createSqsQueueSender } from '../../../../shared/queue/sqs-queue-sender.ts';

type Answer =
  | {
      Successful?: { Id: string; MessageId: string }[];
      Failed?: { Id: string; SenderFault: boolean; Code: string; Message?: string }[];
    }
  | Error;

/** An SQS client whose answers are scripted per request; records the entry ids it got. */
const scriptedClient = (script: ((ids: string[]) => Answer)[]) => {
  const requests: string[][] = [];
  const client = {
    send: async (command: SendMessageBatchCommand) => {
      const ids = (command.input.Entries ?? []).map((entry) => entry.Id ?? '');
      requests.push(ids);
      const answer = (
        script[requests.length - 1] ??
        ((all: string[]) => ({ Successful: all.map((Id) => ({ Id, MessageId: Id })) }))
      )(ids);
      if (answer instanceof Error) throw answer;
      return answer;
    },
  } as unknown as Pick<SQSClient, 'send'>;
  return { client, requests };
};

const sdkError = (name: string, fault: 'client' | 'server') =>
  Object.assign(new Error(`${name} happened`), { name, $fault: fault });

const messages = (count: number) =>
  Array.from({ length: count }, (_, i) => ({ id: `run-${i}`, body: `{"i":${i}}` }));

describe('planBatches', () => {
  it.each([
    { count: 0, sizes: [] },
    { count: 10, sizes: [10] },
    { count: 11, sizes: [10, 1] },
    { count: 25, sizes: [10, 10, 5] },
  ])('$count messages → batches of $sizes', ({ count, sizes }) => {
    expect(planBatches(messages(count)).batches.map((batch) => batch.length)).toEqual(sizes);
  });

  it('splits by bytes and sets aside what can never fit', () => {
    const plan = planBatches(
      [
        { id: 'a', body: 'x'.repeat(6) },
        { id: 'b', body: 'x'.repeat(6) },
        { id: 'c', body: 'x'.repeat(11) },
        { id: 'd', body: 'x'.repeat(4) },
      ],
      { maxEntries: 10, maxBytes: 10 }
    );
    expect(plan.batches.map((batch) => batch.map((m) => m.id))).toEqual([['a'], ['b', 'd']]);
    expect(plan.oversize.map((m) => m.id)).toEqual(['c']);
  });
});

describe('createSqsQueueSender', () => {
  const noSleep = { sleep: async () => {} };

  it('resends only the entries SQS failed without a sender fault', async () => {
    // Prepare
    const { client, requests } = scriptedClient([
      () => ({
        Successful: [{ Id: 'm0', MessageId: '1' }],
        Failed: [
          { Id: 'm1', SenderFault: false, Code: 'InternalError' },
          { Id: 'm2', SenderFault: true, Code: 'InvalidMessageContents', Message: 'bad' },
        ],
      }),
    ]);
    // Act
    const outcome = await createSqsQueueSender(client, noSleep).sendMessages('q', messages(3));
    // Assess
    expect(requests).toEqual([['m0', 'm1', 'm2'], ['m1']]);
    expect(outcome.sent.sort()).toEqual(['run-0', 'run-1']);
    expect(outcome.failed).toEqual([
      { id: 'run-2', code: 'InvalidMessageContents', message: 'bad', senderFault: true },
    ]);
    expect(outcome.requests).toBe(2);
  });

  it('gives up after maxAttempts and reports each message', async () => {
    // Prepare
    const failAll = (ids: string[]) => ({
      Failed: ids.map((Id) => ({ Id, SenderFault: false, Code: 'InternalError' })),
    });
    const { client, requests } = scriptedClient([failAll, failAll, failAll]);
    // Act
    const outcome = await createSqsQueueSender(client, { ...noSleep, maxAttempts: 3 }).sendMessages(
      'q',
      messages(2)
    );
    // Assess
    expect(requests).toHaveLength(3);
    expect(outcome.sent).toEqual([]);
    expect(outcome.failed.map((f) => [f.id, f.code, f.senderFault])).toEqual([
      ['run-0', 'InternalError', false],
      ['run-1', 'InternalError', false],
    ]);
  });

  it('retries a request that failed as a whole on the server side, not on ours', async () => {
    // Prepare
    const server = scriptedClient([() => sdkError('InternalError', 'server')]);
    const ours = scriptedClient([() => sdkError('QueueDoesNotExist', 'client')]);
    // Act
    const retried = await createSqsQueueSender(server.client, noSleep).sendMessages(
      'q',
      messages(2)
    );
    const refused = await createSqsQueueSender(ours.client, noSleep).sendMessages('q', messages(2));
    // Assess
    expect(server.requests).toHaveLength(2);
    expect(retried.sent.sort()).toEqual(['run-0', 'run-1']);
    expect(ours.requests).toHaveLength(1);
    expect(refused.failed.map((f) => [f.id, f.code, f.senderFault])).toEqual([
      ['run-0', 'QueueDoesNotExist', true],
      ['run-1', 'QueueDoesNotExist', true],
    ]);
  });

  it('backs off between attempts', async () => {
    // Prepare
    const waits: number[] = [];
    const failAll = (ids: string[]) => ({
      Failed: ids.map((Id) => ({ Id, SenderFault: false, Code: 'InternalError' })),
    });
    const { client } = scriptedClient([failAll, failAll]);
    // Act
    await createSqsQueueSender(client, {
      baseDelayMs: 50,
      sleep: async (ms) => {
        waits.push(ms);
      },
    }).sendMessages('q', messages(1));
    // Assess
    expect(waits).toEqual([50, 100]);
  });

  it('refuses duplicate ids in one call', async () => {
    const { client } = scriptedClient([]);
    const sending = createSqsQueueSender(client).sendMessages('q', [
      { id: 'a', body: '1' },
      { id: 'a', body: '2' },
    ]);
    await expect(sending).rejects.toThrow(/unique/);
  });
});
