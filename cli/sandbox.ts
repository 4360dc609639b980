/**
 * The sandbox of `npm start` without `PREFECT_API_URL`: the local Prefect and AWS stand-ins (from
 * `test/standins/`), an ECS work pool with Prefect's default ECS base job template, a cluster, a
 * deployment and a handful of flow runs whose tasks do different things. The sandbox also plays
 * the parties outside the worker, through the same APIs they use for real:
 *
 * - the flow engine in the container (`prefect flow-run execute`): when a task is RUNNING it
 *   proposes RUNNING (waiting when Prefect answers WAIT), then COMPLETED, then the container
 *   exits 0; or the container is killed for memory, or exits 1, while the flow runs; or, on SIGTERM
 *   with `PREFECT_FLOW_RUN_EXECUTE_SIGTERM_BEHAVIOR=reschedule`, it proposes AwaitingRetry and
 *   exits 0;
 * - ECS itself: each run's task plan (walk the lifecycle, fail to pull the image, sit PENDING),
 *   and a Spot interruption of a task that runs on `FARGATE_SPOT`;
 * - a user in the UI, who cancels one run while its task is still starting, and retries another
 *   once it has crashed.
 *
 * A run keeps its id across attempts (DESIGN.md "Attempts"): the nth task started for a run is its
 * nth attempt's, and the retried and the interrupted runs get a second task that completes.
 *
 * The worker is not part of this module: `start.ts` runs the real local worker against it.
 */
import { CreateClusterCommand, ECSClient } from '@aws-sdk/client-ecs';
import { flowRunIdFromStartedBy } from '../shared/ecs/started-by.ts';
import type { LocalAwsOptions } from '../shared/local/local-worker.ts';
import { createPrefectClient, type PrefectClient } from '../shared/prefect/client.ts';
import { startAwsStandin } from '../test/standins/ecs/server.ts';
import type { AwsStandin, EcsTaskSnapshot, TaskPlan } from '../test/standins/ecs/types.ts';
import { engine, seed, user } from '../test/standins/prefect/actors.ts';
import { type PrefectStandin, startPrefectStandin } from '../test/standins/prefect/server.ts';

/**
 * What a sandbox run's tasks do. `crash-retry`: the first task exits 1 while the flow runs and the
 * user retries the crashed run; `spot-interrupted`: the first task is interrupted on Fargate Spot
 * while the flow runs. Their later tasks complete.
 */
export type SandboxBehaviour =
  | 'complete'
  | 'oom'
  | 'image-pull'
  | 'cancel-pending'
  | 'crash-retry'
  | 'spot-interrupted';

/** One seeded run: what it shows and how it must end. */
export interface SandboxScenario {
  /** Short name, also the flow run's name suffix. */
  name: string;
  /** What it does, for the table. */
  does: string;
  behaviour: SandboxBehaviour;
  /** The state it must end in. */
  expected: 'COMPLETED' | 'CRASHED' | 'CANCELLED';
  /** How many attempts (claims, each with its own ECS task) it must take (default 1). */
  expectedAttempts?: number;
  /** What the final state's message must say. */
  expectedMessage?: RegExp;
  /** Scheduled this many seconds after seeding (default 0: due now). */
  aheadSeconds?: number;
  /** The run's own job variables. */
  jobVariables?: Record<string, unknown>;
}

/** The image the image-pull run asks for (a tag that does not exist). */
export const MISSING_IMAGE = 'prefecthq/prefect:3-no-such-tag';

