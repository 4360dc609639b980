import { getOwn, isJsonObject, type JsonObject, setOwn } from './json-object.ts';
import { setInDict } from './key-path.ts';
import { TemplateError } from './template-error.ts';

/** Prefect's `deep_merge`: `merge` wins, nested objects are merged recursively. */
const deepMerge = (base: JsonObject, merge: JsonObject): JsonObject => {
  const result: JsonObject = { ...base };
  for (const [key, value] of Object.entries(merge)) {
    const current = getOwn(result, key);
    setOwn(
      result,
      key,
      isJsonObject(current) && isJsonObject(value) ? deepMerge(current, value) : value
    );
  }
  return result;
};

/**
 * Prefect 3's dotted job-variable keys (`from_template_and_values`): `"env.FOO": "x"` becomes
 * `{ env: { FOO: "x" } }`. Dotted keys are expanded first, in order; a plain key is then deep-merged
 * on top when both are objects (the plain key's values win), else it replaces them.
 *
 * So a plain `env` from the deployment beats a dotted `env.FOO` from the flow run for the same
 * variable: Prefect does the same.
 *
 * @example
 * expandDottedKeys({ 'env.FOO': 'x', env: { BAR: 'y' }, cpu: 512 });
 * // { env: { FOO: 'x', BAR: 'y' }, cpu: 512 }
 */
export const expandDottedKeys = (values: JsonObject): JsonObject => {
  const expanded: JsonObject = {};
  for (const [key, value] of Object.entries(values)) {
    if (!key.includes('.')) continue;
    try {
      setInDict(expanded, key, value);
    } catch (error) {
      throw new TemplateError(
        `The job variable "${key}" sets a field inside a value that is not an object (another job variable already set a part of that path to a plain value). Use one form: either the dotted keys or one nested object.`,
        { variable: key, cause: error }
      );
    }
  }
  for (const [key, value] of Object.entries(values)) {
    if (key.includes('.')) continue;
    const current = getOwn(expanded, key);
    setOwn(
      expanded,
      key,
      isJsonObject(current) && isJsonObject(value) ? deepMerge(current, value) : value
    );
  }
  return expanded;
};
