import { describeOutcome, type PrefectCallContext, PrefectError } from './prefect-error.ts';

/** Longest `detail` kept on an error, in characters. */
export const MAX_DETAIL_LENGTH = 500;

/** What the server answered. */
export interface PrefectResponseContext {
  status: number;
  statusText: string;
  /** The server's `detail` (FastAPI validation errors flattened), truncated and redacted. */
  detail: string;
  retryable: boolean;
  /** The server's `Retry-After`, in ms, when it sent one. */
  retryAfterMs?: number | undefined;
}

/**
 * The Prefect API answered with an error status.
 *
 * @example
 * // Prefect setFlowRunState failed: POST /flow_runs/…/set_state → 422 Unprocessable Entity:
 * //   body.state.foo: Extra inputs are not permitted (not retryable)
 */
export class PrefectApiError extends PrefectError {
  override readonly name: string = 'PrefectApiError';
  readonly status: number;
  readonly statusText: string;
  readonly detail: string;
  readonly retryAfterMs: number | undefined;

  constructor(context: PrefectCallContext, response: PrefectResponseContext) {
    const status = `${response.status}${response.statusText ? ` ${response.statusText}` : ''}`;
    const detail = response.detail ? `: ${response.detail}` : '';
    super(
      `Prefect ${context.operation} failed: ${context.method} ${context.path} → ${status}${detail} ${describeOutcome(response.retryable, context.attempts)}`,
      context,
      response.retryable
    );
    this.status = response.status;
    this.statusText = response.statusText;
    this.detail = response.detail;
    this.retryAfterMs = response.retryAfterMs;
  }
}

/** The Prefect API answered 404: the object (or, on older servers, the endpoint) does not exist. */
export class PrefectNotFoundError extends PrefectApiError {
  override readonly name: string = 'PrefectNotFoundError';
}

/** Whether `error` is a Prefect 404, which callers often treat as a value rather than a failure. */
export const isNotFound = (error: unknown): error is PrefectNotFoundError =>
  error instanceof PrefectNotFoundError;

/** Whether `error` is a Prefect API error with the given status. */
export const hasStatus = (error: unknown, ...statuses: number[]): error is PrefectApiError =>
  error instanceof PrefectApiError && statuses.includes(error.status);

const truncate = (text: string): string =>
  text.length > MAX_DETAIL_LENGTH ? `${text.slice(0, MAX_DETAIL_LENGTH - 1)}…` : text;

const describeValidationIssue = (issue: unknown): string => {
  if (typeof issue !== 'object' || issue === null) return String(issue);
  const { loc, msg } = issue as { loc?: unknown; msg?: unknown };
  const where = Array.isArray(loc) ? loc.map(String).join('.') : '';
  const what = typeof msg === 'string' ? msg : JSON.stringify(issue);
  return where ? `${where}: ${what}` : what;
};

/**
 * Turns an error body into one line:
 * - a string `detail` as is (FastAPI `HTTPException`);
 * - validation items (`[{loc, msg}]`) as `body.state.foo: Extra inputs are not permitted; …`, from
 *   FastAPI's `detail` or Prefect 3's `exception_detail` (prefixed by its `exception_message`);
 * - `exception_message` alone (Prefect's 404/500 handlers, the auth middleware's 401);
 * - else the raw text.
 *
 * Never quotes `request_body`, which Prefect echoes on 422 and may hold block secrets. Truncated to
 * {@link MAX_DETAIL_LENGTH}.
 */
export const describeErrorBody = (body: unknown, rawText: string): string => {
  if (typeof body === 'object' && body !== null && !Array.isArray(body)) {
    const {
      detail,
      exception_message: message,
      exception_detail: exceptionDetail,
    } = body as Record<string, unknown>;
    if (typeof detail === 'string') return truncate(detail);
    if (Array.isArray(detail)) return truncate(detail.map(describeValidationIssue).join('; '));
    if (detail !== undefined && detail !== null) return truncate(JSON.stringify(detail));
    if (Array.isArray(exceptionDetail) && exceptionDetail.length > 0) {
      const issues = exceptionDetail.map(describeValidationIssue).join('; ');
      return truncate(typeof message === 'string' ? `${message} ${issues}` : issues);
    }
    if (typeof message === 'string') return truncate(message);
    return truncate(rawText.trim());
  }
  if (typeof body === 'string') return truncate(body);
  return truncate(rawText.trim());
};
