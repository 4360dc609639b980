import { describe, expect, it } from 'vitest';
import { EcsApiError } from '../../../../shared/errors/ecs-api-error.ts';
import {
  type LaunchRecord,
  processLaunchRecord,
} from '../../../../shared/launch/process-launch-record.ts';
import { launchDeps, message } from './fakes.ts';

const record = (receiveCount: number): LaunchRecord => ({
  messageId: 'm-1',
  receiptHandle: 'rh-1',
  body: JSON.stringify(message),
  attributes: { ApproximateReceiveCount: String(receiveCount) },
});

const throttled = () =>
  new EcsApiError(
    'ECS runTask failed: ThrottlingException: Rate exceeded (retryable)',
    { operation: 'runTask', code: 'ThrottlingException', status: 400 },
    true
  );

describe('processLaunchRecord: a throttled RunTask', () => {
  it.each([
    [1, 2],
    [3, 2],
    [4, 15],
    [5, 30],
  ])(
    'comes back within seconds at first, then backs off (receive %i → %i s)',
    async (receiveCount, delay) => {
      // Prepare: random 0.5 → the middle of 1–3 s
      const { deps, queue, ecs, prefect } = launchDeps();
      ecs.script(throttled());
      // Act
      const failure = processLaunchRecord(record(receiveCount), deps);
      // Assess: back to the queue, never CRASHED
      await expect(failure).rejects.toMatchObject({ code: 'ThrottlingException' });
      expect(queue.visibility).toEqual([delay]);
      expect(JSON.stringify(prefect.calls)).not.toContain('CRASHED');
    }
  );

  it('sizes the quick retries by the deployed pacing', async () => {
    // Prepare: 20 launchers × 5 hold 100 launches; 20/s serve them in 5 s → 1–6 s
    const { deps, queue, ecs } = launchDeps();
    ecs.script(throttled());
    const paced = { ...deps, pacing: { ratePerSecond: 20, maxConcurrency: 20, batchSize: 5 } };
    // Act
    await expect(processLaunchRecord(record(1), paced)).rejects.toThrow(/Rate exceeded/);
    // Assess
    expect(queue.visibility).toEqual([4]);
  });
});
