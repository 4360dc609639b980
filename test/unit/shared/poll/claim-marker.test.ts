import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import * as z from 'zod';
import {
  claimTransitionId,
  isClaimTransitionIdOf,
  workerTag,
} from '../../../../shared/poll/claim-marker.ts';

describe('claim marker', () => {
  it('makes valid, distinct version-8 UUIDs tagged with the worker', () => {
    // Act
    const ids = Array.from({ length: 200 }, () => claimTransitionId('prod', randomUUID));
    // Assess
    expect(new Set(ids).size).toBe(200);
    for (const id of ids) {
      expect(z.guid().safeParse(id).success).toBe(true);
      expect(z.uuid().safeParse(id).success).toBe(true); // RFC 9562: version 8, variant 10xx
      expect(id.startsWith(`${workerTag('prod')}-`)).toBe(true);
      expect(id.charAt(14)).toBe('8');
    }
  });

  it.each([
    {
      name: 'our claim',
      id: () => claimTransitionId('prod', randomUUID),
      worker: 'prod',
      ours: true,
    },
    {
      name: "another name's claim",
      id: () => claimTransitionId('dev', randomUUID),
      worker: 'prod',
      ours: false,
    },
    { name: 'a uuid4 (Prefect clients)', id: () => randomUUID(), worker: 'prod', ours: false },
    {
      name: 'a uuid4 that happens to start with our tag',
      id: () => `${workerTag('prod')}${randomUUID().slice(8)}`,
      worker: 'prod',
      ours: false,
    },
    { name: 'null', id: () => null, worker: 'prod', ours: false },
    { name: 'garbage', id: () => 'not-a-uuid', worker: 'prod', ours: false },
  ])('recognises $name: $ours', ({ id, worker, ours }) => {
    expect(isClaimTransitionIdOf(id(), worker)).toBe(ours);
  });

  it('is deterministic in the worker name and case-insensitive in the id', () => {
    const id = claimTransitionId('prod', () => '00000000-0000-4000-8000-000000000000');
    expect(id).toBe(`${workerTag('prod')}-0000-8000-8000-000000000000`);
    expect(isClaimTransitionIdOf(id.toUpperCase(), 'prod')).toBe(true);
  });
});
