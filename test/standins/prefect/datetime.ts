/**
 * Datetimes the way the real server writes them: UTC, `Z`, microseconds only when non-zero
 * (pydantic v2). The stand-in keeps millisecond precision.
 */

/** `2026-08-21T12:00:00Z` or `2026-08-21T12:00:00.123000Z`. */
export const formatDateTime = (date: Date): string => {
  const iso = date.toISOString();
  const millis = date.getUTCMilliseconds();
  return millis === 0 ? `${iso.slice(0, 19)}Z` : `${iso.slice(0, 23)}000Z`;
};

/** Parses an ISO-8601 datetime as accepted on input (`T` or space separator, offset required). */
export const parseDateTime = (value: string): Date => new Date(value.replace(' ', 'T'));

/** Re-serialises an accepted input datetime in the server's output format. */
export const normaliseDateTime = (value: string): string => formatDateTime(parseDateTime(value));

/** Milliseconds since the epoch of a stored or accepted input datetime string. */
export const toMillis = (value: string): number => parseDateTime(value).getTime();

/** Adds `seconds` (may be fractional) to a stored datetime string. */
export const addSeconds = (value: string, seconds: number): string =>
  formatDateTime(new Date(toMillis(value) + seconds * 1000));
