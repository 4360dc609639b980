/**
 * The mapping from an ECS task state change to what the reporter does in Prefect, decided from the
 * run's *current* state (read just before), so that redelivered and out-of-order events never move
 * a run backwards. Pure: no I/O, no clock. The table (issue #5 §2, prefect-worker-api.md §4 and §8):
 *
 * | ECS status                      | run state                                           | action                                  |
 * | ------------------------------- | --------------------------------------------------- | --------------------------------------- |
 * | any but STOPPED, desired RUNNING | CANCELLED                                          | StopTask (a launch that raced a cancel) |
 * | any                             | task created before the current attempt's claim     | nothing (an older attempt's task)       |
 * | any                             | `infrastructure_pid` names another task             | nothing (a stale task of this run)      |
 * | PROVISIONING/PENDING/ACTIVATING | PENDING, not yet InfrastructurePending              | propose PENDING `InfrastructurePending` |
 * | PROVISIONING/PENDING/ACTIVATING | InfrastructurePending, no pid                       | record `infrastructure_pid`             |
 * | PROVISIONING/PENDING/ACTIVATING | SCHEDULED, RUNNING, CANCELLING, PAUSED, final       | nothing (never backwards)               |
 * | RUNNING                         | PENDING/RUNNING without pid                         | record `infrastructure_pid`             |
 * | RUNNING                         | otherwise                                           | nothing (the engine reports Running)    |
 * | RUNNING, desired STOPPED        | (not read)                                          | nothing (STOPPED follows)               |
 * | STOPPED                         | final, PAUSED                                       | nothing                                 |
 * | STOPPED                         | SCHEDULED in-process AwaitingRetry, pid = this task | propose CRASHED                         |
 * | STOPPED                         | other SCHEDULED                                     | nothing                                 |
 * | STOPPED                         | CANCELLING                                          | propose CANCELLED                       |
 * | STOPPED                         | PENDING or RUNNING (any exit code)                  | propose CRASHED with the diagnosis      |
 * | other statuses                  | (not read)                                          | nothing (wait for STOPPED)              |
 *
 * Attempts: a run keeps its id and its `infrastructure_pid` across retries and reschedules, so the
 * pid alone cannot tell whose event this is. `attempt` is the current attempt's claim
 * (`current-claim.ts`); the task says which attempt it was started for (its attempt marker, or
 * for a task of the previous release its creation time against the claim's). An older attempt's
 * task never touches the run (a Spot task's late STOPPED after the run was rescheduled and claimed
 * again, a retried run's old task reporting late). For the current attempt's task a pid naming
 * another task is an older attempt's, left stale until the launcher records the new one (treated as
 * no pid). With nothing known of the current attempt, the pid alone decides, as before.
 *
 * At most one Prefect write per event: recording a missing `infrastructure_pid` waits for an event
 * that proposes nothing (the next one: PENDING after PROVISIONING, RUNNING after PENDING), which
 * keeps every event within two Prefect calls. The launcher normally records it first anyway.
 */
import { attemptOfTask } from '../ecs/attempt-marker.ts';
import { infrastructurePid, parseInfrastructurePid } from '../ecs/infrastructure-pid.ts';
import type { FlowRun, State, StateType } from '../prefect/schemas.ts';
import {
  crashMessage,
  diagnoseStoppedTask,
  type StoppedTaskDiagnosis,
} from './diagnose-stopped-task.ts';
import { type TaskStateChangeEvent, taskIdOf } from './task-state-change-event.ts';

/** The name of the PENDING sub-state prefect-aws proposes while ECS starts the task. */
export const INFRASTRUCTURE_PENDING = 'InfrastructurePending';

/** The fields of a flow run the mapping reads. */
export type RunView = Pick<FlowRun, 'state' | 'infrastructure_pid' | 'empirical_policy'>;

