import * as z from 'zod';
import { expandDottedKeys } from './expand-dotted-keys.ts';
import { cloneJson, getOwn, isJsonObject, type JsonObject, setOwn } from './json-object.ts';
import { isPythonTruthy } from './python-str.ts';
import { schemaDefaults } from './schema-defaults.ts';
import { TemplateError } from './template-error.ts';

/** A work pool's `base_job_template`: the templated configuration and the variables' JSON schema. */
export const BaseJobTemplateSchema = z
  .object({
    job_configuration: z.record(z.string(), z.unknown()),
    variables: z.record(z.string(), z.unknown()),
  })
  .loose();
/** A parsed base job template. */
export type BaseJobTemplate = z.infer<typeof BaseJobTemplateSchema>;

/**
 * Checks a work pool's `base_job_template` has the two parts templating needs.
 *
 * @example
 * parseBaseJobTemplate(pool.base_job_template, pool.name); // { job_configuration, variables }
 * parseBaseJobTemplate({}, 'etl'); // throws TemplateError: work pool "etl" has no base job template …
 */
export const parseBaseJobTemplate = (raw: unknown, workPoolName: string): BaseJobTemplate => {
  const parsed = BaseJobTemplateSchema.safeParse(raw);
  if (parsed.success) return parsed.data;
  throw new TemplateError(
    `The work pool "${workPoolName}" has no usable base job template (it needs "job_configuration" and "variables" objects: ${z.prettifyError(parsed.error).replaceAll('\n', ' ')}). Give the pool the ECS default template (prefect work-pool create --type ecs) or fix it in the pool's Advanced tab.`,
    { templatePath: 'base_job_template' }
  );
};

/** What `applyValues` runs on: the configuration to template and the values for its placeholders. */
export interface TemplateInputs {
  /** A copy of `job_configuration`, with `env` defaults and `env` job variables merged in. */
  jobConfiguration: JsonObject;
  /** The schema defaults, then the job variables (dotted keys expanded) on top. */
  values: JsonObject;
}

const mergeEnv = (configEnv: JsonObject, env: unknown): JsonObject => {
  if (!isJsonObject(env)) {
    throw new TemplateError(
      `The job variable "env" must be an object of environment variables, got ${JSON.stringify(env)}.`,
      { variable: 'env', templatePath: 'job_configuration.env' }
    );
  }
  return { ...configEnv, ...env };
};

/**
 * Steps 1–6 of Prefect's `from_template_and_values`:
 * 1. copy `job_configuration`; take the schema's non-null defaults as the values;
 * 2. a truthy `env` default is merged into `job_configuration.env` when that is an object, and
 *    replaces it otherwise (so `"env": "{{ env }}"` becomes the default object);
 * 3. the job variables, dotted keys expanded, replace the defaults key by key;
 * 4. when `job_configuration.env` is an object, a truthy `env` value is merged into it.
 *
 * @example
 * buildTemplateInputs(
 *   { job_configuration: { env: '{{ env }}', cpu: '{{ cpu }}' }, variables: { properties: { env: { default: { A: '1' } } } } },
 *   { 'env.B': '2', cpu: 512 }
 * );
 * // { jobConfiguration: { env: { A: '1', B: '2' }, cpu: '{{ cpu }}' }, values: { env: { B: '2' }, cpu: 512 } }
 */
export const buildTemplateInputs = (
  template: BaseJobTemplate,
  jobVariables: JsonObject
): TemplateInputs => {
  const jobConfiguration = cloneJson(template.job_configuration);
  const values = schemaDefaults(template.variables);

  const defaultEnv = getOwn(values, 'env');
  if (isPythonTruthy(defaultEnv)) {
    const configEnv = getOwn(jobConfiguration, 'env');
    jobConfiguration.env = isJsonObject(configEnv)
      ? mergeEnv(configEnv, defaultEnv)
      : cloneJson(defaultEnv);
  }

  for (const [key, value] of Object.entries(expandDottedKeys(jobVariables))) {
    setOwn(values, key, value);
  }

  const configEnv = getOwn(jobConfiguration, 'env');
  const env = getOwn(values, 'env');
  if (isJsonObject(configEnv) && isPythonTruthy(env)) {
    jobConfiguration.env = mergeEnv(configEnv, env);
  }
  return { jobConfiguration, values };
};
