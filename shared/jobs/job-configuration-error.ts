import { TemplateError } from './template-error.ts';

/**
 * Templating worked, but the result is a job configuration Prefect's `ECSJobConfiguration` refuses:
 * a field of the wrong type, or one of its validators (no task definition and no ARN,
 * `network_configuration` without `vpc_id`, …). A {@link TemplateError}, so one `instanceof` check
 * covers every permanent failure of job-configuration resolution; `variable` names the job variable
 * to change.
 *
 * @example
 * ```ts
 * throw new JobConfigurationError(
 *   'network_configuration is set but vpc_id is not: set the job variable vpc_id …',
 *   { variable: 'vpc_id', templatePath: 'job_configuration.vpc_id' }
 * );
 * ```
 */
export class JobConfigurationError extends TemplateError {
  override readonly name: string = 'JobConfigurationError';
}