/** A state the reporter proposes (the transition id is added by `syncTaskState`). */
export interface ProposedState {
  type: Extract<StateType, 'PENDING' | 'CRASHED' | 'CANCELLED'>;
  name: string;
  message: string;
}

/** What to do for one event. `reason` says why, for the Lambda's log. */
export type ReportAction =
  | { kind: 'nothing'; reason: string }
  | { kind: 'record-infrastructure-pid'; infrastructurePid: string; reason: string }
  | {
      kind: 'propose';
      state: ProposedState;
      reason: string;
      /** Set for CRASHED proposals. */
      diagnosis?: StoppedTaskDiagnosis;
      /** The run never reached RUNNING: post the task's last log lines once the crash is accepted. */
      forwardLogTail: boolean;
    }
  /**
   * The run is CANCELLED but this task is starting or running (a launch that was under way when the
   * run was cancelled, whose launcher could not stop it): stop it now, before its engine moves the
   * run back to RUNNING (Prefect accepts RUNNING after CANCELLED).
   */
  | { kind: 'stop-task'; reason: string }
  /**
   * The run had ended, then a PENDING proposal decided earlier landed on it (Prefect accepts PENDING
   * after final states): write its final state again, forced, as it was.
   */
  | { kind: 'restore'; state: State; reason: string };

const FINAL: ReadonlySet<StateType> = new Set(['COMPLETED', 'FAILED', 'CANCELLED', 'CRASHED']);
const STARTING: ReadonlySet<string> = new Set(['PROVISIONING', 'PENDING', 'ACTIVATING']);

type Ownership = 'this-task' | 'unrecorded' | 'other-task' | 'older-attempt';

/** What is known of the run's current attempt: its claim (`current-claim.ts`). */
export interface AttemptView {
  /** The claim's transition id; `undefined`: unknown. */
  transitionId?: string | null | undefined;
  /** When it was claimed; `undefined`: unknown. */
  claimedAt: Date | undefined;
}

/**
 * Whether the event's task was started for the current attempt: by its attempt marker when it
 * carries one (`attempt-marker.ts`), else (a task of the previous release) by its creation after
 * the claim. `undefined` when nothing is known of the current attempt.
 */
const ofCurrentAttempt = (
  event: TaskStateChangeEvent,
  attempt: AttemptView
): boolean | undefined => {
  const marker = attemptOfTask(event.detail.overrides);
  if (marker !== undefined && attempt.transitionId) return marker === attempt.transitionId;
  const createdAt = Date.parse(event.detail.createdAt);
  const claimedAt = attempt.claimedAt?.getTime();
  if (claimedAt === undefined || Number.isNaN(claimedAt) || Number.isNaN(createdAt)) {
    return undefined;
  }
  return createdAt >= claimedAt;
};

/**
 * Whose event this is: an older attempt's task, the run's recorded task, a task of the current
 * attempt not recorded yet, or another task (compared by task id, so ARN formats agree).
 */
const ownership = (
  pid: string | null,
  event: TaskStateChangeEvent,
  attempt: AttemptView
): Ownership => {
  const current = ofCurrentAttempt(event, attempt);
  if (current === false) return 'older-attempt';
  if (!pid) return 'unrecorded';
  const parsed = parseInfrastructurePid(pid);
  if (parsed && taskIdOf(parsed.taskArn) === taskIdOf(event.detail.taskArn)) return 'this-task';
  // A task of the current attempt while the pid names another: the pid is an older attempt's.
  return current === true ? 'unrecorded' : 'other-task';
};

/** Whether an action depends on whose attempt the event is, when no claim time was known. */
export const needsAttemptCheck = (action: ReportAction): boolean =>
  action.kind === 'propose' ||
  action.kind === 'record-infrastructure-pid' ||
  (action.kind === 'nothing' && action.reason.startsWith(OTHER_TASK_REASON));

const OTHER_TASK_REASON = "the run's infrastructure_pid names another task";

const nothing = (reason: string): ReportAction => ({ kind: 'nothing', reason });

