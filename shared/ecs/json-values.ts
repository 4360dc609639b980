/** Small helpers for the untyped JSON the job templates produce. */

/**
 * A plain JSON object (not an array, not null).
 *
 * @example
 * ```ts
 * isRecord({}); // true
 * isRecord([]); // false
 * ```
 */
export const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * A deep copy, so the builders never mutate the caller's configuration.
 *
 * @example
 * ```ts
 * const request = cloneJson(configuration.task_run_request);
 * ```
 */
export const cloneJson = <T>(value: T): T => structuredClone(value);

/**
 * `null`, `undefined`, `''`, `[]` and `{}`; `false` and `0` are values.
 *
 * @example
 * ```ts
 * isEmptyValue([]); // true
 * isEmptyValue(false); // false
 * ```
 */
export const isEmptyValue = (value: unknown): boolean =>
  value === null ||
  value === undefined ||
  value === '' ||
  (Array.isArray(value) && value.length === 0) ||
  (isRecord(value) && !(value instanceof Date) && Object.keys(value).length === 0);

/**
 * Removes empty values (see {@link isEmptyValue}) from an object, recursing into nested objects and
 * into the objects inside arrays (array items themselves are kept, as prefect-aws keeps them). An
 * object emptied this way is removed too. Mutates and returns `record`.
 *
 * @example
 * ```ts
 * dropEmptyKeys({ a: '', b: { c: null }, d: false, e: [{ f: [] }] }); // { d: false, e: [{}] }
 * ```
 */
export const dropEmptyKeys = <T extends Record<string, unknown>>(record: T): T => {
  for (const [key, value] of Object.entries(record)) {
    if (isRecord(value)) dropEmptyKeys(value);
    if (Array.isArray(value)) {
      for (const item of value) if (isRecord(item)) dropEmptyKeys(item);
    }
    if (isEmptyValue(value)) delete record[key];
  }
  return record;
};

/**
 * A non-empty string, else undefined.
 *
 * @example
 * ```ts
 * nonEmptyString(''); // undefined
 * ```
 */
export const nonEmptyString = (value: unknown): string | undefined =>
  typeof value === 'string' && value !== '' ? value : undefined;

/**
 * The records in `value` when it is an array, else `[]`.
 *
 * @example
 * ```ts
 * recordsIn([{ a: 1 }, 'x', null]); // [{ a: 1 }]
 * ```
 */
export const recordsIn = (value: unknown): Record<string, unknown>[] =>
  Array.isArray(value) ? value.filter(isRecord) : [];
