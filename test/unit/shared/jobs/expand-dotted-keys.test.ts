import { describe, expect, it } from 'vitest';
import { expandDottedKeys } from '../../../../shared/jobs/expand-dotted-keys.ts';
import { mergeJobVariables } from '../../../../shared/jobs/merge-job-variables.ts';
import { TemplateError } from '../../../../shared/jobs/template-error.ts';

describe('expandDottedKeys (Prefect 3 dotted job variables)', () => {
  it.each([
    ['a dotted key becomes nested', { 'env.FOO': 'x' }, { env: { FOO: 'x' } }],
    [
      'several dotted keys share a parent',
      { 'env.FOO': 'x', 'env.BAR': 'y', cpu: 512 },
      { env: { FOO: 'x', BAR: 'y' }, cpu: 512 },
    ],
    [
      'a plain key is deep-merged on top of dotted ones',
      { 'env.FOO': 'dotted', 'env.KEEP': 'k', env: { FOO: 'plain', BAR: 'b' } },
      { env: { FOO: 'plain', KEEP: 'k', BAR: 'b' } },
    ],
    [
      'deep merge goes below the first level',
      { 'a.b.c': 1, a: { b: { d: 2 } } },
      { a: { b: { c: 1, d: 2 } } },
    ],
    ['a plain non-object replaces the dotted value', { 'env.FOO': 'x', env: null }, { env: null }],
    ['brackets in a dotted key become plain keys', { 'a.x[0]': 1 }, { a: { x: { '0': 1 } } }],
    ['a key without a dot is not expanded, brackets or not', { 'x[0]': 1 }, { 'x[0]': 1 }],
  ])('%s', (_case, values, expected) => {
    // Act
    const expanded = expandDottedKeys(values);
    // Assess
    expect(expanded).toEqual(expected);
  });

  it('a deployment env beats a flow run env.X for the same variable, as in Prefect', () => {
    // Prepare: the flow-run env.A is not merged into env in step A, so step B's deep merge lets
    // the deployment's plain env win.
    const merged = mergeJobVariables({ env: { A: 'deployment' } }, { 'env.A': 'flow-run' });
    // Act
    const expanded = expandDottedKeys(merged);
    // Assess
    expect(expanded).toEqual({ env: { A: 'deployment' } });
  });

  it('refuses a dotted key through a plain value, naming it', () => {
    // Act
    const act = () => expandDottedKeys({ 'env.FOO': 'x', 'env.FOO.BAR': 'y' });
    // Assess
    expect(act).toThrow(TemplateError);
    expect(act).toThrow(/"env\.FOO\.BAR"/);
  });
});
