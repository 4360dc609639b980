import { describe, expect, it } from 'vitest';
import {
  buildTickMessages,
  planTickDelays,
  TickMessageSchema,
} from '../../../../shared/poll/tick-plan.ts';
import { NOW } from './fixtures.ts';

describe('tick plan', () => {
  it.each([
    { interval: 20, delays: [20, 40] },
    { interval: 15, delays: [15, 30, 45] },
    { interval: 25, delays: [25, 50] },
    { interval: 30, delays: [30] },
    { interval: 40, delays: [40] },
    { interval: 60, delays: [] },
  ])('interval $interval s → ticks at $delays', ({ interval, delays }) => {
    expect(planTickDelays(interval)).toEqual(delays);
  });

  it('never leaves a gap longer than the interval within the minute', () => {
    for (let interval = 5; interval <= 60; interval += 1) {
      const polls = [0, ...planTickDelays(interval), 60];
      const gaps = polls.slice(1).map((at, i) => at - (polls[i] ?? 0));
      expect(Math.max(...gaps)).toBeLessThanOrEqual(interval);
    }
  });

  it('builds tick messages that parse back', () => {
    const messages = buildTickMessages(NOW, 20);
    expect(messages.map((m) => [m.id, m.delaySeconds])).toEqual([
      ['tick-20', 20],
      ['tick-40', 40],
    ]);
    expect(TickMessageSchema.parse(JSON.parse(messages[0]?.body ?? ''))).toEqual({
      kind: 'poll-tick',
      planned_at: NOW.toISOString(),
      delay_seconds: 20,
    });
  });

  it('refuses a nonsensical interval', () => {
    expect(() => planTickDelays(0)).toThrow(RangeError);
    expect(() => planTickDelays(2.5)).toThrow(RangeError);
  });
});
