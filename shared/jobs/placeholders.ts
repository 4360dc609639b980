/**
 * Finding `{{ … }}` placeholders the way Prefect does (`utilities/templating/__init__.py`):
 * `PLACEHOLDER_CAPTURE_REGEX = ({{\s*([\w\.\-\[\]$]+)\s*}})` with Python's Unicode `\w` and `\s`.
 */

/** Python's `\w` (str.isalnum() or `_`) and `\s` (str.isspace()) as JavaScript classes. */
const WORD = String.raw`\p{L}\p{N}_`;
const SPACE = String.raw`\t-\r\x1c-\x20\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000`;
const PLACEHOLDER_SOURCE = String.raw`\{\{[${SPACE}]*([${WORD}.\-\[\]$]+)[${SPACE}]*\}\}`;

/** Prefix of `{{ prefect.blocks.<block-type-slug>.<block-document-name>[.<keypath>] }}`. */
export const BLOCK_PREFIX = 'prefect.blocks.';
/** Prefix of `{{ prefect.variables.<name> }}`. */
export const VARIABLE_PREFIX = 'prefect.variables.';
/** Prefix of `{{ $NAME }}` (the launcher's environment). */
export const ENV_PREFIX = '$';

/** What a placeholder refers to (Prefect's `PlaceholderType`). */
export type PlaceholderType = 'standard' | 'block_document' | 'variable' | 'env_var';

/** One placeholder: the text matched (braces included), the name inside, and its type. */
export interface Placeholder {
  fullMatch: string;
  name: string;
  type: PlaceholderType;
}

/**
 * Prefect's `determine_placeholder_type`.
 *
 * @example
 * placeholderType('prefect.variables.image'); // 'variable'
 * placeholderType('$HOME'); // 'env_var'
 */
export const placeholderType = (name: string): PlaceholderType => {
  if (name.startsWith(BLOCK_PREFIX)) return 'block_document';
  if (name.startsWith(VARIABLE_PREFIX)) return 'variable';
  if (name.startsWith(ENV_PREFIX)) return 'env_var';
  return 'standard';
};

const toPlaceholder = (fullMatch: string, name: string): Placeholder => ({
  fullMatch,
  name,
  type: placeholderType(name),
});

/**
 * The distinct placeholders of a string, in order of first appearance (Prefect's
 * `find_placeholders` returns a set).
 *
 * @example
 * findPlaceholders('{{ a }}-{{ b }}-{{ a }}').map((p) => p.name); // ['a', 'b']
 */
export const findPlaceholders = (text: string): Placeholder[] => {
  const seen = new Map<string, Placeholder>();
  for (const match of text.matchAll(new RegExp(PLACEHOLDER_SOURCE, 'gu'))) {
    const [fullMatch, name = ''] = match;
    if (!seen.has(fullMatch)) seen.set(fullMatch, toPlaceholder(fullMatch, name));
  }
  return [...seen.values()];
};

/**
 * The placeholder that makes up the whole string, if the string is exactly one placeholder (the
 * case where Prefect substitutes the raw, typed value). `'{{ a }}{{ a }}'` and `' {{ a }}'` are not.
 *
 * @example
 * wholePlaceholder('{{ cpu }}')?.name; // 'cpu'
 * wholePlaceholder('x-{{ cpu }}'); // undefined
 */
export const wholePlaceholder = (text: string): Placeholder | undefined => {
  const placeholders = findPlaceholders(text);
  const [only] = placeholders;
  return placeholders.length === 1 && only?.fullMatch === text ? only : undefined;
};

/**
 * Replaces every placeholder of `text` in one left-to-right pass. `replace` returns the text to put
 * in, or `undefined` to leave that placeholder as it is. Replaced text is never scanned again.
 *
 * @example
 * replacePlaceholders('{{ a }}/{{ b }}', (p) => (p.name === 'a' ? '1' : undefined)); // '1/{{ b }}'
 */
export const replacePlaceholders = (
  text: string,
  replace: (placeholder: Placeholder) => string | undefined
): string =>
  text.replace(
    new RegExp(PLACEHOLDER_SOURCE, 'gu'),
    (fullMatch: string, name: string) => replace(toPlaceholder(fullMatch, name)) ?? fullMatch
  );
