import { describe, expect, it } from 'vitest';
import { applyValues } from '../../../../shared/jobs/apply-values.ts';

const values = {
  cpu: 1024,
  ratio: 0.5,
  tiny: 1e-5,
  spot: true,
  off: false,
  none: null,
  image: 'acct.dkr.ecr.eu-west-1.amazonaws.com/etl:1',
  labels: { team: 'data' },
  subnets: ['subnet-a', 'subnet-b'],
  nested: { list: [{ name: 'first' }, { name: 'second' }] },
};

describe('applyValues: whole-value placeholders keep their type', () => {
  it.each([
    ['an int', '{{ cpu }}', 1024],
    ['a bool', '{{ spot }}', true],
    ['false', '{{ off }}', false],
    ['null', '{{ none }}', null],
    ['a dict', '{{ labels }}', { team: 'data' }],
    ['a list', '{{ subnets }}', ['subnet-a', 'subnet-b']],
    ['a dotted path with a bracket index', '{{ nested.list[1].name }}', 'second'],
    ['a dotted path with a dotted index', '{{nested.list.0.name}}', 'first'],
  ])('%s', (_case, template, expected) => {
    // Act
    const { value } = applyValues({ field: template }, values);
    // Assess
    expect(value).toEqual({ field: expected });
  });

  it('a substituted value is not templated again', () => {
    // Act
    const { value } = applyValues('{{ text }}', { text: '{{ cpu }}', cpu: 1 });
    // Assess
    expect(value).toBe('{{ cpu }}');
  });
});

describe('applyValues: unset whole-value placeholders vanish', () => {
  it('removes the key from its object and the element from its array', () => {
    // Prepare
    const template = {
      launchType: '{{ launch_type }}',
      cpu: '{{ cpu }}',
      overrides: {
        containerOverrides: [{ name: 'prefect', command: '{{ command }}', memory: '{{ memory }}' }],
      },
      list: ['{{ missing }}', 'kept', '{{ cpu }}', '{{ nested.list[5] }}'],
    };
    // Act
    const { value } = applyValues(template, values);
    // Assess
    expect(value).toEqual({
      cpu: 1024,
      overrides: { containerOverrides: [{ name: 'prefect' }] },
      list: ['kept', 1024],
    });
  });

  it('returns undefined (Prefect NotSet) when the whole template is one unset placeholder', () => {
    // Act / Assess
    expect(applyValues('{{ missing }}', values).value).toBeUndefined();
  });

  it('keeps a key whose value is null (set, to None)', () => {
    // Act / Assess
    expect(applyValues({ cpu: '{{ none }}' }, values).value).toEqual({ cpu: null });
  });
});

describe('applyValues: inline placeholders are Python str()', () => {
  it.each([
    ['an int', 'cpu-{{ cpu }}', 'cpu-1024'],
    ['a float', 'r={{ ratio }}', 'r=0.5'],
    ['a tiny float in Python notation', 't={{ tiny }}', 't=1e-05'],
    ['True', 'spot={{ spot }}', 'spot=True'],
    ['False', 'off={{ off }}', 'off=False'],
    ['None', 'none={{ none }}', 'none=None'],
    ['a dict as a Python repr', 'labels={{ labels }}', "labels={'team': 'data'}"],
    ['a list as a Python repr', '{{ subnets }}!', "['subnet-a', 'subnet-b']!"],
    ['unset as ""', 'x-{{ missing }}-y', 'x--y'],
    [
      'two placeholders',
      '{{ image }}@{{ cpu }}',
      'acct.dkr.ecr.eu-west-1.amazonaws.com/etl:1@1024',
    ],
    ['the same placeholder twice', '{{ cpu }}{{ cpu }}', '10241024'],
    ['text around braces', '{{{ cpu }}}', '{1024}'],
    ['leading space makes it inline', ' {{ cpu }}', ' 1024'],
    [
      'block and variable placeholders are left for later',
      '{{ prefect.blocks.secret.token }}/{{ prefect.variables.tag }}-{{ cpu }}',
      '{{ prefect.blocks.secret.token }}/{{ prefect.variables.tag }}-1024',
    ],
  ])('%s', (_case, template, expected) => {
    // Act / Assess
    expect(applyValues(template, values).value).toBe(expected);
  });

  it('leaves a whole block or variable placeholder untouched', () => {
    // Act
    const { value } = applyValues(
      { a: '{{ prefect.blocks.secret.token }}', b: '{{ prefect.variables.tag }}' },
      values
    );
    // Assess
    expect(value).toEqual({
      a: '{{ prefect.blocks.secret.token }}',
      b: '{{ prefect.variables.tag }}',
    });
  });

  it('passes numbers, booleans and null of the template through', () => {
    // Act / Assess
    expect(applyValues({ a: 0, b: false, c: null, d: 2.5 }, values).value).toEqual({
      a: 0,
      b: false,
      c: null,
      d: 2.5,
    });
  });
});

describe('applyValues: {{ $NAME }} reads only the allowed environment', () => {
  const environment = { AWS_REGION: 'eu-west-1', SECRET_TOKEN: 's3cr3t', EMPTY: '' };

  it('substitutes an allowed variable inline', () => {
    // Act
    const result = applyValues({ group: '/ecs/{{ $AWS_REGION }}' }, values, {
      environment,
      allowedEnvironment: ['AWS_REGION'],
      path: ['job_configuration'],
    });
    // Assess
    expect(result).toEqual({ value: { group: '/ecs/eu-west-1' }, warnings: [] });
  });

  it('a whole "{{ $NAME }}" is still a string, and extra $ are stripped as in Python', () => {
    // Act
    const { value } = applyValues(['{{ $AWS_REGION }}', '{{ $$AWS_REGION }}'], values, {
      environment,
      allowedEnvironment: ['AWS_REGION'],
    });
    // Assess
    expect(value).toEqual(['eu-west-1', 'eu-west-1']);
  });

  it('replaces a variable not on the allow-list with "" and warns, never reading its value', () => {
    // Act
    const result = applyValues({ token: 'Bearer {{ $SECRET_TOKEN }}' }, values, {
      environment,
      allowedEnvironment: ['AWS_REGION'],
      path: ['job_configuration', 'cloudwatch_logs_options'],
    });
    // Assess
    expect(result.value).toEqual({ token: 'Bearer ' });
    expect(result.warnings).toHaveLength(1);
    expect(result.warnings[0]).toContain('SECRET_TOKEN is not in the launcher');
    expect(result.warnings[0]).toContain('job_configuration.cloudwatch_logs_options.token');
    expect(result.warnings.join()).not.toContain('s3cr3t');
  });

  it('without an allow-list nothing is read', () => {
    // Act
    const result = applyValues('{{ $AWS_REGION }}', values, { environment });
    // Assess
    expect(result.value).toBe('');
    expect(result.warnings).toHaveLength(1);
  });

  it('an allowed but unset variable becomes "" with a warning; an empty one is just ""', () => {
    // Act
    const result = applyValues(['a{{ $MISSING }}', 'b{{ $EMPTY }}'], values, {
      environment,
      allowedEnvironment: ['MISSING', 'EMPTY'],
    });
    // Assess
    expect(result.value).toEqual(['a', 'b']);
    expect(result.warnings).toEqual([expect.stringContaining('MISSING is allowed but not set')]);
  });
});

describe('applyValues: inputs', () => {
  it('does not modify the template', () => {
    // Prepare
    const template = { a: ['{{ cpu }}', '{{ missing }}'] };
    // Act
    applyValues(template, values);
    // Assess
    expect(template).toEqual({ a: ['{{ cpu }}', '{{ missing }}'] });
  });
});
