/**
 * The sandbox of `npm start` without `PREFECT_API_URL`: the local Prefect and AWS stand-ins (from
 * `test/standins/`), an ECS work pool with Prefect's default ECS base job template, a cluster, a
 * deployment and a handful of flow runs whose tasks do different things. The sandbox also plays
 * the parties outside the worker, through the same APIs they use for real:
 *
 * - the flow engine in the container (`prefect flow-run execute`): when a task is RUNNING it
 *   proposes RUNNING (waiting when Prefect answers WAIT), then COMPLETED, then the container
 *   exits 0, or the container is killed for memory while the flow runs;
 * - ECS itself: each run's task plan (walk the lifecycle, fail to pull the image, sit PENDING);
 * - a user in the UI, who cancels one run while its task is still starting.
 *
 * The worker is not part of this module: `start.ts` runs the real local worker against it.
 */
import { CreateClusterCommand, ECSClient } from '@aws-sdk/client-ecs';
import { flowRunIdFromStartedBy } from '../shared/ecs/started-by.ts';
import type { LocalAwsOptions } from '../shared/local/local-worker.ts';
import { createPrefectClient, type PrefectClient } from '../shared/prefect/client.ts';
import { startAwsStandin } from '../test/standins/ecs/server.ts';
import type { AwsStandin, TaskPlan } from '../test/standins/ecs/types.ts';
import { engine, seed, user } from '../test/standins/prefect/actors.ts';
import { type PrefectStandin, startPrefectStandin } from '../test/standins/prefect/server.ts';

/** What a sandbox run's task does. */
export type SandboxBehaviour = 'complete' | 'oom' | 'image-pull' | 'cancel-pending';

/** One seeded run: what it shows and how it must end. */
export interface SandboxScenario {
  /** Short name, also the flow run's name suffix. */
  name: string;
  /** What it does, for the table. */
  does: string;
  behaviour: SandboxBehaviour;
  /** The state it must end in. */
  expected: 'COMPLETED' | 'CRASHED' | 'CANCELLED';
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
}

export const SANDBOX_TIMING: SandboxTiming = {
  pollIntervalSeconds: 5,
  followIntervalSeconds: 1,
  taskStepMs: 700,
  flowMs: 1_000,
};

export const SANDBOX_POOL = 'sandbox-ecs';
export const SANDBOX_CLUSTER = 'prefect-sandbox';
export const SANDBOX_DEPLOYMENT = 'sandbox-etl';
const EXECUTION_ROLE = 'arn:aws:iam::123456789012:role/prefect-sandbox-execution';
const SANDBOX_CREDENTIALS = { accessKeyId: 'sandbox', secretAccessKey: 'sandbox' };
const OOM_REASON = 'OutOfMemoryError: Container killed due to memory usage';
const PULL_REASON = `CannotPullContainerError: pull image manifest has been retried 7 time(s): failed to resolve ref docker.io/${MISSING_IMAGE}: not found`;

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
  /** Starts playing the engine, ECS's plans and the user. */
  startActors(): void;
  /** Problems the actors ran into (shown in the summary). */
  actorErrors: string[];
  close(): Promise<void>;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

const describe = (error: unknown): string =>
  error instanceof Error ? `${error.name}: ${error.message}` : String(error);

const planFor = (behaviour: SandboxBehaviour, timing: SandboxTiming): TaskPlan => {
  const autoAdvance = { delayMs: timing.taskStepMs };
  switch (behaviour) {
    case 'complete':
    case 'oom':
      // The engine ends these: the container runs until the flow is done (or is killed).
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
 * the runs and programs each run's task, and `startActors` starts the engine and the user.
 *
 * @example
 * const sandbox = await startSandbox();
 * const worker = await createLocalWorker({ config: loadLocalWorkerConfig(sandbox.env), … });
 * await sandbox.seedRuns();
 * sandbox.startActors();
 * await worker.start();
 */
export const startSandbox = async (timing: SandboxTiming = SANDBOX_TIMING): Promise<Sandbox> => {
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

  /** Seeds the runs (late, so that the ahead run's lead is counted from about the first poll). */
  const seedRuns = async (): Promise<SandboxRun[]> => {
    if (runs.length > 0) return runs;
    const seededAt = Date.now();
    for (const scenario of SANDBOX_SCENARIOS) {
      const scheduledTime = new Date(seededAt + (scenario.aheadSeconds ?? 0) * 1000);
      const run = await seed.flowRun(apiUrl, deployment.id, {
        name: `sandbox-${scenario.name}`,
        scheduledTime,
        ...(scenario.jobVariables ? { jobVariables: scenario.jobVariables } : {}),
      });
      aws.ecs.setPlan({ startedBy: `prefect/${run.id}` }, planFor(scenario.behaviour, timing));
      const seeded = { ...scenario, id: run.id, scheduledTime };
      runs.push(seeded);
      runsById.set(run.id, seeded);
    }
    return runs;
  };

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

  /** `prefect flow-run execute`: RUNNING (after any WAIT), the flow, then the container's end. */
  const execute = async (run: SandboxRun, taskArn: string): Promise<void> => {
    for (let attempt = 0; ; attempt += 1) {
      const answer = await engine.start(apiUrl, run.id);
      if (answer.status === 'ACCEPT') break;
      if (answer.status !== 'WAIT' || attempt > 20 || closed) {
        // The run moved on (cancelled, say): the engine exits without running the flow.
        await aws.ecs.runToCompletion(taskArn, { exitCode: 0 });
        return;
      }
      await sleep(Math.max(200, (answer.details.delay_seconds ?? 0) * 1000));
    }
    await sleep(timing.flowMs);
    if (closed) return;
    if (run.behaviour === 'oom') {
      await aws.ecs.runToCompletion(taskArn, { exitCode: 137, containerReason: OOM_REASON });
      return;
    }
    await engine.complete(apiUrl, run.id);
    await aws.ecs.runToCompletion(taskArn, { exitCode: 0 });
  };

  const tick = async (): Promise<void> => {
    for (const task of aws.ecs.tasks()) {
      const run = runsById.get(flowRunIdFromStartedBy(task.startedBy) ?? '');
      if (!run || task.lastStatus !== 'RUNNING' || task.desiredStatus !== 'RUNNING') continue;
      if (run.behaviour === 'complete' || run.behaviour === 'oom') {
        act(`engine ${run.name}`, () => execute(run, task.taskArn));
      }
    }
    for (const run of runs) {
      if (run.behaviour !== 'cancel-pending' || handled.has(`user ${run.name}`)) continue;
      const current = await reader.readFlowRun(run.id);
      // The user cancels once the worker launched the run: its task is starting.
      if (current.infrastructure_pid && current.state?.type === 'PENDING') {
        act(`user ${run.name}`, async () => {
          await user.cancel(apiUrl, run.id);
        });
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
    startActors: () => {
      if (timer === undefined && !closed) loop();
    },
    async close() {
      closed = true;
      if (timer !== undefined) clearTimeout(timer);
      await Promise.allSettled([...inFlight]);
      await aws.close();
      await prefect.close();
    },
  };
};
