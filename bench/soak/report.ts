/**
 * The soak's printed report: a table per run (small soaks) or per run class, the totals
 * duplicates / lost / stuck / wrong, what was injected, and for each offending run the reasons and
 * its timeline (`timeline.ts`).
 */
import type { RunVerdict } from './audit.ts';
import type { SoakResult } from './run-soak.ts';

/** Plain-text table with padded columns. */
const table = (head: string[], rows: string[][]): string => {
  const widths = head.map((cell, column) =>
    Math.max(cell.length, ...rows.map((row) => (row[column] ?? '').length))
  );
  const line = (cells: string[]) =>
    cells
      .map((cell, column) => cell.padEnd(widths[column] ?? 0))
      .join(' | ')
      .trimEnd();
  return [line(head), widths.map((width) => '-'.repeat(width)).join('-|-'), ...rows.map(line)].join(
    '\n'
  );
};

const count = (values: readonly string[]): string => {
  const counts = new Map<string, number>();
  for (const value of values) counts.set(value, (counts.get(value) ?? 0) + 1);
  return [...counts]
    .sort((a, b) => b[1] - a[1])
    .map(([value, n]) => `${value} ${n}`)
    .join(', ');
};

const tasksPerAttempt = (verdict: RunVerdict): string =>
  `${verdict.attempts.map((attempt) => attempt.tasks.length).join(',') || '-'}${verdict.strayTasks.length ? ` +${verdict.strayTasks.length} stray` : ''}`;

const flags = (verdict: RunVerdict): string =>
  [verdict.duplicates, verdict.lost, verdict.stuck ? 1 : 0, verdict.wrong.length ? 1 : 0].join('/');

/** One row per run: its class, faults, tasks per attempt, fates, final state and the counts. */
export const perRunTable = (verdicts: readonly RunVerdict[]): string =>
  table(
    ['#', 'class', 'faults', 'tasks/attempt', 'task fates', 'final', 'allowed', 'D/L/S/W'],
    verdicts.map((verdict) => [
      String(verdict.index),
      verdict.runClass,
      verdict.faults,
      tasksPerAttempt(verdict),
      verdict.attempts
        .map((attempt) => attempt.tasks.map((task) => task.outcome).join('+') || 'none')
        .join(' → ') || 'none',
      verdict.final,
      verdict.expected.join('|') || '-',
      flags(verdict),
    ])
  );

/** One row per run class: how many runs, their attempts and tasks, final states vs fates, counts. */
export const perClassTable = (verdicts: readonly RunVerdict[]): string => {
  const classes = [...new Set(verdicts.map((verdict) => verdict.runClass))].sort();
  return table(
    [
      'class',
      'runs',
      'attempts',
      'tasks per attempt',
      'final states',
      "current attempt's task",
      'D/L/S/W',
    ],
    classes.map((runClass) => {
      const mine = verdicts.filter((verdict) => verdict.runClass === runClass);
      const perAttempt = mine.flatMap((verdict) =>
        verdict.attempts.map((attempt) =>
          attempt.tasks.length === 0 ? 'none' : attempt.tasks.length === 1 ? 'one' : 'several'
        )
      );
      return [
        runClass,
        String(mine.length),
        String(perAttempt.length),
        count(perAttempt),
        count(mine.map((verdict) => verdict.final.split(':')[0] ?? '')),
        count(mine.map((verdict) => verdict.fate)),
        [
          mine.reduce((sum, verdict) => sum + verdict.duplicates, 0),
          mine.reduce((sum, verdict) => sum + verdict.lost, 0),
          mine.filter((verdict) => verdict.stuck).length,
          mine.filter((verdict) => verdict.wrong.length > 0).length,
        ].join('/'),
      ];
    })
  );
};

/** Why each offending run counts. */
export const offenders = (verdicts: readonly RunVerdict[]): string[] =>
  verdicts
    .filter(
      (verdict) => verdict.duplicates || verdict.lost || verdict.stuck || verdict.wrong.length
    )
    .map((verdict) => {
      const reasons = [
        ...(verdict.duplicates
          ? [`duplicates ${verdict.duplicates} (tasks per attempt ${tasksPerAttempt(verdict)})`]
          : []),
        ...(verdict.lost ? [`lost ${verdict.lost} attempt(s) without task or reason`] : []),
        ...(verdict.stuck ? [`stuck in ${verdict.final}`] : []),
        ...verdict.wrong,
      ];
      return `run #${verdict.index} ${verdict.id} (${verdict.runClass}; ${verdict.faults}): ${reasons.join('; ')}`;
    });

/** The whole report. `perRun`: the per-run table too (default: for 60 runs or fewer). */
export const formatReport = (result: SoakResult, options: { perRun?: boolean } = {}): string => {
  const { totals, verdicts } = result;
  const parts: string[] = [
    `soak: ${result.runs} runs, seed ${result.seed}, profile ${result.profile.name} (${result.profile.description})`,
    `      fault schedule ${result.schedule}; ${result.seconds.toFixed(1)} s, ${(result.runs / result.seconds).toFixed(1)} runs/s`,
    '',
  ];
  if (options.perRun ?? result.runs <= 60) parts.push(perRunTable(verdicts), '');
  parts.push(perClassTable(verdicts), '');
  parts.push(
    `injected and seen: ${Object.entries(result.stats)
      .map(([key, value]) => `${key} ${value}`)
      .join(', ')}`,
    ''
  );
  const goal = totals.duplicates + totals.lost + totals.stuck + totals.wrong === 0;
  parts.push(
    `duplicates ${totals.duplicates} / lost ${totals.lost} / stuck ${totals.stuck} / wrong ${totals.wrong}  (goal 0/0/0/0: ${goal ? 'met' : 'NOT met'}); late PENDING proposals undone by a repair: ${verdicts.reduce((sum, verdict) => sum + verdict.restored, 0)}`
  );
  const offending = offenders(verdicts);
  if (offending.length > 0) {
    parts.push('', 'offending runs:', ...offending.map((line) => `  ${line}`));
    for (const [index, timeline] of result.explanations) {
      parts.push('', `timeline of run #${index}:`, ...timeline.map((line) => `  ${line}`));
    }
  }
  return parts.join('\n');
};
