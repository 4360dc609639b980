import {
  DescribeTaskDefinitionCommand,
  type ECSClient,
  RegisterTaskDefinitionCommand,
  RunTaskCommand,
} from '@aws-sdk/client-ecs';
import { afterEach, describe, expect, it } from 'vitest';
import { ecsClient, fargateTaskDefinition, rawEcsRequest, setUpFargate } from './fixtures.ts';
import { startAwsStandin } from './server.ts';
import {
  createEcsThrottling,
  DOCUMENTED_ECS_LIMITS,
  type EcsThrottlingOptions,
  TokenBucket,
} from './throttling.ts';
import type { AwsStandin } from './types.ts';

/** A clock the test moves by hand. */
const manualClock = (startMs = 1_000_000) => {
  let now = startMs;
  return { nowMs: () => now, advance: (ms: number) => (now += ms) };
};

/** Admits `times` RunTask calls on Fargate now; returns how many were admitted. */
const runTasks = (
  throttling: ReturnType<typeof createEcsThrottling>,
  times: number,
  input: Record<string, unknown> = { launchType: 'FARGATE' }
): number => {
  let admitted = 0;
  for (let i = 0; i < times; i++) if (!throttling.admit('RunTask', input)) admitted++;
  return admitted;
};

describe('TokenBucket', () => {
  it('starts full, refills continuously at its rate and never above its capacity', () => {
    // Prepare
    const bucket = new TokenBucket({ capacity: 10, refillPerSecond: 4 }, 0);
    // Act
    bucket.take(10);
    const afterHalfSecond = bucket.available(500);
    const afterAMinute = bucket.available(60_500);
    // Assess
    expect(afterHalfSecond).toBeCloseTo(2);
    expect(afterAMinute).toBe(10);
  });

  it('refuses limits that are not positive', () => {
    // Act / Assess
    expect(() => new TokenBucket({ capacity: 0, refillPerSecond: 1 }, 0)).toThrow(/positive/);
  });
});

describe('createEcsThrottling', () => {
  it('defaults to the documented limits', () => {
    // Act
    const throttling = createEcsThrottling();
    // Assess
    expect(throttling.limits.clusterResourceModify).toEqual({ capacity: 100, refillPerSecond: 40 });
    expect(throttling.limits.taskDefinitionModify).toEqual({ capacity: 20, refillPerSecond: 1 });
    expect(throttling.limits.taskDefinitionRead).toEqual({ capacity: 50, refillPerSecond: 20 });
    expect(throttling.limits.fargateOnDemandTasks).toEqual({ capacity: 100, refillPerSecond: 20 });
    expect(throttling.limits.fargateRunTaskCalls).toEqual({ capacity: 20, refillPerSecond: 20 });
  });

  it('lets a Fargate RunTask burst through its call bucket, then the sustained rate', () => {
    // Prepare
    const clock = manualClock();
    const throttling = createEcsThrottling({ nowMs: clock.nowMs });
    // Act
    const burst = runTasks(throttling, 30);
    clock.advance(1_000);
    const nextSecond = runTasks(throttling, 30);
    // Assess: 20 calls of burst, then 20 per second (the Fargate RunTask call quota binds first)
    expect(burst).toBe(20);
    expect(nextSecond).toBe(20);
    expect(throttling.counts().RunTask).toEqual({ admitted: 40, throttled: 20 });
  });

  it('charges one Fargate task token per task, so count: 10 drains the task bucket faster', () => {
    // Prepare
    const clock = manualClock();
    const throttling = createEcsThrottling({ nowMs: clock.nowMs });
    // Act
    const admitted = runTasks(throttling, 12, { launchType: 'FARGATE', count: 10 });
    // Assess: 100 task tokens / 10 per call
    expect(admitted).toBe(10);
    expect(throttling.tokens('fargateOnDemandTasks')).toBeCloseTo(0);
  });

  it('keeps Fargate Spot launches in their own bucket and leaves EC2 launches out of both', () => {
    // Prepare
    const clock = manualClock();
    const buckets: EcsThrottlingOptions['buckets'] = {
      fargateRunTaskCalls: false,
      fargateOnDemandTasks: { capacity: 2, refillPerSecond: 1 },
      fargateSpotTasks: { capacity: 3, refillPerSecond: 1 },
    };
    const throttling = createEcsThrottling({ nowMs: clock.nowMs, buckets });
    const spot = { capacityProviderStrategy: [{ capacityProvider: 'FARGATE_SPOT', weight: 1 }] };
    // Act
    const onDemand = runTasks(throttling, 5);
    const onSpot = runTasks(throttling, 5, spot);
    const onEc2 = runTasks(throttling, 5, { launchType: 'EC2' });
    // Assess
    expect([onDemand, onSpot, onEc2]).toEqual([2, 3, 5]);
  });

  it('takes nothing from any bucket when one of them refuses', () => {
    // Prepare
    const clock = manualClock();
    const throttling = createEcsThrottling({
      nowMs: clock.nowMs,
      buckets: { fargateOnDemandTasks: { capacity: 1, refillPerSecond: 1 } },
    });
    runTasks(throttling, 1);
    // Act
    const refused = throttling.admit('RunTask', { launchType: 'FARGATE' });
    // Assess: the API and call buckets kept their tokens
    expect(refused?.code).toBe('ThrottlingException');
    expect(throttling.tokens('clusterResourceModify')).toBe(
      DOCUMENTED_ECS_LIMITS.clusterResourceModify.capacity - 1
    );
    expect(throttling.tokens('fargateRunTaskCalls')).toBe(
      DOCUMENTED_ECS_LIMITS.fargateRunTaskCalls.capacity - 1
    );
  });

  it('throttles RegisterTaskDefinition after 20 and refills one per second', () => {
    // Prepare
    const clock = manualClock();
    const throttling = createEcsThrottling({ nowMs: clock.nowMs });
    const register = () => throttling.admit('RegisterTaskDefinition', {}) === undefined;
    // Act
    const burst = Array.from({ length: 25 }, register).filter(Boolean).length;
    clock.advance(2_500);
    const later = Array.from({ length: 5 }, register).filter(Boolean).length;
    // Assess
    expect(burst).toBe(20);
    expect(later).toBe(2);
  });

  it('never throttles operations outside the modelled categories', () => {
    // Prepare
    const throttling = createEcsThrottling({ nowMs: manualClock().nowMs });
    // Act
    const refused = Array.from({ length: 500 }, () => throttling.admit('DescribeClusters', {}));
    // Assess
    expect(refused.filter(Boolean)).toHaveLength(0);
  });
});

