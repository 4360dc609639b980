import { describe, expect, it } from 'vitest';
import { ShlexSplitError, shlexSplit } from '../../../../shared/ecs/shlex-split.ts';

// Expected values were produced by Python 3's shlex.split on the same inputs.
describe('shlexSplit: Python shlex.split (POSIX) semantics', () => {
  it.each([
    ['the default command', 'prefect flow-run execute', ['prefect', 'flow-run', 'execute']],
    [
      'runs of blanks, tabs and newlines',
      '  leading   and\ttabs\nnewlines  ',
      ['leading', 'and', 'tabs', 'newlines'],
    ],
    [
      'single quotes keep double quotes',
      'python -c \'print("hi there")\'',
      ['python', '-c', 'print("hi there")'],
    ],
    ['double quotes group words', 'echo "a b" c', ['echo', 'a b', 'c']],
    ['quoted and bare parts join', 'a"b c"d', ['ab cd']],
    ['empty single quotes are a word', "a '' b", ['a', '', 'b']],
    ['empty double quotes are a word', 'a "" b', ['a', '', 'b']],
    ['backslash escapes a blank', 'echo a\\ b', ['echo', 'a b']],
    ['escaped double quote in double quotes', 'echo "x\\"y"', ['echo', 'x"y']],
    ['escaped backslash in double quotes', 'echo "back\\\\slash"', ['echo', 'back\\slash']],
    ['other backslashes stay in double quotes', 'echo "keep\\$dollar"', ['echo', 'keep\\$dollar']],
    [
      'backslashes are literal in single quotes',
      "echo 'single\\n stays'",
      ['echo', 'single\\n stays'],
    ],
    ['# is not a comment', 'echo # not a comment', ['echo', '#', 'not', 'a', 'comment']],
    ['escaped apostrophe outside quotes', "it\\'s", ["it's"]],
    ['apostrophe inside double quotes', 'echo "it\'s"', ['echo', "it's"]],
    ['adjacent quoted parts', '\'a\'"b"c', ['abc']],
    ['empty text', '', []],
    ['only blanks', '   ', []],
    ['escaped newline is kept', 'a\\\nb', ['a\nb']],
    ['non-ASCII words', "émoji 🎉 'ok'", ['émoji', '🎉', 'ok']],
  ] as const)('%s', (_name, text, expected) => {
    // Act
    const words = shlexSplit(text);
    // Assess
    expect(words).toEqual(expected);
  });

  it.each([
    ['unclosed single quote', "echo 'open", 'No closing quotation'],
    ['unclosed double quote', 'echo "open', 'No closing quotation'],
    ['trailing backslash', 'trailing\\', 'No escaped character'],
    ['backslash ending a double-quoted word', 'echo "esc\\', 'No escaped character'],
  ] as const)('refuses an %s like Python', (_name, text, message) => {
    // Act / Assess
    expect(() => shlexSplit(text)).toThrow(new ShlexSplitError(message));
  });
});
