/**
 * The checklist as text (✔ passed, ! passed with a warning and its fix, ✘ failed with its fix,
 * – skipped) or as JSON (pure).
 */
import type { CheckResult } from './check-result.ts';
import type { DoctorReport } from './run-doctor.ts';

const MARKS = { pass: '✔', warning: '!', fail: '✘', skip: '–' } as const;

const markOf = (check: CheckResult): string =>
  check.ok ? (check.warning ? MARKS.warning : MARKS.pass) : check.skipped ? MARKS.skip : MARKS.fail;

const indent = (text: string, prefix: string): string =>
  text
    .split('\n')
    .map((line) => `${prefix}${line}`)
    .join('\n');

/** One check: the mark and name, the detail indented, and the fix of a failure or warning. */
export const formatCheck = (check: CheckResult): string => {
  const [first = '', ...rest] = check.detail.split('\n');
  const head = `${markOf(check)} ${check.name}${first ? `: ${check.skipped ? `skipped (${first})` : first}` : ''}`;
  const lines = [head, ...rest.map((line) => indent(line, '    '))];
  const showsFix = check.ok ? check.warning : !check.skipped;
  if (showsFix && check.fix) lines.push(indent(check.fix, '    fix: '));
  return lines.join('\n');
};

/**
 * The report for a terminal.
 *
 * @example
 * formatReport(report);
 * // ✔ Configuration: pools ecs; region us-east-1; PREFECT_API_KEY_SECRET_ARN
 * // ✘ Work pool 'ecs': does not exist
 * //     fix: `prefect work-pool create --type ecs ecs`, or correct PREFECT_WORK_POOLS.
 * // …
 * // 1 of 9 checks failed, 6 passed, 2 skipped.
 */
export const formatReport = (report: DoctorReport): string => {
  const passed = report.checks.filter((check) => check.ok).length;
  const skipped = report.checks.filter((check) => check.skipped).length;
  const failed = report.checks.length - passed - skipped;
  const warnings = report.checks.filter((check) => check.ok && check.warning).length;
  const withWarnings =
    warnings > 0 ? ` (${warnings} with ${warnings === 1 ? 'a warning' : 'warnings'})` : '';
  const summary = report.ok
    ? `All ${passed} checks passed${withWarnings}.`
    : `${failed} of ${report.checks.length} checks failed, ${passed} passed${withWarnings}${skipped > 0 ? `, ${skipped} skipped` : ''}.`;
  return `${report.checks.map(formatCheck).join('\n')}\n\n${summary}\n`;
};

/** The report as JSON: `{ ok, checks: [{ name, ok, detail, fix?, skipped?, warning? }] }`. */
export const formatReportJson = (report: DoctorReport): string =>
  `${JSON.stringify(report, null, 2)}\n`;
