import { DescribeTasksCommand, type ECSClient, RunTaskCommand } from '@aws-sdk/client-ecs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ecsClient, type FargateSetup, setUpFargate } from './fixtures.ts';
import { startAwsStandin } from './server.ts';
import type { AwsStandin } from './types.ts';

describe('ECS stand-in: the injected clock', () => {
  let clock = new Date('2026-01-15T10:00:00.000Z');
  let standin: AwsStandin;
  let ecs: ECSClient;
  let fargate: FargateSetup;

  const later = (ms: number): void => {
    clock = new Date(clock.getTime() + ms);
  };

  beforeAll(async () => {
    standin = await startAwsStandin({ now: () => clock });
    ecs = ecsClient(standin);
    fargate = await setUpFargate(standin, ecs);
  });

  afterAll(async () => {
    ecs.destroy();
    await standin.close();
  });

  it('stamps tasks and events with it', async () => {
    // Prepare
    const { tasks } = await ecs.send(new RunTaskCommand(fargate.runInput()));
    const taskArn = tasks?.[0]?.taskArn ?? '';
    later(41_000);
    // Act
    await standin.ecs.advance(taskArn, 'RUNNING');
    // Assess
    const events = standin.events.filter((event) => event.resources[0] === taskArn);
    expect(tasks?.[0]?.createdAt).toEqual(new Date('2026-01-15T10:00:00.000Z'));
    expect(events.map((event) => event.time)).toEqual([
      '2026-01-15T10:00:00Z',
      '2026-01-15T10:00:41Z',
      '2026-01-15T10:00:41Z',
    ]);
    expect(events.at(-1)?.detail.startedAt).toBe('2026-01-15T10:00:41.000Z');
  });

  it('forgets a stopped task an hour after it stopped (DescribeTasks answers MISSING)', async () => {
    // Prepare
    const { tasks } = await ecs.send(new RunTaskCommand(fargate.runInput()));
    const taskArn = tasks?.[0]?.taskArn ?? '';
    await standin.ecs.runToCompletion(taskArn);
    const describe = () =>
      ecs.send(new DescribeTasksCommand({ cluster: fargate.cluster, tasks: [taskArn] }));
    // Act
    later(59 * 60_000);
    const withinTheHour = await describe();
    later(2 * 60_000);
    const afterTheHour = await describe();
    // Assess
    expect(withinTheHour.tasks?.[0]?.lastStatus).toBe('STOPPED');
    expect(afterTheHour.failures).toEqual([{ arn: taskArn, reason: 'MISSING' }]);
  });

  it('honours a clientToken for 24 hours only', async () => {
    // Prepare
    const input = fargate.runInput({ clientToken: 'flow-run-clock' });
    const first = await ecs.send(new RunTaskCommand(input));
    // Act
    later(23 * 3_600_000);
    const repeated = await ecs.send(new RunTaskCommand(input));
    later(2 * 3_600_000);
    const expired = await ecs.send(new RunTaskCommand(input));
    // Assess
    expect(repeated.tasks?.[0]?.taskArn).toBe(first.tasks?.[0]?.taskArn);
    expect(expired.tasks?.[0]?.taskArn).not.toBe(first.tasks?.[0]?.taskArn);
  });
});
