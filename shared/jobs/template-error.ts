/** Where a template problem is, for {@link TemplateError}. */
export interface TemplateErrorDetails {
  /** The job variable to change, when the problem came from one (e.g. `image`). */
  variable?: string | undefined;
  /** Where in the job configuration, e.g. `job_configuration.task_definition.containerDefinitions[0].image`. */
  templatePath?: string | undefined;
  /** The placeholder or reference at fault, e.g. `{{ prefect.blocks.secret.registry }}`. */
  placeholder?: string | undefined;
  cause?: unknown;
}

/**
 * The work pool's base job template and the job variables cannot produce a job configuration: a
 * block that does not exist, a block object used inside a string, a malformed placeholder or
 * template. Retrying the same flow run cannot help, so the launcher reports it as Crashed with this
 * message and acks the message. The message names the placeholder, where it sits and what to
 * change.
 *
 * @example
 * ```ts
 * throw new TemplateError(
 *   'Block placeholder {{ prefect.blocks.secret.registry }} at job_configuration.task_definition.containerDefinitions[0].image: …',
 *   { variable: 'image', templatePath: 'job_configuration.task_definition.containerDefinitions[0].image' }
 * );
 * ```
 */
export class TemplateError extends Error {
  override readonly name: string = 'TemplateError';
  /** Always false: the same template and variables fail the same way every time. */
  readonly retryable = false as const;
  readonly variable: string | undefined;
  readonly templatePath: string | undefined;
  readonly placeholder: string | undefined;

  constructor(message: string, details: TemplateErrorDetails = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.variable = details.variable;
    this.templatePath = details.templatePath;
    this.placeholder = details.placeholder;
  }
}

/** Whether `error` is a {@link TemplateError} (or a {@link JobConfigurationError}): permanent. */
export const isTemplateError = (error: unknown): error is TemplateError =>
  error instanceof TemplateError;
