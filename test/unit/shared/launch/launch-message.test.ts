import { describe, expect, it } from 'vitest';
import { InvalidMessageError } from '../../../../shared/errors/invalid-message-error.ts';
import {
  buildLaunchMessage,
  parseLaunchMessage,
} from '../../../../shared/launch/launch-message.ts';

const RUN = '0b6c0e4e-8c4f-4f53-9d0e-7f6f3c1d2a10';
const TRANSITION = '2d9f0c1e-1111-4222-8333-444455556666';

describe('launch message', () => {
  it('round-trips what the poller builds', () => {
    // Prepare
    const message = buildLaunchMessage({
      flowRunId: RUN,
      workPool: 'ecs',
      transitionId: TRANSITION,
      scheduledTime: new Date('2026-08-21T12:00:00Z'),
    });
    // Act
    const parsed = parseLaunchMessage(JSON.stringify(message));
    // Assess
    expect(parsed).toEqual({
      flow_run_id: RUN,
      work_pool: 'ecs',
      transition_id: TRANSITION,
      scheduled_time: '2026-08-21T12:00:00.000Z',
    });
  });

  it('keeps the attempt and accepts offsets', () => {
    // Prepare / Act
    const message = buildLaunchMessage({
      flowRunId: RUN,
      workPool: 'ecs',
      transitionId: TRANSITION,
      scheduledTime: '2026-08-21T14:00:00+02:00',
      attempt: 2,
    });
    // Assess
    expect(message.attempt).toBe(2);
  });

  it('ignores keys a newer poller adds', () => {
    // Prepare
    const body = JSON.stringify({
      flow_run_id: RUN,
      work_pool: 'ecs',
      transition_id: TRANSITION,
      scheduled_time: '2026-08-21T12:00:00Z',
      priority: 3,
    });
    // Act / Assess
    expect(parseLaunchMessage(body)).not.toHaveProperty('priority');
  });

  it.each([
    ['not JSON', '{oops', /\(body\): not JSON \(5 characters\)/],
    ['a number', '42', /\(message\): Invalid input: expected object/],
    [
      'a bad id and a naive time',
      JSON.stringify({
        flow_run_id: 'run-1',
        work_pool: 'ecs',
        transition_id: TRANSITION,
        scheduled_time: '2026-08-21T12:00:00',
      }),
      /flow_run_id: .*; scheduled_time: /,
    ],
    [
      'missing fields',
      JSON.stringify({ flow_run_id: RUN }),
      /work_pool: .*transition_id: .*scheduled_time: /,
    ],
  ])('refuses %s with the zod issues', (_name, body, expected) => {
    // Prepare / Act
    let caught: unknown;
    try {
      parseLaunchMessage(body);
    } catch (error) {
      caught = error;
    }
    // Assess
    expect(caught).toBeInstanceOf(InvalidMessageError);
    expect((caught as InvalidMessageError).message).toMatch(expected);
    expect((caught as InvalidMessageError).retryable).toBe(false);
  });

  it('refuses to build a message from bad poller input', () => {
    // Prepare / Act / Assess
    expect(() =>
      buildLaunchMessage({
        flowRunId: RUN,
        workPool: '',
        transitionId: 'nope',
        scheduledTime: new Date(),
      })
    ).toThrow(InvalidMessageError);
  });
});
