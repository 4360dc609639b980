/**
 * The sandbox's runs that take two attempts (DESIGN.md "Attempts"), in this process: the sandbox's
 * stand-ins and actors (the engine, ECS interrupting a Fargate Spot task, the user retrying a
 * crashed run in the UI) against the real local worker, as `npm start` wires them. Then what
 * Prefect and ECS recorded: each run's state history (`GET /flow_run_states/?flow_run_id=`), and
 * the tasks started for it with the attempt each was started for.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  SANDBOX_SCENARIOS,
  SANDBOX_TIMING,
  type Sandbox,
  type SandboxRun,
  startSandbox,
} from '../../cli/sandbox.ts';
import { attemptOfTask } from '../../shared/ecs/attempt-marker.ts';
import { isClaimState } from '../../shared/launch/current-claim.ts';
import { loadLocalWorkerConfig } from '../../shared/local/local-config.ts';
import { createLocalWorker } from '../../shared/local/local-worker.ts';
import { createTextLogger } from '../../shared/local/text-logger.ts';
import type { State } from '../../shared/prefect/schemas.ts';
import type { EcsTaskSnapshot } from '../standins/ecs/types.ts';

const FINAL = new Set(['COMPLETED', 'FAILED', 'CRASHED', 'CANCELLED']);
const SIGTERM_BEHAVIOR = 'PREFECT_FLOW_RUN_EXECUTE_SIGTERM_BEHAVIOR';

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

interface Outcome {
  run: SandboxRun;
  history: State[];
  tasks: EcsTaskSnapshot[];
}

let sandbox: Sandbox;
let lines: string[];
let outcomes: Map<string, Outcome>;
let timedOut: boolean;

/**
 * `TYPE:Name` of each state, oldest first, without InfrastructurePending: the reporter proposes it
 * only when the worker saw the task starting before the engine reported RUNNING, which a slow
 * machine may not.
 */
const path = (history: readonly State[]): string[] =>
  history
    .filter((state) => state.name !== 'InfrastructurePending')
    .map((state) => `${state.type}:${state.name}`);

/** The environment of a task's container overrides, as its events repeat them. */
const overrideEnvironment = (taskArn: string): Record<string, string | undefined> => {
  const event = sandbox.aws.events.find((candidate) => candidate.detail.taskArn === taskArn);
  return Object.fromEntries(
    (event?.detail.overrides.containerOverrides ?? []).flatMap((override) =>
      (override.environment ?? []).map((item) => [item.name ?? '', item.value])
    )
  );
};

/** The attempt (claim transition id) a task was started for, from its events. */
const attemptOf = (taskArn: string): string | undefined =>
  attemptOfTask(
    sandbox.aws.events.find((event) => event.detail.taskArn === taskArn)?.detail.overrides
  );

const outcome = (name: string): Outcome => {
  const found = outcomes.get(name);
  if (!found) throw new Error(`no sandbox run named ${name}`);
  return found;
};

beforeAll(async () => {
  // Prepare: the sandbox with only its two-attempt runs, and the worker `npm start` builds
  lines = [];
  sandbox = await startSandbox(
    SANDBOX_TIMING,
    SANDBOX_SCENARIOS.filter((scenario) => ['retried', 'spot'].includes(scenario.name))
  );
  const worker = await createLocalWorker({
    config: loadLocalWorkerConfig(sandbox.env),
    logger: createTextLogger({ write: (line) => lines.push(line), level: 'debug' }),
    aws: sandbox.awsOptions,
    reporterRetryDelaysMs: [1_000, 2_000],
  });
  const runs = await sandbox.seedRuns();
  sandbox.startActors();
  await worker.start();
  // Act: until both runs ended and neither the worker nor the actors have anything left to do
  const deadline = Date.now() + 40_000;
  timedOut = false;
  try {
    for (;;) {
      const current = await sandbox.reader.filterFlowRuns({ ids: runs.map((run) => run.id) });
      const ended = current.every((run) => FINAL.has(run.state?.type ?? ''));
      if (ended && current.length === runs.length && worker.idle() && sandbox.idle()) break;
      if (Date.now() > deadline) {
        timedOut = true;
        break;
      }
      await sleep(250);
    }
  } finally {
    await worker.stop(10_000);
  }
  outcomes = new Map();
  for (const run of runs) {
    outcomes.set(run.name, {
      run,
      history: await sandbox.reader.readFlowRunStates(run.id),
      tasks: sandbox.tasksOf(run.id),
    });
  }
}, 60_000);

