import { cloneJson, getOwn, isJsonObject, type JsonObject, setOwn } from './json-object.ts';
import { getFromDict } from './key-path.ts';
import type { PlaceholderOrigin } from './placeholder-origin.ts';
import {
  BLOCK_PREFIX,
  findPlaceholders,
  type Placeholder,
  replacePlaceholders,
  wholePlaceholder,
} from './placeholders.ts';
import { isPythonTruthy, pythonStr } from './python-str.ts';
import { TemplateError } from './template-error.ts';
import type { TemplateLookups } from './template-lookups.ts';
import { formatTemplatePath, type TemplatePath } from './template-path.ts';

/** Options of {@link resolveBlockReferences} and `resolveVariables`. */
export interface ResolveReferencesOptions {
  /** Where `template` sits, for errors (e.g. `['job_configuration']`). Default: the root. */
  path?: TemplatePath;
  /** Names the job variable a placeholder came from, for errors. */
  originOf?: PlaceholderOrigin;
}

/** Python's `text.split(".", 2)`: at most three parts, the last one keeps its dots. */
const splitBlockName = (text: string): string[] => {
  const first = text.indexOf('.');
  if (first < 0) return [text];
  const second = text.indexOf('.', first + 1);
  if (second < 0) return [text.slice(0, first), text.slice(first + 1)];
  return [text.slice(0, first), text.slice(first + 1, second), text.slice(second + 1)];
};

/** Where a reference sits, for errors. */
interface Site {
  path: TemplatePath;
  options: ResolveReferencesOptions;
}

const failAt = (site: Site, placeholder: string, problem: string, fix: string): TemplateError => {
  const templatePath = formatTemplatePath(site.path);
  const variable = site.options.originOf?.(placeholder);
  const origin =
    variable === undefined
      ? 'in the work pool base job template'
      : `from job variable "${variable}"`;
  return new TemplateError(`${placeholder} at ${templatePath} (${origin}): ${problem}. ${fix}`, {
    variable,
    templatePath,
    placeholder,
  });
};

const resolvePlaceholder = async (
  placeholder: Placeholder,
  lookups: TemplateLookups,
  site: Site
): Promise<unknown> => {
  const parts = splitBlockName(placeholder.name.replaceAll(BLOCK_PREFIX, ''));
  const [slug = '', name = '', keyPath] = parts;
  if (parts.length < 2) {
    throw failAt(
      site,
      placeholder.fullMatch,
      'this is not a block placeholder',
      'Write {{ prefect.blocks.<block-type-slug>.<block-document-name> }}, optionally followed by .<field>.'
    );
  }
  const block = await lookups.readBlockDocumentByName(slug, name);
  if (block === undefined) {
    throw failAt(
      site,
      placeholder.fullMatch,
      `there is no block "${name}" of type "${slug}" (it may have been deleted)`,
      'Create the block, or change the placeholder to name an existing one.'
    );
  }
  let data: unknown = block.data;
  const keys = Object.keys(block.data);
  if (keys.length === 1 && keys[0] === 'value' && !keyPath?.startsWith('value')) {
    data = block.data.value;
  }
  if (keyPath === undefined) return cloneJson(data);
  const value = getFromDict(data, keyPath);
  if (value === undefined) {
    throw failAt(
      site,
      placeholder.fullMatch,
      `the block "${name}" of type "${slug}" has no field "${keyPath}"`,
      'Check the field path against the block document.'
    );
  }
  return cloneJson(value);
};

const resolveString = async (
  template: string,
  lookups: TemplateLookups,
  site: Site
): Promise<unknown> => {
  const blocks = findPlaceholders(template).filter((p) => p.type === 'block_document');
  if (blocks.length === 0) return template;
  const whole = wholePlaceholder(template);
  if (whole?.type === 'block_document') return resolvePlaceholder(whole, lookups, site);
  const texts = new Map<string, string>();
  for (const placeholder of blocks) {
    const value = await resolvePlaceholder(placeholder, lookups, site);
    if (Array.isArray(value) || isJsonObject(value)) {
      throw failAt(
        site,
        placeholder.fullMatch,
        `it resolves to ${Array.isArray(value) ? 'a list' : 'an object'}, which cannot be put inside the string ${JSON.stringify(template)}`,
        'Use a single field of the block instead, e.g. {{ prefect.blocks.<slug>.<name>.<field> }}, or make the placeholder the whole value.'
      );
    }
    texts.set(placeholder.fullMatch, pythonStr(value));
  }
  return replacePlaceholders(template, (placeholder) => texts.get(placeholder.fullMatch));
};

const resolveReference = async (
  id: unknown,
  lookups: TemplateLookups,
  site: Site
): Promise<unknown> => {
  const reference = `{"$ref": {"block_document_id": ${JSON.stringify(id)}}}`;
  if (typeof id !== 'string') {
    throw failAt(site, reference, 'a block document id must be a string', 'Fix the reference.');
  }
  const block = await lookups.readBlockDocument(id);
  if (block === undefined) {
    throw failAt(
      site,
      reference,
      `there is no block document with id ${id} (it may have been deleted)`,
      'Point the reference at an existing block, e.g. pick the block again in the work pool or deployment form.'
    );
  }
  return cloneJson(block.data);
};

const resolve = async (
  template: unknown,
  lookups: TemplateLookups,
  options: ResolveReferencesOptions,
  path: TemplatePath
): Promise<unknown> => {
  if (typeof template === 'string') {
    return resolveString(template, lookups, { path, options });
  }
  if (Array.isArray(template)) {
    const items: unknown[] = [];
    for (const [index, item] of template.entries()) {
      items.push(await resolve(item, lookups, options, [...path, index]));
    }
    return items;
  }
  if (isJsonObject(template)) {
    const reference = getOwn(template, '$ref');
    const id = isJsonObject(reference) ? getOwn(reference, 'block_document_id') : undefined;
    if (isPythonTruthy(id)) return resolveReference(id, lookups, { path, options });
    const result: JsonObject = {};
    for (const [key, item] of Object.entries(template)) {
      setOwn(result, key, await resolve(item, lookups, options, [...path, key]));
    }
    return result;
  }
  return template;
};

/**
 * Prefect's `resolve_block_document_references`, recursively:
 * - an object `{"$ref": {"block_document_id": "<uuid>"}}` becomes a copy of that block's data;
 * - a string that is exactly `{{ prefect.blocks.<slug>.<name>[.<field path>] }}` becomes the
 *   block's data (or the field), any JSON; data that is exactly `{"value": …}` (a Secret, String or
 *   JSON block) is unwrapped to `value` unless the field path starts with `value`;
 * - inside a longer string the placeholder becomes Python's `str()` of a scalar; an object or list
 *   there is a {@link TemplateError}.
 *
 * A missing block, field or malformed placeholder is a {@link TemplateError} naming the placeholder,
 * its path in the configuration and, when known, the job variable it came from. Each block is read
 * through `lookups` (wrap them with `memoizeTemplateLookups` to read each once).
 *
 * @example
 * await resolveBlockReferences(
 *   { image: '{{ prefect.blocks.secret.registry }}/etl:1' },
 *   lookups // secret/registry → { value: 'acct.dkr.ecr.eu-west-1.amazonaws.com' }
 * ); // { image: 'acct.dkr.ecr.eu-west-1.amazonaws.com/etl:1' }
 */
export const resolveBlockReferences = (
  template: unknown,
  lookups: TemplateLookups,
  options: ResolveReferencesOptions = {}
): Promise<unknown> => resolve(template, lookups, options, options.path ?? []);
