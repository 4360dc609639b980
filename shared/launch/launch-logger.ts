/**
 * The logging the launch code needs: structured lines with extra attributes. Powertools' `Logger`
 * satisfies it; tests pass a recorder.
 */
export interface LaunchLogger {
  debug(message: string, ...attributes: Record<string, unknown>[]): void;
  info(message: string, ...attributes: Record<string, unknown>[]): void;
  warn(message: string, ...attributes: Record<string, unknown>[]): void;
  error(message: string, ...attributes: Record<string, unknown>[]): void;
}

/**
 * A logger that adds `keys` (e.g. `flow_run_id`) to every line. Unlike Powertools' `appendKeys`, it
 * does not touch the shared logger, so records processed in parallel never mix their keys.
 *
 * @example
 * const log = withLogKeys(logger, { flow_run_id: message.flow_run_id });
 * log.info('Launched'); // {"message":"Launched","flow_run_id":"…",…}
 */
export const withLogKeys = (
  logger: LaunchLogger,
  keys: Readonly<Record<string, unknown>>
): LaunchLogger => ({
  debug: (message, ...attributes) => logger.debug(message, Object.assign({}, keys, ...attributes)),
  info: (message, ...attributes) => logger.info(message, Object.assign({}, keys, ...attributes)),
  warn: (message, ...attributes) => logger.warn(message, Object.assign({}, keys, ...attributes)),
  error: (message, ...attributes) => logger.error(message, Object.assign({}, keys, ...attributes)),
});
