import { describe, expect, it } from 'vitest';
import { InvalidMessageError } from '../../../../shared/errors/invalid-message-error.ts';
import {
  type LaunchRecord,
  processLaunchRecord,
} from '../../../../shared/launch/process-launch-record.ts';
import { apiError, launchDeps, message, RUN_ID } from './fakes.ts';

const record = (body: string, receiveCount = 1): LaunchRecord => ({
  messageId: 'm-1',
  receiptHandle: 'rh-1',
  body,
  attributes: { ApproximateReceiveCount: String(receiveCount) },
});

describe('processLaunchRecord', () => {
  it('acknowledges a launched run and logs with flow_run_id', async () => {
    // Prepare
    const { deps, lines, queue } = launchDeps();
    // Act
    const outcome = await processLaunchRecord(record(JSON.stringify(message)), deps);
    // Assess
    expect(outcome.status).toBe('launched');
    expect(queue.visibility).toEqual([]);
    expect(lines.every((line) => line.attributes.flow_run_id === RUN_ID)).toBe(true);
  });

  it('reports a malformed message once, delays it 900 s and never calls Prefect', async () => {
    // Prepare
    const { deps, lines, queue, prefect } = launchDeps();
    // Act
    const failure = processLaunchRecord(record('{"flow_run_id": 1}'), deps);
    // Assess
    await expect(failure).rejects.toBeInstanceOf(InvalidMessageError);
    expect(prefect.calls).toEqual([]);
    expect(queue.visibility).toEqual([900]);
    expect(lines).toEqual([
      expect.objectContaining({
        level: 'error',
        attributes: expect.objectContaining({ message_id: 'm-1', issues: expect.any(Array) }),
      }),
    ]);
  });

  it.each([
    [1, 15],
    [3, 60],
  ])('backs a transient failure off (receive %i → %i s)', async (receiveCount, delay) => {
    // Prepare
    const { deps, queue, ecs } = launchDeps();
    ecs.script({ tasks: [], failures: [{ reason: 'AGENT', arn: undefined, detail: undefined }] });
    // Act / Assess
    await expect(
      processLaunchRecord(record(JSON.stringify(message), receiveCount), deps)
    ).rejects.toMatchObject({ retryable: true });
    expect(queue.visibility).toEqual([delay]);
  });

  it('never schedules a retry past the deadline', async () => {
    // Prepare: 10 s before the deadline.
    const { deps, queue, ecs } = launchDeps({ now: '2026-08-21T12:14:50Z' });
    ecs.script({ tasks: [], failures: [{ reason: 'AGENT', arn: undefined, detail: undefined }] });
    // Act
    await processLaunchRecord(record(JSON.stringify(message), 6), deps).catch(() => undefined);
    // Assess
    expect(queue.visibility).toEqual([10]);
  });

  it('ignores the deadline once the task started (only the pid is missing)', async () => {
    // Prepare
    const { deps, queue, prefect } = launchDeps({ now: '2026-08-21T12:14:50Z' });
    prefect.failOn('updateFlowRun', apiError(503, true));
    // Act
    await processLaunchRecord(record(JSON.stringify(message), 3), deps).catch(() => undefined);
    // Assess
    expect(queue.visibility).toEqual([60]);
  });

  it('still fails the record when the visibility cannot be changed', async () => {
    // Prepare
    const { deps, lines } = launchDeps();
    deps.queue = {
      changeVisibility: async () => {
        throw new Error('receipt handle expired');
      },
    };
    // Act / Assess
    await expect(processLaunchRecord(record('nope'), deps)).rejects.toBeInstanceOf(
      InvalidMessageError
    );
    expect(lines.some((line) => line.level === 'warn')).toBe(true);
  });
});
