/**
 * The soak's verdict on each run, from what the stand-ins recorded and what the soak's actors did:
 * Prefect's state history of the run (`GET /flow_run_states/?flow_run_id=`), the ECS tasks started
 * for it (`startedBy` = `prefect/<id>`) with their attempt marker (`PREFECT_ECS_SERVERLESS_ATTEMPT`
 * of the container's environment, as ECS repeats it in the task's events) and their end, and the
 * journal of the engine in each container and of the user.
 *
 * **Attempt**: one claim of the run, i.e. one PENDING state named "Pending" (the claim the poller,
 * or any worker, proposes from SCHEDULED) in the history, identified by its `transition_id`. The
 * *tasks of an attempt* are the run's tasks whose marker is that transition id.
 *
 * **Epoch**: the part of the history after the latest state the user wrote (UI "Cancel": CANCELLING
 * "Cancelling"; UI "Retry": SCHEDULED "AwaitingRetry" with "Retry from the UI"); a user may move a
 * final run on, nobody else may.
 *
 * The four counts (all must be 0):
 * - **duplicates**: attempts with more than one task, plus *stray* tasks (a task of the run whose
 *   marker names no claim of the run: a task for an attempt Prefect never granted). Invariant 1.
 * - **lost**: attempts with no task whose part of the history (from the claim to the next claim,
 *   or to the end) never reaches a final state with a message saying why (a CRASHED "Failed to
 *   submit…", a CANCELLED "…no infrastructure found", …). A final state that repeats one written
 *   before the claim (type, name and message), as a repair restoring an earlier attempt's end
 *   does, says nothing about this attempt and does not count. Invariant 2.
 * - **stuck**: runs not in a final state (COMPLETED, FAILED, CRASHED, CANCELLED) at the end, once
 *   the queue, the event deliveries and the containers are quiet and the orphan sweep has had its
 *   `ORPHAN_AFTER_SECONDS` (60 s here) for runs left PENDING. Every scripted run ends final
 *   (a Spot reschedule is followed by another attempt), so a run left SCHEDULED, PENDING, RUNNING
 *   or CANCELLING is stuck, whether a task of it is alive or not. Invariant 3.
 * - **wrong**: runs with a final state that contradicts what happened, i.e. any of
 *   - *moved after final*: within an epoch, a state written after a final state, other than the
 *     same final type again (a COMPLETED run later CRASHED, a finished run back to PENDING, a
 *     CANCELLED run RUNNING again);
 *   - *ran after cancel*: within an epoch that the user's Cancel began, a RUNNING state (the flow
 *     started after the user cancelled it);
 *   - *final vs fate*: the run's final state is not one the current attempt's fate allows: the
 *     engine's accepted COMPLETED / FAILED / CANCELLED → that state; a container that died
 *     (non-zero exit, OOM, failed to start, stopped by StopTask, exited 0 without a final state)
 *     or no task at all → CRASHED; plus CANCELLED whenever the user's Cancel was accepted in
 *     the epoch;
 *   - *task alive for a final run*: a task of a final run not STOPPED at the end.
 */
import type { EcsTaskSnapshot } from '../../test/standins/ecs/types.ts';
import type { FlowRun, StateView } from '../../test/standins/prefect/actors.ts';
import type { EngineEntry } from './journal.ts';
import { describeFaults, type RunClass, type RunScript } from './run-script.ts';

const FINAL: ReadonlySet<string> = new Set(['COMPLETED', 'FAILED', 'CRASHED', 'CANCELLED']);

/** What happened to one task, from the engine's journal and ECS. */
export type TaskOutcome =
  | 'completed'
  | 'failed'
  | 'cancelled'
  | 'rescheduled'
  | 'crashed'
  | 'failed-to-start'
  | 'never-started'
  | 'stopped'
  | 'running';

export interface TaskFate {
  taskArn: string;
  attempt: string | undefined;
  outcome: TaskOutcome;
  lastStatus: string;
  stopCode: string | undefined;
  exitCode: number | undefined;
  /** The engine's actions, e.g. `start:ACCEPT complete:ACCEPT exit:0`. */
  engine: string;
}

export interface AttemptVerdict {
  transitionId: string;
  claimedAt: string;
  tasks: TaskFate[];
}

