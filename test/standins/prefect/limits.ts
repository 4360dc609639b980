/**
 * `limit` / `offset` of collection endpoints (`dependencies.py: LimitBody`): the default and the
 * maximum are `PREFECT_SERVER_API_DEFAULT_LIMIT` = 200; out of range is a 422 with a string detail.
 */
import { httpError } from './http-errors.ts';

export const DEFAULT_LIMIT = 200;

/** The effective limit of a body's `limit`, or throws the server's 422. */
export const limitFrom = (body: unknown): number => {
  const raw = (body as { limit?: unknown } | null | undefined)?.limit;
  const limit = typeof raw === 'number' ? raw : DEFAULT_LIMIT;
  if (limit < 0) throw httpError(422, 'Invalid limit: must be greater than or equal to 0.');
  if (limit > DEFAULT_LIMIT) {
    throw httpError(422, `Invalid limit: must be less than or equal to ${DEFAULT_LIMIT}.`);
  }
  return limit;
};

/** The body's `offset` (validated `>= 0` by the schema), default 0. */
export const offsetFrom = (body: unknown): number => {
  const raw = (body as { offset?: unknown } | null | undefined)?.offset;
  return typeof raw === 'number' ? raw : 0;
};

/** `items[offset .. offset + limit)`. */
export const page = <T>(items: readonly T[], body: unknown): T[] => {
  const offset = offsetFrom(body);
  return items.slice(offset, offset + limitFrom(body));
};
