import { afterEach, describe, expect, it } from 'vitest';
import { seed, user } from './actors.ts';
import { createManualClock } from './manual-clock.ts';
import { rawCall } from './raw-http.ts';
import { type PrefectStandin, startPrefectStandin } from './server.ts';

type Pool = { id: string; status: string; default_queue_id: string; active_slots: number | null };
type Queue = {
  id: string;
  name: string;
  status: string;
  priority: number;
  last_polled: string | null;
};
type Worker = { name: string; status: string; heartbeat_interval_seconds: number | null };

describe('Prefect stand-in: work pools, queues and workers', () => {
  let prefect: PrefectStandin;
  afterEach(async () => {
    await prefect.close();
  });

  const readPool = async (name = 'pool') =>
    (await rawCall(prefect.apiUrl, 'GET', `/work_pools/${name}`)).body as Pool;
  const readQueue = async (queue = 'default') =>
    (await rawCall(prefect.apiUrl, 'GET', `/work_pools/pool/queues/${queue}`)).body as Queue;
  const heartbeat = (body: Record<string, unknown>) =>
    rawCall(prefect.apiUrl, 'POST', '/work_pools/pool/workers/heartbeat', { body });
  const poll = (body: Record<string, unknown> = {}) =>
    rawCall(prefect.apiUrl, 'POST', '/work_pools/pool/get_scheduled_flow_runs', { body });

  describe('create', () => {
    it('creates the pool with its default queue', async () => {
      // Prepare
      prefect = await startPrefectStandin();
      // Act
      const created = await rawCall(prefect.apiUrl, 'POST', '/work_pools/', {
        body: { name: 'pool', type: 'ecs' },
      });
      // Assess
      const pool = created.body as Pool;
      const queue = await readQueue();
      expect(created.status).toBe(201);
      expect(pool.default_queue_id).toBe(queue.id);
      expect(queue).toMatchObject({ name: 'default', priority: 1, status: 'NOT_READY' });
      expect(pool).toMatchObject({ status: 'NOT_READY', active_slots: null });
    });

    it('refuses a duplicate name with 409 and a reserved name with 403', async () => {
      // Prepare
      prefect = await startPrefectStandin();
      await seed.workPool(prefect.apiUrl, { name: 'pool' });
      // Act
      const duplicate = await rawCall(prefect.apiUrl, 'POST', '/work_pools/', {
        body: { name: 'pool' },
      });
      const reserved = await rawCall(prefect.apiUrl, 'POST', '/work_pools/', {
        body: { name: 'Prefect-managed' },
      });
      // Assess
      expect(duplicate).toMatchObject({
        status: 409,
        body: { detail: 'A work pool with this name already exists.' },
      });
      expect(reserved).toMatchObject({
        status: 403,
        body: { detail: "Work pools starting with 'Prefect' are reserved for internal use." },
      });
    });

    it('validates the template defaults against its variables schema (422)', async () => {
      // Prepare
      prefect = await startPrefectStandin();
      const template = {
        job_configuration: { cpu: '{{ cpu }}' },
        variables: { type: 'object', properties: { cpu: { type: 'integer', default: 'lots' } } },
      };
      // Act
      const response = await rawCall(prefect.apiUrl, 'POST', '/work_pools/', {
        body: { name: 'pool', type: 'ecs', base_job_template: template },
      });
      // Assess
      expect(response.status).toBe(422);
      expect(response.body).toEqual({
        detail: "Validation failed for field 'cpu'. Failure reason: must be integer",
      });
    });

    it('answers 404 with the pool name for an unknown pool', async () => {
      // Prepare
      prefect = await startPrefectStandin();
      // Act
      const response = await rawCall(prefect.apiUrl, 'GET', '/work_pools/missing');
      // Assess
      expect(response).toMatchObject({
        status: 404,
        body: { detail: 'Work pool "missing" not found.' },
      });
    });
  });

  describe('status', () => {
    it('is READY while a worker heartbeated within 3 × its interval, NOT_READY after', async () => {
      // Prepare
      const clock = createManualClock();
      prefect = await startPrefectStandin({ now: clock.now });
      await seed.workPool(prefect.apiUrl, { name: 'pool' });
      // Act
      const before = (await readPool()).status;
      await heartbeat({ name: 'lambda', heartbeat_interval_seconds: 20 });
      const afterHeartbeat = (await readPool()).status;
      clock.advance(60);
      const atLimit = (await readPool()).status;
      clock.advance(1);
      const late = (await readPool()).status;
      // Assess
      expect([before, afterHeartbeat, atLimit, late]).toEqual([
        'NOT_READY',
        'READY',
        'READY',
        'NOT_READY',
      ]);
    });

    it('falls back to a 30 s interval (90 s) when none was sent', async () => {
      // Prepare
      const clock = createManualClock();
      prefect = await startPrefectStandin({ now: clock.now });
      await seed.workPool(prefect.apiUrl, { name: 'pool' });
      await heartbeat({ name: 'lambda' });
      // Act
      clock.advance(90);
      const at90 = await rawCall(prefect.apiUrl, 'POST', '/work_pools/pool/workers/filter', {
        body: {},
      });
      clock.advance(1);
      const at91 = await rawCall(prefect.apiUrl, 'POST', '/work_pools/pool/workers/filter', {
        body: {},
      });
      // Assess
      expect((at90.body as Worker[]).map((w) => w.status)).toEqual(['ONLINE']);
      expect((at91.body as Worker[])[0]).toMatchObject({
        name: 'lambda',
        status: 'OFFLINE',
        heartbeat_interval_seconds: null,
      });
      expect((await readPool()).status).toBe('NOT_READY');
    });

    it('upserts the worker by name', async () => {
      // Prepare
      prefect = await startPrefectStandin();
      await seed.workPool(prefect.apiUrl, { name: 'pool' });
      // Act
      await heartbeat({ name: 'lambda', heartbeat_interval_seconds: 60 });
      await heartbeat({ name: 'lambda' });
      const workers = await rawCall(prefect.apiUrl, 'POST', '/work_pools/pool/workers/filter', {
        body: {},
      });
      // Assess
      expect(workers.body).toHaveLength(1);
      expect((workers.body as Worker[])[0]?.heartbeat_interval_seconds).toBe(60);
    });

    it('is PAUSED while paused, whatever the workers do', async () => {
      // Prepare
      prefect = await startPrefectStandin();
      await seed.workPool(prefect.apiUrl, { name: 'pool' });
      await heartbeat({ name: 'lambda' });
      // Act
      await user.pauseWorkPool(prefect.apiUrl, 'pool');
      const paused = await readPool();
      await user.pauseWorkPool(prefect.apiUrl, 'pool', false);
      const resumed = await readPool();
      // Assess
      expect(paused).toMatchObject({ status: 'PAUSED', is_paused: true });
      expect(resumed.status).toBe('READY');
    });

    it('marks polled queues READY and NOT_READY again after 60 s without a poll', async () => {
      // Prepare
      const clock = createManualClock();
      prefect = await startPrefectStandin({ now: clock.now });
      await seed.workPool(prefect.apiUrl, { name: 'pool' });
      await seed.workQueue(prefect.apiUrl, 'pool', { name: 'other' });
      // Act
      await poll({ work_queue_names: ['default'] });
      const polled = await readQueue('default');
      const notPolled = await readQueue('other');
      clock.advance(61);
      const stale = await readQueue('default');
      // Assess
      expect(polled).toMatchObject({ status: 'READY', last_polled: '2026-08-21T12:00:00Z' });
      expect(notPolled.status).toBe('NOT_READY');
      expect(stale.status).toBe('NOT_READY');
    });

    it('reports active_slots when a concurrency limit is set', async () => {
      // Prepare
      prefect = await startPrefectStandin();
      await seed.workPool(prefect.apiUrl, { name: 'pool', concurrency_limit: 3 });
      // Act
      const pool = await readPool();
      // Assess
      expect(pool).toMatchObject({ concurrency_limit: 3, active_slots: 0 });
    });
  });

  describe('queues', () => {
    it('keeps priorities unique: a new queue at priority 1 pushes the others down', async () => {
      // Prepare
      prefect = await startPrefectStandin();
      await seed.workPool(prefect.apiUrl, { name: 'pool' });
      await seed.workQueue(prefect.apiUrl, 'pool', { name: 'second' });
      // Act
      await seed.workQueue(prefect.apiUrl, 'pool', { name: 'urgent', priority: 1 });
      const queues = await rawCall(prefect.apiUrl, 'POST', '/work_pools/pool/queues/filter', {
        body: {},
      });
      // Assess
      expect((queues.body as Queue[]).map((q) => [q.name, q.priority])).toEqual([
        ['urgent', 1],
        ['default', 2],
        ['second', 3],
      ]);
    });

    it('answers 404 for an unknown queue and 409 for a duplicate', async () => {
      // Prepare
      prefect = await startPrefectStandin();
      await seed.workPool(prefect.apiUrl, { name: 'pool' });
      // Act
      const missing = await rawCall(prefect.apiUrl, 'GET', '/work_pools/pool/queues/nope');
      const duplicate = await rawCall(prefect.apiUrl, 'POST', '/work_pools/pool/queues', {
        body: { name: 'default' },
      });
      // Assess
      expect(missing.body).toEqual({ detail: "Work pool queue 'pool/nope' not found." });
      expect(duplicate.status).toBe(409);
    });

    it('updates a queue with PATCH (204) and shows PAUSED', async () => {
      // Prepare
      prefect = await startPrefectStandin();
      await seed.workPool(prefect.apiUrl, { name: 'pool' });
      // Act
      const patched = await rawCall(prefect.apiUrl, 'PATCH', '/work_pools/pool/queues/default', {
        body: { is_paused: true, concurrency_limit: 2 },
      });
      // Assess
      expect(patched.status).toBe(204);
      expect(await readQueue()).toMatchObject({
        status: 'PAUSED',
        concurrency_limit: 2,
        active_slots: 0,
      });
    });
  });
});
