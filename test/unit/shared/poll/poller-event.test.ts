import { describe, expect, it } from 'vitest';
import { InvalidPollerEventError, parsePollerEvent } from '../../../../shared/poll/poller-event.ts';

const sqsRecord = (body: string, messageId = 'm1') => ({
  messageId,
  receiptHandle: 'r',
  body,
  attributes: {},
  messageAttributes: {},
  md5OfBody: '',
  eventSource: 'aws:sqs',
  eventSourceARN: 'arn:aws:sqs:us-east-1:123456789012:tick',
  awsRegion: 'us-east-1',
});
const tick = JSON.stringify({
  kind: 'poll-tick',
  planned_at: '2026-08-21T12:00:00.000Z',
  delay_seconds: 20,
});

describe('parsePollerEvent', () => {
  it('reads the EventBridge schedule', () => {
    const event = {
      version: '0',
      id: '53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa',
      'detail-type': 'Scheduled Event',
      source: 'aws.events',
      account: '123456789012',
      time: '2026-08-21T12:00:00Z',
      region: 'us-east-1',
      resources: ['arn:aws:events:us-east-1:123456789012:rule/poller'],
      detail: {},
    };
    expect(parsePollerEvent(event)).toEqual({ kind: 'schedule' });
  });

  it('reads tick records, setting aside bodies that are not ticks', () => {
    const event = {
      Records: [
        sqsRecord(tick, 'a'),
        sqsRecord(tick, 'b'),
        sqsRecord('{"x":1}', 'c'),
        sqsRecord('nope', 'd'),
      ],
    };
    expect(parsePollerEvent(event)).toEqual({ kind: 'tick', ticks: 2, ignored: ['c', 'd'] });
  });

  it.each([
    { event: {}, pools: undefined },
    { event: { work_pool: 'ecs' }, pools: ['ecs'] },
  ])('reads a direct invoke $event', ({ event, pools }) => {
    expect(parsePollerEvent(event)).toEqual({ kind: 'direct', pools });
  });

  it.each([
    {
      name: 'another EventBridge event',
      event: { 'detail-type': 'ECS Task State Change', source: 'aws.ecs', detail: {} },
    },
    { name: 'unknown keys', event: { pool: 'ecs' } },
    { name: 'an empty pool name', event: { work_pool: '' } },
    { name: 'null', event: null },
    { name: 'a string', event: 'poll' },
  ])('refuses $name', ({ event }) => {
    expect(() => parsePollerEvent(event)).toThrow(InvalidPollerEventError);
  });
});
