import { describe, expect, it } from 'vitest';
import { toFlowRunFilterBody } from '../../../../shared/prefect/flow-run-filter.ts';
import { createRedactor } from '../../../../shared/prefect/redact.ts';
import { toStateCreate } from '../../../../shared/prefect/state-create.ts';
import { checkLimit, compact, toIsoDateTime } from '../../../../shared/prefect/wire.ts';
import { bodyProblems } from './openapi-body.ts';

describe('request body helpers', () => {
  it('toIsoDateTime: Dates become UTC ISO with Z; strings need an offset', () => {
    // Prepare / Act / Assess
    expect(toIsoDateTime(new Date('2026-08-21T12:00:00Z'))).toBe('2026-08-21T12:00:00.000Z');
    expect(toIsoDateTime('2026-08-21T12:00:00+02:00')).toBe('2026-08-21T12:00:00+02:00');
    expect(() => toIsoDateTime('2026-08-21T12:00:00')).toThrow(RangeError);
    expect(() => toIsoDateTime('yesterday')).toThrow(RangeError);
    expect(() => toIsoDateTime(new Date(Number.NaN))).toThrow(RangeError);
  });

  it('compact drops undefined but keeps null', () => {
    // Prepare / Act / Assess
    expect(compact({ a: 1, b: undefined, c: null })).toEqual({ a: 1, c: null });
  });

  it('checkLimit allows 1..200 only', () => {
    // Prepare / Act / Assess
    expect(checkLimit(200)).toBe(200);
    expect(checkLimit(undefined)).toBeUndefined();
    expect(() => checkLimit(0)).toThrow(RangeError);
    expect(() => checkLimit(201)).toThrow(RangeError);
    expect(() => checkLimit(1.5)).toThrow(RangeError);
  });

  it('toStateCreate never sends id or timestamp, only given keys', () => {
    // Prepare / Act
    const body = toStateCreate({ type: 'CRASHED', message: 'boom' }, { transition_id: 't' });
    // Assess
    expect(body).toEqual({
      type: 'CRASHED',
      message: 'boom',
      state_details: { transition_id: 't' },
    });
    expect(bodyProblems('post', '/flow_runs/{id}/set_state', { state: body })).toEqual([]);
  });

  it('toFlowRunFilterBody leaves out empty filters', () => {
    // Prepare / Act / Assess
    expect(toFlowRunFilterBody({})).toEqual({});
    expect(toFlowRunFilterBody({ workPoolNames: ['p'] })).toEqual({
      work_pools: { name: { any_: ['p'] } },
    });
    expect(() => toFlowRunFilterBody({ offset: -1 })).toThrow(RangeError);
  });

  it('createRedactor replaces every secret, longest first', () => {
    // Prepare
    const redact = createRedactor(['abc', 'abcdef', undefined, '']);
    // Act / Assess
    expect(redact('x abcdef y abc')).toBe('x [REDACTED] y [REDACTED]');
    expect(createRedactor([])('abc')).toBe('abc');
  });

  it('the OpenAPI body check used by these tests catches unknown and missing keys', () => {
    // Prepare / Act
    const problems = bodyProblems('post', '/flow_runs/{id}/set_state', {
      state: { type: 'PENDING', timestamp: '2026-08-21T12:00:00Z' },
    });
    const missing = bodyProblems('post', '/logs/', [{ name: 'n', level: 20, message: 'm' }]);
    // Assess
    expect(problems).toEqual(['body.state.timestamp: not allowed']);
    expect(missing).toEqual(['body[0].timestamp: required']);
  });
});
