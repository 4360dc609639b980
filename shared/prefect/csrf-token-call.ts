import * as z from 'zod';
import { CSRF_DISABLED_DETAIL, type CsrfTokenAnswer } from './csrf-session.ts';
import type { HttpTransport } from './http.ts';
import { hasStatus, isNotFound } from './prefect-api-error.ts';

/** The parts of Prefect's `CsrfToken` we use (the server also sends `id`, `created`, `updated`). */
export const CsrfTokenSchema = z.object({
  token: z.string().min(1),
  client: z.string(),
  expiration: z
    .string()
    .refine((value) => !Number.isNaN(Date.parse(value)), 'must be an ISO-8601 datetime'),
});

/**
 * Binds `GET /csrf-token?client=<id>` to a transport. Protection off (422 `CSRF protection is
 * disabled.`) or an older server without the endpoint (404) answer `disabled`, as Prefect's client
 * reads them (`client/base.py`, `_add_csrf_headers`); any other failure is thrown.
 *
 * @example
 * const fetchToken = createCsrfTokenCall(http);
 * await fetchToken(randomUUID()); // { kind: 'token', token: '…', expiresAtMs: 1790000000000 }
 */
export const createCsrfTokenCall =
  (http: Pick<HttpTransport, 'sendParsed'>) =>
  async (clientId: string): Promise<CsrfTokenAnswer> => {
    try {
      const { data } = await http.sendParsed(
        {
          operation: 'readCsrfToken',
          method: 'GET',
          path: '/csrf-token',
          query: { client: clientId },
        },
        CsrfTokenSchema
      );
      return { kind: 'token', token: data.token, expiresAtMs: Date.parse(data.expiration) };
    } catch (error) {
      if (isNotFound(error)) return { kind: 'disabled' };
      if (hasStatus(error, 422) && error.detail.includes(CSRF_DISABLED_DETAIL)) {
        return { kind: 'disabled' };
      }
      throw error;
    }
  };