/** The seeded runs, in table order. */
export const SANDBOX_SCENARIOS: readonly SandboxScenario[] = [
  { name: 'etl-1', does: 'completes', behaviour: 'complete', expected: 'COMPLETED' },
  { name: 'etl-2', does: 'completes', behaviour: 'complete', expected: 'COMPLETED' },
  { name: 'etl-3', does: 'completes', behaviour: 'complete', expected: 'COMPLETED' },
  {
    name: 'oom',
    does: 'is killed for memory (exit 137)',
    behaviour: 'oom',
    expected: 'CRASHED',
    expectedMessage: /ran out of memory/,
  },
  {
    name: 'bad-image',
    does: 'cannot pull its image',
    behaviour: 'image-pull',
    expected: 'CRASHED',
    expectedMessage: /could not pull the image/,
    jobVariables: { image: MISSING_IMAGE },
  },
  {
    name: 'cancelled',
    does: 'is cancelled while its task is pending',
    behaviour: 'cancel-pending',
    expected: 'CANCELLED',
  },
  {
    name: 'retried',
    does: 'crashes (exit 1); retried in the UI',
    behaviour: 'crash-retry',
    expected: 'COMPLETED',
    expectedAttempts: 2,
  },
  {
    name: 'spot',
    does: 'is interrupted on Fargate Spot',
    behaviour: 'spot-interrupted',
    expected: 'COMPLETED',
    expectedAttempts: 2,
    jobVariables: { launch_type: 'FARGATE_SPOT' },
  },
  {
    name: 'on-time',
    does: 'is scheduled 15 s ahead: starts on time',
    behaviour: 'complete',
    expected: 'COMPLETED',
    aheadSeconds: 15,
  },
];

/** A seeded run. */
export interface SandboxRun extends SandboxScenario {
  id: string;
  scheduledTime: Date;
  expectedAttempts: number;
}

/** Timing of the sandbox (short, so the whole run takes well under a minute). */
export interface SandboxTiming {
  /** `POLL_INTERVAL_SECONDS` of the worker (5 is the smallest the poller accepts). */
  pollIntervalSeconds: number;
  /** `TASK_FOLLOW_INTERVAL_SECONDS` of the worker. */
  followIntervalSeconds: number;
  /** Each ECS lifecycle step (PROVISIONING → PENDING → RUNNING). */
  taskStepMs: number;
  /** How long a flow runs in its container. */
  flowMs: number;
  /** How long the user looks at a crashed run before retrying it (it shows in the table meanwhile). */
  userPauseMs: number;
}

export const SANDBOX_TIMING: SandboxTiming = {
  pollIntervalSeconds: 5,
  followIntervalSeconds: 1,
  taskStepMs: 700,
  flowMs: 1_000,
  userPauseMs: 1_000,
};

export const SANDBOX_POOL = 'sandbox-ecs';
export const SANDBOX_CLUSTER = 'prefect-sandbox';
export const SANDBOX_DEPLOYMENT = 'sandbox-etl';
const EXECUTION_ROLE = 'arn:aws:iam::123456789012:role/prefect-sandbox-execution';
const SANDBOX_CREDENTIALS = { accessKeyId: 'sandbox', secretAccessKey: 'sandbox' };
const OOM_REASON = 'OutOfMemoryError: Container killed due to memory usage';
const PULL_REASON = `CannotPullContainerError: pull image manifest has been retried 7 time(s): failed to resolve ref docker.io/${MISSING_IMAGE}: not found`;
/** What ECS says of a task whose Fargate Spot capacity was reclaimed (the current docs' text). */
const SPOT_INTERRUPTION = {
  stopCode: 'SpotInterruption',
  stoppedReason: 'Your Spot Task was interrupted.',
};
/** Prefect's setting that makes `prefect flow-run execute` reschedule the run on SIGTERM. */
const SIGTERM_BEHAVIOR = 'PREFECT_FLOW_RUN_EXECUTE_SIGTERM_BEHAVIOR';

/** A running sandbox. */
export interface Sandbox {
  prefect: PrefectStandin;
  aws: AwsStandin;
  /** The environment the local worker runs with. */
  env: Record<string, string>;
  /** Where the worker's AWS clients go. */
  awsOptions: LocalAwsOptions;
  /** The seeded runs (empty until `seedRuns`). */
  runs: SandboxRun[];
  /** Seeds the flow runs and programs their tasks; call right before the worker starts. */
  seedRuns(): Promise<SandboxRun[]>;
  /** A client for reading the runs (not the worker's). */
  reader: PrefectClient;
  /** The ECS tasks started for a run, oldest first: the nth is its nth attempt's. */
  tasksOf(flowRunId: string): EcsTaskSnapshot[];
  /** Starts playing the engine, ECS's plans and the user. */
  startActors(): void;
  /**
   * Whether the actors have nothing left to do: nothing in flight, and no run the user is yet to
   * retry (a crashed run that is retried is not over).
   */
  idle(): boolean;
  /** Problems the actors ran into (shown in the summary). */
  actorErrors: string[];
  close(): Promise<void>;
}

