import { describe, expect, it } from 'vitest';
import { launchDelaySeconds } from '../../../../shared/poll/launch-delay.ts';
import { NOW } from './fixtures.ts';

const at = (seconds: number) => new Date(NOW.getTime() + seconds * 1000);

describe('launchDelaySeconds', () => {
  it.each([
    { scheduled: 45, lead: 0, delay: 45 },
    { scheduled: 45, lead: 10, delay: 35 },
    { scheduled: 45.4, lead: 0, delay: 45 },
    { scheduled: 45.6, lead: 0, delay: 46 },
    { scheduled: 5, lead: 10, delay: 0 },
    { scheduled: -120, lead: 0, delay: 0 },
    { scheduled: 2000, lead: 0, delay: 900 },
    { scheduled: 930, lead: 30, delay: 900 },
  ])('scheduled in $scheduled s with lead $lead s → $delay s', ({ scheduled, lead, delay }) => {
    expect(launchDelaySeconds(at(scheduled), NOW, lead)).toBe(delay);
  });

  it('is 0 for an invalid date', () => {
    expect(launchDelaySeconds(new Date(Number.NaN), NOW, 0)).toBe(0);
  });
});
