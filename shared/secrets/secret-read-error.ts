/**
 * A secret could not be read. Names the secret and the AWS error code, never a value. Retryable
 * for throttling, 5xx and network failures; not for a missing secret or a denied read.
 */
export class SecretReadError extends Error {
  override readonly name: string = 'SecretReadError';
  readonly secretId: string;
  readonly code: string;
  readonly retryable: boolean;

  constructor(
    message: string,
    secretId: string,
    code: string,
    retryable: boolean,
    options?: { cause?: unknown }
  ) {
    super(message, options);
    this.secretId = secretId;
    this.code = code;
    this.retryable = retryable;
  }
}
