/**
 * `X-PREFECT-API-VERSION` enforcement (`server/api/dependencies.py: EnforceMinimumAPIVersion`): no
 * header means "latest"; a value that is not three dot-separated integers, or one below 0.8.0,
 * is answered 400. It applies to every router operation (those declaring the header in the
 * OpenAPI document), before body validation.
 */
import { type HttpError, httpError } from './http-errors.ts';

export const MINIMUM_API_VERSION = '0.8.0';

const parse = (value: string): [number, number, number] | undefined => {
  const parts = value.split('.');
  if (parts.length !== 3) return undefined;
  const numbers = parts.map((part) => (/^\s*[+-]?\d+\s*$/.test(part) ? Number(part) : Number.NaN));
  if (numbers.some(Number.isNaN)) return undefined;
  return numbers as [number, number, number];
};

const isBelow = (a: readonly number[], b: readonly number[]): boolean => {
  for (let i = 0; i < 3; i += 1) {
    const x = a[i] ?? 0;
    const y = b[i] ?? 0;
    if (x !== y) return x < y;
  }
  return false;
};

/** The 400 to answer for this header value, or undefined when it is acceptable. */
export const checkApiVersion = (header: string | undefined): HttpError | undefined => {
  if (!header) return undefined;
  const version = parse(header);
  if (!version) {
    return httpError(
      400,
      `Invalid X-PREFECT-API-VERSION header format.Expected header in format 'x.y.z' but received ${header}`
    );
  }
  const minimum = parse(MINIMUM_API_VERSION) ?? [0, 8, 0];
  if (isBelow(version, minimum)) {
    return httpError(
      400,
      `The request specified API version ${header} but this server requires version ${MINIMUM_API_VERSION} or higher.`
    );
  }
  return undefined;
};
