/**
 * What the sandbox shows: a live table of the runs (redrawn in place with ANSI escapes on a
 * terminal; one appended line per change otherwise), then a summary with each run's final state,
 * its number of attempts, its message or diagnosis, and how late it was launched compared with its
 * scheduled time. A run that took more than one attempt also gets each attempt's states.
 */
import { isClaimState } from '../shared/launch/current-claim.ts';
import type { State } from '../shared/prefect/schemas.ts';

/** The final state types of a flow run. */
export const FINAL_STATES = new Set(['COMPLETED', 'FAILED', 'CRASHED', 'CANCELLED']);

/** One run, as the view knows it. */
export interface RunRow {
  name: string;
  does: string;
  expected: string;
  expectedMessage?: RegExp | undefined;
  /** How many attempts it must take. */
  expectedAttempts: number;
  scheduledTime: Date;
  /** Prefect's state (type, name, message) as last read. */
  state?: { type: string; name: string; message: string | null } | undefined;
  /** The ECS status the worker last saw of its latest task (from following the task). */
  ecsStatus?: string | undefined;
  /** ECS tasks started for it so far: one per attempt. */
  tasks?: number | undefined;
  /**
   * Its attempts as Prefect's state history shows them, each the names of its states from its
   * claim on (see {@link attemptsInHistory}); read for the summary, `undefined` before.
   */
  attempts?: string[][] | undefined;
  /** When the launcher obtained the task (RunTask answered). */
  launchedAt?: Date | undefined;
  /** When the engine started the flow (`start_time`). */
  startTime?: Date | undefined;
}

/**
 * A run's state history (oldest first) cut into attempts: each attempt starts with a claim (a
 * PENDING named "Pending") and lists the names of its states until the next claim. States before
 * the first claim (the run waiting to be scheduled) belong to no attempt.
 *
 * @example
 * attemptsInHistory(await reader.readFlowRunStates(id));
 * // [['Pending', 'InfrastructurePending', 'Running', 'Crashed', 'AwaitingRetry'],
 * //  ['Pending', 'InfrastructurePending', 'Running', 'Completed']]
 */
export const attemptsInHistory = (states: readonly Pick<State, 'type' | 'name'>[]): string[][] => {
  const attempts: string[][] = [];
  for (const state of states) {
    if (isClaimState(state)) attempts.push([]);
    attempts.at(-1)?.push(state.name || state.type);
  }
  return attempts;
};

const plural = (count: number, word: string): string => `${count} ${word}${count === 1 ? '' : 's'}`;

/**
 * `2 attempts`; when Prefect's history was read and shows another number of claims than ECS
 * shows tasks, both (`1 claim, 2 tasks`: a duplicate launch).
 */
export const attemptsCell = (row: RunRow): string => {
  const tasks = row.tasks ?? 0;
  const claims = row.attempts?.length;
  return claims === undefined || claims === tasks
    ? plural(tasks, 'attempt')
    : `${plural(claims, 'claim')}, ${plural(tasks, 'task')}`;
};

const seconds = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;

const signed = (ms: number): string => `${ms < 0 ? '-' : '+'}${seconds(Math.abs(ms))}`;

/** `+0.3 s` after its scheduled time, `in 12 s` before, `due` when due and not launched. */
export const launchCell = (row: RunRow, now: Date): string => {
  if (row.launchedAt) return signed(row.launchedAt.getTime() - row.scheduledTime.getTime());
  const wait = row.scheduledTime.getTime() - now.getTime();
  return wait > 0 ? `in ${Math.ceil(wait / 1000)} s` : 'due';
};

const stateCell = (row: RunRow): string =>
  row.state
    ? row.state.name && row.state.name.toUpperCase() !== row.state.type
      ? `${row.state.type} (${row.state.name})`
      : row.state.type
    : '…';

const COLUMNS = ['run', 'what it does', 'Prefect state', 'ECS task', 'launch vs scheduled'];

/** The run's name, with its attempt from the second on (`spot #2`): a column would not fit. */
const runCell = (row: RunRow): string =>
  (row.tasks ?? 0) > 1 ? `${row.name} #${row.tasks}` : row.name;

/** The table's lines (header first). */
export const renderTable = (rows: readonly RunRow[], now: Date): string[] => {
  const cells = rows.map((row) => [
    runCell(row),
    row.does,
    stateCell(row),
    row.ecsStatus ?? '-',
    launchCell(row, now),
  ]);
  const widths = COLUMNS.map((title, index) =>
    Math.max(title.length, ...cells.map((line) => (line[index] ?? '').length))
  );
  const format = (line: readonly string[]) =>
    `  ${line.map((cell, index) => cell.padEnd(widths[index] ?? 0)).join('  ')}`.trimEnd();
  return [format(COLUMNS), ...cells.map(format)];
};

/**
 * Whether a run ended as its scenario says: the expected state (and message), after the expected
 * number of attempts, one ECS task for each claim.
 */
export const endedAsExpected = (row: RunRow): boolean =>
  row.state?.type === row.expected &&
  (row.expectedMessage === undefined || row.expectedMessage.test(row.state.message ?? '')) &&
  (row.tasks ?? 0) === row.expectedAttempts &&
  (row.attempts === undefined || row.attempts.length === row.tasks);

