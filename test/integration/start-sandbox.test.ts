/**
 * `npm start` with no `PREFECT_API_URL`: the sandbox, run to the end as a user runs it (a child
 * process, `node --import tsx cli/main.ts start`, stdout captured, not a terminal), then the final
 * state of every seeded run read from its summary.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { SANDBOX_SCENARIOS } from '../../cli/sandbox.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

interface Finished {
  code: number | null;
  stdout: string;
  stderr: string;
  ms: number;
}

/** Runs the CLI with the environment minus `PREFECT_API_URL` (and any AWS endpoint). */
const runStart = (args: string[] = []): Promise<Finished> => {
  const env = { ...process.env };
  for (const name of ['PREFECT_API_URL', 'PREFECT_API_KEY', 'AWS_ENDPOINT_URL']) delete env[name];
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'cli/main.ts', 'start', ...args], {
      cwd: ROOT,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString('utf8');
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString('utf8');
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), 100_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, ms: Date.now() - started });
    });
  });
};

/**
 * A run's summary: `✓ <name>  <STATE>  <n> attempt(s)  launched ±x s vs scheduled[, flow started
 * ±y s]`, its message on the next line, then (two attempts or more) one line per attempt.
 */
interface SummaryLine {
  ok: boolean;
  state: string;
  attempts: number;
  launchedS: number | undefined;
  startedS: number | undefined;
  message: string;
  /** `attempt <n>: <state> → <state> …` lines, each without its `attempt <n>: `. */
  attemptPaths: string[];
}

const parseSummary = (stdout: string): Map<string, SummaryLine> => {
  const lines = stdout.slice(stdout.indexOf('Summary:')).split('\n');
  const runs = new Map<string, SummaryLine>();
  for (const [index, line] of lines.entries()) {
    const match =
      /^ {2}([✓✗]) (\S+)\s+([A-Z]+)\s+(\d+) attempts?\s+(?:launched ([+-]\d+\.\d) s vs scheduled|never launched)(?:, flow started ([+-]\d+\.\d) s)?/.exec(
        line
      );
    if (!match) continue;
    const next = lines[index + 1] ?? '';
    const attemptPaths: string[] = [];
    for (const after of lines.slice(index + 2)) {
      const path = /^ {6}attempt (\d+): (.*)$/.exec(after);
      if (!path) break;
      attemptPaths.push(path[2] ?? '');
    }
    runs.set(match[2] ?? '', {
      ok: match[1] === '✓',
      state: match[3] ?? '',
      attempts: Number(match[4]),
      launchedS: match[5] === undefined ? undefined : Number(match[5]),
      startedS: match[6] === undefined ? undefined : Number(match[6]),
      message: next.startsWith('      ') && !next.startsWith('      attempt ') ? next.trim() : '',
      attemptPaths,
    });
  }
  return runs;
};

/**
 * An attempt's states without InfrastructurePending: the reporter proposes it only when the worker
 * saw the task starting before the engine reported RUNNING, which a slow machine may not.
 */
const withoutInfrastructurePending = (path: string): string =>
  path.replace(' → InfrastructurePending', '');

