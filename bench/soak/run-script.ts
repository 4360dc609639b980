/**
 * What happens to one flow run of the soak, drawn from its own seeded stream before the run
 * exists: what its container does in each attempt, whether and when the user cancels or retries
 * it, and which faults hit its launch and the Lambdas' Prefect calls about it.
 *
 * | class                     | attempts (container fates)            | user                             |
 * |---------------------------|---------------------------------------|----------------------------------|
 * | `complete`                | the flow completes, exit 0            |                                  |
 * | `fail`                    | the flow fails (FAILED), exit 1       |                                  |
 * | `oom`                     | RUNNING, killed for memory, exit 137  |                                  |
 * | `exit1`                   | RUNNING, the container exits 1        |                                  |
 * | `pull`                    | the image cannot be pulled            |                                  |
 * | `spot`                    | RUNNING, Spot interruption: the engine reschedules (AwaitingRetry), exit 0 with `SpotInterruption`; then completes | |
 * | `retry`                   | crashes (exit 1 or OOM); then completes | Retry from the UI once CRASHED |
 * | `cancel-before-launch`    | completes if it ever starts           | cancels as the launcher receives the message |
 * | `cancel-during-run-task`  | 〃                                    | cancels while the launcher is calling RunTask |
 * | `cancel-during-pid-write` | 〃                                    | cancels while the launcher's `infrastructure_pid` PATCH fails (500) |
 * | `cancel-while-pending`    | 〃                                    | cancels when the task is PENDING |
 * | `cancel-while-running`    | 〃                                    | cancels while the flow runs      |
 */
import { createRandom } from './prng.ts';
import type { FaultProfile } from './profiles.ts';

/** What the container of one attempt does. */
export type AttemptFate = 'complete' | 'fail' | 'oom' | 'exit1' | 'pull' | 'spot';

export type CancelMoment =
  | 'before-launch'
  | 'during-run-task'
  | 'during-pid-write'
  | 'while-pending'
  | 'while-running';

export type RunClass =
  | 'complete'
  | 'fail'
  | 'oom'
  | 'exit1'
  | 'pull'
  | 'spot'
  | 'retry'
  | `cancel-${CancelMoment}`;

/** Where a launcher container is killed (the invocation never returns; its batch comes back). */
export type KillPoint = 'after-run-task' | 'before-pid-write' | 'after-pid-write';

/** Which of the Lambdas' Prefect calls about the run a fault hits. */
export type PrefectCall = 'set-state' | 'pid' | 'read' | 'labels' | 'states';

/**
 * How it fails: a status before handling, after handling (the write happened), no answer, or not
 * at all but slowly (`slow`: the answer is held, then given).
 */
export type PrefectFailure = '503' | '500' | '503-after' | 'drop' | 'drop-after' | 'slow';

/**
 * When the fault is armed (it then hits the next matching call of any Lambda): at the run's
 * creation (the claim's calls), when a launcher receives its message, when its task is PENDING,
 * when its flow is RUNNING, when its container is about to exit.
 */
export type FaultPhase = 'created' | 'launch' | 'pending' | 'running' | 'exit';

export interface PrefectFaultPlan {
  call: PrefectCall;
  failure: PrefectFailure;
  times: number;
  phase: FaultPhase;
  /** The failing answer is held this long first (the world moves on meanwhile). */
  stallMs: number;
}

export interface RunScript {
  index: number;
  runClass: RunClass;
  /** Fate of attempt k is `fates[min(k, length − 1)]`. */
  fates: AttemptFate[];
  cancel?: { moment: CancelMoment; delayMs: number };
  /** The user retries the run from the UI once it is CRASHED (once). */
  retryAfterCrash: boolean;
  /** Runs on FARGATE_SPOT (the launcher then sets the SIGTERM reschedule behaviour). */
  spot: boolean;
  timing: { provisionMs: number; pendingMs: number; flowMs: number };
  launch: {
    /** Extra copies of the launch message sent when it is first received. */
    duplicates: number;
    duplicateDelaySeconds: number;
    kill?: KillPoint;
    throttleRunTask: number;
    capacityFailures: number;
  };
  prefectFaults: PrefectFaultPlan[];
}

const FATE_CLASSES = [
  ['complete', 34],
  ['fail', 8],
  ['oom', 7],
  ['exit1', 7],
  ['pull', 7],
  ['spot', 10],
  ['retry', 9],
] as const;

