import { describe, expect, it } from 'vitest';
import { isPythonTruthy, pythonRepr, pythonStr } from '../../../../shared/jobs/python-str.ts';

describe('pythonStr', () => {
  // Expected values are what CPython 3.11 prints for json.loads of the same input.
  it.each([
    ['a string as it is', 'etl:1', 'etl:1'],
    ['None', null, 'None'],
    ['True', true, 'True'],
    ['False', false, 'False'],
    ['an int', 1024, '1024'],
    ['a negative int', -3, '-3'],
    ['an int beyond 2^53 without exponent', 2 ** 60, '1152921504606846976'],
    ['a float', 1.5, '1.5'],
    ['a small float in fixed notation down to 1e-4', 0.0001, '0.0001'],
    ['a float below 1e-4 in Python scientific notation', 1e-5, '1e-05'],
    ['a float with a mantissa in scientific notation', -1.5e-7, '-1.5e-07'],
    ['a list as a Python repr', [1, 'x', null, true], "[1, 'x', None, True]"],
    ['a dict as a Python repr', { a: { b: [false] }, c: 0.5 }, "{'a': {'b': [False]}, 'c': 0.5}"],
    ['an empty dict', {}, '{}'],
  ])('%s', (_case, value, expected) => {
    // Act
    const text = pythonStr(value);
    // Assess
    expect(text).toBe(expected);
  });
});

describe('pythonRepr of strings', () => {
  it.each([
    ['single quotes by default', 'abc', "'abc'"],
    ['double quotes when the text has only single quotes', "it's", `"it's"`],
    ['escaped single quote when the text has both', `it's "x"`, `'it\\'s "x"'`],
    ['backslash, newline, tab, CR', 'a\\b\nc\td\re', "'a\\\\b\\nc\\td\\re'"],
    ['control characters as \\x', '\x01\x7f', "'\\x01\\x7f'"],
    ['non-printable unicode as \\u', 'a\u2028b', "'a\\u2028b'"],
    ['printable unicode as it is', 'héllo😀', "'héllo😀'"],
  ])('%s', (_case, value, expected) => {
    // Act
    const text = pythonRepr(value);
    // Assess
    expect(text).toBe(expected);
  });
});

describe('isPythonTruthy', () => {
  it.each([
    [null, false],
    [undefined, false],
    [false, false],
    [0, false],
    ['', false],
    [[], false],
    [{}, false],
    [true, true],
    [-1, true],
    ['0', true],
    [[0], true],
    [{ a: null }, true],
  ])('%j → %s', (value, expected) => {
    // Act / Assess
    expect(isPythonTruthy(value)).toBe(expected);
  });
});
