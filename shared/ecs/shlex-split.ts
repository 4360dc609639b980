/**
 * Python's `shlex.split(text)` (POSIX mode, no comments), which Prefect's `command_from_string` uses
 * to turn the `command` job variable into the container's argv:
 *
 * - blanks (space, tab, CR, LF) separate words; `#` is an ordinary character;
 * - `'…'` keeps everything literally; `"…"` keeps everything except `\"` → `"` and `\\` → `\`
 *   (any other backslash stays, e.g. `"\$"` → `\$`, unlike a real shell);
 * - outside quotes `\x` → `x` for any `x`, a newline included;
 * - quoted and unquoted parts of one word join (`a"b c"d` → `ab cd`); `''` is an empty word.
 *
 * Throws {@link ShlexSplitError} with Python's messages for an unclosed quote or a trailing backslash.
 *
 * @example
 * ```ts
 * shlexSplit(`python -c 'print("hi")' --name "a b"`);
 * // ['python', '-c', 'print("hi")', '--name', 'a b']
 * ```
 */
export const shlexSplit = (text: string): string[] => {
  const words: string[] = [];
  let word = '';
  /** A word has started (possibly empty, as in `''`). */
  let inWord = false;
  let quote: '"' | "'" | undefined;
  let escaped = false;

  for (const char of text) {
    if (escaped) {
      // In double quotes only `\"` and `\\` are escapes; the backslash stays otherwise.
      if (quote === '"' && char !== '"' && char !== '\\') word += '\\';
      word += char;
      escaped = false;
    } else if (quote === "'") {
      if (char === "'") quote = undefined;
      else word += char;
    } else if (quote === '"') {
      if (char === '"') quote = undefined;
      else if (char === '\\') escaped = true;
      else word += char;
    } else if (BLANKS.has(char)) {
      if (inWord) words.push(word);
      word = '';
      inWord = false;
    } else {
      inWord = true;
      if (char === "'" || char === '"') quote = char;
      else if (char === '\\') escaped = true;
      else word += char;
    }
  }
  if (quote !== undefined && !escaped) throw new ShlexSplitError('No closing quotation');
  if (escaped) throw new ShlexSplitError('No escaped character');
  if (inWord) words.push(word);
  return words;
};

const BLANKS: ReadonlySet<string> = new Set([' ', '\t', '\r', '\n']);

/** `shlex.split` refused the text (Python raises `ValueError` with the same message). */
export class ShlexSplitError extends Error {
  override readonly name: string = 'ShlexSplitError';
}
