/**
 * `osls package` over a matrix of parameter sets, without building the bundles more than once.
 *
 * The first entry is packaged exactly as CI packages the service (serverless-esbuild builds the four
 * bundles). The others reuse its zips: the staged copy of serverless.yml drops the serverless-esbuild
 * plugin and gives every function `package.artifact` = the first entry's zip, so osls compiles the
 * template from the parameters and touches no code: about 2 s of CPU an entry instead of 5-7 s
 * (osls start-up is most of what remains), two at a time. Only the functions' `Code.S3Key` can
 * differ from a full build; the cfn-lint test checks that on the default parameters.
 *
 * osls runs on the Node that runs the tests (Node 24 under vitest), called directly rather than
 * through `npx` (another second per run).
 */
import { execFile } from 'node:child_process';
import { cp, mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { availableParallelism, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import type { CfnTemplate } from './cfn-template.ts';
import { cleanEnvironment, oslsOptions, type PackageOptions, SERVICE_DIR } from './osls-package.ts';

const run = promisify(execFile);

/** One parameter set of the matrix. */
export interface MatrixEntry extends PackageOptions {
  /** Short name, used in file names and messages. */
  name: string;
}

/** The packaged template of one entry. */
export interface PackagedEntry {
  entry: MatrixEntry;
  /** `cloudformation-template-update-stack.json` of this entry. */
  templatePath: string;
  template: CfnTemplate;
}

/** Every entry packaged, cleaned up by `dispose`. */
export interface PackagedMatrix {
  entries: PackagedEntry[];
  dispose(): Promise<void>;
}

const SERVICE_ENTRIES = [
  'serverless.yml',
  'package.json',
  'tsconfig.json',
  'infra',
  'functions',
  'shared',
];

const OSLS_BIN = join(
  dirname(createRequire(import.meta.url).resolve('osls/package.json')),
  'bin',
  'serverless.js'
);

const stageService = async (serviceDir: string): Promise<void> => {
  await mkdir(serviceDir, { recursive: true });
  for (const name of SERVICE_ENTRIES) {
    await cp(join(SERVICE_DIR, name), join(serviceDir, name), { recursive: true });
  }
  await symlink(join(SERVICE_DIR, 'node_modules'), join(serviceDir, 'node_modules'), 'dir');
};

const PLUGINS = 'plugins:\n  - serverless-esbuild\n';
const FUNCTION_HEADER = /^ {2}(\w+):\n {4}handler: .+\n/gm;

/**
 * serverless.yml without the esbuild plugin, each function packaged from `zips/<name>.zip`.
 * Throws when the file no longer has the shape this relies on.
 */
export const prebuiltServerlessYml = (source: string, zipDir: string, zips: string[]): string => {
  if (!source.includes(PLUGINS)) {
    throw new Error('serverless.yml: expected `plugins: [serverless-esbuild]` to remove');
  }
  const functions: string[] = [];
  const rewritten = source.replace(PLUGINS, '').replace(FUNCTION_HEADER, (header, name) => {
    functions.push(name);
    return `${header}    package:\n      artifact: ${join(zipDir, `${name}.zip`)}\n`;
  });
  const built = zips.map((zip) => zip.replace(/\.zip$/, '')).sort();
  if (JSON.stringify([...functions].sort()) !== JSON.stringify(built)) {
    throw new Error(
      `serverless.yml functions (${functions.join(', ')}) do not match the built zips (${built.join(', ')})`
    );
  }
  return rewritten;
};

const packageInto = async (
  serviceDir: string,
  outDir: string,
  home: string,
  entry: MatrixEntry
): Promise<PackagedEntry> => {
  try {
    await run(process.execPath, [OSLS_BIN, 'package', '--package', outDir, ...oslsOptions(entry)], {
      cwd: serviceDir,
      env: cleanEnvironment(home),
      timeout: 150_000,
      maxBuffer: 16 << 20,
    });
  } catch (error) {
    const { stdout = '', stderr = '' } = error as { stdout?: string; stderr?: string };
    throw new Error(`osls package (${entry.name}) failed:\n${stdout}\n${stderr}`);
  }
  const templatePath = join(outDir, 'cloudformation-template-update-stack.json');
  const template = JSON.parse(await readFile(templatePath, 'utf8')) as CfnTemplate;
  return { entry, templatePath, template };
};

/** How many osls processes run at once: osls start-up is CPU-bound, one per core, at most 2. */
const WORKERS = Math.min(2, availableParallelism());

/**
 * Packages every entry: the first with a full build, the rest from its zips, on {@link WORKERS}
 * staged copies at once. Entries come back in the order given.
 *
 * @example
 * const matrix = await packageMatrix([{ name: 'default' }, { name: 'vpc', params: { … } }]);
 * matrix.entries[1].templatePath;
 * await matrix.dispose();
 */
export const packageMatrix = async (entries: readonly MatrixEntry[]): Promise<PackagedMatrix> => {
  const [first, ...rest] = entries;
  if (first === undefined) throw new Error('packageMatrix: no entries');
  const workDir = await mkdtemp(join(tmpdir(), 'pes-matrix-'));
  const dispose = () => rm(workDir, { recursive: true, force: true });
  try {
    const builtDir = join(workDir, 'built');
    await stageService(builtDir);
    const zipDir = join(workDir, 'out-0');
    const packaged = [await packageInto(builtDir, zipDir, workDir, first)];
    const zips = (await readdir(zipDir)).filter((file) => file.endsWith('.zip'));
    const source = await readFile(join(SERVICE_DIR, 'serverless.yml'), 'utf8');
    const serverlessYml = prebuiltServerlessYml(source, zipDir, zips);
    const pending = rest.map((entry, index) => ({ entry, index: index + 1 }));
    const worker = async (workerIndex: number): Promise<PackagedEntry[]> => {
      const serviceDir = join(workDir, `prebuilt-${workerIndex}`);
      await stageService(serviceDir);
      await writeFile(join(serviceDir, 'serverless.yml'), serverlessYml);
      const done: PackagedEntry[] = [];
      for (let next = pending.shift(); next !== undefined; next = pending.shift()) {
        const outDir = join(workDir, `out-${next.index}`);
        done.push(await packageInto(serviceDir, outDir, workDir, next.entry));
      }
      return done;
    };
    const workers = Array.from({ length: Math.min(WORKERS, rest.length) }, (_, i) => worker(i));
    const byEntry = new Map(
      (await Promise.all(workers)).flat().map((result) => [result.entry, result])
    );
    for (const entry of rest) {
      const result = byEntry.get(entry);
      if (result === undefined) throw new Error(`packageMatrix: ${entry.name} was not packaged`);
      packaged.push(result);
    }
    return { entries: packaged, dispose };
  } catch (error) {
    await dispose();
    throw error;
  }
};
