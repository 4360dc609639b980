/**
 * `{{ $NAME }}` placeholders. Prefect substitutes the worker process's whole `os.environ`; a Lambda's
 * environment holds our own configuration, so only names on an allow-list are substituted. Any other
 * name becomes `""` with a warning, and its value is never read.
 */

/** The launcher's environment and the names templates may read from it. */
export interface EnvironmentAccess {
  /** The environment `{{ $NAME }}` reads, e.g. the launcher's `process.env`. Default: empty. */
  environment?: Readonly<Record<string, string | undefined>>;
  /** Names `{{ $NAME }}` may read. Default: none. */
  allowedEnvironment?: readonly string[];
}

/** What to substitute for one `{{ $NAME }}`, and why if it is not the variable's value. */
export interface EnvironmentReading {
  text: string;
  warning?: string;
}

/**
 * Reads `{{ $NAME }}` (`placeholderName` is `$NAME`; Prefect strips every leading `$`). Unset
 * variables become `""`, as in Prefect.
 *
 * @example
 * readEnvironmentPlaceholder('$AWS_REGION', { environment: { AWS_REGION: 'eu-west-1' }, allowedEnvironment: ['AWS_REGION'] }, 'job_configuration.name');
 * // { text: 'eu-west-1' }
 * readEnvironmentPlaceholder('$SECRET', { environment: { SECRET: 's' } }, 'job_configuration.name');
 * // { text: '', warning: '{{ $SECRET }} at job_configuration.name: …' }
 */
export const readEnvironmentPlaceholder = (
  placeholderName: string,
  access: EnvironmentAccess,
  where: string
): EnvironmentReading => {
  const name = placeholderName.replace(/^\$+/, '');
  const allowed = access.allowedEnvironment ?? [];
  if (!allowed.includes(name)) {
    return {
      text: '',
      warning: `{{ $${name} }} at ${where} was replaced with "": ${name} is not in the launcher's allowed environment. Add it to the allow-list (allowedEnvironment) to pass it through.`,
    };
  }
  const value = access.environment?.[name];
  if (value === undefined || !Object.hasOwn(access.environment ?? {}, name)) {
    return {
      text: '',
      warning: `{{ $${name} }} at ${where} was replaced with "": ${name} is allowed but not set in the launcher's environment.`,
    };
  }
  return { text: value };
};
