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

/** A redactor that also covers secrets learned after it was built (the CSRF tokens). */
export interface LearningRedactor {
  readonly redact: Redactor;
  /** Adds a secret; only the newest {@link LEARNED_SECRETS_KEPT} learned ones are kept. */
  learn(secret: string): void;
}

/** Learned secrets kept: a token refreshed hourly in a warm container must not grow the list forever. */
export const LEARNED_SECRETS_KEPT = 8;

/**
 * Builds a redactor over fixed secrets (the credentials) plus secrets learned later, such as the
 * CSRF token fetched on the first write: a server or network library echoing the request headers
 * back cannot leak it either.
 *
 * @example
 * const redactor = createLearningRedactor(['pnu_secret']);
 * redactor.learn('csrf-token-value');
 * redactor.redact('token csrf-token-value'); // 'token [REDACTED]'
 */
export const createLearningRedactor = (
  secrets: readonly (string | undefined)[]
): LearningRedactor => {
  const learned: string[] = [];
  let current = createRedactor(secrets);
  return {
    redact: (text) => current(text),
    learn: (secret) => {
      if (secret === '' || learned.includes(secret)) return;
      learned.push(secret);
      if (learned.length > LEARNED_SECRETS_KEPT) learned.shift();
      current = createRedactor([...secrets, ...learned]);
    },
  };
};
