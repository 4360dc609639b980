/**
 * esbuild plugins for the Lambda bundles (serverless.yml, custom.esbuild.plugins). They only make the
 * bundles and their source maps smaller; none changes what the code does in Lambda. bench/bundle.bench.ts measures the
 * result (target: ≤ 500 KB per function).
 */
'use strict';

const { readFile, writeFile } = require('node:fs/promises');
const { deflateRawSync } = require('node:zlib');
const { decode, encode } = require('@jridgewell/sourcemap-codec');
const path = require('node:path');

/**
 * Tree-shakeable AWS SDK schemas. SDK clients describe every shape of their service in one
 * `schemas_0.js`; shapes with traits use computed keys (`{ [_xN]: _bC }`, `_xN = "xmlName"`), and
 * esbuild must keep any object with a computed key (converting the key could have side effects), so
 * the whole service model stays in the bundle (EC2: 540 KB for two calls). The keys are module
 * constants holding string literals; writing the literal instead (`{ "xmlName": _bC }`) is the same
 * object, and lets esbuild drop every shape the code does not use.
 */
const pureSchemaKeys = {
  name: 'pure-aws-sdk-schema-keys',
  setup(build) {
    build.onLoad(
      { filter: /[\\/]@aws-sdk[\\/]client-[^\\/]+[\\/]dist-es[\\/]schemas[\\/]schemas_\d+\.js$/ },
      async (args) => {
        const source = await readFile(args.path, 'utf8');
        const strings = new Map(
          [...source.matchAll(/^const (_[A-Za-z0-9]+) = ("[^"\\\n]*");$/gm)].map((match) => [
            match[1],
            match[2],
          ])
        );
        const contents = source.replace(/\[(_[A-Za-z0-9]+)\]:/g, (computed, name) =>
          strings.has(name) ? `${strings.get(name)}:` : computed
        );
        return { contents, loader: 'js' };
      }
    );
  },
};

/** Environment credentials only, as Lambda provides them (see infra/bundle/lambda-credential-provider.mjs). */
const lambdaCredentials = {
  name: 'lambda-credential-provider',
  setup(build) {
    build.onResolve({ filter: /^@aws-sdk\/credential-provider-node$/ }, () => ({
      path: path.join(__dirname, 'bundle', 'lambda-credential-provider.mjs'),
    }));
  },
};

/** Whether a source-map `sources` entry is a dependency rather than our code. */
const isDependency = (source) => /(^|[\\/])node_modules[\\/]/.test(source);

/**
 * A source map that maps only our own code (functions/, shared/): the mappings into node_modules are
 * dropped, and the sources they named. Lambda runs with `--enable-source-maps` (serverless.yml), and
 * Node reads and decodes the whole map when it loads the bundle: the dependencies' mappings (the AWS
 * SDK, zod, Powertools: ~80 % of the bundle) cost cold-start time on every cold start, for stack
 * frames inside those libraries that nobody reads by line. Our frames keep their file:line; a
 * library frame shows its position in handler.mjs. bench/bundle.bench.ts measures the effect.
 */
const ownCodeSourceMap = (map) => {
  const keep = map.sources.map((source) => !isDependency(source));
  const newIndex = [];
  const sources = [];
  map.sources.forEach((source, index) => {
    if (keep[index]) {
      newIndex[index] = sources.length;
      sources.push(source);
    }
  });
  const mappings = decode(map.mappings).map((line) =>
    line
      .filter((segment) => segment.length === 1 || keep[segment[1]])
      .map((segment) =>
        segment.length === 1 ? segment : [segment[0], newIndex[segment[1]], ...segment.slice(2)]
      )
  );
  return {
    ...map,
    sources,
    ...(map.sourcesContent ? { sourcesContent: map.sourcesContent.filter((_, i) => keep[i]) } : {}),
    mappings: encode(mappings),
  };
};

/** Rewrites every `.map` the build wrote with {@link ownCodeSourceMap}. */
const ownCodeSourceMaps = {
  name: 'own-code-source-maps',
  setup(build) {
    build.initialOptions.metafile = true;
    build.onEnd(async (result) => {
      if (result.errors.length > 0 || !result.metafile) return;
      const maps = Object.keys(result.metafile.outputs).filter((output) => output.endsWith('.map'));
      for (const output of maps) {
        const file = path.resolve(build.initialOptions.absWorkingDir ?? process.cwd(), output);
        const map = JSON.parse(await readFile(file, 'utf8'));
        await writeFile(file, JSON.stringify(ownCodeSourceMap(map)));
      }
    });
  },
};

/**
 * The AWS SDK clients import their whole package.json (description, scripts, dependency lists:
 * ~2.3 KB each) for one field, the version in the User-Agent header (`packageInfo.version` in
 * runtimeConfig.js). The bundle gets `{ "name", "version" }` only.
 */
const sdkPackageVersionOnly = {
  name: 'aws-sdk-package-version-only',
  setup(build) {
    build.onLoad(
      { filter: /[\\/]@aws-sdk[\\/]client-[^\\/]+[\\/]package\.json$/ },
      async (args) => {
        const { name, version } = JSON.parse(await readFile(args.path, 'utf8'));
        return { contents: JSON.stringify({ name, version }), loader: 'json' };
      }
    );
  },
};

/**
 * Our own JSON data (e.g. shared/launch/prefect-setting-names.json, Prefect's ~15 KB list of setting
 * names) goes into the bundle deflated and base64-encoded (~4 KB), inflated once when the module loads
 * (well under a millisecond). The repository keeps the readable file; tests read it as it is.
 */
const compressedOwnJson = {
  name: 'compressed-own-json',
  setup(build) {
    build.onLoad({ filter: /[\\/]shared[\\/].+\.json$/ }, async (args) => {
      const json = JSON.stringify(JSON.parse(await readFile(args.path, 'utf8')));
      const packed = deflateRawSync(json, { level: 9 }).toString('base64');
      return {
        contents: `import { inflateRawSync } from 'node:zlib';\nexport default JSON.parse(inflateRawSync(Buffer.from(${JSON.stringify(packed)}, 'base64')).toString('utf8'));\n`,
        loader: 'js',
      };
    });
  },
};

/**
 * The SDK's HTTP protocols load their event-stream codec with a dynamic `import()` when an
 * operation has an event-stream member (`HttpProtocol.js`); esbuild inlines that target (~12 KB of
 * codecs) although none of our operations (ECS, EC2, SQS, Secrets Manager, CloudWatch Logs
 * GetLogEvents) streams events. The dynamic import gets a stub that throws if it is ever reached;
 * static imports of the module (a client with event streams) keep the real one.
 */
const noDynamicEventStreams = {
  name: 'no-dynamic-event-streams',
  setup(build) {
    build.onResolve({ filter: /^@smithy\/core\/event-streams$/ }, (args) =>
      args.kind === 'dynamic-import'
        ? { path: 'event-streams-stub', namespace: 'no-event-streams' }
        : undefined
    );
    build.onLoad({ filter: /.*/, namespace: 'no-event-streams' }, () => ({
      contents:
        "const unsupported = () => { throw new Error('AWS event streams are not bundled (infra/esbuild-plugins.cjs)'); };\nexport const EventStreamSerde = unsupported;\nexport const eventStreamSerdeProvider = unsupported;\n",
      loader: 'js',
    }));
  },
};

module.exports = [
  pureSchemaKeys,
  noDynamicEventStreams,
  lambdaCredentials,
  ownCodeSourceMaps,
  sdkPackageVersionOnly,
  compressedOwnJson,
];
module.exports.ownCodeSourceMap = ownCodeSourceMap;
