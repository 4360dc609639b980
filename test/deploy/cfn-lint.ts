/**
 * Runs cfn-lint (the CloudFormation linter AWS maintains, `pip install cfn-lint`) over templates
 * in one invocation (its Python start-up takes seconds) and returns every finding.
 */
import { execFile, spawnSync } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** One finding, as `cfn-lint --format json` reports it. */
export interface CfnLintFinding {
  /** E…, W… or I… */
  rule: string;
  level: 'Error' | 'Warning' | 'Informational';
  message: string;
  /** Where in the template, joined with `/`: `Resources/PollerRole/Properties/…`. */
  path: string;
  file: string;
}

interface RawMatch {
  Rule: { Id: string };
  Level: CfnLintFinding['level'];
  Message: string;
  Filename: string;
  Location: { Path: (string | number)[] | null };
}

/** cfn-lint's version line, or `undefined` when it is not on PATH. */
export const cfnLintVersion = (): string | undefined => {
  const probe = spawnSync('cfn-lint', ['--version'], { encoding: 'utf8' });
  return probe.status === 0 ? probe.stdout.trim() : undefined;
};

/**
 * Lints `files` for `regions` in one cfn-lint process (its Python start-up costs seconds, each
 * template about one more). cfn-lint exits non-zero whenever it finds something (a bit mask of the
 * levels found); only an exit without JSON on stdout is a failure of the run itself.
 *
 * @example
 * const findings = await runCfnLint(['/tmp/out/cloudformation-template-update-stack.json']);
 * findings.filter((finding) => finding.level === 'Error'); // []
 */
export const runCfnLint = async (
  files: readonly string[],
  regions: readonly string[] = ['us-east-1']
): Promise<CfnLintFinding[]> => {
  let stdout: string;
  const args = ['--format', 'json', '--regions', ...regions, '--', ...files];
  try {
    ({ stdout } = await run('cfn-lint', args, { timeout: 300_000, maxBuffer: 64 << 20 }));
  } catch (error) {
    const failed = error as { stdout?: string; stderr?: string; code?: number };
    if (!failed.stdout?.trim().startsWith('[')) {
      throw new Error(`cfn-lint failed (exit ${failed.code}):\n${failed.stderr ?? ''}`);
    }
    stdout = failed.stdout;
  }
  return (JSON.parse(stdout) as RawMatch[]).map((match) => ({
    rule: match.Rule.Id,
    level: match.Level,
    message: match.Message,
    path: (match.Location.Path ?? []).join('/'),
    file: match.Filename,
  }));
};
