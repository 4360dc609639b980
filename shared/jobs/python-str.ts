/**
 * Python's `str()`, `repr()` and truthiness over JSON values, as Prefect's templating applies them:
 * inline placeholders become `str(value)`, `env` values are coerced with `str()`, and many checks
 * are `if value:`.
 *
 * JSON numbers lose Python's int/float distinction when JavaScript parses them: an integral number
 * prints as a Python int (`5`), where Python would print a float written `5.0` in the JSON as `5.0`.
 */
import { isJsonObject } from './json-object.ts';

/** Python prints floats in scientific notation below 1e-4 and from 1e16 up. */
const formatFloat = (value: number): string => {
  if (Number.isInteger(value)) return BigInt(value).toString();
  const [mantissa = '', exponentText = '0'] = value.toExponential().split('e');
  const exponent = Number(exponentText);
  if (exponent >= -4 && exponent < 16) return String(value);
  const sign = exponent < 0 ? '-' : '+';
  return `${mantissa}e${sign}${String(Math.abs(exponent)).padStart(2, '0')}`;
};

/** Characters `str.isprintable()` rejects: categories C* and Z*, except the ASCII space. */
const NOT_PRINTABLE = /^[\p{C}\p{Z}]$/u;

const escapeCodePoint = (codePoint: number): string => {
  const hex = codePoint.toString(16);
  if (codePoint < 0x100) return `\\x${hex.padStart(2, '0')}`;
  if (codePoint < 0x10000) return `\\u${hex.padStart(4, '0')}`;
  return `\\U${hex.padStart(8, '0')}`;
};

const SIMPLE_ESCAPES: Record<string, string> = {
  '\\': '\\\\',
  '\n': '\\n',
  '\r': '\\r',
  '\t': '\\t',
};

/** Python's `repr(str)`: single quotes unless the text has a `'` and no `"`. */
const reprString = (text: string): string => {
  const quote = text.includes("'") && !text.includes('"') ? '"' : "'";
  let body = '';
  for (const char of text) {
    const simple = SIMPLE_ESCAPES[char];
    if (simple !== undefined) body += simple;
    else if (char === quote) body += `\\${char}`;
    else if (char !== ' ' && NOT_PRINTABLE.test(char)) {
      body += escapeCodePoint(char.codePointAt(0) ?? 0);
    } else body += char;
  }
  return `${quote}${body}${quote}`;
};

/**
 * Python's `repr()` of a JSON value, e.g. inside a list or dict.
 *
 * @example
 * pythonRepr("it's"); // `"it's"`
 * pythonRepr(['a', null]); // `['a', None]`
 */
export const pythonRepr = (value: unknown): string =>
  typeof value === 'string' ? reprString(value) : pythonStr(value);

/**
 * Python's `str()` of a JSON value: strings as they are, `None`, `True`/`False`, ints, floats the
 * way Python prints them, and lists and dicts as Python `repr`s.
 *
 * @example
 * pythonStr(true); // 'True'
 * pythonStr(null); // 'None'
 * pythonStr(1e-5); // '1e-05'
 * pythonStr({ a: [1, 'x'] }); // "{'a': [1, 'x']}"
 */
export const pythonStr = (value: unknown): string => {
  if (typeof value === 'string') return value;
  if (value === null || value === undefined) return 'None';
  if (typeof value === 'boolean') return value ? 'True' : 'False';
  if (typeof value === 'number') return formatFloat(value);
  if (Array.isArray(value)) return `[${value.map(pythonRepr).join(', ')}]`;
  if (isJsonObject(value)) {
    const items = Object.entries(value).map(
      ([key, item]) => `${reprString(key)}: ${pythonRepr(item)}`
    );
    return `{${items.join(', ')}}`;
  }
  return String(value);
};

/**
 * Python truthiness: `None`, `False`, `0`, `''`, `[]` and `{}` are false.
 *
 * @example
 * isPythonTruthy({}); // false
 * isPythonTruthy('0'); // true
 */
export const isPythonTruthy = (value: unknown): boolean => {
  if (value === null || value === undefined) return false;
  if (typeof value === 'boolean') return value;
  if (typeof value === 'number') return value !== 0;
  if (typeof value === 'string') return value.length > 0;
  if (Array.isArray(value)) return value.length > 0;
  if (isJsonObject(value)) return Object.keys(value).length > 0;
  return true;
};
