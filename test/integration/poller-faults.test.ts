/**
 * Prefect failing in the middle of a poll (stand-in `faults.inject`, and responses lost after the
 * server acted): nothing is lost, nothing is claimed or enqueued twice.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { pollPools } from '../../shared/poll/poll-pools.ts';
import { summarizePoll } from '../../shared/poll/poll-result.ts';
import type { QueueSender } from '../../shared/queue/queue-sender.ts';
import { countBy, type PollerWorld, seedRuns, startPollerWorld } from './poller-fixtures.ts';

/** Every run got exactly one launch message, and the run holds that message's claim. */
const expectEachEnqueuedOnce = async (world: PollerWorld, ids: readonly string[]) => {
  const launches = world.launches();
  const counts = countBy(launches.map((queued) => queued.message.flow_run_id));
  expect([...counts.keys()].sort()).toEqual([...ids].sort());
  expect([...counts.values()].every((count) => count === 1)).toBe(true);
  for (const queued of launches) {
    const run = await world.admin.readFlowRun(queued.message.flow_run_id);
    expect(run.state?.type).toBe('PENDING');
    expect(run.state?.state_details.transition_id).toBe(queued.message.transition_id);
  }
};

/** Accepted PENDING proposals per run, as the server recorded them. */
const pendingWrites = (world: PollerWorld): Map<string, number> =>
  countBy(
    world.prefect.requests
      .filter(
        (r) =>
          r.path.endsWith('/set_state') &&
          r.status === 201 &&
          (r.body as { state: { type: string } }).state.type === 'PENDING'
      )
      .map((r) => r.path.split('/')[2] ?? '')
  );

/** A fetch that lets matching requests reach the server, then answers 503 instead (lost response). */
const losingResponses = (matches: (url: string) => boolean, times: number): typeof fetch => {
  let left = times;
  return async (input, init) => {
    const response = await fetch(input, init);
    const url = input instanceof Request ? input.url : String(input);
    if (left > 0 && matches(url)) {
      left -= 1;
      await response.arrayBuffer();
      return new Response(JSON.stringify({ detail: 'Service Unavailable' }), {
        status: 503,
        headers: { 'content-type': 'application/json' },
      });
    }
    return response;
  };
};

