/**
 * Prefect's `get_from_dict` / `set_in_dict` (`utilities/collections.py`): dotted key paths with list
 * indexes written `a.b[0].c` or `a.b.0.c`.
 */
import { getOwn, isJsonObject, type JsonObject, setOwn } from './json-object.ts';

/** `keys.replace("[", ".").replace("]", "").split(".")`. */
export const splitKeyPath = (path: string): string[] =>
  path.replaceAll('[', '.').replaceAll(']', '').split('.');

/** Python's `int(key)` for the characters a placeholder name can hold; `undefined` if not an int. */
const INT_KEY = /^-?\d+(?:_\d+)*$/;
const toIndex = (key: string): number | undefined =>
  INT_KEY.test(key) ? Number(key.replaceAll('_', '')) : undefined;

/** Python sequence indexing: negative counts from the end; out of range is a miss. */
const indexInto = <T>(
  items: readonly T[],
  index: number
): { found: true; value: T } | undefined => {
  const position = index < 0 ? items.length + index : index;
  if (position < 0 || position >= items.length) return undefined;
  return { found: true, value: items[position] as T };
};

/**
 * Reads a nested value by dotted path, or `undefined` when any step misses (Prefect's `NotSet`).
 *
 * As in Python, a step that looks like an int indexes a list (or a string, by character) and never
 * matches a dict key, so `{"a": {"0": 1}}` has nothing at `a.0`; other steps look up dict keys only.
 *
 * @example
 * getFromDict({ a: { b: [0, { c: 'x' }] } }, 'a.b[1].c'); // 'x'
 * getFromDict({ a: [1, 2, 3] }, 'a.-1'); // 3
 * getFromDict({ a: 1 }, 'a.b'); // undefined
 */
export const getFromDict = (root: unknown, path: string): unknown => {
  let value: unknown = root;
  for (const key of splitKeyPath(path)) {
    const index = toIndex(key);
    if (index !== undefined) {
      const hit = Array.isArray(value)
        ? indexInto(value, index)
        : typeof value === 'string'
          ? indexInto(Array.from(value), index)
          : undefined;
      if (hit === undefined) return undefined;
      value = hit.value;
    } else {
      if (!isJsonObject(value) || !Object.hasOwn(value, key)) return undefined;
      value = value[key];
    }
  }
  return value;
};

/**
 * Sets a nested value by dotted path, creating dicts on the way. Throws a `TypeError` when a step
 * already holds something that is not a dict, as Python's `set_in_dict` does.
 *
 * @example
 * const values = {};
 * setInDict(values, 'env.FOO', 'x'); // values → { env: { FOO: 'x' } }
 */
export const setInDict = (root: JsonObject, path: string, value: unknown): void => {
  const keys = splitKeyPath(path);
  const last = keys.pop() as string;
  let object = root;
  for (const key of keys) {
    const next = getOwn(object, key);
    if (next === undefined) {
      const created: JsonObject = {};
      setOwn(object, key, created);
      object = created;
    } else if (isJsonObject(next)) {
      object = next;
    } else {
      throw new TypeError(`Key path exists and contains a non-dict value: ${path}`);
    }
  }
  setOwn(object, last, value);
};
