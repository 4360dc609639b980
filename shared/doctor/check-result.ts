/**
 * What every doctor check answers: a name, whether it passed, what was found, and for a failure the
 * one thing to do about it. A check that could not run because an earlier one failed is `skipped`
 * (not ok, but not a second report of the same problem). A check that passed but found something
 * that does not do what its author may think (e.g. `aws_credentials` fields with no effect here) is
 * a `warning`: ok (the exit status stays 0), shown with its fix. Details never hold a secret value.
 */
export interface CheckResult {
  /** e.g. `Work pool 'ecs-serverless'`. */
  name: string;
  ok: boolean;
  /** What was found: the server version, the account, the error that names the variable, … */
  detail: string;
  /** For a failure: what to change (a command, a variable, a job variable). */
  fix?: string;
  /** The check did not run because one it depends on failed (`ok` is false). */
  skipped?: boolean;
  /** Passed (`ok` is true), with something worth changing; `fix` says what. */
  warning?: boolean;
}

/** A passed check. */
export const pass = (name: string, detail: string): CheckResult => ({ name, ok: true, detail });

/** A failed check and its fix. */
export const fail = (name: string, detail: string, fix: string): CheckResult => ({
  name,
  ok: false,
  detail,
  fix,
});

/** A passed check with a warning, and what to change. */
export const warn = (name: string, detail: string, fix: string): CheckResult => ({
  name,
  ok: true,
  detail,
  fix,
  warning: true,
});

/** A check that did not run, and why. */
export const skip = (name: string, reason: string): CheckResult => ({
  name,
  ok: false,
  detail: reason,
  skipped: true,
});

/** Whether every check passed (the doctor's exit code is 0 exactly then). */
export const allPassed = (results: readonly CheckResult[]): boolean =>
  results.every((result) => result.ok);

/** One line about an unexpected error, without the stack. */
export const describeFailure = (error: unknown): string =>
  error instanceof Error ? `${error.name}: ${error.message}` : String(error);