/** The behaviours whose tasks run a flow (the others never reach RUNNING). */
const ENGINE_RUNS: ReadonlySet<SandboxBehaviour> = new Set([
  'complete',
  'oom',
  'crash-retry',
  'spot-interrupted',
]);

/** Final states the user leaves alone (the sandbox's user retries only a crashed run). */
const USER_LEAVES: ReadonlySet<string> = new Set(['COMPLETED', 'FAILED', 'CANCELLED']);

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

const describe = (error: unknown): string =>
  error instanceof Error ? `${error.name}: ${error.message}` : String(error);

const planFor = (behaviour: SandboxBehaviour, timing: SandboxTiming): TaskPlan => {
  const autoAdvance = { delayMs: timing.taskStepMs };
  switch (behaviour) {
    case 'complete':
    case 'oom':
    case 'crash-retry':
    case 'spot-interrupted':
      // The engine ends these: the container runs until the flow is done (or is killed, crashes
      // or is interrupted).
      return { autoAdvance, outcome: { kind: 'keepRunning' } };
    case 'image-pull':
      return { autoAdvance, outcome: { kind: 'failToStart', stoppedReason: PULL_REASON } };
    case 'cancel-pending':
      // Never gets past PROVISIONING on its own: it is still starting when the user cancels.
      return {};
  }
};

/** Seeds the cluster (Fargate providers), the ECS pool (default template) and the deployment. */
const seedWorld = async (prefect: PrefectStandin, aws: AwsStandin): Promise<{ id: string }> => {
  const ecs = new ECSClient({
    region: aws.region,
    endpoint: aws.url,
    credentials: SANDBOX_CREDENTIALS,
  });
  try {
    await ecs.send(
      new CreateClusterCommand({
        clusterName: SANDBOX_CLUSTER,
        capacityProviders: ['FARGATE', 'FARGATE_SPOT'],
      })
    );
  } finally {
    ecs.destroy();
  }
  await seed.workPool(prefect.apiUrl, { name: SANDBOX_POOL });
  return seed.deployment(prefect.apiUrl, {
    name: SANDBOX_DEPLOYMENT,
    flowName: 'sandbox-flow',
    workPoolName: SANDBOX_POOL,
    jobVariables: { cluster: SANDBOX_CLUSTER },
  });
};

/**
 * Starts the stand-ins and seeds the pool, the cluster and the deployment. `seedRuns` then seeds
 * the runs of `scenarios` (default: all of them) and programs each run's tasks, and `startActors`
 * starts the engine and the user.
 *
 * @example
 * const sandbox = await startSandbox();
 * const worker = await createLocalWorker({ config: loadLocalWorkerConfig(sandbox.env), … });
 * await sandbox.seedRuns();
 * sandbox.startActors();
 * await worker.start();
 */
