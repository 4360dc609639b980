import { describe, expect, it } from 'vitest';
import { containerShare, readLaunchPacing } from '../../../../shared/launch/launch-pacing.ts';

describe('readLaunchPacing', () => {
  it('defaults to Fargate’s 20 launches per second over 5 launchers', () => {
    // Act
    const pacing = readLaunchPacing({ LAUNCH_RATE_PER_SECOND: '', OTHER: 'x' });
    // Assess
    expect(pacing).toEqual({ ratePerSecond: 20, maxConcurrency: 5, batchSize: 5 });
  });

  it('reads the deployed rate and concurrency', () => {
    // Act
    const pacing = readLaunchPacing({
      LAUNCH_RATE_PER_SECOND: '50',
      LAUNCHER_MAX_CONCURRENCY: '10',
    });
    // Assess
    expect(pacing).toMatchObject({ ratePerSecond: 50, maxConcurrency: 10 });
  });

  it('refuses a value that is not a number in range', () => {
    // Act / Assess
    expect(() => readLaunchPacing({ LAUNCHER_MAX_CONCURRENCY: '0' })).toThrow(
      /LAUNCHER_MAX_CONCURRENCY/
    );
    expect(() => readLaunchPacing({ LAUNCH_RATE_PER_SECOND: 'fast' })).toThrow(
      /LAUNCH_RATE_PER_SECOND/
    );
  });
});

describe('containerShare', () => {
  it('splits the rate and a one-second burst evenly between the launchers', () => {
    // Act / Assess
    expect(containerShare({ ratePerSecond: 20, maxConcurrency: 5, batchSize: 5 })).toEqual({
      ratePerSecond: 4,
      burst: 4,
    });
  });

  it('keeps a burst of at least one call, so a lone run never waits', () => {
    // Act / Assess
    expect(containerShare({ ratePerSecond: 20, maxConcurrency: 40, batchSize: 5 })).toEqual({
      ratePerSecond: 0.5,
      burst: 1,
    });
  });
});
