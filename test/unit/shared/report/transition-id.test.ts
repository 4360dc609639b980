import { describe, expect, it } from 'vitest';
import {
  TRANSITION_ID_NAMESPACE,
  transitionIdFromEventId,
  uuidV5,
} from '../../../../shared/report/transition-id.ts';

const UUID_V5 = /^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe('transitionIdFromEventId', () => {
  it('gives a redelivered event the same transition id', () => {
    // Act
    const first = transitionIdFromEventId('00000000-0000-4000-8000-000000000006');
    const again = transitionIdFromEventId('00000000-0000-4000-8000-000000000006');
    // Assess
    expect(again).toBe(first);
    expect(first).toMatch(UUID_V5);
  });

  it('gives different events different transition ids', () => {
    // Prepare
    const ids = Array.from({ length: 1000 }, (_, i) => `event-${i}`);
    // Act
    const transitions = new Set(ids.map(transitionIdFromEventId));
    // Assess
    expect(transitions.size).toBe(ids.length);
  });

  it('is pinned: a deploy must not change the ids of events already delivered', () => {
    // Act / Assess (values computed once with Python's uuid.uuid5)
    expect(TRANSITION_ID_NAMESPACE).toBe('72744352-9562-5e69-a0d5-ba5376a76948');
    expect(transitionIdFromEventId('00000000-0000-4000-8000-000000000006')).toBe(
      'c3e0bb1e-98e4-519a-9b69-879236a909f7'
    );
  });

  it('accepts ids that are not UUIDs (EventBridge ids are opaque)', () => {
    // Act / Assess
    expect(transitionIdFromEventId('00000000-0000-4000-8000-0000000000010')).toMatch(UUID_V5);
  });
});

describe('uuidV5', () => {
  it.each([
    [
      'www.example.com',
      '6ba7b810-9dad-11d1-80b4-00c04fd430c8',
      '2ed6657d-e927-568b-95e1-2665a8aea6a2',
    ],
    [
      'https://github.com/prefect-ecs-serverless/reporter/transition-id',
      '6ba7b811-9dad-11d1-80b4-00c04fd430c8',
      '72744352-9562-5e69-a0d5-ba5376a76948',
    ],
  ])('matches RFC 9562 (Python uuid.uuid5) for %s', (name, namespace, expected) => {
    // Act / Assess
    expect(uuidV5(name, namespace)).toBe(expected);
  });
});
