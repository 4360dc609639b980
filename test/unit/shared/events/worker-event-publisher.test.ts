/** Sending worker events never throws and never waits longer than its budget. */
import { describe, expect, it } from 'vitest';
import type { PrefectEvent } from '../../../../shared/events/prefect-event.ts';
import {
  createWorkerEventPublisher,
  WORKER_EVENTS_DROPPED_METRIC,
} from '../../../../shared/events/worker-event-publisher.ts';
import { buildWorkerStartedEvent } from '../../../../shared/events/worker-events.ts';

const worker = { name: 'prefect-ecs-serverless', prefectVersion: '3.8.3' };
const event = (instance: string): PrefectEvent =>
  buildWorkerStartedEvent({ worker, workPool: null, instance, occurred: new Date(0) });

const recorder = () => {
  const sent: PrefectEvent[][] = [];
  const warnings: Record<string, unknown>[] = [];
  const metrics: [string, number][] = [];
  return {
    sent,
    warnings,
    metrics,
    logger: {
      warn: (_message: string, attributes?: Record<string, unknown>) =>
        warnings.push(attributes ?? {}),
    },
    sink: {
      addMetric: (name: string, _unit: unknown, value: number) => metrics.push([name, value]),
    },
  };
};

describe('createWorkerEventPublisher', () => {
  it('sends a batch’s events in one request, and nothing for an empty batch', async () => {
    // Prepare
    const r = recorder();
    const publisher = createWorkerEventPublisher({
      worker,
      emitEvents: async (events) => {
        r.sent.push([...events]);
      },
      logger: r.logger,
    });
    const batch = publisher.batch();
    batch.add(event('a'));
    batch.add(event('b'));
    // Act
    const first = await batch.flush();
    const second = await batch.flush();
    // Assess
    expect(first).toEqual({ sent: 2, dropped: 0 });
    expect(second).toEqual({ sent: 0, dropped: 0 });
    expect(r.sent.map((events) => events.length)).toEqual([2]);
  });

  it('logs and counts a failed send instead of throwing', async () => {
    // Prepare
    const r = recorder();
    const publisher = createWorkerEventPublisher({
      worker,
      emitEvents: async () => {
        throw new Error('503 Service Unavailable');
      },
      logger: r.logger,
      metrics: r.sink as never,
    });
    // Act
    const result = await publisher.publish([event('a')]);
    // Assess
    expect(result).toEqual({ sent: 0, dropped: 1 });
    expect(r.warnings[0]).toMatchObject({ events: 1, reason: 'Error: 503 Service Unavailable' });
    expect(r.metrics).toEqual([[WORKER_EVENTS_DROPPED_METRIC, 1]]);
  });

  it('stops waiting for a slow send after its budget', async () => {
    // Prepare
    const r = recorder();
    const publisher = createWorkerEventPublisher({
      worker,
      emitEvents: () => new Promise<void>(() => {}),
      logger: r.logger,
      budgetMs: 50,
    });
    const started = performance.now();
    // Act
    const result = await publisher.publish([event('a')]);
    // Assess
    expect(performance.now() - started).toBeLessThan(1_000);
    expect(result).toEqual({ sent: 0, dropped: 1 });
    expect(r.warnings[0]).toMatchObject({ reason: 'no answer within 50 ms' });
  });
});