describe('ECS stand-in with throttling on', () => {
  let standin: AwsStandin | undefined;
  let ecs: ECSClient | undefined;

  afterEach(async () => {
    ecs?.destroy();
    await standin?.close();
  });

  it('answers ThrottlingException "Rate exceeded" with status 400, as ECS does', async () => {
    // Prepare
    standin = await startAwsStandin({
      throttling: { buckets: { taskDefinitionRead: { capacity: 1, refillPerSecond: 0.001 } } },
    });
    ecs = ecsClient(standin, { maxAttempts: 1 });
    await ecs.send(new RegisterTaskDefinitionCommand(fargateTaskDefinition('throttled')));
    const describe = '{"taskDefinition":"throttled"}';
    await rawEcsRequest(standin, 'DescribeTaskDefinition', describe);
    // Act
    const raw = await rawEcsRequest(standin, 'DescribeTaskDefinition', describe);
    const viaSdk = await ecs
      .send(new DescribeTaskDefinitionCommand({ taskDefinition: 'throttled' }))
      .catch((error: unknown) => error as { name: string; message: string; $fault: string });
    // Assess
    expect(raw.status).toBe(400);
    expect(raw.headers.get('x-amzn-errortype')).toBe('ThrottlingException');
    expect(await raw.json()).toEqual({ __type: 'ThrottlingException', message: 'Rate exceeded' });
    expect(viaSdk).toMatchObject({ name: 'ThrottlingException', message: 'Rate exceeded' });
    expect(standin.callsTo('DescribeTaskDefinition').at(-1)?.error).toEqual({
      code: 'ThrottlingException',
      message: 'Rate exceeded',
    });
  });

  it('refuses Fargate launches past the task bucket on the stand-in clock, and starts no task', async () => {
    // Prepare
    let clock = new Date('2026-01-15T10:00:00.000Z');
    standin = await startAwsStandin({
      now: () => clock,
      throttling: { buckets: { fargateOnDemandTasks: { capacity: 2, refillPerSecond: 1 } } },
    });
    ecs = ecsClient(standin, { maxAttempts: 1 });
    const fargate = await setUpFargate(standin, ecs);
    const run = () =>
      ecs
        ?.send(new RunTaskCommand(fargate.runInput()))
        .then(() => 'started')
        .catch((error: { name: string }) => error.name);
    // Act
    const first = [await run(), await run(), await run()];
    clock = new Date(clock.getTime() + 1_000);
    const afterASecond = await run();
    // Assess
    expect(first).toEqual(['started', 'started', 'ThrottlingException']);
    expect(afterASecond).toBe('started');
    expect(standin.ecs.tasks()).toHaveLength(3);
  });

  it('is off by default', async () => {
    // Prepare
    standin = await startAwsStandin();
    // Assess
    expect(standin.throttling).toBeUndefined();
  });
});
