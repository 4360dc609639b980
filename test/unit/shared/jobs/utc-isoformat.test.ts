import { describe, expect, it } from 'vitest';
import { utcIsoformat } from '../../../../shared/jobs/utc-isoformat.ts';

describe('utcIsoformat (Python astimezone(UTC).isoformat())', () => {
  // Expected values are what pydantic + datetime.isoformat() give for the same inputs.
  it.each([
    ['2026-08-21T12:00:00Z', '2026-08-21T12:00:00+00:00'],
    ['2026-08-21T12:00:00.5Z', '2026-08-21T12:00:00.500000+00:00'],
    ['2026-08-21T12:00:00.123456+02:00', '2026-08-21T10:00:00.123456+00:00'],
    ['2026-08-21T12:00:00.1234567Z', '2026-08-21T12:00:00.123456+00:00'],
    ['2026-08-21T00:30:00-01:30', '2026-08-21T02:00:00+00:00'],
    ['2026-08-21 12:00:00Z', '2026-08-21T12:00:00+00:00'],
    ['2026-08-21T12:00Z', '2026-08-21T12:00:00+00:00'],
    ['2026-01-01T00:30:00+01:00', '2025-12-31T23:30:00+00:00'],
    ['2026-08-21T12:00:00.000000Z', '2026-08-21T12:00:00+00:00'],
    ['2026-08-21T12:00:00', '2026-08-21T12:00:00+00:00'],
    ['not a date', 'not a date'],
  ])('%s → %s', (text, expected) => {
    // Act / Assess
    expect(utcIsoformat(text)).toBe(expected);
  });
});