export interface RunVerdict {
  index: number;
  id: string;
  runClass: RunClass;
  faults: string;
  attempts: AttemptVerdict[];
  strayTasks: TaskFate[];
  /** `TYPE:Name` at the end. */
  final: string;
  /** Final types the fate allows. */
  expected: string[];
  /** The outcome of the current attempt's task (the one that decided), or `none`. */
  fate: TaskOutcome | 'none';
  duplicates: number;
  lost: number;
  stuck: boolean;
  wrong: string[];
  /**
   * Late PENDING proposals undone: a PENDING written after a final state, followed by that same
   * final state written again (type, name, message) with no RUNNING between, i.e. the sweep or
   * the reporter restored what a request Prefect accepted late had undone. Prefect offers no
   * compare-and-set, so such a write cannot be refused; only repaired. Not counted as wrong.
   */
  restored: number;
}

/** What the audit reads for one run. */
export interface RunEvidence {
  script: RunScript;
  run: FlowRun;
  history: StateView[];
  tasks: EcsTaskSnapshot[];
  /** Task ARN → attempt marker. */
  markers: ReadonlyMap<string, string | undefined>;
  engine: readonly EngineEntry[];
}

/** A claim: PENDING with the default name (every later PENDING of an attempt is a sub-state). */
const isClaimState = (state: StateView): boolean =>
  state.type === 'PENDING' && (state.name ?? 'Pending') === 'Pending';

const isUserState = (state: StateView): boolean =>
  (state.type === 'CANCELLING' && state.name === 'Cancelling') ||
  (state.type === 'SCHEDULED' &&
    state.name === 'AwaitingRetry' &&
    state.message === 'Retry from the UI');

const label = (state: Pick<StateView, 'type' | 'name'>): string => `${state.type}:${state.name}`;

const transitionOf = (state: StateView): string | undefined => {
  const id = state.state_details.transition_id;
  return typeof id === 'string' ? id : undefined;
};

const ACCEPTED_OUTCOMES: Record<string, TaskOutcome> = {
  complete: 'completed',
  fail: 'failed',
  cancelled: 'cancelled',
  reschedule: 'rescheduled',
};

/** The task's fate: the engine's last accepted decision, else how the container ended. */
export const taskFate = (
  task: EcsTaskSnapshot,
  attempt: string | undefined,
  engine: readonly EngineEntry[]
): TaskFate => {
  const mine = engine.filter((entry) => entry.taskArn === task.taskArn);
  const essential = task.containers[0];
  let outcome: TaskOutcome;
  const decided = mine.filter(
    (entry) => entry.answer === 'ACCEPT' && ACCEPTED_OUTCOMES[entry.action] !== undefined
  );
  const started = mine.some((entry) => entry.action === 'start' && entry.answer === 'ACCEPT');
  const last = decided.at(-1);
  if (last) outcome = ACCEPTED_OUTCOMES[last.action] ?? 'crashed';
  else if (task.lastStatus !== 'STOPPED') outcome = 'running';
  else if (task.stopCode === 'TaskFailedToStart') outcome = 'failed-to-start';
  else if (started) outcome = 'crashed';
  else if (mine.some((entry) => entry.action === 'start')) outcome = 'never-started';
  else outcome = 'stopped';
  return {
    taskArn: task.taskArn,
    attempt,
    outcome,
    lastStatus: task.lastStatus,
    stopCode: task.stopCode,
    exitCode: essential?.exitCode,
    engine: mine
      .map(
        (entry) =>
          `${entry.action}${entry.answer ? `:${entry.answer}` : ''}${entry.detail ? `:${entry.detail}` : ''}`
      )
      .join(' '),
  };
};

/** The final types a task's outcome allows (before the user's cancel is added). */
const allowedBy = (outcome: TaskOutcome | 'none'): string[] => {
  switch (outcome) {
    case 'completed':
      return ['COMPLETED'];
    case 'failed':
      return ['FAILED'];
    case 'cancelled':
      return ['CANCELLED'];
    case 'rescheduled':
    case 'running':
      return [];
    default:
      return ['CRASHED'];
  }
};

