import { type EnvironmentAccess, readEnvironmentPlaceholder } from './environment-placeholder.ts';
import { isJsonObject, type JsonObject, setOwn } from './json-object.ts';
import { getFromDict } from './key-path.ts';
import { findPlaceholders, replacePlaceholders, wholePlaceholder } from './placeholders.ts';
import { pythonStr } from './python-str.ts';
import { formatTemplatePath, type TemplatePath } from './template-path.ts';

/** Options of {@link applyValues}. */
export interface ApplyValuesOptions extends EnvironmentAccess {
  /** Where `template` sits, for warnings (e.g. `['job_configuration']`). Default: the root. */
  path?: TemplatePath;
}

/** The templated value (`undefined` when the whole template was one unset placeholder). */
export interface ApplyValuesResult {
  value: unknown;
  /** `{{ $NAME }}` placeholders that were not substituted, and why. */
  warnings: string[];
}

const applyToString = (
  template: string,
  values: JsonObject,
  options: ApplyValuesOptions,
  path: TemplatePath,
  warnings: string[]
): unknown => {
  if (findPlaceholders(template).length === 0) return template;
  const whole = wholePlaceholder(template);
  if (whole?.type === 'standard') return getFromDict(values, whole.name);
  return replacePlaceholders(template, (placeholder) => {
    if (placeholder.type === 'standard') {
      const value = getFromDict(values, placeholder.name);
      return value === undefined ? '' : pythonStr(value);
    }
    if (placeholder.type === 'env_var') {
      const reading = readEnvironmentPlaceholder(
        placeholder.name,
        options,
        formatTemplatePath(path) || 'the template'
      );
      if (reading.warning !== undefined) warnings.push(reading.warning);
      return reading.text;
    }
    return undefined;
  });
};

const apply = (
  template: unknown,
  values: JsonObject,
  options: ApplyValuesOptions,
  path: TemplatePath,
  warnings: string[]
): unknown => {
  if (typeof template === 'string') return applyToString(template, values, options, path, warnings);
  if (Array.isArray(template)) {
    return template
      .map((item, index) => apply(item, values, options, [...path, index], warnings))
      .filter((item) => item !== undefined);
  }
  if (isJsonObject(template)) {
    const result: JsonObject = {};
    for (const [key, item] of Object.entries(template)) {
      const value = apply(item, values, options, [...path, key], warnings);
      if (value !== undefined) setOwn(result, key, value);
    }
    return result;
  }
  return template;
};

/**
 * Prefect's `apply_values(template, values, remove_notset=True)`, recursively over objects and
 * arrays:
 * - a string that is exactly one placeholder (`"{{ cpu }}"`) becomes the raw value, type kept
 *   (number, object, array, boolean, null); when the value is unset the key is removed from its
 *   object, or the element from its array;
 * - otherwise each placeholder is replaced by Python's `str(value)` (`True`, `None`, `{'a': 1}`), an
 *   unset one by `""`;
 * - names are dotted paths with list indexes: `{{ a.b[0].c }}`, `{{ a.b.0.c }}`;
 * - `{{ $NAME }}` reads the allowed environment, inline only (a whole `"{{ $NAME }}"` is a string
 *   too); `{{ prefect.blocks.* }}` and `{{ prefect.variables.* }}` are left for
 *   `resolveBlockReferences` and `resolveVariables`.
 *
 * Values substituted in are not templated again. Inputs are not modified.
 *
 * @example
 * applyValues(
 *   { cpu: '{{ cpu }}', memory: '{{ memory }}', name: 'run-{{ cpu }}-{{ spot }}' },
 *   { cpu: 1024, spot: true }
 * ).value; // { cpu: 1024, name: 'run-1024-True' }
 */
export const applyValues = (
  template: unknown,
  values: JsonObject,
  options: ApplyValuesOptions = {}
): ApplyValuesResult => {
  const warnings: string[] = [];
  const value = apply(template, values, options, options.path ?? [], warnings);
  return { value, warnings: [...new Set(warnings)] };
};