const recordPid = (event: TaskStateChangeEvent, reason: string): ReportAction => ({
  kind: 'record-infrastructure-pid',
  infrastructurePid: infrastructurePid(null, event.detail),
  reason,
});

const crash = (
  event: TaskStateChangeEvent,
  reason: string,
  options: { forwardLogTail: boolean; note?: string }
): ReportAction => {
  const diagnosis = diagnoseStoppedTask(event);
  const message = options.note
    ? `${diagnosis.message} ${options.note} ${diagnosis.fix}`
    : crashMessage(diagnosis);
  return {
    kind: 'propose',
    state: { type: 'CRASHED', name: 'Crashed', message },
    reason: `${reason} (${diagnosis.cause})`,
    diagnosis,
    forwardLogTail: options.forwardLogTail,
  };
};

/**
 * PROVISIONING/PENDING/ACTIVATING of the current attempt's task. Why proposing the
 * `InfrastructurePending` sub-state is safe although Prefect would accept PENDING after a final
 * state (CoreFlowPolicy has no rule against it; PreventPendingTransitions aborts PENDING only from
 * PENDING, RUNNING, CANCELLING and CANCELLED): it is decided from a read showing the run PENDING, for
 * a task whose container has not started, so the flow cannot finish before it lands (it must go
 * through RUNNING, after which a late PENDING is aborted), a cancel ends in CANCELLED (also
 * aborted); and the proposal is never resent blindly (`syncTaskState` reads and decides again).
 * What remains is the plain read-then-write window of one request: a task that fails within
 * milliseconds of starting could have its STOPPED handled (CRASHED) by a concurrent invocation
 * between this read and this write. Prefect offers no compare-and-set to close it.
 */
const starting = (
  event: TaskStateChangeEvent,
  owner: Ownership,
  type: StateType,
  name: string | null
): ReportAction => {
  const status = event.detail.lastStatus;
  if (type !== 'PENDING') {
    return nothing(`the run is ${type}; a ${status} task must not move it back to PENDING`);
  }
  if (name === INFRASTRUCTURE_PENDING) {
    return owner === 'unrecorded'
      ? recordPid(event, 'the run is InfrastructurePending without an infrastructure_pid')
      : nothing('the run is already InfrastructurePending');
  }
  return {
    kind: 'propose',
    state: {
      type: 'PENDING',
      name: INFRASTRUCTURE_PENDING,
      message: `ECS task ${taskIdOf(event.detail.taskArn)} is ${status.toLowerCase()}.`,
    },
    reason: `the task is ${status} and the run is ${name ?? 'PENDING'}`,
    forwardLogTail: false,
  };
};

/** Whether ECS stopped the task at our StopTask for a cancelled run (our reasons say so). */
const stoppedForCancel = (event: TaskStateChangeEvent): boolean =>
  event.detail.stopCode === 'UserInitiated' &&
  /\(prefect-ecs-serverless\)/.test(event.detail.stoppedReason ?? '') &&
  /cancel/i.test(event.detail.stoppedReason ?? '');