const CANCEL_MOMENTS: readonly CancelMoment[] = [
  'before-launch',
  'during-run-task',
  'during-pid-write',
  'while-pending',
  'while-running',
];

/**
 * The script of run `index` under `seed` and `profile`.
 *
 * @example
 * scriptRun(42, 17, PROFILES.heavy).runClass; // always the same for seed 42
 */
export const scriptRun = (
  seed: string | number,
  index: number,
  profile: FaultProfile
): RunScript => {
  const random = createRandom(seed, profile.name, 'run', index);
  const cancelled = random.chance(profile.cancel);
  const moment = random.pick(CANCEL_MOMENTS);
  const base = random.weighted(FATE_CLASSES);
  const runClass: RunClass = cancelled ? `cancel-${moment}` : base;
  let fates: AttemptFate[];
  switch (runClass) {
    case 'spot':
      fates = ['spot', 'complete'];
      break;
    case 'retry':
      fates = [random.pick(['exit1', 'oom'] as const), 'complete'];
      break;
    case 'complete':
    case 'fail':
    case 'oom':
    case 'exit1':
    case 'pull':
      fates = [runClass];
      break;
    default:
      fates = ['complete'];
  }
  // ECS takes 30–60 s to start a task, two or three polls of 20 s: here a few polls of 250 ms.
  const timing = {
    provisionMs: random.int(20, 600),
    pendingMs: random.int(20, 600),
    flowMs: runClass === 'cancel-while-running' ? random.int(300, 900) : random.int(50, 600),
  };

  const faults = createRandom(seed, profile.name, 'run', index, 'faults');
  const launch: RunScript['launch'] = {
    duplicates: faults.chance(profile.duplicateLaunch) ? faults.int(1, 2) : 0,
    duplicateDelaySeconds: faults.int(0, 1),
    throttleRunTask: faults.chance(profile.throttleRunTask) ? faults.int(1, 6) : 0,
    capacityFailures: faults.chance(profile.capacityFailure) ? faults.int(1, 2) : 0,
  };
  if (faults.chance(profile.killLauncher)) {
    launch.kill = faults.pick(['after-run-task', 'before-pid-write', 'after-pid-write'] as const);
  }
  const prefectFaults: PrefectFaultPlan[] = [];
  for (let slot = 0; slot < profile.maxPrefectFaults; slot += 1) {
    if (!faults.chance(profile.prefectFault)) continue;
    const failure = faults.weighted([
      ['503', 3],
      ['500', 1],
      ['503-after', 3],
      ['drop', 1],
      ['drop-after', 2],
      ['slow', 2],
    ] as const);
    prefectFaults.push({
      call: faults.weighted([
        ['set-state', 5],
        ['pid', 2],
        ['read', 2],
        ['labels', 1],
        ['states', 1],
      ] as const),
      failure,
      times: faults.int(1, 2),
      phase: faults.pick(['created', 'launch', 'pending', 'running', 'exit'] as const),
      stallMs: failure === 'slow' || faults.chance(0.5) ? faults.int(...profile.stallMs) : 0,
    });
  }
  return {
    index,
    runClass,
    fates,
    ...(cancelled ? { cancel: { moment, delayMs: random.int(0, 40) } } : {}),
    retryAfterCrash: runClass === 'retry',
    spot: runClass === 'spot' || random.chance(0.1),
    timing,
    launch,
    prefectFaults,
  };
};

/** The fate of attempt `attempt` (0-based). */
export const fateOf = (script: RunScript, attempt: number): AttemptFate =>
  script.fates[Math.min(attempt, script.fates.length - 1)] ?? 'complete';

/** One line naming the run's faults, for tables and diagnoses. */
export const describeFaults = (script: RunScript): string => {
  const parts: string[] = [];
  const { launch } = script;
  if (launch.duplicates > 0) parts.push(`dup×${launch.duplicates}`);
  if (launch.kill) parts.push(`kill:${launch.kill}`);
  if (launch.throttleRunTask > 0) parts.push(`throttle×${launch.throttleRunTask}`);
  if (launch.capacityFailures > 0) parts.push(`capacity×${launch.capacityFailures}`);
  for (const fault of script.prefectFaults) {
    parts.push(
      `${fault.call}:${fault.failure}×${fault.times}@${fault.phase}${fault.stallMs ? `+${fault.stallMs}ms` : ''}`
    );
  }
  if (script.spot && script.runClass !== 'spot') parts.push('on-spot');
  return parts.join(' ') || '-';
};
