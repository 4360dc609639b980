/**
 * Cadence: the handler driven through a simulated hour at the default 20 s. Each scheduled
 * invocation enqueues ticks at +20 s and +40 s on the tick queue (SQS stand-in), each tick record
 * polls again, and the pool, its queue, its deployment and the worker stay READY / ONLINE at every
 * moment just before the next poll, the longest they ever go without one.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPollerHandler } from '../../functions/poller/create-handler.ts';
import { TickMessageSchema } from '../../shared/poll/tick-plan.ts';
import { type PollerWorld, seedRuns, startPollerWorld, WORKER } from './poller-fixtures.ts';

const scheduledEvent = (time: Date) => ({
  version: '0',
  id: crypto.randomUUID(),
  'detail-type': 'Scheduled Event',
  source: 'aws.events',
  account: '123456789012',
  time: time.toISOString().replace(/\.\d{3}Z$/, 'Z'),
  region: 'us-east-1',
  resources: ['arn:aws:events:us-east-1:123456789012:rule/poller-schedule'],
  detail: {},
});

const tickEvent = (body: string) => ({
  Records: [
    {
      messageId: crypto.randomUUID(),
      receiptHandle: 'r',
      body,
      attributes: {},
      messageAttributes: {},
      md5OfBody: '',
      eventSource: 'aws:sqs',
      eventSourceARN: 'arn:aws:sqs:us-east-1:123456789012:tick',
      awsRegion: 'us-east-1',
    },
  ],
});

describe('poller cadence: READY through a simulated hour', () => {
  let world: PollerWorld;
  let deploymentId: string;
  beforeAll(async () => {
    world = await startPollerWorld();
    ({
      deployment: { id: deploymentId },
    } = await seedRuns(world, { count: 0 }));
  });
  afterAll(async () => {
    await world.close();
  });

  it('a scheduled invocation enqueues ticks at +20 s and +40 s; a tick enqueues none', async () => {
    // Prepare
    const deps = world.deps();
    const handler = createPollerHandler(async () => deps, deps.logger);
    // Act
    const scheduled = await handler(scheduledEvent(world.now()));
    const ticks = world.sqs.fauxqs.inspectQueue('tick')?.messages.delayed ?? [];
    const tickBody = ticks[0]?.body ?? '';
    const tick = await handler(tickEvent(tickBody));
    // Assess
    expect(scheduled).toMatchObject({ ticks_enqueued: 2, claimed: 0, errors: 0 });
    expect(
      ticks.map((m) => Math.round(((m.delayUntil ?? 0) - m.sentTimestamp) / 1000)).sort()
    ).toEqual([20, 40]);
    expect(
      ticks.map((m) => TickMessageSchema.parse(JSON.parse(m.body)).delay_seconds).sort()
    ).toEqual([20, 40]);
    expect(tick).toEqual({ batchItemFailures: [] });
    expect(world.sqs.fauxqs.inspectQueue('tick')?.messages.delayed).toHaveLength(2);
    world.purge();
  });

  it('pool, queue, deployment and worker stay READY / ONLINE for an hour', async () => {
    // Prepare
    const deps = world.deps();
    const handler = createPollerHandler(async () => deps, deps.logger);
    const tickBody = JSON.stringify({
      kind: 'poll-tick',
      planned_at: world.now().toISOString(),
      delay_seconds: 20,
    });
    const statuses: string[] = [];
    const observe = async (label: string) => {
      const pool = await world.admin.readWorkPool('ecs-pool');
      const queue = await world.admin.readWorkQueue('ecs-pool', 'default');
      const deployment = (await world.admin.readDeployment(deploymentId)) as { status?: unknown };
      const [worker] = await world.admin.readWorkers('ecs-pool');
      const seen = `${pool.status}/${queue.status}/${String(deployment.status)}/${worker?.status}`;
      if (seen !== 'READY/READY/READY/ONLINE') statuses.push(`${label}: ${seen}`);
    };
    await handler(scheduledEvent(world.now()));
    // Act: 60 minutes: at :00 the schedule, at :20 and :40 the ticks it enqueued.
    for (let minute = 0; minute < 60; minute += 1) {
      for (const offset of [20, 40]) {
        world.clock?.advance(20);
        await observe(`minute ${minute} +${offset}s, before the tick`);
        await handler(tickEvent(tickBody));
      }
      world.clock?.advance(20);
      await observe(`minute ${minute + 1}, before the schedule`);
      await handler(scheduledEvent(world.now()));
    }
    // Assess
    expect(statuses).toEqual([]);
    const heartbeats = world.prefect.requests.filter((r) => r.path.endsWith('/workers/heartbeat'));
    expect(heartbeats.length).toBeGreaterThanOrEqual(180);
    expect(new Set(heartbeats.map((r) => JSON.stringify(r.body)))).toEqual(
      new Set([JSON.stringify({ name: WORKER, heartbeat_interval_seconds: 20 })])
    );
    world.purge();
  });

  it('without polls for 61 s the same objects do go NOT_READY / OFFLINE (the check above can fail)', async () => {
    // Prepare / Act
    world.clock?.advance(61);
    const pool = await world.admin.readWorkPool('ecs-pool');
    const queue = await world.admin.readWorkQueue('ecs-pool', 'default');
    const [worker] = await world.admin.readWorkers('ecs-pool');
    // Assess: the queue after 60 s unpolled, the worker after 3 × the 20 s interval it reported.
    expect(queue.status).toBe('NOT_READY');
    expect(worker?.status).toBe('OFFLINE');
    expect(pool.status).toBe('NOT_READY');
  });
});
