import { describe, expect, it } from 'vitest';
import { getFromDict, setInDict } from '../../../../shared/jobs/key-path.ts';

const values = {
  a: { b: [0, { c: 'x' }], '0': 'zero-key' },
  list: [10, 20, 30],
  text: 'héllo',
  none: null,
};

describe('getFromDict (Prefect get_from_dict)', () => {
  it.each([
    ['a top-level key', 'text', 'héllo'],
    ['dotted keys', 'a.b', [0, { c: 'x' }]],
    ['a list index in brackets', 'a.b[1].c', 'x'],
    ['a list index as a dotted step', 'a.b.1.c', 'x'],
    ['a negative index counts from the end', 'list.-1', 30],
    ['a negative index in brackets', 'list[-3]', 10],
    ['an index into a string gives a character', 'text.1', 'é'],
    ['null is a value', 'none', null],
    ['an index out of range is unset', 'list.3', undefined],
    ['a numeric step never matches a dict key', 'a.0', undefined],
    ['a key under a scalar is unset', 'text.x', undefined],
    ['a key under null is unset', 'none.x', undefined],
    ['a missing key is unset', 'a.missing', undefined],
    ['inherited names are unset', 'constructor', undefined],
    ['__proto__ is unset', 'a.__proto__', undefined],
  ])('%s: %s', (_case, path, expected) => {
    // Act
    const value = getFromDict(values, path);
    // Assess
    expect(value).toEqual(expected);
  });
});

describe('setInDict (Prefect set_in_dict)', () => {
  it('creates nested objects along a dotted path', () => {
    // Prepare
    const target: Record<string, unknown> = { env: { A: '1' } };
    // Act
    setInDict(target, 'env.B', '2');
    setInDict(target, 'x[0].y', 3);
    // Assess
    expect(target).toEqual({ env: { A: '1', B: '2' }, x: { '0': { y: 3 } } });
  });

  it('refuses to go through a value that is not an object', () => {
    // Prepare
    const target: Record<string, unknown> = { env: 'A=1' };
    // Act / Assess
    expect(() => setInDict(target, 'env.B', '2')).toThrow(TypeError);
  });

  it('keeps __proto__ an ordinary key', () => {
    // Prepare
    const target: Record<string, unknown> = {};
    // Act
    setInDict(target, '__proto__.polluted', true);
    // Assess
    expect(Object.keys(target)).toEqual(['__proto__']);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});
