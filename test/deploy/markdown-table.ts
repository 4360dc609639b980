/**
 * The rows of a Markdown table in a document, for tests that hold documentation to the code.
 */

/** One row of a table: its cells, trimmed, in column order. */
export type MarkdownRow = string[];

/** Splits a table line on the `|` that are not escaped (`\|` stays in the cell). */
const cellsOf = (line: string): string[] =>
  line
    .trim()
    .replace(/^\|/, '')
    .replace(/\|$/, '')
    .split(/(?<!\\)\|/)
    .map((cell) => cell.trim());

/**
 * The body rows of the first table after the heading `heading` (the exact heading line, e.g.
 * `## Configuration reference`) and before the next heading. Throws when there is none, so that a
 * renamed heading fails the test instead of checking nothing.
 *
 * @example
 * tableAfterHeading(readme, '## Configuration reference')[0]; // ['`PREFECT_API_URL`', '— (required)', 'all', '…']
 */
export const tableAfterHeading = (markdown: string, heading: string): MarkdownRow[] => {
  const lines = markdown.split('\n');
  const start = lines.findIndex((line) => line.trim() === heading);
  if (start < 0) throw new Error(`No heading "${heading}"`);
  const rows: MarkdownRow[] = [];
  let inTable = false;
  for (const line of lines.slice(start + 1)) {
    if (/^#{1,6} /.test(line)) break;
    if (line.trim().startsWith('|')) {
      inTable = true;
      rows.push(cellsOf(line));
    } else if (inTable) {
      break;
    }
  }
  // rows[0] is the header, rows[1] the --- separator
  if (rows.length < 3) throw new Error(`No table with rows after "${heading}"`);
  return rows.slice(2);
};

/** The `code` spans of a cell: `` `A` / `B` `` → ['A', 'B']. */
export const codeSpans = (cell: string): string[] =>
  [...cell.matchAll(/`([^`]+)`/g)].map((match) => match[1] as string);
