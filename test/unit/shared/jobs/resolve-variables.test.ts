import { describe, expect, it } from 'vitest';
import { resolveVariables } from '../../../../shared/jobs/resolve-variables.ts';
import { memoizeTemplateLookups } from '../../../../shared/jobs/template-lookups.ts';
import { fakeLookups } from './fixtures.ts';

const variables = {
  variables: {
    registry: 'acct.dkr.ecr.eu-west-1.amazonaws.com',
    cpu: 2048,
    subnets: ['subnet-a'],
    flags: { debug: true },
    nothing: null,
  },
};

describe('resolveVariables: {{ prefect.variables.<name> }}', () => {
  it.each([
    ['a string', '{{ prefect.variables.registry }}', 'acct.dkr.ecr.eu-west-1.amazonaws.com'],
    ['an int keeps its type', '{{ prefect.variables.cpu }}', 2048],
    ['a list keeps its type', '{{ prefect.variables.subnets }}', ['subnet-a']],
    ['null stays null', '{{ prefect.variables.nothing }}', null],
    ['a missing variable as a whole value is ""', '{{ prefect.variables.missing }}', ''],
    [
      'inline: str()',
      '{{ prefect.variables.registry }}/etl:{{ prefect.variables.cpu }}',
      'acct.dkr.ecr.eu-west-1.amazonaws.com/etl:2048',
    ],
    [
      'inline: a dict as a Python repr',
      'flags={{ prefect.variables.flags }}',
      "flags={'debug': True}",
    ],
    ['inline: a missing variable is ""', 'x-{{ prefect.variables.missing }}-y', 'x--y'],
  ])('%s', async (_case, template, expected) => {
    // Act
    const resolved = await resolveVariables({ field: template }, fakeLookups(variables));
    // Assess
    expect(resolved).toEqual({ field: expected });
  });

  it('resolves inside arrays and nested objects and leaves other values alone', async () => {
    // Act
    const resolved = await resolveVariables(
      { list: ['{{ prefect.variables.cpu }}', 1, null], nested: { ok: true, cpu: '{{ cpu }}' } },
      fakeLookups(variables)
    );
    // Assess
    expect(resolved).toEqual({ list: [2048, 1, null], nested: { ok: true, cpu: '{{ cpu }}' } });
  });

  it('reads each variable once with memoized lookups, missing ones included', async () => {
    // Prepare
    const lookups = fakeLookups(variables);
    // Act
    await resolveVariables(
      [
        '{{ prefect.variables.cpu }}',
        'a{{ prefect.variables.cpu }}',
        '{{ prefect.variables.x }}',
        '{{ prefect.variables.x }}',
      ],
      memoizeTemplateLookups(lookups)
    );
    // Assess
    expect(lookups.reads).toEqual(['variable:cpu', 'variable:x']);
  });
});
