/**
 * The invocation logic and the handler around it, with small fakes: ticks only from the schedule
 * and before the poll, one poll per tick batch, pools isolated from each other's failures.
 */
import { describe, expect, it } from 'vitest';
import { createPollerHandler } from '../../../../functions/poller/create-handler.ts';
import type { PollEcs, PollOptions, PollPrefect } from '../../../../shared/poll/poll-deps.ts';
import { pollPools } from '../../../../shared/poll/poll-pools.ts';
import { type PollerDeps, runPoller } from '../../../../shared/poll/run-poller.ts';
import { PrefectNotFoundError } from '../../../../shared/prefect/prefect-api-error.ts';
import type { QueueSender } from '../../../../shared/queue/queue-sender.ts';
import { flowRun, NOW, RUN_ID, setStateResult } from './fixtures.ts';

const POOL_ID = '0b3b0000-0000-4000-8000-000000000001';

const options: PollOptions = {
  workPools: ['ecs', 'gpu'],
  workQueues: [],
  workerName: 'prod',
  launchQueueUrl: 'https://sqs/launch',
  pollIntervalSeconds: 20,
  prefetchSeconds: 60,
  leadSeconds: 0,
  limit: 200,
  orphanAfterSeconds: 300,
  maxRequeues: 3,
  cancelLookbackSeconds: 3600,
};

/** A fake Prefect with one due run per pool (unless told otherwise); records the calls. */
const fakePrefect = (runsPerPool = 0) => {
  const calls: string[] = [];
  const prefect: PollPrefect = {
    async readWorkPool(name) {
      calls.push(`readWorkPool ${name}`);
      if (name === 'missing') {
        throw new PrefectNotFoundError(
          { operation: 'readWorkPool', method: 'GET', path: `/work_pools/${name}`, attempts: 1 },
          { status: 404, statusText: 'Not Found', detail: 'Work pool not found.', retryable: false }
        );
      }
      return {
        id: POOL_ID,
        name,
        type: 'ecs',
        is_paused: false,
        status: 'READY',
        base_job_template: {},
        concurrency_limit: null,
        default_queue_id: null,
      };
    },
    async sendWorkerHeartbeat(pool) {
      calls.push(`heartbeat ${pool}`);
    },
    async getScheduledFlowRuns(pool) {
      calls.push(`getScheduledFlowRuns ${pool}`);
      return Array.from({ length: runsPerPool }, () => ({
        work_pool_id: POOL_ID,
        work_queue_id: POOL_ID,
        flow_run: flowRun(
          { next_scheduled_start_time: NOW.toISOString() },
          { type: 'SCHEDULED', name: 'Scheduled' }
        ),
      }));
    },
    async setFlowRunState(id, state) {
      calls.push(`setFlowRunState ${id}`);
      const transitionId = state.stateDetails?.transitionId ?? '';
      return {
        ...setStateResult('ACCEPT', {
          type: 'PENDING',
          name: 'Pending',
          transition_id: transitionId,
        }),
        transitionId,
      };
    },
    async updateFlowRunLabels() {
      calls.push('updateFlowRunLabels');
      return 'updated';
    },
    async filterAllFlowRuns() {
      calls.push('filterAllFlowRuns');
      return [];
    },
    async readFlowRun() {
      throw new Error('not expected');
    },
    async createLogs() {
      throw new Error('not expected');
    },
    async readFlowRunStates() {
      throw new Error('not expected');
    },
    async readDeployment() {
      throw new Error('not expected');
    },
  };
  return { prefect, calls };
};

const recordingQueue = (calls: string[], fail?: (url: string) => boolean): QueueSender => ({
  async sendMessages(url, messages) {
    calls.push(`send ${url} ${messages.map((m) => `${m.id}@${m.delaySeconds ?? 0}`).join(',')}`);
    if (fail?.(url)) throw new Error('boom');
    return { sent: messages.map((m) => m.id), failed: [], requests: 1 };
  },
});

const noEcs = {} as PollEcs;
const silent = { debug() {}, info() {}, warn() {}, error() {} };

const depsWith = (
  prefect: PollPrefect,
  queue: QueueSender,
  extra: Partial<PollerDeps> = {}
): PollerDeps => ({
  prefect,
  queue,
  ecs: noEcs,
  options,
  logger: silent,
  now: () => NOW,
  tickQueueUrl: 'https://sqs/tick',
  ...extra,
});

