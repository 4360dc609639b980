/**
 * Test helper: one HTTP call with full control over the request (raw body, headers) that returns
 * status, headers and the parsed body, for asserting on exact server answers.
 */

export interface RawResponse {
  status: number;
  headers: Headers;
  /** Parsed JSON, or undefined for an empty body. */
  body: unknown;
}

export interface RawRequest {
  /** Sent as JSON unless `rawBody` is given. */
  body?: unknown;
  /** Sent as is. */
  rawBody?: string;
  headers?: Record<string, string>;
}

/** `method apiUrl+path`, with `Content-Type: application/json` unless overridden. */
export const rawCall = async (
  apiUrl: string,
  method: string,
  path: string,
  request: RawRequest = {}
): Promise<RawResponse> => {
  const body =
    request.rawBody ?? (request.body === undefined ? undefined : JSON.stringify(request.body));
  const response = await fetch(`${apiUrl}${path}`, {
    method,
    headers: { 'content-type': 'application/json', ...request.headers },
    ...(body === undefined ? {} : { body }),
  });
  const text = await response.text();
  return {
    status: response.status,
    headers: response.headers,
    body: text === '' ? undefined : (JSON.parse(text) as unknown),
  };
};