/** Whether a run is in a final state. */
export const hasEnded = (row: RunRow): boolean =>
  row.state !== undefined && FINAL_STATES.has(row.state.type);

/**
 * The summary's lines, and whether it is good: no run ended otherwise than expected, and every run
 * ended (unless the sandbox was interrupted, when the runs still going are only listed as such).
 */
export const renderSummary = (
  rows: readonly RunRow[],
  elapsedMs: number,
  options: { interrupted?: boolean } = {}
): { lines: string[]; ok: boolean } => {
  const good = rows.filter(endedAsExpected).length;
  const wrong = rows.filter((row) => hasEnded(row) && !endedAsExpected(row)).length;
  const going = rows.filter((row) => !hasEnded(row)).length;
  const ok = wrong === 0 && (going === 0 || options.interrupted === true);
  const width = Math.max(...rows.map((row) => row.name.length));
  const stateWidth = Math.max(...rows.map((row) => (row.state?.type ?? 'NO STATE').length));
  const attemptsWidth = Math.max(...rows.map((row) => attemptsCell(row).length));
  const head =
    good === rows.length
      ? `Summary: all ${rows.length} runs ended as expected, in ${seconds(elapsedMs)}.`
      : `Summary: ${good} of ${rows.length} runs ended as expected${going > 0 ? `, ${going} had not ended` : ''}, in ${seconds(elapsedMs)}.`;
  const lines = [head];
  for (const row of rows) {
    const mark = endedAsExpected(row) ? '✓' : hasEnded(row) ? '✗' : '·';
    const state = (row.state?.type ?? 'NO STATE').padEnd(stateWidth);
    const launch = row.launchedAt
      ? `launched ${signed(row.launchedAt.getTime() - row.scheduledTime.getTime())} vs scheduled`
      : 'never launched';
    const start = row.startTime
      ? `, flow started ${signed(row.startTime.getTime() - row.scheduledTime.getTime())}`
      : '';
    const expected = `${row.expected} after ${plural(row.expectedAttempts, 'attempt')}`;
    const note = endedAsExpected(row)
      ? ''
      : hasEnded(row)
        ? ` (expected ${expected})`
        : ` (had not ended; expected ${expected})`;
    const attempts = attemptsCell(row).padEnd(attemptsWidth);
    lines.push(
      `  ${mark} ${row.name.padEnd(width)}  ${state}  ${attempts}  ${launch}${start}${note}`
    );
    const message = row.state?.message?.trim() || row.state?.name || '';
    if (message) lines.push(`      ${message}`);
    if ((row.attempts?.length ?? 0) > 1) {
      for (const [index, names] of (row.attempts ?? []).entries()) {
        lines.push(`      attempt ${index + 1}: ${names.join(' → ')}`);
      }
    }
  }
  return { lines, ok };
};

/** Where the view writes, and whether it may redraw in place. */
export interface ViewOutput {
  write(text: string): void;
  tty: boolean;
  /** The terminal's width: longer lines are cut, so that a redraw never meets a wrapped line. */
  columns?: number | undefined;
}

/**
 * The live table. On a terminal it redraws itself in place (cursor up, clear line); otherwise it
 * appends one line per change of a run's state, ECS status or launch.
 *
 * @example
 * const view = new LiveView({ write: io.stdout, tty: process.stdout.isTTY === true });
 * view.update(rows, new Date());
 * view.finish();
 */
export class LiveView {
  private readonly output: ViewOutput;
  private readonly startedAt: number;
  private drawn = 0;
  private readonly last = new Map<string, string>();

  constructor(output: ViewOutput, startedAt = Date.now()) {
    this.output = output;
    this.startedAt = startedAt;
    if (output.tty) output.write('\x1b[?25l');
  }

  update(rows: readonly RunRow[], now: Date): void {
    const elapsed = now.getTime() - this.startedAt;
    if (this.output.tty) {
      const width = Math.max(20, (this.output.columns ?? 200) - 1);
      const lines = [...renderTable(rows, now), `  (${seconds(elapsed)})`].map((line) =>
        line.length > width ? `${line.slice(0, width - 1)}…` : line
      );
      const up = this.drawn > 0 ? `\x1b[${this.drawn}F` : '';
      this.output.write(`${up}${lines.map((line) => `\x1b[2K${line}\n`).join('')}`);
      this.drawn = lines.length;
      return;
    }
    for (const row of rows) {
      const parts = [
        `Prefect ${stateCell(row)}`,
        `ECS ${row.ecsStatus ?? '-'}`,
        ...((row.tasks ?? 0) > 1 ? [`attempt ${row.tasks}`] : []),
        row.launchedAt ? `launched ${launchCell(row, now)} vs scheduled` : 'not launched',
      ];
      const text = parts.join(', ');
      if (this.last.get(row.name) === text) continue;
      this.last.set(row.name, text);
      this.output.write(`  ${seconds(elapsed).padStart(7)}  ${row.name}: ${text}\n`);
    }
  }

  finish(): void {
    if (this.output.tty) this.output.write('\x1b[?25h');
  }
}
