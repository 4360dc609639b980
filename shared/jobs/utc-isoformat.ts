/**
 * Python's `datetime.astimezone(ZoneInfo("UTC")).isoformat()` for an ISO-8601 string from the
 * Prefect API, which is how Prefect formats the `prefect.io/deployment-updated` label: microseconds
 * only when non-zero, `+00:00` rather than `Z`.
 */

const ISO_DATETIME =
  /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d+))?)?(?:([Zz])|([+-])(\d{2}):?(\d{2}))?$/;

const pad = (value: number, width = 2): string => String(value).padStart(width, '0');

/**
 * Formats `text` as Python's UTC `isoformat()`; a string without an offset is read as UTC; a string
 * that is not an ISO-8601 datetime is returned as it is.
 *
 * @example
 * utcIsoformat('2026-08-21T12:00:00Z'); // '2026-08-21T12:00:00+00:00'
 * utcIsoformat('2026-08-21T14:00:00.5+02:00'); // '2026-08-21T12:00:00.500000+00:00'
 */
export const utcIsoformat = (text: string): string => {
  const match = ISO_DATETIME.exec(text);
  if (match === null) return text;
  const [, year, month, day, hour, minute, second, fraction, , sign, offsetHours, offsetMinutes] =
    match;
  const offset =
    sign === undefined
      ? 0
      : (sign === '-' ? -1 : 1) * (Number(offsetHours) * 60 + Number(offsetMinutes));
  const utc = new Date(
    Date.UTC(
      Number(year),
      Number(month) - 1,
      Number(day),
      Number(hour),
      Number(minute) - offset,
      Number(second ?? 0)
    )
  );
  if (Number.isNaN(utc.getTime())) return text;
  const micros = (fraction ?? '').slice(0, 6).padEnd(6, '0');
  const date = `${pad(utc.getUTCFullYear(), 4)}-${pad(utc.getUTCMonth() + 1)}-${pad(utc.getUTCDate())}`;
  const time = `${pad(utc.getUTCHours())}:${pad(utc.getUTCMinutes())}:${pad(utc.getUTCSeconds())}`;
  return `${date}T${time}${micros === '000000' ? '' : `.${micros}`}+00:00`;
};
