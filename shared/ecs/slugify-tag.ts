import { HTML_ENTITIES } from './html-entities.ts';

/**
 * What Prefect does to every RunTask tag key and value: python-slugify's `slugify(text,
 * regex_pattern=r"[^a-zA-Z0-9_./=+:@-]", allow_unicode=True, lowercase=False)`. Step by step:
 *
 * 1. apostrophes → `-`; Unicode NFKC;
 * 2. HTML character references decoded (`&amp;`, `&#38;`, `&#x26;`), then NFKC again;
 * 3. apostrophes produced by step 2 removed; commas between digits removed (`1,000` → `1000`);
 * 4. every character outside `a-zA-Z0-9_./=+:@-` → `-` (so spaces and non-ASCII letters too);
 * 5. runs of `-` collapsed to one, leading and trailing `-` trimmed. Case is kept.
 *
 * @example
 * ```ts
 * slugifyTag('Team: Data & ML'); // 'Team:-Data-ML'
 * slugifyTag('prefect.io/flow-run-id'); // unchanged
 * ```
 */
export const slugifyTag = (text: string): string => {
  let slug = text.replace(/'+/g, '-').normalize('NFKC');
  slug = decodeCharacterReferences(slug).normalize('NFKC');
  slug = slug.replace(/'+/g, '').replace(/(?<=\p{Nd}),(?=\p{Nd})/gu, '');
  slug = slug.replace(/[^a-zA-Z0-9_./=+:@-]/gu, '-');
  return slug.replace(/-{2,}/g, '-').replace(/^-+|-+$/g, '');
};

const MAX_CODE_POINT = 0x10ffff;

/**
 * Named, then decimal, then hexadecimal references. Python gives up on a whole pass (leaving the
 * text as it was) when one reference is beyond U+10FFFF, and so do we.
 */
const decodeCharacterReferences = (text: string): string => {
  const named = text.replace(/&([A-Za-z0-9]+);/g, (match, name: string) => {
    const codePoint = HTML_ENTITIES.get(name);
    return codePoint === undefined ? match : String.fromCodePoint(codePoint);
  });
  const decimal = decodeNumeric(named, /&#(\d+);/g, 10);
  return decodeNumeric(decimal, /&#x([\da-fA-F]+);/g, 16);
};

const decodeNumeric = (text: string, pattern: RegExp, radix: number): string => {
  let tooLarge = false;
  const decoded = text.replace(pattern, (_match, digits: string) => {
    const codePoint = Number.parseInt(digits, radix);
    if (!(codePoint <= MAX_CODE_POINT)) {
      tooLarge = true;
      return '';
    }
    return String.fromCodePoint(codePoint);
  });
  return tooLarge ? text : decoded;
};
