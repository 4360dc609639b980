/**
 * A Lambda container for a packaged bundle, as the Node.js runtime runs one: started in the
 * unzipped package (`LAMBDA_TASK_ROOT`), it imports the handler named by `_HANDLER`
 * (`functions/poller/handler.handler` → `functions/poller/handler.mjs`, export `handler`) once,
 * in its init phase, then answers invocations one at a time, each with a Lambda context.
 *
 * One process is one warm container; a fresh process is a cold start. The handler's own output
 * (Powertools logs, EMF metrics) goes to stdout/stderr as in Lambda; the protocol with the test
 * runs on other channels so that the two never mix:
 * - stdin, one JSON line per invocation: `{ id, event, timeoutMs }`;
 * - file descriptor 3, one JSON line per message: `{ type: 'ready', nodeVersion, initMs, error? }`
 *   once, then `{ type: 'result', id, result, durationMs }` or `{ type: 'error', id, error,
 *   durationMs }` per invocation (the error as the runtime reports it: errorType, errorMessage).
 *
 * Plain JavaScript on purpose: it runs on the Node binary the tests choose, with no loader.
 */
import { randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { pathToFileURL } from 'node:url';

const replies = createWriteStream('', { fd: 3 });
const reply = (message) => {
  replies.write(`${JSON.stringify(message)}\n`);
};

/** How the runtime reports an error (`errorType`, `errorMessage`). */
const runtimeError = (error) => ({
  errorType: error instanceof Error ? error.name : typeof error,
  errorMessage: error instanceof Error ? error.message : String(error),
});

const taskRoot = process.env.LAMBDA_TASK_ROOT ?? process.cwd();
const handlerSetting = process.env._HANDLER ?? '';
const dot = handlerSetting.lastIndexOf('.');
const modulePath = join(taskRoot, `${handlerSetting.slice(0, dot)}.mjs`);
const exportName = handlerSetting.slice(dot + 1);

// Init phase: the module's top level (configuration, SDK clients) runs here, as in Lambda.
const initStarted = performance.now();
let handler;
let initError;
try {
  const module = await import(pathToFileURL(modulePath).href);
  handler = module[exportName];
  if (typeof handler !== 'function') throw new Error(`${handlerSetting} is not a function`);
} catch (error) {
  initError = runtimeError(error);
}
reply({
  type: 'ready',
  nodeVersion: process.version,
  initMs: performance.now() - initStarted,
  ...(initError ? { error: initError } : {}),
});

const contextFor = (timeoutMs) => {
  const deadline = Date.now() + timeoutMs;
  const name = process.env.AWS_LAMBDA_FUNCTION_NAME ?? 'function';
  const region = process.env.AWS_REGION ?? 'us-east-1';
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName: name,
    functionVersion: process.env.AWS_LAMBDA_FUNCTION_VERSION ?? '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:${region}:123456789012:function:${name}`,
    memoryLimitInMB: process.env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE ?? '128',
    awsRequestId: randomUUID(),
    logGroupName: process.env.AWS_LAMBDA_LOG_GROUP_NAME ?? `/aws/lambda/${name}`,
    logStreamName: process.env.AWS_LAMBDA_LOG_STREAM_NAME ?? 'stream',
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
};

// Invocations, one at a time (a Lambda container never runs two at once).
for await (const line of createInterface({ input: process.stdin })) {
  if (line.trim() === '') continue;
  const { id, event, timeoutMs } = JSON.parse(line);
  const started = performance.now();
  if (initError) {
    reply({ type: 'error', id, error: initError, durationMs: 0 });
    continue;
  }
  try {
    const result = await handler(event, contextFor(timeoutMs ?? 30_000));
    reply({ type: 'result', id, result: result ?? null, durationMs: performance.now() - started });
  } catch (error) {
    reply({
      type: 'error',
      id,
      error: runtimeError(error),
      durationMs: performance.now() - started,
    });
  }
}
// stdin closed: the container is shut down (open SDK sockets would keep the process alive).
replies.end(() => process.exit(0));
