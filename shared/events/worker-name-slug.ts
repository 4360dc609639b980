import { HTML_ENTITIES } from '../ecs/html-entities.ts';

/**
 * Letters Unicode does not decompose that Unidecode still spells in ASCII (python-slugify
 * transliterates with it before dropping what is left).
 */
const TRANSLITERATIONS: Readonly<Record<string, string>> = {
  ß: 'ss',
  æ: 'ae',
  Æ: 'AE',
  œ: 'oe',
  Œ: 'OE',
  ø: 'o',
  Ø: 'O',
  đ: 'd',
  Đ: 'D',
  ð: 'd',
  Ð: 'D',
  ł: 'l',
  Ł: 'L',
  þ: 'th',
  Þ: 'Th',
};

const MAX_CODE_POINT = 0x10ffff;

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
  // Python gives up on the whole pass when one reference is out of range.
  return tooLarge ? text : decoded;
};

const decodeReferences = (text: string): string => {
  const named = text.replace(/&([A-Za-z0-9]+);/g, (match, name: string) => {
    const codePoint = HTML_ENTITIES.get(name);
    return codePoint === undefined ? match : String.fromCodePoint(codePoint);
  });
  return decodeNumeric(decodeNumeric(named, /&#(\d+);/g, 10), /&#x([\da-fA-F]+);/g, 16);
};

/**
 * The slug Prefect's worker puts in its event resource id, `prefect.worker.<type>.<slug>`
 * (`BaseWorker.get_name_slug`: python-slugify's `slugify(name)` with its defaults):
 *
 * 1. apostrophes → `-`; NFKD, then transliterated to ASCII (here: combining marks dropped and the
 *    few letters in `TRANSLITERATIONS`; Unidecode also spells other scripts, e.g. CJK, in Latin,
 *    which this does not: such letters become `-`, as any other character outside `a-z0-9-`);
 * 2. HTML character references decoded, NFKD again, lower case;
 * 3. apostrophes removed, commas between digits removed;
 * 4. every run of characters outside `a-zA-Z0-9-` → `-`; runs of `-` collapsed; ends trimmed.
 *
 * @example
 * workerNameSlug('prefect-ecs-serverless'); // 'prefect-ecs-serverless'
 * workerNameSlug("Data Team's ECS (prod)"); // 'data-team-s-ecs-prod'
 * workerNameSlug('Café Zürich'); // 'cafe-zurich'
 */
export const workerNameSlug = (name: string): string => {
  let slug = name.replace(/'+/g, '-').normalize('NFKD');
  slug = slug
    .replace(/\p{M}+/gu, '')
    .replace(/[ßæÆœŒøØđĐðÐłŁþÞ]/g, (c) => TRANSLITERATIONS[c] ?? c);
  slug = decodeReferences(slug).normalize('NFKD').toLowerCase();
  slug = slug.replace(/'+/g, '').replace(/(?<=\p{Nd}),(?=\p{Nd})/gu, '');
  slug = slug.replace(/[^-a-zA-Z0-9]+/g, '-');
  return slug.replace(/-{2,}/g, '-').replace(/^-+|-+$/g, '');
};
