/** Replaces every occurrence of a secret in a string with a fixed marker. */
export type Redactor = (text: string) => string;

/** What secrets are replaced with. */
export const REDACTED = '[REDACTED]';

/**
 * Builds a redactor for the client's credentials: the API key, the auth string, and the base64
 * form of the auth string as it appears in a `Basic` header. Error messages, details and causes go
 * through it, so a server or a network library echoing a header back cannot leak the secret.
 *
 * @example
 * const redact = createRedactor(['pnu_secret']);
 * redact('bad key pnu_secret'); // 'bad key [REDACTED]'
 */
export const createRedactor = (secrets: readonly (string | undefined)[]): Redactor => {
  // Longest first, so a secret containing another is replaced whole.
  const needles = [
    ...new Set(secrets.filter((s): s is string => s !== undefined && s !== '')),
  ].sort((a, b) => b.length - a.length);
  if (needles.length === 0) return (text) => text;
  return (text) => needles.reduce((out, needle) => out.split(needle).join(REDACTED), text);
};
