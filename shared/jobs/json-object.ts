/**
 * Plain JSON objects as Prefect's Python code sees dicts. Keys come from users (job variables, block
 * data), so objects are built with own data properties only: a key such as `__proto__` stays an
 * ordinary key and never reaches a prototype.
 */

/** A JSON object. */
export type JsonObject = Record<string, unknown>;

/**
 * Whether `value` is a JSON object (Python `dict`): not null, not an array.
 *
 * @example
 * isJsonObject({ a: 1 }); // true
 * isJsonObject([1]); // false
 */
export const isJsonObject = (value: unknown): value is JsonObject =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * `dict.get(key)`: the own property `key`, or `undefined`; inherited names (`constructor`,
 * `__proto__`) are never found.
 *
 * @example
 * getOwn({ a: 1 }, 'a'); // 1
 * getOwn({}, 'constructor'); // undefined
 */
export const getOwn = (object: JsonObject, key: string): unknown =>
  Object.hasOwn(object, key) ? object[key] : undefined;

/**
 * `dict[key] = value` as an own data property, whatever the key.
 *
 * @example
 * const object = {};
 * setOwn(object, '__proto__', 1); // Object.keys(object) → ['__proto__']
 */
export const setOwn = (object: JsonObject, key: string, value: unknown): void => {
  Object.defineProperty(object, key, {
    value,
    enumerable: true,
    writable: true,
    configurable: true,
  });
};

/**
 * `copy.deepcopy` of JSON data.
 *
 * @example
 * const copy = cloneJson({ a: [{ b: 1 }] }); // a new object, arrays and objects copied
 */
export const cloneJson = <T>(value: T): T => {
  if (Array.isArray(value)) return value.map((item) => cloneJson(item)) as T;
  if (isJsonObject(value)) {
    return Object.fromEntries(
      Object.entries(value).map(([key, item]) => [key, cloneJson(item)])
    ) as T;
  }
  return value;
};
