/**
 * The container harness the shipped-bundle tests and the webhook bench rely on: one process is one
 * warm container (module state survives between invocations, init runs once), the handler's
 * output never mixes with the protocol, errors come back as the runtime reports them, and the
 * process sees exactly the environment it is given.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LambdaContainer, startLambdaContainer } from './lambda-container.ts';

const HANDLER_SOURCE = `
let invocations = 0;
const initializedAt = Date.now();
console.log('init log line');
export const handler = async (event, context) => {
  invocations += 1;
  console.log(JSON.stringify({ message: 'invoked', invocations }));
  if (event.fail) throw new TypeError('asked to fail');
  return {
    invocations,
    initializedAt,
    functionName: context.functionName,
    remainingMs: context.getRemainingTimeInMillis(),
    env: Object.keys(process.env).sort(),
  };
};
`;

let root: string;
const started: LambdaContainer[] = [];

const start = async () => {
  const container = await startLambdaContainer({
    taskRoot: root,
    env: {
      _HANDLER: 'functions/demo/handler.handler',
      LAMBDA_TASK_ROOT: root,
      AWS_LAMBDA_FUNCTION_NAME: 'demo-fn',
      ONLY_THIS: 'yes',
    },
    timeoutMs: 5_000,
  });
  started.push(container);
  return container;
};

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'pes-harness-'));
  await mkdir(join(root, 'functions', 'demo'), { recursive: true });
  await writeFile(join(root, 'functions', 'demo', 'handler.mjs'), HANDLER_SOURCE);
});

afterAll(async () => {
  for (const container of started) await container.stop();
  await rm(root, { recursive: true, force: true });
});

type Answer = {
  invocations: number;
  initializedAt: number;
  functionName: string;
  remainingMs: number;
  env: string[];
};

describe('Lambda container harness', () => {
  it('keeps module state between invocations of one process and starts fresh in another', async () => {
    // Prepare
    const warm = await start();
    // Act
    const first = await warm.invoke<Answer>({});
    const second = await warm.invoke<Answer>({});
    const cold = await (await start()).invoke<Answer>({});
    // Assess
    expect(warm.nodeVersion).toMatch(/^v24\./);
    expect(first).toMatchObject({ ok: true, result: { invocations: 1, functionName: 'demo-fn' } });
    expect(second).toMatchObject({ ok: true, result: { invocations: 2 } });
    expect(second.ok && first.ok && second.result.initializedAt).toBe(
      first.ok && first.result.initializedAt
    );
    expect(cold).toMatchObject({ ok: true, result: { invocations: 1 } });
    expect(first.ok && first.result.remainingMs).toBeGreaterThan(4_000);
    expect(first.ok && first.result.remainingMs).toBeLessThanOrEqual(5_000);
  });

  it('gives the process only the environment it was given, and keeps its output apart', async () => {
    // Prepare
    const container = await start();
    // Act
    const answer = await container.invoke<Answer>({});
    // Assess: nothing inherited (no PATH, HOME or AWS_* of the test process)
    expect(answer.ok && answer.result.env).toEqual([
      'AWS_LAMBDA_FUNCTION_NAME',
      'LAMBDA_TASK_ROOT',
      'ONLY_THIS',
      '_HANDLER',
    ]);
    expect(container.output()).toContain('init log line');
    expect(container.output()).toContain('"message":"invoked"');
  });

  it('reports a thrown error as the runtime does, and the container serves on', async () => {
    // Prepare
    const container = await start();
    // Act
    const failed = await container.invoke({ fail: true });
    const next = await container.invoke<Answer>({});
    // Assess
    expect(failed).toMatchObject({
      ok: false,
      error: { errorType: 'TypeError', errorMessage: 'asked to fail' },
    });
    expect(next).toMatchObject({ ok: true, result: { invocations: 2 } });
  });
});
