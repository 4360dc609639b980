import { isJsonObject, type JsonObject, setOwn } from './json-object.ts';
import {
  findPlaceholders,
  type Placeholder,
  replacePlaceholders,
  VARIABLE_PREFIX,
  wholePlaceholder,
} from './placeholders.ts';
import { pythonStr } from './python-str.ts';
import type { TemplateLookups } from './template-lookups.ts';

/** Python's `name.replace("prefect.variables.", "")`. */
const variableName = (placeholder: Placeholder): string =>
  placeholder.name.replaceAll(VARIABLE_PREFIX, '');

const resolveString = async (template: string, lookups: TemplateLookups): Promise<unknown> => {
  const variables = findPlaceholders(template).filter((p) => p.type === 'variable');
  if (variables.length === 0) return template;
  const whole = wholePlaceholder(template);
  if (whole?.type === 'variable') {
    const variable = await lookups.readVariable(variableName(whole));
    return variable === undefined ? '' : variable.value;
  }
  const texts = new Map<string, string>();
  for (const placeholder of variables) {
    const variable = await lookups.readVariable(variableName(placeholder));
    texts.set(placeholder.fullMatch, variable === undefined ? '' : pythonStr(variable.value));
  }
  return replacePlaceholders(template, (placeholder) => texts.get(placeholder.fullMatch));
};

const resolve = async (template: unknown, lookups: TemplateLookups): Promise<unknown> => {
  if (typeof template === 'string') return resolveString(template, lookups);
  if (Array.isArray(template)) {
    const items: unknown[] = [];
    for (const item of template) items.push(await resolve(item, lookups));
    return items;
  }
  if (isJsonObject(template)) {
    const result: JsonObject = {};
    for (const [key, item] of Object.entries(template)) {
      setOwn(result, key, await resolve(item, lookups));
    }
    return result;
  }
  return template;
};

/**
 * Prefect's `resolve_variables`, recursively: a string that is exactly
 * `{{ prefect.variables.<name> }}` becomes the variable's value, any JSON (Prefect 3); inside a
 * longer string it becomes Python's `str(value)`. A variable that does not exist becomes `""` in
 * both cases, as in Prefect. Each variable is read through `lookups` (wrap them with
 * `memoizeTemplateLookups` to read each once).
 *
 * @example
 * await resolveVariables(
 *   { image: '{{ prefect.variables.ecr }}/etl:{{ prefect.variables.tag }}', cpu: '{{ prefect.variables.cpu }}' },
 *   lookups // ecr → 'acct.dkr.ecr.eu-west-1.amazonaws.com', tag missing, cpu → 2048
 * ); // { image: 'acct.dkr.ecr.eu-west-1.amazonaws.com/etl:', cpu: 2048 }
 */
export const resolveVariables = (template: unknown, lookups: TemplateLookups): Promise<unknown> =>
  resolve(template, lookups);
