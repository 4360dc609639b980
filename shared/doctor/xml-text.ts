/**
 * Reads text elements from the small, flat XML answers of STS and IAM (no XML parser is a
 * dependency of this project, and these answers need none): the first `<Tag>…</Tag>`, entities
 * decoded.
 */

const ENTITIES: Readonly<Record<string, string>> = {
  amp: '&',
  lt: '<',
  gt: '>',
  quot: '"',
  apos: "'",
};

/** Decodes the five XML entities and numeric character references. */
export const decodeXmlText = (text: string): string =>
  text.replace(/&(#x[0-9a-fA-F]+|#\d+|amp|lt|gt|quot|apos);/g, (whole, entity: string) => {
    if (entity.startsWith('#x')) return String.fromCodePoint(Number.parseInt(entity.slice(2), 16));
    if (entity.startsWith('#')) return String.fromCodePoint(Number.parseInt(entity.slice(1), 10));
    return ENTITIES[entity] ?? whole;
  });

/**
 * The text of the first element named `tag` (namespace prefixes ignored), or `undefined`.
 *
 * @example
 * xmlText('<R><Account>123456789012</Account></R>', 'Account'); // '123456789012'
 */
export const xmlText = (xml: string, tag: string): string | undefined => {
  const match = new RegExp(`<(?:\\w+:)?${tag}(?:\\s[^>]*)?>([^<]*)</(?:\\w+:)?${tag}>`).exec(xml);
  return match?.[1] === undefined ? undefined : decodeXmlText(match[1]);
};
