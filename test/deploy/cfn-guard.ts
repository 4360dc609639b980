/**
 * Runs cfn-guard 3 (the static binary shipped in `@cdklabs/cdk-validator-cfnguard`) with the
 * project's rules (infra/guard/*.guard) over a template, and returns the failed rules with their
 * messages.
 */
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { CfnTemplate } from './cfn-template.ts';

/** infra/guard, the project's rules. */
export const GUARD_RULES_DIR = fileURLToPath(new URL('../../infra/guard', import.meta.url));

const guardBinary = (): string => {
  const require = createRequire(import.meta.url);
  const packageDir = dirname(require.resolve('@cdklabs/cdk-validator-cfnguard/package.json'));
  return join(packageDir, 'bin', 'ubuntu', 'x86_64', 'cfn-guard');
};

/** One failed rule: `file.guard/rule` and the custom messages of its failed checks. */
export interface GuardFailure {
  rule: string;
  messages: string[];
}

/** The outcome of one validation. */
export interface GuardResult {
  /** cfn-guard's exit code: 0 pass, 19 a rule failed, 5 a parse error. */
  exitCode: number;
  failures: GuardFailure[];
}

interface GuardReport {
  name: string;
  status: string;
  not_compliant?: { Rule?: { name: string; checks?: unknown[] } }[];
}

const collectMessages = (value: unknown, into: Set<string>): void => {
  if (Array.isArray(value)) {
    for (const item of value) collectMessages(item, into);
    return;
  }
  if (typeof value !== 'object' || value === null) return;
  for (const [key, item] of Object.entries(value)) {
    if (key === 'messages' && typeof item === 'object' && item !== null) {
      const message = (item as { custom_message?: string | null }).custom_message?.trim();
      if (message) into.add(message);
    }
    collectMessages(item, into);
  }
};

/** cfn-guard prints one JSON report per rules file, back to back. */
const parseReports = (stdout: string): GuardReport[] => {
  const reports: GuardReport[] = [];
  let depth = 0;
  let start = -1;
  let inString = false;
  for (let index = 0; index < stdout.length; index += 1) {
    const char = stdout[index];
    if (inString) {
      if (char === '\\') index += 1;
      else if (char === '"') inString = false;
    } else if (char === '"') inString = true;
    else if (char === '{') {
      if (depth === 0) start = index;
      depth += 1;
    } else if (char === '}') {
      depth -= 1;
      if (depth === 0) reports.push(JSON.parse(stdout.slice(start, index + 1)) as GuardReport);
    }
  }
  return reports;
};

const execute = (args: string[]) =>
  new Promise<{ exitCode: number; stdout: string; stderr: string }>((resolve) => {
    execFile(guardBinary(), args, { maxBuffer: 256 * 1024 * 1024 }, (error, stdout, stderr) => {
      const exitCode = error === null ? 0 : typeof error.code === 'number' ? error.code : -1;
      resolve({ exitCode, stdout, stderr });
    });
  });

const failuresOf = (report: GuardReport): GuardFailure[] =>
  (report.not_compliant ?? []).map((entry) => {
    const messages = new Set<string>();
    collectMessages(entry.Rule?.checks ?? [], messages);
    return { rule: entry.Rule?.name ?? '(unknown)', messages: [...messages] };
  });

/**
 * Validates several templates in one cfn-guard run (it takes ~0.3 s to start and parse the rules):
 * name → result, where `exitCode` is 19 for a template that failed a rule, else 0.
 *
 * @example
 * const results = await runGuardOnEach({ valid: template, broken: mutated });
 * results.get('broken')?.failures;
 */
export const runGuardOnEach = async (
  templates: Readonly<Record<string, CfnTemplate>>,
  rulesDir: string = GUARD_RULES_DIR
): Promise<Map<string, GuardResult>> => {
  const dir = await mkdtemp(join(tmpdir(), 'pes-guard-'));
  try {
    const names = Object.keys(templates);
    const dataDir = join(dir, 'data');
    await mkdir(dataDir);
    await Promise.all(
      names.map((name, index) =>
        writeFile(join(dataDir, `t${index}.json`), JSON.stringify(templates[name], null, 1))
      )
    );
    const { exitCode, stdout, stderr } = await execute([
      'validate',
      '--rules',
      rulesDir,
      '--data',
      dataDir,
      '--output-format',
      'json',
      '--show-summary',
      'none',
    ]);
    if (exitCode !== 0 && exitCode !== 19)
      throw new Error(`cfn-guard exited ${exitCode}: ${stderr || stdout}`);
    const results = new Map<string, GuardResult>(
      names.map((name) => [name, { exitCode: 0, failures: [] }])
    );
    for (const report of parseReports(stdout)) {
      const index = Number(/t(\d+)\.json$/.exec(report.name)?.[1]);
      const name = names[index];
      if (name === undefined)
        throw new Error(`cfn-guard reported on an unknown file ${report.name}`);
      const failures = failuresOf(report);
      const result = results.get(name) as GuardResult;
      result.failures.push(...failures);
      if (report.status === 'FAIL') result.exitCode = 19;
    }
    return results;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
};

/**
 * Validates `template` with the rules in `rulesDir` (default infra/guard).
 *
 * @example
 * const { exitCode, failures } = await runGuard(template);
 * expect(failures).toEqual([]);
 */
export const runGuard = async (
  template: CfnTemplate,
  rulesDir: string = GUARD_RULES_DIR
): Promise<GuardResult> =>
  (await runGuardOnEach({ template }, rulesDir)).get('template') as GuardResult;
