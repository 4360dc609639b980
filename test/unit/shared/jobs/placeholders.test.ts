import { describe, expect, it } from 'vitest';
import {
  findPlaceholders,
  placeholderType,
  replacePlaceholders,
  wholePlaceholder,
} from '../../../../shared/jobs/placeholders.ts';

describe('placeholders', () => {
  it.each([
    ['cpu', 'standard'],
    ['prefect.blocks.secret.token', 'block_document'],
    ['prefect.variables.image', 'variable'],
    ['$AWS_REGION', 'env_var'],
    ['a$b', 'standard'],
  ])('%s is a %s placeholder', (name, expected) => {
    // Act / Assess
    expect(placeholderType(name)).toBe(expected);
  });

  it('finds distinct placeholders with any inner whitespace, including tabs', () => {
    // Act
    const found = findPlaceholders('{{ a }}-{{a}}-{{\tb.c[0] }}-{{ a }}-{{ not valid }}');
    // Assess
    expect(found.map((p) => [p.fullMatch, p.name])).toEqual([
      ['{{ a }}', 'a'],
      ['{{a}}', 'a'],
      ['{{\tb.c[0] }}', 'b.c[0]'],
    ]);
  });

  it("accepts Unicode word characters in names, as Python's \\w does", () => {
    // Act / Assess
    expect(findPlaceholders('{{ café }}').map((p) => p.name)).toEqual(['café']);
  });

  it.each([
    ['{{ cpu }}', 'cpu'],
    ['{{cpu}}', 'cpu'],
    [' {{ cpu }}', undefined],
    ['{{ cpu }}{{ cpu }}', undefined],
    ['{{{ cpu }}}', undefined],
    ['x-{{ cpu }}', undefined],
  ])('%j is a whole-value placeholder: %s', (text, expected) => {
    // Act / Assess
    expect(wholePlaceholder(text)?.name).toBe(expected);
  });

  it('replaces in one pass and never rescans substituted text', () => {
    // Act
    const text = replacePlaceholders('{{ a }}/{{ b }}/{{ c }}', (p) =>
      p.name === 'a' ? '{{ b }}' : p.name === 'b' ? 'B' : undefined
    );
    // Assess
    expect(text).toBe('{{ b }}/B/{{ c }}');
  });
});
