/**
 * Text taken from an ECS event (a `stoppedReason`, a container's `reason`, an ARN) before it goes
 * into a Prefect state message or a log line. ECS copies what a failing component said: a registry
 * error may quote a URL with its credentials, a container may die printing its environment. Such
 * text is scrubbed the way forwarded log lines are: the values of credential settings
 * (`PREFECT_API_KEY=…`, `AWS_SECRET_ACCESS_KEY: …`, any `*_TOKEN`/`*_PASSWORD`/`*_SECRET`), URL
 * user-info, Prefect Cloud keys (`pnu_…`) and AWS access key ids become `[REDACTED]`; and it is cut to
 * a bounded length, since events can carry fields far longer than a log line should be (CloudWatch
 * caps a log event at 256 KiB; a 1 MiB field would otherwise make a 5 MB line).
 */
import { REDACTED } from '../prefect/redact.ts';

/** Longest text kept from an event field in a log line. */
export const MAX_LOGGED_FIELD = 1024;
/** Longest text kept from an event field in a Prefect state message. */
export const MAX_MESSAGE_FIELD = 2048;

// Bounded repetitions throughout: the text comes from outside, and an unbounded `[A-Z0-9_]*`
// before an alternative backtracks quadratically on a long run of word characters.
const CREDENTIAL_SETTING =
  /\b((?:PREFECT_API_KEY|PREFECT_API_AUTH_STRING|AWS_SECRET_ACCESS_KEY|AWS_SESSION_TOKEN|[A-Z0-9_]{0,64}(?:TOKEN|PASSWORD|PASSWD|SECRET|API_KEY|APIKEY|AUTH_STRING)))(\s{0,8}[=:]\s{0,8})("[^"]{0,4096}"|'[^']{0,4096}'|[^\s,;"')\]}]{1,4096})/gi;
const URL_USERINFO = /([a-z][a-z0-9+.-]{0,31}:\/\/)[^/\s:@]{1,256}:[^/\s@]{1,1024}@/gi;
const PREFECT_CLOUD_KEY = /\bpnu_[A-Za-z0-9]{8,128}/g;
const AWS_ACCESS_KEY_ID = /\b(?:AKIA|ASIA)[A-Z0-9]{16}\b/g;

/**
 * Scrubs credentials out of event text and cuts it to `max` characters (with `…` when cut).
 *
 * @example
 * scrubEventText('CannotPullContainerError: https://bot:s3cr3t@registry.example.com/etl');
 * // 'CannotPullContainerError: https://[REDACTED]@registry.example.com/etl'
 */
export const scrubEventText = (text: string, max = MAX_MESSAGE_FIELD): string => {
  // Scrub a little more than is kept, so a secret across the cut is still recognised.
  const scrubbed = text
    .slice(0, max + 1024)
    .replace(
      CREDENTIAL_SETTING,
      (_match, name: string, separator: string) => `${name}${separator}${REDACTED}`
    )
    .replace(URL_USERINFO, `$1${REDACTED}@`)
    .replace(PREFECT_CLOUD_KEY, REDACTED)
    .replace(AWS_ACCESS_KEY_ID, REDACTED);
  return scrubbed.length > max || text.length > max + 1024
    ? `${scrubbed.slice(0, Math.max(0, max - 1))}…`
    : scrubbed;
};

/**
 * An event field for a log line: scrubbed and cut to {@link MAX_LOGGED_FIELD}; non-strings pass.
 *
 * @example
 * logField(event.detail.clusterArn); // at most 1024 characters
 */
export const logField = <T>(value: T): T | string =>
  typeof value === 'string' ? scrubEventText(value, MAX_LOGGED_FIELD) : value;
