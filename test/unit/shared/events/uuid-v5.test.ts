/** Name-based UUIDs, checked against Python's `uuid.uuid5` (RFC 9562 test vector). */
import { describe, expect, it } from 'vitest';
import { uuidV5 } from '../../../../shared/events/uuid-v5.ts';

describe('uuidV5', () => {
  it('matches uuid.uuid5(NAMESPACE_DNS, "www.example.com")', () => {
    // Act / Assess
    expect(uuidV5('www.example.com', '6ba7b810-9dad-11d1-80b4-00c04fd430c8')).toBe(
      '2ed6657d-e927-568b-95e1-2665a8aea6a2'
    );
  });

  it('refuses a namespace that is not a UUID', () => {
    // Act / Assess
    expect(() => uuidV5('x', 'not-a-uuid')).toThrow(RangeError);
  });
});
