import { describe, expect, it } from 'vitest';
import { slugifyTag } from '../../../../shared/ecs/slugify-tag.ts';

describe('slugifyTag: python-slugify with prefect-aws tag pattern, unicode allowed, case kept', () => {
  it.each([
    ['a prefect.io key is unchanged', 'prefect.io/flow-run-id', 'prefect.io/flow-run-id'],
    [
      'an ISO time keeps : . and +',
      '2026-08-21T12:00:00.123456+00:00',
      '2026-08-21T12:00:00.123456+00:00',
    ],
    ['case is kept', 'Team/ML', 'Team/ML'],
    ['= @ _ are allowed', 'a=b@c_d', 'a=b@c_d'],
    ['spaces become one dash', 'Data  Science', 'Data-Science'],
    ['runs of dashes collapse, ends are trimmed', '--a---b--', 'a-b'],
    ['apostrophes become dashes', "Bob's flow", 'Bob-s-flow'],
    ['commas between digits disappear', '1,000,000 rows', '1000000-rows'],
    ['other commas become dashes', 'a,b', 'a-b'],
    ['non-ASCII letters become dashes', 'café crème', 'caf-cr-me'],
    ['NFKC folds compatibility characters first', 'ｆｕｌｌ２', 'full2'],
    ['named references are decoded', 'R&amp;D', 'R-D'],
    ['decimal references are decoded', 'x&#43;y', 'x+y'],
    ['hex references are decoded', 'x&#x3D;y', 'x=y'],
    ['references decoded to apostrophes vanish', 'it&#39;s', 'its'],
    ['unknown references stay text', 'a&bogus;b', 'a-bogus-b'],
    ['an out-of-range reference leaves its whole pass undone', '&#43;&#99999999;', '43-99999999'],
    ['emoji become a dash', 'ship 🚀 it', 'ship-it'],
    ['empty stays empty', '', ''],
    ['only forbidden characters become empty', '日本', ''],
  ])('%s', (_name, text, expected) => {
    // Act
    const slug = slugifyTag(text);
    // Assess
    expect(slug).toBe(expected);
  });
});
