/** Small helpers for building request bodies the server's `extra="forbid"` models accept. */

/** A datetime argument: a `Date`, or an ISO-8601 string that carries `Z` or an offset. */
export type DateTimeInput = Date | string;

const WITH_OFFSET = /T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})$/i;

/**
 * Serialises a datetime as ISO-8601 with an offset. Naive strings are refused: Prefect would read
 * them as UTC, the caller probably meant local time (prefect-worker-api.md §6).
 *
 * @example
 * toIsoDateTime(new Date(0)); // '1970-01-01T00:00:00.000Z'
 */
export const toIsoDateTime = (value: DateTimeInput): string => {
  if (value instanceof Date) {
    if (Number.isNaN(value.getTime()))
      throw new RangeError('Invalid Date passed to Prefect client');
    return value.toISOString();
  }
  if (!WITH_OFFSET.test(value) || Number.isNaN(Date.parse(value))) {
    throw new RangeError(`Prefect datetimes need an ISO-8601 string with Z or an offset: ${value}`);
  }
  return value;
};

/**
 * Drops `undefined` members, so optional arguments the caller left out are not sent (and partial
 * updates only carry the changed keys). `null` is kept: it is a value.
 *
 * @example
 * compact({ a: 1, b: undefined, c: null }); // { a: 1, c: null }
 */
export const compact = <T extends Record<string, unknown>>(
  object: T
): { [K in keyof T]?: Exclude<T[K], undefined> } =>
  Object.fromEntries(Object.entries(object).filter(([, value]) => value !== undefined)) as {
    [K in keyof T]?: Exclude<T[K], undefined>;
  };

/** Checks a collection `limit` against Prefect's maximum of 200 before the server 422s it. */
export const checkLimit = (limit: number | undefined, max = 200): number | undefined => {
  if (limit !== undefined && (!Number.isInteger(limit) || limit < 1 || limit > max)) {
    throw new RangeError(`Prefect limit must be an integer from 1 to ${max}, got ${limit}`);
  }
  return limit;
};
