/**
 * `PREFECT_CLIENT_CUSTOM_HEADERS`: extra headers sent on every Prefect API request, for servers
 * behind an access proxy (Cloudflare Access, an OAuth proxy, an API gateway key). Same format as
 * Prefect's own setting (`src/prefect/settings/models/client.py`, `custom_headers`): a JSON object
 * of header name → string value.
 *
 * Prefect ignores (with a warning) names that clash with the headers its client manages
 * (`User-Agent`, `Prefect-Csrf-Token`, `Prefect-Csrf-Client`, see `client/base.py`); we refuse
 * them at configuration time instead, and also every other header this client sets itself
 * (`Authorization` comes from the API key or auth string), plus the framing headers that would
 * corrupt the request.
 */
import * as z from 'zod';

/** Lower-cased names a custom header may not set: this client owns them. */
export const RESERVED_HEADER_NAMES: ReadonlySet<string> = new Set([
  'authorization',
  'user-agent',
  'accept',
  'content-type',
  'x-prefect-api-version',
  'prefect-csrf-token',
  'prefect-csrf-client',
  'host',
  'content-length',
  'connection',
  'transfer-encoding',
]);

/** RFC 9110 `token`: what a header name may contain. */
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

// Control characters would make fetch throw a TypeError that quotes the header value.
// biome-ignore lint/suspicious/noControlCharactersInRegex: that is exactly what is rejected
const INVALID_HEADER_VALUE = /[\u0000-\u0008\u000a-\u001f\u007f]/;

/**
 * The value of `PREFECT_CLIENT_CUSTOM_HEADERS` as a zod schema: blank or absent → `{}`. Issues
 * name the offending header, never its value (values are often credentials).
 */
export const CustomHeadersSchema = z
  .string()
  .optional()
  .transform((text, ctx): Record<string, string> => {
    if (text === undefined || text.trim() === '') return {};
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      ctx.addIssue({
        code: 'custom',
        message:
          'must be a JSON object of header name → string value (the value is not valid JSON)',
      });
      return z.NEVER;
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
      ctx.addIssue({
        code: 'custom',
        message: 'must be a JSON object of header name → string value, e.g. {"X-Proxy-Key": "…"}',
      });
      return z.NEVER;
    }
    const headers: Record<string, string> = {};
    const seen = new Set<string>();
    for (const [name, value] of Object.entries(parsed)) {
      const lower = name.toLowerCase();
      if (!HEADER_NAME.test(name)) {
        ctx.addIssue({ code: 'custom', message: `"${name}" is not a valid header name` });
      } else if (RESERVED_HEADER_NAMES.has(lower)) {
        ctx.addIssue({
          code: 'custom',
          message: `may not set ${name}: this client sets it itself (refused: Authorization, User-Agent, Accept, Content-Type, X-Prefect-Api-Version, Prefect-Csrf-Token, Prefect-Csrf-Client, Host, Content-Length, Connection, Transfer-Encoding)`,
        });
      } else if (seen.has(lower)) {
        ctx.addIssue({
          code: 'custom',
          message: `sets ${name} twice (names are case-insensitive)`,
        });
      } else if (typeof value !== 'string') {
        ctx.addIssue({ code: 'custom', message: `the value of ${name} must be a string` });
      } else if (INVALID_HEADER_VALUE.test(value)) {
        ctx.addIssue({
          code: 'custom',
          message: `the value of ${name} contains control characters`,
        });
      } else {
        headers[name] = value;
      }
      seen.add(lower);
    }
    return headers;
  });

/** Shortest custom header value that is treated as a secret and redacted from errors and logs. */
export const MIN_REDACTED_HEADER_VALUE_LENGTH = 8;

/**
 * The custom header values to redact. Values shorter than
 * {@link MIN_REDACTED_HEADER_VALUE_LENGTH} characters are left alone: they cannot be credentials
 * worth the name, and replacing e.g. `1` everywhere would make every error unreadable.
 */
export const redactableHeaderValues = (
  headers: Readonly<Record<string, string>> | undefined
): string[] =>
  Object.values(headers ?? {}).filter(
    (value) => value.trim().length >= MIN_REDACTED_HEADER_VALUE_LENGTH
  );