const stopped = (
  run: RunView,
  event: TaskStateChangeEvent,
  owner: Ownership,
  type: StateType
): ReportAction => {
  if (FINAL.has(type)) return nothing(`the run is already ${type}`);
  switch (type) {
    case 'PAUSED':
      return nothing('the run is PAUSED (a suspended flow stops its container)');
    case 'SCHEDULED':
      if (run.empirical_policy.retry_type === 'in_process' && owner === 'this-task') {
        return crash(event, 'the task stopped while the run awaited an in-process retry in it', {
          forwardLogTail: false,
          note: 'The run was waiting to retry inside this task, so that retry can no longer happen.',
        });
      }
      return nothing('the run is SCHEDULED');
    case 'CANCELLING':
      return {
        kind: 'propose',
        state: {
          type: 'CANCELLED',
          name: 'Cancelled',
          message: `Flow run cancelled: its ECS task ${taskIdOf(event.detail.taskArn)} stopped${
            event.detail.stoppedReason ? ` (${event.detail.stoppedReason.trim()})` : ''
          }.`,
        },
        reason: 'the task stopped while the run was CANCELLING',
        forwardLogTail: false,
      };
    default:
      if (stoppedForCancel(event)) {
        // We stopped this task because the run was cancelled; an engine RUNNING already in flight
        // then landed on the CANCELLED run (Prefect accepts RUNNING after CANCELLED). The user's
        // cancel stands.
        return {
          kind: 'propose',
          state: {
            type: 'CANCELLED',
            name: 'Cancelled',
            message: `Flow run cancelled: its ECS task ${taskIdOf(event.detail.taskArn)} was stopped because the run was cancelled (the flow reported ${type} afterwards).`,
          },
          reason: `the task was stopped for the run's cancellation while the run was ${type}`,
          forwardLogTail: false,
        };
      }
      return crash(event, `the task stopped while the run was ${type}`, {
        forwardLogTail: type === 'PENDING',
      });
  }
};

/**
 * The action for events that cannot change anything whatever the run's state, so the run need not
 * be read: a task still RUNNING that ECS is already stopping (its STOPPED event follows), and the
 * statuses between RUNNING and STOPPED. `undefined` when the run's state decides.
 *
 * @example
 * decideWithoutRun(stoppingEvent); // { kind: 'nothing', reason: 'the task is stopping; …' }
 */
export const decideWithoutRun = (event: TaskStateChangeEvent): ReportAction | undefined => {
  const { lastStatus, desiredStatus } = event.detail;
  if (STARTING.has(lastStatus) || lastStatus === 'STOPPED') return undefined;
  if (lastStatus === 'RUNNING') {
    return desiredStatus === 'STOPPED'
      ? nothing('the task is stopping; waiting for STOPPED')
      : undefined;
  }
  return nothing(`the task is ${lastStatus}; waiting for STOPPED`);
};

/**
 * Decides what one event means for the run, given the run as Prefect has it now.
 *
 * @example
 * decideReport(pendingRun, provisioningEvent);
 * // { kind: 'propose', state: { type: 'PENDING', name: 'InfrastructurePending', … }, … }
 * decideReport(runningRun, lateProvisioningEvent);
 * // { kind: 'nothing', reason: 'the run is RUNNING; a PROVISIONING task must not move it back to PENDING' }
 */
export const decideReport = (
  run: RunView,
  event: TaskStateChangeEvent,
  attempt: AttemptView = { transitionId: undefined, claimedAt: undefined }
): ReportAction => {
  const early = decideWithoutRun(event);
  if (early) return early;
  const { state } = run;
  if (!state) return nothing('the run has no state');
  if (state.type === 'CANCELLED' && event.detail.desiredStatus !== 'STOPPED') {
    return {
      kind: 'stop-task',
      reason: `the run is CANCELLED and its task is ${event.detail.lastStatus}: stopping it`,
    };
  }
  const owner = ownership(run.infrastructure_pid, event, attempt);
  if (owner === 'older-attempt') {
    return nothing(
      `the task was started for an older attempt of the run (the current attempt was claimed at ${attempt.claimedAt?.toISOString() ?? 'an unknown time'})`
    );
  }
  if (owner === 'other-task') {
    return nothing(`${OTHER_TASK_REASON} (${run.infrastructure_pid})`);
  }
  const status = event.detail.lastStatus;
  if (STARTING.has(status)) return starting(event, owner, state.type, state.name);
  if (status === 'RUNNING') {
    return owner === 'unrecorded' && (state.type === 'PENDING' || state.type === 'RUNNING')
      ? recordPid(event, 'the task is RUNNING and the run has no infrastructure_pid')
      : nothing('the engine reports RUNNING itself');
  }
  return stopped(run, event, owner, state.type);
};
