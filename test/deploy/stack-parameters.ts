/**
 * The stack parameters as osls hands them to infra/*.cjs: serverless.yml's `params.default`
 * overridden by `--param` values, behind the `resolveVariable` osls passes to a `${file(x.cjs)}`.
 * For tests of the `.cjs` files without an osls run (milliseconds instead of seconds).
 */
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { SERVICE_DIR } from './osls-package.ts';

/** What osls passes to the function a `${file(infra/x.cjs)}` module exports. */
export interface OslsFileContext {
  resolveVariable: (expression: string) => Promise<unknown>;
}

/**
 * The `params.default` entries of serverless.yml (`    name: value # comment`), values unquoted.
 *
 * @example
 * defaultStackParameters(yml).get('ecsClusters'); // 'default'
 */
export const defaultStackParameters = (serverlessYml: string): Map<string, string> => {
  const block = /^params:\n {2}default:\n((?: {4}.*\n| *#.*\n|\s*\n)+)/m.exec(serverlessYml)?.[1];
  if (block === undefined) throw new Error('serverless.yml has no params.default block');
  return new Map(
    [...block.matchAll(/^ {4}(\w+):(?: (?:"([^"]*)"|([^\s#]+)))?/gm)].map((match) => [
      match[1] ?? '',
      match[2] ?? match[3] ?? '',
    ])
  );
};

/** An osls context for `osls package --stage <stage> --param …` (no `cf:` answers). */
export const oslsFileContext = async (
  params: Readonly<Record<string, string>> = {},
  stage = 'dev'
): Promise<OslsFileContext> => {
  const defaults = defaultStackParameters(
    await readFile(join(SERVICE_DIR, 'serverless.yml'), 'utf8')
  );
  return {
    resolveVariable: async (expression) => {
      if (expression === 'self:service') return 'prefect-ecs-serverless';
      if (expression === 'sls:stage') return stage;
      if (expression.startsWith('cf:')) return null;
      const name = /^param:(\w+)/.exec(expression)?.[1] ?? '';
      return params[name] ?? defaults.get(name) ?? '';
    },
  };
};

/** The function an infra/*.cjs module exports, loaded as osls loads it. */
export const infraModule = <T>(file: string): ((context: OslsFileContext) => Promise<T>) =>
  createRequire(import.meta.url)(join(SERVICE_DIR, 'infra', file));
