/**
 * Error answers in the real server's shapes. FastAPI's `HTTPException` answers `{"detail": ...}`;
 * Prefect's own handlers answer `{"exception_message": ...}` (404 for `ObjectNotFoundError`, 422 for
 * request validation, 500 for anything unexpected).
 */
import type { ValidationIssue } from './validation-issues.ts';

/** Thrown by handlers; the server turns it into a response with `status` and `body`. */
export class HttpError extends Error {
  override readonly name = 'HttpError';
  readonly status: number;
  readonly body: unknown;
  readonly headers: Record<string, string>;

  constructor(status: number, body: unknown, headers: Record<string, string> = {}) {
    super(`${status} ${JSON.stringify(body)}`);
    this.status = status;
    this.body = body;
    this.headers = headers;
  }
}

/** FastAPI `HTTPException(status, detail)`. */
export const httpError = (status: number, detail: unknown): HttpError =>
  new HttpError(status, { detail });

/** 404 `{"detail": ...}` as raised by route code, e.g. `"Flow run not found"`. */
export const notFound = (detail: string): HttpError => httpError(404, detail);

/** 404 `{"exception_message": ...}` as answered for the server's `ObjectNotFoundError`. */
export const objectNotFound = (message: string): HttpError =>
  new HttpError(404, { exception_message: message });

/**
 * 422 for request validation errors. Prefect 3.8 replaces FastAPI's `{"detail": [...]}` with its own
 * handler (`server/api/server.py: validation_exception_handler`); the items are FastAPI's.
 */
export const requestValidationError = (
  issues: readonly ValidationIssue[],
  requestBody: unknown
): HttpError =>
  new HttpError(422, {
    exception_message: 'Invalid request received.',
    exception_detail: issues,
    request_body: requestBody ?? null,
  });

/** Starlette's answer when no route matches the path. */
export const routeNotFound = (): HttpError => httpError(404, 'Not Found');

/** Starlette's answer when a route matches the path but not the method. */
export const methodNotAllowed = (allowed: readonly string[]): HttpError =>
  new HttpError(405, { detail: 'Method Not Allowed' }, { allow: allowed.join(', ') });
