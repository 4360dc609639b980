/**
 * A Lambda container of a packaged bundle: a child process on the project's Node 24
 * (node_modules/node/bin/node) running test/deploy/bundle-harness.mjs in the unzipped package,
 * with exactly the environment it is given (nothing inherited from the test process).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createInterface } from 'node:readline';
import type { Readable, Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';

/** The Node binary of the `node` devDependency (the version `npm run` scripts use). */
export const NODE_24 = fileURLToPath(new URL('../../node_modules/node/bin/node', import.meta.url));

const HARNESS = fileURLToPath(new URL('./bundle-harness.mjs', import.meta.url));

/** What the runtime reports for a failed invocation. */
export interface RuntimeError {
  errorType: string;
  errorMessage: string;
}

/** One invocation's outcome. */
export type Invocation<T> =
  | { ok: true; result: T; durationMs: number }
  | { ok: false; error: RuntimeError; durationMs: number };

/** A started container. */
export interface LambdaContainer {
  /** `process.version` inside the container. */
  nodeVersion: string;
  /** Time to import the bundle (the init phase), ms. */
  initMs: number;
  /** Everything the bundle wrote to stdout and stderr so far (its logs and EMF metrics). */
  output(): string;
  /** Invokes the handler and waits for its answer. */
  invoke<T = unknown>(event: unknown): Promise<Invocation<T>>;
  /** Ends the container. */
  stop(): Promise<void>;
}

/** Options of {@link startLambdaContainer}. */
export interface ContainerOptions {
  /** The unzipped package (`LAMBDA_TASK_ROOT`, the working directory). */
  taskRoot: string;
  /** The complete environment of the process. */
  env: Readonly<Record<string, string>>;
  /** The function's timeout (the context's remaining time starts there). */
  timeoutMs: number;
}

type Reply =
  | { type: 'ready'; nodeVersion: string; initMs: number; error?: RuntimeError }
  | { type: 'result'; id: number; result: unknown; durationMs: number }
  | { type: 'error'; id: number; error: RuntimeError; durationMs: number };

/**
 * Starts a cold container and waits for its init phase.
 *
 * @example
 * const poller = await startLambdaContainer({ taskRoot, env, timeoutMs: 30_000 });
 * await poller.invoke(scheduledEvent());
 */
export const startLambdaContainer = async (options: ContainerOptions): Promise<LambdaContainer> => {
  if (!existsSync(NODE_24)) {
    throw new Error(
      `${NODE_24} is missing: the node devDependency's install script did not run (npm rebuild node)`
    );
  }
  const child: ChildProcess = spawn(NODE_24, [HARNESS], {
    cwd: options.taskRoot,
    env: { ...options.env },
    stdio: ['pipe', 'pipe', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    output += chunk.toString('utf8');
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    output += chunk.toString('utf8');
  });
  const pending = new Map<number, (reply: Reply) => void>();
  let onReady: ((reply: Reply) => void) | undefined;
  const exited = new Promise<void>((resolve) => {
    child.once('exit', () => resolve());
    child.once('error', (error) => {
      output += `\n${String(error)}`;
      resolve();
    });
  });
  const replies = createInterface({ input: child.stdio[3] as Readable });
  replies.on('line', (line) => {
    const reply = JSON.parse(line) as Reply;
    if (reply.type === 'ready') onReady?.(reply);
    else pending.get(reply.id)?.(reply);
  });
  const ready = await new Promise<Reply>((resolve, reject) => {
    onReady = resolve;
    void exited.then(() => reject(new Error(`Container exited during init:\n${output}`)));
  });
  if (ready.type !== 'ready') throw new Error('Unexpected first reply');
  if (ready.error) {
    child.kill('SIGKILL');
    throw new Error(
      `Init failed: ${ready.error.errorType}: ${ready.error.errorMessage}\n${output}`
    );
  }
  let nextId = 0;
  return {
    nodeVersion: ready.nodeVersion,
    initMs: ready.initMs,
    output: () => output,
    invoke: <T>(event: unknown) =>
      new Promise<Invocation<T>>((resolve, reject) => {
        nextId += 1;
        const id = nextId;
        pending.set(id, (reply) => {
          pending.delete(id);
          if (reply.type === 'result') {
            resolve({ ok: true, result: reply.result as T, durationMs: reply.durationMs });
          } else if (reply.type === 'error') {
            resolve({ ok: false, error: reply.error, durationMs: reply.durationMs });
          }
        });
        void exited.then(() => reject(new Error(`Container exited:\n${output}`)));
        (child.stdin as Writable).write(
          `${JSON.stringify({ id, event, timeoutMs: options.timeoutMs })}\n`
        );
      }),
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) {
        child.stdin?.end();
        const killer = setTimeout(() => child.kill('SIGKILL'), 2_000);
        await exited;
        clearTimeout(killer);
      }
    },
  };
};
