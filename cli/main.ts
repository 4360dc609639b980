/**
 * `prefect-ecs-serverless <command> [options]`: the project's CLI for users. `bin/` registers tsx and
 * calls {@link runCli}; `node --import tsx cli/main.ts …` runs it directly.
 *
 * Exit statuses: 0 done, 1 the command failed (the message says why and what to fix), 2 bad usage
 * or input.
 */
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { type CliCommand, type CliIo, CommandError, EXIT, UsageError } from './cli-command.ts';

/** The program name in messages. */
export const PROGRAM = 'prefect-ecs-serverless';

/**
 * The subcommands, each loaded when used (or listed). Adding one is one line:
 * `name: async () => (await import('./name.ts')).nameCommand,`.
 */
const COMMANDS: Readonly<Record<string, () => Promise<CliCommand>>> = {
  doctor: async () => (await import('./doctor.ts')).doctorCommand,
  render: async () => (await import('./render.ts')).renderCommand,
  start: async () => (await import('./start.ts')).startCommand,
};

/** The top-level help (loads every command for its summary). */
export const usage = async (): Promise<string> => {
  const summaryOf = async (load: () => Promise<CliCommand>): Promise<string> => {
    try {
      return (await load()).summary;
    } catch (error) {
      return `(cannot be loaded: ${error instanceof Error ? error.message : String(error)})`;
    }
  };
  const commands = await Promise.all(
    Object.entries(COMMANDS).map(async ([name, load]) => [name, await summaryOf(load)] as const)
  );
  const width = Math.max(...commands.map(([name]) => name.length));
  const list = commands.map(([name, summary]) => `  ${name.padEnd(width)}  ${summary}`).join('\n');
  return `Usage: ${PROGRAM} <command> [options]

Commands:
${list}

Run \`${PROGRAM} <command> --help\` for a command's options.
Exit status: 0 done, 1 the command failed, 2 bad usage or input.
`;
};

const readStdin = async (): Promise<string> => {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(Buffer.from(chunk as Uint8Array));
  return Buffer.concat(chunks).toString('utf8');
};

/** The process's own streams and environment. */
export const processIo = (): CliIo => ({
  stdout: (text) => {
    process.stdout.write(text);
  },
  stderr: (text) => {
    process.stderr.write(text);
  },
  env: process.env,
  readStdin,
});

const isHelp = (arg: string | undefined): boolean =>
  arg === '--help' || arg === '-h' || arg === 'help';

/**
 * Runs the CLI with `argv` (the arguments after the program name); resolves with the exit status.
 * Never throws: errors become a message on stderr and status 1 (or 2 for usage errors).
 *
 * @example
 * process.exitCode = await runCli(['render', '--input', 'run.json']);
 */
export const runCli = async (argv: readonly string[], io: CliIo = processIo()): Promise<number> => {
  const [name, ...args] = argv;
  if (name === undefined) {
    io.stderr(await usage());
    return EXIT.usage;
  }
  if (isHelp(name)) {
    const topic =
      args[0] !== undefined && Object.hasOwn(COMMANDS, args[0]) ? COMMANDS[args[0]] : undefined;
    io.stdout(topic ? (await topic()).help : await usage());
    return EXIT.ok;
  }
  const load = Object.hasOwn(COMMANDS, name) ? COMMANDS[name] : undefined;
  if (load === undefined) {
    io.stderr(`${PROGRAM}: unknown command '${name}'\n\n${await usage()}`);
    return EXIT.usage;
  }
  const command = await load();
  if (args.some((arg) => arg === '--help' || arg === '-h')) {
    io.stdout(command.help);
    return EXIT.ok;
  }
  try {
    return await command.run(args, io);
  } catch (error) {
    if (error instanceof UsageError) {
      io.stderr(
        `${PROGRAM} ${name}: ${error.message}\nRun \`${PROGRAM} ${name} --help\` for usage.\n`
      );
      return EXIT.usage;
    }
    if (error instanceof CommandError) {
      io.stderr(`${PROGRAM} ${name}: ${error.message}\n`);
      return EXIT.failure;
    }
    const described = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    io.stderr(`${PROGRAM} ${name}: unexpected error: ${described}\n`);
    if (io.env.PREFECT_ECS_SERVERLESS_DEBUG && error instanceof Error && error.stack) {
      io.stderr(`${error.stack}\n`);
    }
    return EXIT.failure;
  }
};

const isEntryPoint = (): boolean => {
  const script = process.argv[1];
  if (script === undefined) return false;
  try {
    return realpathSync(script) === fileURLToPath(import.meta.url);
  } catch {
    return false;
  }
};

if (isEntryPoint()) process.exitCode = await runCli(process.argv.slice(2));