describe('runPoller', () => {
  it('a scheduled invocation enqueues the ticks first, then polls every pool', async () => {
    // Prepare
    const { prefect, calls } = fakePrefect();
    // Act
    const outcome = await runPoller({ kind: 'schedule' }, depsWith(prefect, recordingQueue(calls)));
    // Assess
    expect(calls[0]).toBe('send https://sqs/tick tick-20@20,tick-40@40');
    expect(outcome).toMatchObject({ trigger: 'schedule', ticksEnqueued: 2 });
    expect(outcome.poll.pools.map((pool) => pool.name)).toEqual(['ecs', 'gpu']);
  });

  it('a tick polls and enqueues no tick', async () => {
    const { prefect, calls } = fakePrefect();
    const outcome = await runPoller(
      { kind: 'tick', ticks: 3, ignored: [] },
      depsWith(prefect, recordingQueue(calls))
    );
    expect(calls.filter((call) => call.startsWith('send'))).toEqual([]);
    expect(outcome.ticksEnqueued).toBe(0);
    expect(calls.filter((call) => call.startsWith('heartbeat'))).toEqual([
      'heartbeat ecs',
      'heartbeat gpu',
    ]);
  });

  it('a direct invoke polls the pool it names', async () => {
    const { prefect, calls } = fakePrefect();
    await runPoller({ kind: 'direct', pools: ['gpu'] }, depsWith(prefect, recordingQueue(calls)));
    expect(calls.filter((call) => call.startsWith('readWorkPool'))).toEqual(['readWorkPool gpu']);
  });

  it('a poll still runs when the ticks cannot be sent', async () => {
    const { prefect, calls } = fakePrefect();
    const queue: QueueSender = {
      sendMessages: async (_url, messages) => ({
        sent: [],
        failed: messages.map((m) => ({
          id: m.id,
          code: 'AccessDenied',
          message: 'no',
          senderFault: true,
        })),
        requests: 1,
      }),
    };
    const outcome = await runPoller({ kind: 'schedule' }, depsWith(prefect, queue));
    expect(outcome.ticksEnqueued).toBe(0);
    expect(calls).toContain('heartbeat ecs');
  });
});

describe('pollPools isolation', () => {
  it('a pool that fails unexpectedly does not stop the others', async () => {
    // Prepare: one due run per pool; sending the gpu pool's launch messages throws (a bug).
    const { prefect, calls } = fakePrefect(1);
    let sends = 0;
    const queue: QueueSender = {
      async sendMessages(_url, messages) {
        sends += 1;
        calls.push(`send ${messages.length}`);
        if (sends === 2) throw new Error('queue adapter bug');
        return { sent: messages.map((m) => m.id), failed: [], requests: 1 };
      },
    };
    // Act
    const result = await pollPools(
      { pools: ['ecs', 'missing', 'gpu'] },
      {
        ...depsWith(prefect, queue),
        options: { ...options, workPools: ['ecs', 'missing', 'gpu'] },
      }
    );
    // Assess
    const [ecs, missing, gpu] = result.pools;
    expect([ecs?.claimed, ecs?.enqueued]).toEqual([1, 1]);
    expect(missing?.errors).toEqual([
      { stage: 'read-pool', message: expect.stringMatching(/'missing' was not found/) },
    ]);
    expect(gpu?.errors).toEqual([
      { stage: 'internal', message: 'Poll failed unexpectedly: queue adapter bug' },
    ]);
    expect(calls.filter((call) => call === `setFlowRunState ${RUN_ID}`)).toHaveLength(2);
  });
});

describe('createPollerHandler', () => {
  it('answers a tick batch with no failures and a schedule with totals', async () => {
    // Prepare
    const { prefect, calls } = fakePrefect();
    const deps = depsWith(prefect, recordingQueue(calls));
    const handler = createPollerHandler(async () => deps, silent);
    const tickBody = JSON.stringify({
      kind: 'poll-tick',
      planned_at: NOW.toISOString(),
      delay_seconds: 20,
    });
    // Act
    const tick = await handler({
      Records: [{ eventSource: 'aws:sqs', messageId: 'm', body: tickBody }],
    });
    const scheduled = await handler({ 'detail-type': 'Scheduled Event', source: 'aws.events' });
    // Assess
    expect(tick).toEqual({ batchItemFailures: [] });
    expect(scheduled).toEqual({
      ticks_enqueued: 2,
      claimed: 0,
      enqueued: 0,
      cancelled: 0,
      stopped: 0,
      requeued: 0,
      crashed: 0,
      errors: 0,
      pools: [
        { name: 'ecs', claimed: 0, enqueued: 0, errors: [] },
        { name: 'gpu', claimed: 0, enqueued: 0, errors: [] },
      ],
    });
  });

  it('fails loudly on an event that is not for the poller', async () => {
    const { prefect, calls } = fakePrefect();
    const handler = createPollerHandler(
      async () => depsWith(prefect, recordingQueue(calls)),
      silent
    );
    await expect(handler({ hello: 'world' })).rejects.toThrow(/Not a poller event/);
    expect(calls).toEqual([]);
  });
});
