import { describe, expect, it } from 'vitest';
import {
  computeRetryDelay,
  isMaintenanceResponse,
  isRetryableStatus,
  parseRetryAfter,
} from '../../../../shared/prefect/retry-policy.ts';

describe('retry policy', () => {
  it.each([
    [408, true],
    [429, true],
    [502, true],
    [503, true],
    [500, false],
    [504, false],
    [422, false],
    [404, false],
  ])('status %i retryable: %s', (status, expected) => {
    // Prepare / Act / Assess
    expect(isRetryableStatus(status)).toBe(expected);
  });

  it.each([
    ['1', 1000],
    ['0.5', 500],
    [' 2 ', 2000],
    ['Fri, 21 Aug 2026 12:00:05 GMT', 5000],
    ['Fri, 21 Aug 2026 11:00:00 GMT', 0],
    ['soon', undefined],
    ['-1', undefined],
    ['', undefined],
    [null, undefined],
  ])('parses Retry-After %j as %j ms', (value, expected) => {
    // Prepare
    const now = Date.parse('2026-08-21T12:00:00Z');
    // Act / Assess
    expect(parseRetryAfter(value, now)).toBe(expected);
  });

  it('waits between 1× and 1.2× of Retry-After', () => {
    // Prepare / Act
    const low = computeRetryDelay({
      attempt: 1,
      retryAfterMs: 1000,
      maxDelayMs: 30_000,
      random: () => 0,
    });
    const high = computeRetryDelay({
      attempt: 1,
      retryAfterMs: 1000,
      maxDelayMs: 30_000,
      random: () => 0.999_999,
    });
    // Assess
    expect(low).toBe(1000);
    expect(high).toBeGreaterThan(1199);
    expect(high).toBeLessThanOrEqual(1200);
  });

  it('backs off 2^n s within ±20 %', () => {
    // Prepare / Act
    const delays = [1, 2, 3, 4, 5].map((attempt) => [
      computeRetryDelay({ attempt, maxDelayMs: 60_000, random: () => 0 }),
      computeRetryDelay({ attempt, maxDelayMs: 60_000, random: () => 0.5 }),
    ]);
    // Assess
    expect(delays).toEqual([
      [1600, 2000],
      [3200, 4000],
      [6400, 8000],
      [12_800, 16_000],
      [25_600, 32_000],
    ]);
  });

  it('caps waits at maxDelayMs and refuses a Retry-After beyond it', () => {
    // Prepare / Act / Assess
    expect(computeRetryDelay({ attempt: 10, maxDelayMs: 5000, random: () => 0.5 })).toBe(5000);
    expect(
      computeRetryDelay({ attempt: 1, retryAfterMs: 4500, maxDelayMs: 5000, random: () => 0.99 })
    ).toBe(5000);
    expect(
      computeRetryDelay({ attempt: 1, retryAfterMs: 6000, maxDelayMs: 5000, random: () => 0 })
    ).toBeUndefined();
  });

  it('recognises the Prefect-Maintenance header', () => {
    // Prepare / Act / Assess
    expect(isMaintenanceResponse(new Headers({ 'Prefect-Maintenance': 'true' }))).toBe(true);
    expect(isMaintenanceResponse(new Headers({ 'prefect-maintenance': 'TRUE' }))).toBe(true);
    expect(isMaintenanceResponse(new Headers({ 'prefect-maintenance': 'false' }))).toBe(false);
    expect(isMaintenanceResponse(new Headers())).toBe(false);
  });
});