describe('npm start without PREFECT_API_URL: the sandbox', () => {
  let result: Finished;
  let summary: Map<string, SummaryLine>;

  beforeAll(async () => {
    result = await runStart();
    summary = parseSummary(result.stdout);
  }, 110_000);

  it('runs to the end on its own, exits 0 in well under a minute', () => {
    expect(result.stderr).not.toMatch(/unexpected error/);
    expect(result.code).toBe(0);
    expect(result.ms).toBeLessThan(60_000);
    expect(result.stdout).toMatch(/Summary: all 9 runs ended as expected, in \d+\.\d s\./);
  });

  it('says at the top that it is a sandbox and how to point it at a real Prefect', () => {
    const top = result.stdout.split('\n').slice(0, 8).join('\n');
    expect(top).toContain('SANDBOX');
    expect(top).toContain('This is a sandbox');
    expect(top).toContain('PREFECT_API_URL=… PREFECT_API_KEY=… PREFECT_WORK_POOLS=… npm start');
  });

  it('shows the runs as they change, one line per change when stdout is not a terminal', () => {
    expect(result.stdout).not.toContain('\x1b[');
    expect(result.stdout).toMatch(/etl-1: Prefect PENDING.*launched/);
    expect(result.stdout).toMatch(/etl-1: Prefect COMPLETED, ECS STOPPED/);
    expect(result.stdout).toMatch(/on-time: Prefect SCHEDULED, ECS -, not launched/);
    expect(result.stdout).toMatch(/retried: Prefect COMPLETED, ECS STOPPED, attempt 2, launched/);
    expect(result.stdout).toMatch(/spot: Prefect SCHEDULED \(AwaitingRetry\), ECS/);
    expect(result.stdout).toMatch(/spot: Prefect COMPLETED, ECS STOPPED, attempt 2, launched/);
  });

  it('ends every seeded run in its expected state', () => {
    expect([...summary.keys()]).toEqual(SANDBOX_SCENARIOS.map((scenario) => scenario.name));
    expect(Object.fromEntries([...summary].map(([name, line]) => [name, line.state]))).toEqual({
      'etl-1': 'COMPLETED',
      'etl-2': 'COMPLETED',
      'etl-3': 'COMPLETED',
      oom: 'CRASHED',
      'bad-image': 'CRASHED',
      cancelled: 'CANCELLED',
      retried: 'COMPLETED',
      spot: 'COMPLETED',
      'on-time': 'COMPLETED',
    });
    expect([...summary.values()].every((line) => line.ok)).toBe(true);
  });

  it('gives each run its attempts: two for the run retried after a crash and the Spot run, each attempt’s states', () => {
    expect(Object.fromEntries([...summary].map(([name, line]) => [name, line.attempts]))).toEqual({
      'etl-1': 1,
      'etl-2': 1,
      'etl-3': 1,
      oom: 1,
      'bad-image': 1,
      cancelled: 1,
      retried: 2,
      spot: 2,
      'on-time': 1,
    });
    expect(
      Object.fromEntries(
        SANDBOX_SCENARIOS.map((scenario) => [scenario.name, scenario.expectedAttempts ?? 1])
      )
    ).toEqual(Object.fromEntries([...summary].map(([name, line]) => [name, line.attempts])));
    expect(summary.get('retried')?.attemptPaths.map(withoutInfrastructurePending)).toEqual([
      'Pending → Running → Crashed → AwaitingRetry',
      'Pending → Running → Completed',
    ]);
    // The Spot run's engine rescheduled it: never CRASHED in between.
    expect(summary.get('spot')?.attemptPaths.map(withoutInfrastructurePending)).toEqual([
      'Pending → Running → AwaitingRetry',
      'Pending → Running → Completed',
    ]);
    expect(summary.get('etl-1')?.attemptPaths).toEqual([]);
    expect(summary.get('retried')?.message).toBe('Completed');
  });

  it('gives the reporter’s diagnosis for the run killed for memory and the one whose image cannot be pulled', () => {
    expect(summary.get('oom')?.message).toMatch(
      /^ECS task [0-9a-f]+ ran out of memory: container 'prefect' was killed \(exit code 137, OutOfMemoryError: Container killed due to memory usage\)\. The task had 2048 MiB\./
    );
    expect(summary.get('bad-image')?.message).toMatch(
      /^ECS task [0-9a-f]+ could not pull the image of container 'prefect' \(prefecthq\/prefect:3-no-such-tag\): CannotPullContainerError/
    );
    expect(summary.get('cancelled')?.message).toBe('Flow run cancelled by worker while pending.');
    expect(summary.get('bad-image')?.startedS).toBeUndefined();
    expect(summary.get('cancelled')?.startedS).toBeUndefined();
  });

  it('launches every run, and starts the one scheduled ahead not before its time', () => {
    for (const [name, line] of summary) {
      expect(line.launchedS, name).toBeDefined();
      expect(line.launchedS ?? Number.NaN, name).toBeLessThan(5);
    }
    const onTime = summary.get('on-time');
    // SQS timers are whole seconds: the launch may round to half a second early; the flow never
    // starts before its time (Prefect answers WAIT until then).
    expect(onTime?.launchedS).toBeGreaterThanOrEqual(-0.5);
    expect(onTime?.startedS).toBeGreaterThanOrEqual(0);
    expect(onTime?.startedS).toBeLessThan(5);
  });
});
