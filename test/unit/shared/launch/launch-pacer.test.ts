import { describe, expect, it } from 'vitest';
import type { EcsApi, RunTaskInput } from '../../../../shared/ecs/ecs-api.ts';
import { EcsApiError } from '../../../../shared/errors/ecs-api-error.ts';
import { createLaunchPacer, withLaunchPacing } from '../../../../shared/launch/launch-pacer.ts';
import { LaunchThrottledError } from '../../../../shared/launch/launch-throttled-error.ts';

/** A manual clock whose sleep moves time forward (and records each wait). */
const virtualTime = () => {
  let now = 0;
  const waits: number[] = [];
  return {
    nowMs: () => now,
    sleep: async (ms: number) => {
      waits.push(ms);
      now += ms;
    },
    waits,
    advance: (ms: number) => {
      now += ms;
    },
  };
};

describe('createLaunchPacer', () => {
  it('lets the burst through at once, then spaces calls 1/rate apart', async () => {
    // Prepare
    const time = virtualTime();
    const pacer = createLaunchPacer({ ratePerSecond: 4, burst: 2 }, time);
    // Act
    for (let i = 0; i < 4; i++) await pacer.acquire();
    // Assess: two free tokens, then 250 ms each
    expect(time.waits).toEqual([250, 250]);
    expect(time.nowMs()).toBe(500);
  });

  it('queues concurrent callers in order, each a token further out', async () => {
    // Prepare
    const time = { nowMs: () => 0, waits: [] as number[] };
    const pacer = createLaunchPacer(
      { ratePerSecond: 4, burst: 1 },
      { nowMs: time.nowMs, sleep: async (ms) => void time.waits.push(ms) }
    );
    // Act
    await Promise.all([pacer.acquire(), pacer.acquire(), pacer.acquire()]);
    // Assess
    expect(time.waits).toEqual([250, 500]);
  });

  it('sends a caller back to the queue rather than wait past maxWaitMs', async () => {
    // Prepare
    const pacer = createLaunchPacer(
      { ratePerSecond: 1, burst: 1 },
      { nowMs: () => 0, sleep: async () => undefined, maxWaitMs: 1_500 }
    );
    await pacer.acquire();
    await pacer.acquire(); // waits 1 s
    // Act
    const third = pacer.acquire();
    // Assess: 2 s would be needed
    await expect(third).rejects.toBeInstanceOf(LaunchThrottledError);
  });

  it('spends its remaining tokens when ECS throttles, so the next call waits a full interval', async () => {
    // Prepare
    const time = virtualTime();
    const pacer = createLaunchPacer({ ratePerSecond: 2, burst: 5 }, time);
    // Act
    pacer.throttled();
    await pacer.acquire();
    // Assess
    expect(time.waits).toEqual([500]);
  });
});

describe('withLaunchPacing', () => {
  const input = { cluster: 'prefect' } as unknown as RunTaskInput;

  it('paces RunTask and reports a ThrottlingException to the pacer', async () => {
    // Prepare
    const time = virtualTime();
    let calls = 0;
    const ecs = {
      runTask: async () => {
        calls++;
        throw new EcsApiError(
          'ECS runTask failed: ThrottlingException: Rate exceeded',
          {
            operation: 'runTask',
            code: 'ThrottlingException',
          },
          true
        );
      },
    } as unknown as EcsApi;
    const paced = withLaunchPacing(ecs, createLaunchPacer({ ratePerSecond: 1, burst: 3 }, time));
    // Act
    await expect(paced.runTask(input)).rejects.toThrow(/Rate exceeded/);
    await expect(paced.runTask(input)).rejects.toThrow(/Rate exceeded/);
    // Assess: the throttle emptied the two tokens left, so the second call waited 1 s
    expect(calls).toBe(2);
    expect(time.waits).toEqual([1_000]);
  });

  it('leaves the other calls alone', async () => {
    // Prepare
    const time = virtualTime();
    const ecs = {
      runTask: async () => ({ tasks: [], failures: [] }),
      describeTaskDefinition: async () => undefined,
    } as unknown as EcsApi;
    const paced = withLaunchPacing(ecs, createLaunchPacer({ ratePerSecond: 1, burst: 1 }, time));
    // Act
    for (let i = 0; i < 3; i++) await paced.describeTaskDefinition('family');
    // Assess
    expect(time.waits).toEqual([]);
  });
});
