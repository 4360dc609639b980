/**
 * An access proxy in front of the server (Cloudflare Access service tokens, an OAuth2 proxy, an API
 * gateway key): every request, `/health` included, must carry the configured headers. Without one
 * it answers 401; with a wrong value, 403. The body is the proxy's, not Prefect's.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { HttpError } from './http-errors.ts';

/** Throws the proxy's 401/403 unless every `required` header is present with its exact value. */
export const checkAccessProxy = (
  required: Readonly<Record<string, string>> | undefined,
  headers: IncomingHttpHeaders
): void => {
  for (const [name, expected] of Object.entries(required ?? {})) {
    const raw = headers[name.toLowerCase()];
    const given = Array.isArray(raw) ? raw[0] : raw;
    if (given === undefined) {
      throw new HttpError(401, { error: `access proxy: missing ${name}` });
    }
    if (given !== expected) {
      throw new HttpError(403, { error: `access proxy: ${name} refused` });
    }
  }
};
