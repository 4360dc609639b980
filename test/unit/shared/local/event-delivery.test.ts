import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { EventDelivery } from '../../../../shared/local/event-delivery.ts';
import type { FollowedTaskEvent } from '../../../../shared/local/task-event.ts';

const event = (taskArn: string, lastStatus: string): FollowedTaskEvent =>
  ({
    id: `${taskArn}#${lastStatus}`,
    detail: { taskArn, lastStatus },
  }) as unknown as FollowedTaskEvent;

const logger = () => {
  const lines: { level: string; message: string }[] = [];
  const at = (level: string) => (message: string) => {
    lines.push({ level, message });
  };
  return { lines, debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
};

describe('EventDelivery', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('delivers the events of one task one at a time, in order; other tasks meanwhile', async () => {
    // Prepare
    const seen: string[] = [];
    const delivery = new EventDelivery({
      logger: logger(),
      handler: async (raw) => {
        const e = raw as FollowedTaskEvent;
        seen.push(`start ${e.id}`);
        await new Promise((resolve) => setTimeout(resolve, e.detail.taskArn === 'a' ? 100 : 10));
        seen.push(`end ${e.id}`);
      },
    });
    // Act
    delivery.deliver(event('a', 'PENDING'));
    delivery.deliver(event('a', 'STOPPED'));
    delivery.deliver(event('b', 'RUNNING'));
    await vi.advanceTimersByTimeAsync(500);
    // Assess
    expect(seen).toEqual([
      'start a#PENDING',
      'start b#RUNNING',
      'end b#RUNNING',
      'end a#PENDING',
      'start a#STOPPED',
      'end a#STOPPED',
    ]);
    expect(delivery.stats()).toEqual({ delivered: 3, retried: 0, dropped: 0, pending: 0 });
  });

  it('retries a failed delivery after each delay, then succeeds', async () => {
    // Prepare
    const attempts: number[] = [];
    const delivery = new EventDelivery({
      logger: logger(),
      retryDelaysMs: [1_000, 2_000],
      handler: async () => {
        attempts.push(Date.now());
        if (attempts.length < 3) throw new Error('Prefect answered 503');
      },
    });
    const t0 = Date.now();
    // Act
    delivery.deliver(event('a', 'STOPPED'));
    await vi.advanceTimersByTimeAsync(5_000);
    // Assess
    expect(attempts.map((at) => at - t0)).toEqual([0, 1_000, 3_000]);
    expect(delivery.stats()).toEqual({ delivered: 1, retried: 2, dropped: 0, pending: 0 });
  });

  it('drops an event that fails every attempt, with an error log, and goes on with the next', async () => {
    // Prepare
    const log = logger();
    const handled: string[] = [];
    const delivery = new EventDelivery({
      logger: log,
      retryDelaysMs: [10, 10],
      handler: async (raw) => {
        const e = raw as FollowedTaskEvent;
        if (e.detail.lastStatus === 'RUNNING') throw new Error('boom');
        handled.push(e.id);
      },
    });
    // Act
    delivery.deliver(event('a', 'RUNNING'));
    delivery.deliver(event('a', 'STOPPED'));
    await vi.advanceTimersByTimeAsync(100);
    // Assess
    expect(handled).toEqual(['a#STOPPED']);
    expect(delivery.stats()).toMatchObject({ delivered: 1, dropped: 1, retried: 2 });
    expect(log.lines.filter((line) => line.level === 'error')).toHaveLength(1);
  });

  it('idle waits for the queued events; close ends the waits for retries', async () => {
    // Prepare
    const delivery = new EventDelivery({
      logger: logger(),
      retryDelaysMs: [60_000],
      handler: async () => {
        throw new Error('down');
      },
    });
    delivery.deliver(event('a', 'STOPPED'));
    await vi.advanceTimersByTimeAsync(0);
    // Act
    const waiting = delivery.idle(1_000);
    await vi.advanceTimersByTimeAsync(1_000);
    const idleBefore = await waiting;
    delivery.close();
    const after = delivery.idle(1_000);
    await vi.advanceTimersByTimeAsync(0);
    // Assess
    expect(idleBefore).toBe(false);
    await expect(after).resolves.toBe(true);
    expect(delivery.stats()).toMatchObject({ dropped: 1, pending: 0 });
  });
});
