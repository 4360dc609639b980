/**
 * The reporter's own settings, read from the environment once per cold start. The Prefect
 * connection and the region come from the shared `loadConfig` (`shared/config.ts`).
 */
import * as z from 'zod';
import { ConfigError } from '../errors/config-error.ts';

/** Lines of CloudWatch output forwarded for a run that crashed before its flow started. */
export const DEFAULT_LOG_TAIL_LINES = 200;

/** The parsed settings. */
export interface ReporterConfig {
  /** `REPORTER_LOG_TAIL_LINES`: 0 turns the log tail off; at most 10,000. */
  logTailLines: number;
}

const blankToUndefined = (value: unknown): unknown =>
  typeof value === 'string' && value.trim() === '' ? undefined : value;

const ReporterEnvSchema = z.object({
  REPORTER_LOG_TAIL_LINES: z.preprocess(
    blankToUndefined,
    z.coerce
      .number({ error: 'must be a whole number of lines' })
      .int('must be a whole number of lines')
      .min(0, 'must be ≥ 0 (0 turns the log tail off)')
      .max(10_000, 'must be at most 10000')
      .default(DEFAULT_LOG_TAIL_LINES)
  ),
});

/**
 * Parses the reporter's variables. Throws a `ConfigError` naming every bad variable (never its
 * value).
 *
 * @example
 * loadReporterConfig({ REPORTER_LOG_TAIL_LINES: '500' }); // { logTailLines: 500 }
 * loadReporterConfig({}); // { logTailLines: 200 }
 */
export const loadReporterConfig = (
  env: Readonly<Record<string, string | undefined>>
): ReporterConfig => {
  const parsed = ReporterEnvSchema.safeParse(env);
  if (!parsed.success) {
    throw new ConfigError(
      parsed.error.issues.map((issue) => `${issue.path.map(String).join('.')}: ${issue.message}`)
    );
  }
  return { logTailLines: parsed.data.REPORTER_LOG_TAIL_LINES };
};
