/** Where a value sits in the templated job configuration, for messages a person can follow. */

/** Path steps: object keys and array indexes. */
export type TemplatePath = readonly (string | number)[];

const PLAIN_KEY = /^[A-Za-z_$][\w$-]*$/;

/**
 * Formats a path as `job_configuration.task_definition.containerDefinitions[0].image`; keys that are
 * not plain identifiers are quoted, e.g. `env["MY.VAR"]`.
 *
 * @example
 * formatTemplatePath(['job_configuration', 'task_definition', 'containerDefinitions', 0, 'image']);
 * // 'job_configuration.task_definition.containerDefinitions[0].image'
 */
export const formatTemplatePath = (path: TemplatePath): string =>
  path
    .map((step, position) => {
      if (typeof step === 'number') return `[${step}]`;
      if (!PLAIN_KEY.test(step)) return `[${JSON.stringify(step)}]`;
      return position === 0 ? step : `.${step}`;
    })
    .join('');
