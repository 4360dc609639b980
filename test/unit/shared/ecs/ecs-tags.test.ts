import { describe, expect, it } from 'vitest';
import {
  buildTaskTags,
  DEREGISTER_TAG_KEY,
  FLOW_RUN_ID_TAG_KEY,
} from '../../../../shared/ecs/ecs-tags.ts';
import { prefectLabels } from './job-configuration-factory.ts';

const ECS_TAG_KEY = /^[\p{L}\p{Z}\p{N}_.:/=+\-@]{1,128}$/u;
const ECS_TAG_VALUE = /^[\p{L}\p{Z}\p{N}_.:/=+\-@]{0,256}$/u;

describe('buildTaskTags', () => {
  it('sends the prefect.io labels as tags, unchanged, in order', () => {
    // Act
    const { tags, warnings } = buildTaskTags({
      templateTags: {},
      labels: prefectLabels(),
      deregister: false,
    });
    // Assess
    expect(tags).toEqual(Object.entries(prefectLabels()).map(([key, value]) => ({ key, value })));
    expect(warnings).toEqual([]);
  });

  it.each([
    [
      'template tags as an object, labels win',
      { team: 'ops', keep: 'me' },
      { team: 'data' },
      [
        { key: 'keep', value: 'me' },
        { key: 'team', value: 'data' },
      ],
    ],
    [
      'template tags as a list, labels win',
      [
        { key: 'team', value: 'ops' },
        { key: 'cost center', value: 'R&D 42' },
      ],
      { team: 'data' },
      [
        { key: 'cost-center', value: 'R-D-42' },
        { key: 'team', value: 'data' },
      ],
    ],
    [
      'labels needing slugs',
      {},
      { 'Team Name': 'Data & ML', "owner's": 'José', 'prefect.io/flow-run-name': 'crimson fox' },
      [
        { key: 'Team-Name', value: 'Data-ML' },
        { key: 'owner-s', value: 'Jos' },
        { key: 'prefect.io/flow-run-name', value: 'crimson-fox' },
      ],
    ],
    ['null label values are skipped', {}, { a: 'x', b: null }, [{ key: 'a', value: 'x' }]],
    [
      'two labels slugified to one key: the later wins',
      {},
      { 'a b': '1', 'a-b': '2' },
      [{ key: 'a-b', value: '2' }],
    ],
  ])('%s', (_name, templateTags, labels, expected) => {
    // Act
    const { tags } = buildTaskTags({ templateTags, labels, deregister: false });
    // Assess
    expect(tags).toEqual(expected);
  });

  it('adds the deregister tag under prefect-aws exact (misspelt) key', () => {
    // Act
    const { tags } = buildTaskTags({ templateTags: {}, labels: {}, deregister: true });
    // Assess
    expect(DEREGISTER_TAG_KEY).toBe('prefect.io/degregister-task-definition');
    expect(tags).toEqual([{ key: DEREGISTER_TAG_KEY, value: 'true' }]);
  });

  it('cuts to 50 tags keeping prefect.io/flow-run-id and the prefect.io tags first, with a warning', () => {
    // Prepare: 60 user labels before the prefect.io ones
    const user = Object.fromEntries(Array.from({ length: 60 }, (_, i) => [`user-${i}`, `v${i}`]));
    // Act
    const { tags, warnings } = buildTaskTags({
      templateTags: {},
      labels: { ...user, ...prefectLabels() },
      deregister: true,
    });
    // Assess
    const keys = tags.map((tag) => tag.key ?? '');
    expect(tags).toHaveLength(50);
    expect(keys).toContain(FLOW_RUN_ID_TAG_KEY);
    expect(keys).toContain(DEREGISTER_TAG_KEY);
    for (const key of Object.keys(prefectLabels())) expect(keys).toContain(key);
    expect(keys.filter((key) => key.startsWith('user-'))).toEqual(
      Array.from({ length: 38 }, (_, i) => `user-${i}`)
    );
    expect(warnings).toEqual([
      expect.stringMatching(
        /^ECS allows 50 tags per task; dropped 22 label\(s\): user-38, .*user-59$/
      ),
    ]);
  });

  it('truncates keys to 128 and values to 256 characters, and drops aws: and empty keys, with warnings', () => {
    // Act
    const { tags, warnings } = buildTaskTags({
      templateTags: {},
      labels: { ['k'.repeat(200)]: 'short', long: 'v'.repeat(300), 'aws:owner': 'me', 日本: 'x' },
      deregister: false,
    });
    // Assess
    expect(tags).toEqual([
      { key: 'k'.repeat(128), value: 'short' },
      { key: 'long', value: 'v'.repeat(256) },
    ]);
    expect(warnings).toHaveLength(4);
    expect(warnings.join('\n')).toContain('aws: prefix is reserved');
    for (const tag of tags) {
      expect(tag.key).toMatch(ECS_TAG_KEY);
      expect(tag.value).toMatch(ECS_TAG_VALUE);
    }
  });
});