describe('poller: Prefect answering 503 mid-poll', () => {
  let world: PollerWorld;
  beforeEach(async () => {
    world = await startPollerWorld();
  });
  afterEach(async () => {
    await world.close();
  });

  it('get_scheduled_flow_runs fails on page 2: page 1 is enqueued, the rest comes next poll', async () => {
    // Prepare: after page 1's messages are sent, Prefect starts answering 503 on the next page.
    const { runs } = await seedRuns(world, { count: 12 });
    let pages = 0;
    const queue: QueueSender = {
      async sendMessages(url, messages) {
        pages += 1;
        if (pages === 1) {
          world.prefect.faults.inject({
            path: '/work_pools/ecs-pool/get_scheduled_flow_runs',
            status: 503,
            times: 3,
          });
        }
        return world.queue.sendMessages(url, messages);
      },
    };
    const deps = world.deps({ queue, options: { limit: 5 } });
    // Act
    const first = await pollPools({}, deps);
    const second = await pollPools({}, deps);
    // Assess
    expect(summarizePoll(first)).toMatchObject({ claimed: 5, enqueued: 5 });
    expect(first.pools[0]?.errors).toEqual([
      { stage: 'get-scheduled', message: expect.stringMatching(/503.*retryable, 3 attempts/) },
    ]);
    // The sweeps still ran after the failed page.
    expect(world.prefect.requests.some((r) => r.path === '/flow_runs/filter')).toBe(true);
    expect(summarizePoll(second)).toMatchObject({ claimed: 7, enqueued: 7, errors: 0 });
    await expectEachEnqueuedOnce(
      world,
      runs.map((run) => run.id)
    );
    expect([...pendingWrites(world).values()].every((count) => count === 1)).toBe(true);
  });

  it('set_state fails for one run: a retry within the call claims it; exhausted retries leave it for the next poll', async () => {
    // Prepare
    const { runs } = await seedRuns(world, { count: 4 });
    const [flaky, down] = runs;
    world.prefect.faults.inject({ path: `/flow_runs/${flaky?.id}/set_state`, status: 503 });
    world.prefect.faults.inject({
      path: `/flow_runs/${down?.id}/set_state`,
      status: 503,
      retryAfter: 1,
      times: 3,
    });
    // Act
    const first = await pollPools({}, world.deps());
    const second = await pollPools({}, world.deps());
    // Assess
    expect(summarizePoll(first)).toMatchObject({ claimed: 3, enqueued: 3 });
    expect(first.pools[0]?.errors).toEqual([
      {
        stage: 'claim',
        flowRunId: down?.id,
        message: expect.stringMatching(/^Claim failed: .*503/),
      },
    ]);
    expect(summarizePoll(second)).toMatchObject({ claimed: 1, enqueued: 1, errors: 0 });
    await expectEachEnqueuedOnce(
      world,
      runs.map((run) => run.id)
    );
  });

  it('a claim whose answer was lost is recognised by reading the run again, never resent blindly', async () => {
    // Prepare: the server writes the claim, the answer is lost (as many times as it is asked)
    const { runs } = await seedRuns(world, { count: 3 });
    const target = runs[1]?.id ?? '';
    const prefect = world.pollerClient({
      fetch: losingResponses((url) => url.endsWith(`/flow_runs/${target}/set_state`), 3),
    });
    // Act
    const result = await pollPools({}, world.deps({ prefect }));
    // Assess: one proposal, then a read that finds our claim; claimed and enqueued once
    expect(summarizePoll(result)).toMatchObject({ claimed: 3, enqueued: 3, errors: 0 });
    const targetRequests = world.prefect.requests
      .filter(
        (r) => r.path === `/flow_runs/${target}/set_state` || r.path === `/flow_runs/${target}`
      )
      .map((r) => `${r.method} ${r.status}`);
    expect(targetRequests).toEqual(['POST 201', 'GET 200']);
    expect(pendingWrites(world).get(target)).toBe(1);
    await expectEachEnqueuedOnce(
      world,
      runs.map((run) => run.id)
    );
    const run = await world.admin.readFlowRun(target);
    const queued = world.launches().find((q) => q.message.flow_run_id === target);
    expect(queued?.message.transition_id).toBe(run.state?.state_details.transition_id);
  });

  it('a claim that failed before the write is proposed again only after a read shows the run still SCHEDULED', async () => {
    // Prepare: the first proposal is refused before the server writes anything
    const { runs } = await seedRuns(world, { count: 1 });
    const target = runs[0]?.id ?? '';
    world.prefect.faults.inject({
      method: 'POST',
      path: `/flow_runs/${target}/set_state`,
      status: 503,
    });
    // Act
    const result = await pollPools({}, world.deps());
    // Assess
    expect(summarizePoll(result)).toMatchObject({ claimed: 1, enqueued: 1, errors: 0 });
    const targetRequests = world.prefect.requests
      .filter(
        (r) => r.path === `/flow_runs/${target}/set_state` || r.path === `/flow_runs/${target}`
      )
      .map((r) => `${r.method} ${r.status}`);
    expect(targetRequests).toEqual(['POST 503', 'GET 200', 'POST 201']);
  });

  it('labels and heartbeat failing cost only the label and the heartbeat', async () => {
    // Prepare
    const { runs } = await seedRuns(world, { count: 2 });
    world.prefect.faults.inject({
      path: '/work_pools/ecs-pool/workers/heartbeat',
      status: 503,
      times: 3,
    });
    world.prefect.faults.inject({
      path: `/flow_runs/${runs[0]?.id}/labels`,
      status: 503,
      times: 3,
    });
    // Act
    const result = await pollPools({}, world.deps());
    // Assess
    expect(summarizePoll(result)).toMatchObject({ claimed: 2, enqueued: 2 });
    expect(result.pools[0]?.errors.map((error) => [error.stage, error.flowRunId])).toEqual([
      ['heartbeat', undefined],
      ['label', runs[0]?.id],
    ]);
    await expectEachEnqueuedOnce(
      world,
      runs.map((run) => run.id)
    );
  });
});
