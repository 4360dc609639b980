/**
 * A logger for a terminal: one line per entry, `time LEVEL component message key=value …`, for the
 * local worker, where Powertools' JSON lines (meant for CloudWatch) would be hard to read. It fits
 * every logger port of the handlers (`PollLogger`, `LaunchLogger`).
 */
import type { LaunchLogger } from '../launch/launch-logger.ts';

/** Levels, lowest first. */
export const LOG_LEVELS = ['debug', 'info', 'warn', 'error'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** Options of {@link createTextLogger}. */
export interface TextLoggerOptions {
  /** Receives each line, newline included. */
  write: (line: string) => void;
  /** Lowest level written (default `info`). */
  level?: LogLevel;
  /** Default: the system clock. */
  now?: () => Date;
  /** Longest value written for one attribute (default 400 characters). */
  maxValueLength?: number;
}

/** A logger per component (`poller`, `launcher`, …) over one sink. */
export type ComponentLogger = (component: string) => LaunchLogger;

/**
 * The level a variable names (`LOG_LEVEL` or `POWERTOOLS_LOG_LEVEL`: `DEBUG`, `INFO`, `WARN`,
 * `ERROR`, any case); `undefined` for anything else.
 *
 * @example
 * parseLogLevel('WARN'); // 'warn'
 */
export const parseLogLevel = (value: string | undefined): LogLevel | undefined => {
  const lower = value?.trim().toLowerCase();
  if (lower === 'warning') return 'warn';
  return LOG_LEVELS.find((level) => level === lower);
};

const describeValue = (value: unknown, max: number): string => {
  let text: string;
  if (value instanceof Error) text = `${value.name}: ${value.message}`;
  else if (typeof value === 'string') text = /[\s"=]/.test(value) ? JSON.stringify(value) : value;
  else {
    try {
      text = JSON.stringify(value, (_key, item: unknown) =>
        item instanceof Error ? `${item.name}: ${item.message}` : item
      );
    } catch {
      text = String(value);
    }
  }
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
};

/**
 * @example
 * const logger = createTextLogger({ write: (line) => process.stderr.write(line) });
 * logger('launcher').info('Launch launched', { flow_run_id: id });
 * // 12:00:01.234 INFO  launcher  Launch launched flow_run_id=0b6c…
 */
export const createTextLogger = (options: TextLoggerOptions): ComponentLogger => {
  const threshold = LOG_LEVELS.indexOf(options.level ?? 'info');
  const now = options.now ?? (() => new Date());
  const max = options.maxValueLength ?? 400;
  const line =
    (component: string, level: LogLevel) =>
    (message: string, ...attributes: Record<string, unknown>[]) => {
      if (LOG_LEVELS.indexOf(level) < threshold) return;
      const merged: Record<string, unknown> = Object.assign({}, ...attributes);
      const pairs = Object.entries(merged)
        .filter(([, value]) => value !== undefined)
        .map(([key, value]) => `${key}=${describeValue(value, max)}`);
      const time = now().toISOString().slice(11, 23);
      options.write(
        `${time} ${level.toUpperCase().padEnd(5)} ${component.padEnd(8)} ${message}${pairs.length > 0 ? ` ${pairs.join(' ')}` : ''}\n`
      );
    };
  return (component) => ({
    debug: line(component, 'debug'),
    info: line(component, 'info'),
    warn: line(component, 'warn'),
    error: line(component, 'error'),
  });
};
