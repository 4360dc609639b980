/**
 * What every subcommand of the CLI is: a summary for the command list, its help text, and `run`,
 * which returns the exit status. Commands write through `io` (never `process.stdout` directly), so
 * tests can run them in-process.
 */

/** Exit statuses of the CLI. */
export const EXIT = {
  /** Done. */
  ok: 0,
  /** The command ran and failed: the template cannot launch, Prefect could not be read, … */
  failure: 1,
  /** Bad usage: unknown command or option, missing argument, unreadable or invalid input file. */
  usage: 2,
} as const;

/** Where a command reads and writes. */
export interface CliIo {
  stdout(text: string): void;
  stderr(text: string): void;
  /** The environment (the launcher's variable names apply, e.g. `PREFECT_API_URL`). */
  env: Readonly<Record<string, string | undefined>>;
  /** Everything on standard input (for `--input -`). */
  readStdin(): Promise<string>;
}

/** A subcommand (registered in `main.ts`). */
export interface CliCommand {
  /** One line for the command list. */
  summary: string;
  /** The full help text (`<command> --help`). */
  help: string;
  /** Runs with the arguments after the command name; resolves with the exit status. */
  run(args: readonly string[], io: CliIo): Promise<number>;
}

/**
 * The command line is wrong (unknown option, missing argument, unreadable or invalid input):
 * `main` prints the message and a pointer to `--help`, and exits with {@link EXIT.usage}.
 *
 * @example
 * throw new UsageError('give either --input <file> or --flow-run <id>');
 */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/**
 * The command failed in a way the user can act on (the message says how): `main` prints the
 * message without a stack and exits with {@link EXIT.failure}.
 *
 * @example
 * throw new CommandError('Flow run 0b6c… was not found at http://localhost:4200/api.');
 */
export class CommandError extends Error {
  override readonly name = 'CommandError';
}