export const startSandbox = async (
  timing: SandboxTiming = SANDBOX_TIMING,
  scenarios: readonly SandboxScenario[] = SANDBOX_SCENARIOS
): Promise<Sandbox> => {
  const prefect = await startPrefectStandin();
  const aws = await startAwsStandin();
  const apiUrl = prefect.apiUrl;
  let deployment: { id: string };
  try {
    deployment = await seedWorld(prefect, aws);
  } catch (error) {
    await aws.close();
    await prefect.close();
    throw error;
  }
  const runs: SandboxRun[] = [];
  const reader = createPrefectClient({ apiUrl, maxRetries: 1 });
  const actorErrors: string[] = [];
  const handled = new Set<string>();
  let timer: NodeJS.Timeout | undefined;
  let closed = false;
  const inFlight = new Set<Promise<void>>();
  const runsById = new Map<string, SandboxRun>();
  /** The state type the user last saw of each run the user acts on. */
  const seenByUser = new Map<string, string | undefined>();

  /** Seeds the runs (late, so that the ahead run's lead is counted from about the first poll). */
  const seedRuns = async (): Promise<SandboxRun[]> => {
    if (runs.length > 0) return runs;
    const seededAt = Date.now();
    for (const scenario of scenarios) {
      const scheduledTime = new Date(seededAt + (scenario.aheadSeconds ?? 0) * 1000);
      const run = await seed.flowRun(apiUrl, deployment.id, {
        name: `sandbox-${scenario.name}`,
        scheduledTime,
        ...(scenario.jobVariables ? { jobVariables: scenario.jobVariables } : {}),
      });
      aws.ecs.setPlan({ startedBy: `prefect/${run.id}` }, planFor(scenario.behaviour, timing));
      const seeded = {
        ...scenario,
        expectedAttempts: scenario.expectedAttempts ?? 1,
        id: run.id,
        scheduledTime,
      };
      runs.push(seeded);
      runsById.set(run.id, seeded);
    }
    return runs;
  };

  const tasksOf = (flowRunId: string): EcsTaskSnapshot[] =>
    aws.ecs.tasks().filter((task) => flowRunIdFromStartedBy(task.startedBy) === flowRunId);

  const act = (key: string, work: () => Promise<void>): void => {
    if (handled.has(key)) return;
    handled.add(key);
    const done = work()
      .catch((error: unknown) => {
        if (!closed) actorErrors.push(`${key}: ${describe(error)}`);
      })
      .finally(() => inFlight.delete(done));
    inFlight.add(done);
  };

  /**
   * A variable of the task's container overrides (where the launcher puts what it adds), read
   * from the task's events, which repeat its overrides as ECS does.
   */
  const overrideVariable = (taskArn: string, name: string): string | undefined => {
    const event = aws.events.find((candidate) => candidate.detail.taskArn === taskArn);
    for (const override of event?.detail.overrides.containerOverrides ?? []) {
      const value = override.environment?.find((item) => item.name === name)?.value;
      if (value !== undefined) return value;
    }
    return undefined;
  };

  /**
   * A Spot interruption while the flow runs: ECS sends SIGTERM; with the launcher's
   * `PREFECT_FLOW_RUN_EXECUTE_SIGTERM_BEHAVIOR=reschedule` the engine proposes AwaitingRetry (not
   * forced; an ABORT is swallowed) and exits 0, without it the engine dies of the signal (143).
   * Only a task on `FARGATE_SPOT` can be interrupted: `false` for any other.
   */
  const interrupt = async (run: SandboxRun, task: EcsTaskSnapshot): Promise<boolean> => {
    if (task.capacityProviderName !== 'FARGATE_SPOT') {
      actorErrors.push(
        `ECS ${run.name}: its task runs on ${task.capacityProviderName ?? task.launchType}, not Fargate Spot, so nothing interrupts it`
      );
      return false;
    }
    if (overrideVariable(task.taskArn, SIGTERM_BEHAVIOR) === 'reschedule') {
      await engine.reschedule(apiUrl, run.id);
      await aws.ecs.runToCompletion(task.taskArn, { exitCode: 0, ...SPOT_INTERRUPTION });
    } else {
      await aws.ecs.runToCompletion(task.taskArn, { exitCode: 143, ...SPOT_INTERRUPTION });
    }
    return true;
  };

  /**
   * `prefect flow-run execute` in the run's `attempt`th task: RUNNING (after any WAIT), the flow,
   * then the container's end. Only a first attempt is killed for memory, crashes or is interrupted.
   */
  const execute = async (
    run: SandboxRun,
    task: EcsTaskSnapshot,
    attempt: number
  ): Promise<void> => {
    const taskArn = task.taskArn;
    for (let tries = 0; ; tries += 1) {
      const answer = await engine.start(apiUrl, run.id);
      if (answer.status === 'ACCEPT') break;
      if (answer.status !== 'WAIT' || tries > 20 || closed) {
        // The run moved on (cancelled, say): the engine exits without running the flow.
        await aws.ecs.runToCompletion(taskArn, { exitCode: 0 });
        return;
      }
      await sleep(Math.max(200, (answer.details.delay_seconds ?? 0) * 1000));
    }
    const end = attempt === 1 ? run.behaviour : 'complete';
    // A crash or an interruption comes while the flow runs, halfway.
    const cut = end === 'crash-retry' || end === 'spot-interrupted';
    await sleep(cut ? timing.flowMs / 2 : timing.flowMs);
    if (closed) return;
    if (end === 'oom') {
      await aws.ecs.runToCompletion(taskArn, { exitCode: 137, containerReason: OOM_REASON });
      return;
    }
    if (end === 'crash-retry') {
      await aws.ecs.runToCompletion(taskArn, { exitCode: 1 });
      return;
    }
    if (end === 'spot-interrupted' && (await interrupt(run, task))) return;
    await engine.complete(apiUrl, run.id);
    await aws.ecs.runToCompletion(taskArn, { exitCode: 0 });
  };

  /** The user: cancels a run while its task starts; retries a crashed run. */
  const playUser = async (run: SandboxRun): Promise<void> => {
    const key = `user ${run.name}`;
    if (handled.has(key)) return;
    const current = await reader.readFlowRun(run.id);
    seenByUser.set(run.id, current.state?.type);
    // The user cancels once the worker launched the run: its task is starting.
    if (
      run.behaviour === 'cancel-pending' &&
      current.infrastructure_pid &&
      current.state?.type === 'PENDING'
    ) {
      act(key, async () => {
        await user.cancel(apiUrl, run.id);
      });
    }
    // "Retry" in the UI, offered once the run is in a final state; a retried run is due at once.
    if (run.behaviour === 'crash-retry' && current.state?.type === 'CRASHED') {
      act(key, async () => {
        await sleep(timing.userPauseMs);
        if (closed) return;
        const answer = await user.retry(apiUrl, run.id);
        if (answer.status !== 'ACCEPT') {
          throw new Error(`Prefect answered the retry ${answer.status}`);
        }
      });
    }
  };

  /** Whether the user is done with a run: acted, or it ended with nothing for the user to do. */
  const userDone = (run: SandboxRun): boolean => {
    if (run.behaviour !== 'crash-retry' || handled.has(`user ${run.name}`)) return true;
    const seen = seenByUser.get(run.id);
    return seen !== undefined && USER_LEAVES.has(seen);
  };

  const tick = async (): Promise<void> => {
    const attempts = new Map<string, number>();
    for (const task of aws.ecs.tasks()) {
      const run = runsById.get(flowRunIdFromStartedBy(task.startedBy) ?? '');
      if (!run) continue;
      // Tasks come oldest first: the nth task of a run is its nth attempt's.
      const attempt = (attempts.get(run.id) ?? 0) + 1;
      attempts.set(run.id, attempt);
      if (task.lastStatus !== 'RUNNING' || task.desiredStatus !== 'RUNNING') continue;
      if (ENGINE_RUNS.has(run.behaviour)) {
        act(`engine ${run.name} #${attempt}`, () => execute(run, task, attempt));
      }
    }
    for (const run of runs) {
      if (run.behaviour === 'cancel-pending' || run.behaviour === 'crash-retry') {
        await playUser(run);
      }
    }
  };

  const loop = (): void => {
    timer = setTimeout(() => {
      tick()
        .catch((error: unknown) => {
          if (!closed) actorErrors.push(`actors: ${describe(error)}`);
        })
        .finally(() => {
          if (!closed) loop();
        });
    }, 100);
  };

  return {
    prefect,
    aws,
    env: {
      PREFECT_API_URL: apiUrl,
      PREFECT_WORK_POOLS: SANDBOX_POOL,
      PREFECT_WORKER_NAME: 'prefect-ecs-serverless-sandbox',
      AWS_REGION: aws.region,
      ECS_EXECUTION_ROLE_ARN: EXECUTION_ROLE,
      POLL_INTERVAL_SECONDS: String(timing.pollIntervalSeconds),
      TASK_FOLLOW_INTERVAL_SECONDS: String(timing.followIntervalSeconds),
      LOG_LEVEL: 'DEBUG',
    },
    awsOptions: { endpoint: aws.url, credentials: SANDBOX_CREDENTIALS },
    runs,
    seedRuns,
    reader,
    actorErrors,
    tasksOf,
    startActors: () => {
      if (timer === undefined && !closed) loop();
    },
    idle: () => inFlight.size === 0 && runs.every(userDone),
    async close() {
      closed = true;
      if (timer !== undefined) clearTimeout(timer);
      await Promise.allSettled([...inFlight]);
      await aws.close();
      await prefect.close();
    },
  };
};