afterAll(async () => {
  await sandbox?.close();
});

describe('the sandbox: a run retried in the UI after a crash, a run interrupted on Fargate Spot', () => {
  it('ends both COMPLETED on their second attempt: two claims, one task for each', () => {
    expect(timedOut).toBe(false);
    expect(sandbox.actorErrors).toEqual([]);
    for (const name of ['retried', 'spot']) {
      const { history, tasks } = outcome(name);
      const claims = history.filter(isClaimState);
      expect(history.at(-1)?.type, name).toBe('COMPLETED');
      expect(claims, name).toHaveLength(2);
      expect(tasks, name).toHaveLength(2);
      // The nth task was started for the nth claim.
      expect(
        tasks.map((task) => attemptOf(task.taskArn)),
        name
      ).toEqual(claims.map((claim) => claim.state_details.transition_id));
      expect(
        tasks.map((task) => task.lastStatus),
        name
      ).toEqual(['STOPPED', 'STOPPED']);
    }
  });

  it('the retried run: CRASHED by the reporter when its first task exited 1, then the UI’s Retry', () => {
    const { history, tasks } = outcome('retried');
    expect(path(history)).toEqual([
      'SCHEDULED:Scheduled',
      'PENDING:Pending',
      'RUNNING:Running',
      'CRASHED:Crashed',
      'SCHEDULED:AwaitingRetry',
      'PENDING:Pending',
      'RUNNING:Running',
      'COMPLETED:Completed',
    ]);
    const crashed = history.find((state) => state.type === 'CRASHED');
    expect(crashed?.message).toContain(
      `ECS task ${tasks[0]?.taskArn.split('/').at(-1)}: the flow container 'prefect' exited with code 1, a general error`
    );
    expect(history.find((state) => state.name === 'AwaitingRetry')?.message).toBe(
      'Retry from the UI'
    );
    expect(tasks[0]?.containers[0]?.exitCode).toBe(1);
  });

  it('the Spot run: rescheduled by its engine on SIGTERM, never CRASHED, its old STOPPED ignored', () => {
    const { history, tasks } = outcome('spot');
    expect(path(history)).toEqual([
      'SCHEDULED:Scheduled',
      'PENDING:Pending',
      'RUNNING:Running',
      'SCHEDULED:AwaitingRetry',
      'PENDING:Pending',
      'RUNNING:Running',
      'COMPLETED:Completed',
    ]);
    expect(history.some((state) => state.type === 'CRASHED')).toBe(false);
    const [first, second] = tasks;
    // Both attempts ran on Fargate Spot, told to reschedule on SIGTERM; the first was interrupted.
    for (const task of tasks) {
      expect(task.capacityProviderName).toBe('FARGATE_SPOT');
      expect(overrideEnvironment(task.taskArn)[SIGTERM_BEHAVIOR]).toBe('reschedule');
    }
    expect(first).toMatchObject({
      stopCode: 'SpotInterruption',
      stoppedReason: 'Your Spot Task was interrupted.',
    });
    expect(first?.containers[0]?.exitCode).toBe(0);
    expect(second?.stopCode).toBe('EssentialContainerExited');
    // The reporter saw the first task's STOPPED and left the run alone.
    const reported = lines.find(
      (line) =>
        line.includes('Reported an ECS task state change') &&
        line.includes(first?.taskArn ?? '-') &&
        line.includes('ecs_status=STOPPED')
    );
    expect(reported).toContain('action=nothing');
  });

  it('the worker logged no warning or error', () => {
    expect(lines.filter((line) => /^\S+ (WARN|ERROR)/.test(line))).toEqual([]);
  });
});