/** Decides the four counts for one run (see the module comment). */
export const auditRun = (evidence: RunEvidence): RunVerdict => {
  const { script, run, history, tasks, markers, engine } = evidence;
  const fates = tasks.map((task) => taskFate(task, markers.get(task.taskArn), engine));

  // Attempts: the claims, in order
  const claims: { transitionId: string; at: number; claimedAt: string }[] = [];
  history.forEach((state, at) => {
    const id = transitionOf(state);
    if (isClaimState(state) && id && !claims.some((claim) => claim.transitionId === id)) {
      claims.push({ transitionId: id, at, claimedAt: state.timestamp });
    }
  });
  const attempts: AttemptVerdict[] = claims.map((claim) => ({
    transitionId: claim.transitionId,
    claimedAt: claim.claimedAt,
    tasks: fates.filter((fate) => fate.attempt === claim.transitionId),
  }));
  const strayTasks = fates.filter(
    (fate) => !claims.some((claim) => claim.transitionId === fate.attempt)
  );
  const duplicates =
    attempts.filter((attempt) => attempt.tasks.length > 1).length + strayTasks.length;

  let lost = 0;
  const endKey = (state: StateView): string => `${state.type}\n${state.name}\n${state.message}`;
  claims.forEach((claim, index) => {
    if (attempts[index]?.tasks.length) return;
    const end = claims[index + 1]?.at ?? history.length;
    const earlier = new Set(history.slice(0, claim.at).map(endKey));
    const settled = history
      .slice(claim.at, end)
      .some(
        (state) =>
          FINAL.has(state.type) &&
          (state.message ?? '').trim() !== '' &&
          !earlier.has(endKey(state))
      );
    if (!settled) lost += 1;
  });

  const finalType = run.state_type ?? 'NONE';
  const stuck = !FINAL.has(finalType);

  // Wrong: moved after final, ran after cancel (per epoch)
  const wrong: string[] = [];
  let restored = 0;
  let finalSeen: StateView | undefined;
  let cancelEpoch = false;
  const sameEnd = (a: StateView, b: StateView) =>
    a.type === b.type && a.name === b.name && (a.message ?? '') === (b.message ?? '');
  /** Index of the restore that undoes a late PENDING at `from`, if there is one. */
  const restoreOf = (from: number, end: StateView): number | undefined => {
    for (let index = from; index < history.length; index += 1) {
      const later = history[index];
      if (!later || later.type === 'RUNNING' || isUserState(later)) return undefined;
      if (sameEnd(later, end)) return index;
    }
    return undefined;
  };
  for (let index = 0; index < history.length; index += 1) {
    const state = history[index];
    if (!state) continue;
    if (isUserState(state)) {
      finalSeen = undefined;
      cancelEpoch = state.type === 'CANCELLING';
      continue;
    }
    if (finalSeen && state.type === 'PENDING') {
      const back = restoreOf(index + 1, finalSeen);
      if (back !== undefined) {
        restored += 1;
        index = back;
        continue;
      }
    }
    if (finalSeen && state.type !== finalSeen.type) {
      wrong.push(`moved after final: ${label(finalSeen)} → ${label(state)}`);
    }
    if (cancelEpoch && state.type === 'RUNNING') {
      wrong.push('ran after cancel: RUNNING after the user cancelled');
    }
    if (FINAL.has(state.type)) finalSeen ??= state;
  }

  // Final vs fate: the current attempt's decisive task
  const current = attempts.at(-1);
  const currentFates = current?.tasks ?? [];
  const decisive =
    currentFates.find((fate) =>
      ['completed', 'failed', 'cancelled', 'rescheduled'].includes(fate.outcome)
    ) ?? currentFates.at(-1);
  const fate: TaskOutcome | 'none' = decisive?.outcome ?? 'none';
  const userCancelled = [...history].reverse().find(isUserState)?.type === 'CANCELLING';
  const expected = [...allowedBy(fate), ...(userCancelled ? ['CANCELLED'] : [])];
  if (!stuck && !expected.includes(finalType)) {
    wrong.push(
      `final vs fate: ${finalType} but the current attempt's task ${fate === 'none' ? 'does not exist' : `ended ${fate}`} (allowed: ${expected.join(' or ') || 'none'})`
    );
  }
  if (!stuck) {
    for (const task of fates.filter((candidate) => candidate.lastStatus !== 'STOPPED')) {
      wrong.push(
        `task alive for a final run: ${task.taskArn.split('/').at(-1)} is ${task.lastStatus}`
      );
    }
  }

  return {
    index: script.index,
    id: run.id,
    runClass: script.runClass,
    faults: describeFaults(script),
    attempts,
    strayTasks,
    final: `${finalType}:${run.state_name ?? ''}`,
    expected,
    fate,
    duplicates,
    lost,
    stuck,
    wrong,
    restored,
  };
};
