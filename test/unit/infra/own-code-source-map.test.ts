/**
 * infra/esbuild-plugins.cjs `ownCodeSourceMap`: the bundles' source maps keep the mappings of our own
 * code only, so Node's `--enable-source-maps` decodes less at every cold start.
 */
import { createRequire } from 'node:module';
import { decode, encode } from '@jridgewell/sourcemap-codec';
import { describe, expect, it } from 'vitest';

const require = createRequire(import.meta.url);
const { ownCodeSourceMap } = require('../../../infra/esbuild-plugins.cjs') as {
  ownCodeSourceMap: (map: SourceMap) => SourceMap;
};

interface SourceMap {
  version: number;
  sources: string[];
  names: string[];
  mappings: string;
  sourcesContent?: string[];
}

describe('ownCodeSourceMap', () => {
  it('drops the mappings into node_modules and keeps ours, re-indexed, on the same columns', () => {
    // Prepare: line 1 maps columns to zod, our config, the SDK and our config again; line 2 to the SDK
    const map: SourceMap = {
      version: 3,
      sources: [
        '../../node_modules/zod/v4/core/schemas.js',
        '../../shared/config.ts',
        '../../node_modules/@smithy/core/dist-es/index.js',
      ],
      names: ['loadConfig'],
      mappings: encode([
        [
          [0, 0, 10, 2],
          [40, 1, 272, 51, 0],
          [90, 2, 3, 0],
          [120, 1, 280, 4],
        ],
        [[0, 2, 7, 1]],
        [[5]],
      ]),
    };
    // Act
    const own = ownCodeSourceMap(map);
    // Assess
    expect(own.sources).toEqual(['../../shared/config.ts']);
    expect(own.names).toEqual(['loadConfig']);
    expect(decode(own.mappings)).toEqual([
      [
        [40, 0, 272, 51, 0],
        [120, 0, 280, 4],
      ],
      [],
      [[5]],
    ]);
  });

  it('keeps the sources content of the sources it keeps', () => {
    // Prepare
    const map: SourceMap = {
      version: 3,
      sources: ['../../node_modules/zod/index.js', '../../functions/launcher/handler.ts'],
      sourcesContent: ['zod', 'handler'],
      names: [],
      mappings: encode([[[0, 1, 0, 0]]]),
    };
    // Act
    const own = ownCodeSourceMap(map);
    // Assess
    expect(own.sources).toEqual(['../../functions/launcher/handler.ts']);
    expect(own.sourcesContent).toEqual(['handler']);
    expect(decode(own.mappings)).toEqual([[[0, 0, 0, 0]]]);
  });
});
