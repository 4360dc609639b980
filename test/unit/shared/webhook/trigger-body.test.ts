import { describe, expect, it } from 'vitest';
import { parseTriggerBody } from '../../../../shared/webhook/trigger-body.ts';
import { WebhookHttpError } from '../../../../shared/webhook/webhook-http-error.ts';

const POOLS = ['ecs'];
const bytes = (text: string) => Buffer.from(text, 'utf8');

describe('parseTriggerBody', () => {
  it('reads what the README automation template renders', () => {
    // Prepare
    const body = bytes(
      '{"flow_run_id": "7f0e2d4e-1111-4aaa-8bbb-000000000005", "event": "prefect.flow-run.Scheduled", "event_id": "91aa2d4e-1111-4aaa-8bbb-000000000006", "expected_start_time": "2026-08-21T12:00:00+00:00", "work_pool": "ecs", "work_queue": "default", "deployment_id": "e5f62d4e-1111-4aaa-8bbb-000000000004"}'
    );
    // Act
    const request = parseTriggerBody(body, POOLS);
    // Assess
    expect(request).toEqual({
      pools: ['ecs'],
      context: {
        flowRunId: '7f0e2d4e-1111-4aaa-8bbb-000000000005',
        event: 'prefect.flow-run.Scheduled',
        eventId: '91aa2d4e-1111-4aaa-8bbb-000000000006',
        expectedStartTime: '2026-08-21T12:00:00+00:00',
      },
    });
  });

  it('trims the pool name and accepts whitespace-only bodies', () => {
    // Prepare / Act / Assess
    expect(parseTriggerBody(bytes('{"work_pool":" ecs "}'), POOLS).pools).toEqual(['ecs']);
    expect(parseTriggerBody(bytes(' \n'), POOLS)).toEqual({ pools: undefined, context: {} });
  });

  it('answers 400 with zod issues for a pool name over 255 characters', () => {
    // Prepare
    let caught: unknown;
    // Act
    try {
      parseTriggerBody(bytes(JSON.stringify({ work_pool: 'p'.repeat(256) })), POOLS);
    } catch (error) {
      caught = error;
    }
    // Assess
    expect(caught).toBeInstanceOf(WebhookHttpError);
    expect((caught as WebhookHttpError).statusCode).toBe(400);
    expect((caught as WebhookHttpError).body.message).toMatch(
      /^Invalid request body: work_pool: Too big/
    );
  });
});
