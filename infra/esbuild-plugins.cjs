/**
 * esbuild plugins for the Lambda bundles (serverless.yml, custom.esbuild.plugins). Both only make the
 * bundles smaller; neither changes what the code does in Lambda. bench/bundle.bench.ts measures the
 * result (target: ≤ 500 KB per function).
 */
'use strict';

const { readFile } = require('node:fs/promises');
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

module.exports = [pureSchemaKeys, lambdaCredentials];
