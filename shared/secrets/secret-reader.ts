/**
 * Reads a secret's current value. The launcher reads the Prefect API key (or auth string) once per
 * cold start through this port; the adapter is `createSecretsManagerReader`.
 */
export interface SecretReader {
  /** The `AWSCURRENT` string value of the secret with this ARN (or name). */
  readSecret(secretId: string): Promise<string>;
}
