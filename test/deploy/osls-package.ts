/**
 * `osls package` as CI runs it: no AWS variables and an empty HOME, into a fresh temporary
 * directory. One run per test file (it takes ~5 s: osls start-up and esbuild).
 *
 * Each run works on its own copy of the service (serverless.yml, package.json, tsconfig.json,
 * infra/, functions/, shared/ and a link to node_modules): serverless-esbuild builds in
 * `<service>/.esbuild`, which test files packaging in parallel would otherwise share, and the
 * repository stays free of build output.
 */
import { execFile } from 'node:child_process';
import { cp, mkdir, mkdtemp, readFile, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { CfnTemplate } from './cfn-template.ts';

const run = promisify(execFile);

/** The repository root (serverless.yml). */
export const SERVICE_DIR = fileURLToPath(new URL('../..', import.meta.url));

/** What `osls package` reads from the repository. */
const SERVICE_ENTRIES = [
  'serverless.yml',
  'package.json',
  'tsconfig.json',
  'infra',
  'functions',
  'shared',
];

/** Copies the service into `<workDir>/service` and links node_modules; returns the copy's path. */
const stageService = async (workDir: string): Promise<string> => {
  const serviceDir = join(workDir, 'service');
  await mkdir(serviceDir);
  for (const entry of SERVICE_ENTRIES) {
    await cp(join(SERVICE_DIR, entry), join(serviceDir, entry), { recursive: true });
  }
  await symlink(join(SERVICE_DIR, 'node_modules'), join(serviceDir, 'node_modules'), 'dir');
  return serviceDir;
};

/** A packaged service, cleaned up by `dispose`. */
export interface PackagedService {
  /** The `--package` directory: the templates, `serverless-state.json` and one zip per function. */
  outDir: string;
  /** `cloudformation-template-update-stack.json`. */
  template: CfnTemplate;
  dispose(): Promise<void>;
}

/** Options of {@link packageService}. */
export interface PackageOptions {
  /** `--param name=value` pairs. */
  params?: Readonly<Record<string, string>>;
  stage?: string;
  region?: string;
}

/** The environment of a clean CI machine: PATH only, HOME empty, no AWS_* at all. */
export const cleanEnvironment = (home: string): NodeJS.ProcessEnv => ({
  PATH: process.env.PATH,
  HOME: home,
});

/** The osls arguments for `params`, stage and region. */
export const oslsOptions = (options: PackageOptions): string[] => [
  ...(options.stage ? ['--stage', options.stage] : []),
  ...(options.region ? ['--region', options.region] : []),
  ...Object.entries(options.params ?? {}).flatMap(([name, value]) => [
    '--param',
    `${name}=${value}`,
  ]),
];

/**
 * Packages the service offline.
 *
 * @example
 * const packaged = await packageService({ params: { ecsClusters: 'prefect' } });
 * packaged.template.Resources.LaunchQueue;
 * await packaged.dispose();
 */
export const packageService = async (options: PackageOptions = {}): Promise<PackagedService> => {
  const workDir = await mkdtemp(join(tmpdir(), 'pes-package-'));
  const outDir = join(workDir, 'out');
  try {
    const serviceDir = await stageService(workDir);
    await run('npx', ['osls', 'package', '--package', outDir, ...oslsOptions(options)], {
      cwd: serviceDir,
      env: cleanEnvironment(workDir),
      timeout: 150_000,
      maxBuffer: 16 * 1024 * 1024,
    });
  } catch (error) {
    await rm(workDir, { recursive: true, force: true });
    const { stdout = '', stderr = '' } = error as { stdout?: string; stderr?: string };
    throw new Error(`osls package failed:\n${stdout}\n${stderr}`);
  }
  const template = JSON.parse(
    await readFile(join(outDir, 'cloudformation-template-update-stack.json'), 'utf8')
  ) as CfnTemplate;
  return {
    outDir,
    template,
    dispose: () => rm(workDir, { recursive: true, force: true }),
  };
};

/** The outcome of an osls command that is expected to fail (exit code and output). */
export interface OslsOutcome {
  exitCode: number;
  output: string;
}

/**
 * Runs `npx osls <args>` in the clean environment and returns its exit code and output, failing or
 * not (for the tests of refused parameters).
 */
export const runOsls = async (args: readonly string[]): Promise<OslsOutcome> => {
  const home = await mkdtemp(join(tmpdir(), 'pes-osls-'));
  try {
    const serviceDir = await stageService(home);
    const { stdout, stderr } = await run('npx', ['osls', ...args], {
      cwd: serviceDir,
      env: cleanEnvironment(home),
      timeout: 120_000,
      maxBuffer: 16 * 1024 * 1024,
    });
    return { exitCode: 0, output: `${stdout}\n${stderr}` };
  } catch (error) {
    const {
      code,
      stdout = '',
      stderr = '',
    } = error as { code?: number; stdout?: string; stderr?: string };
    return { exitCode: typeof code === 'number' ? code : 1, output: `${stdout}\n${stderr}` };
  } finally {
    await rm(home, { recursive: true, force: true });
  }
};
