/**
 * Whether a PENDING run of the pool is an orphan of ours, and what to do with it.
 *
 * Ours: the run carries our claim marker (its state's `transition_id`, `claim-marker.ts`) or our
 * `prefect.worker.name` label (which survives PENDING sub-states such as `InfrastructurePending`).
 * Orphan: ours, still PENDING, no task *of the current attempt*, and more than `orphanAfterSeconds` past the
 * time its launch was due, i.e. the latest of: the time the current PENDING state was written, the
 * scheduled time minus the lead (a prefetched claim waits for its delayed message), and the last
 * re-enqueue. Then:
 * - fewer than `maxRequeues` re-enqueues so far → enqueue the launch message again (RunTask's
 *   `clientToken` and the launcher's claim check make a duplicate harmless);
 * - otherwise → CRASHED, "launch never completed", saying what was tried.
 *
 * Attempts: a run keeps its `infrastructure_pid` across retries and reschedules, so a pid alone does
 * not mean this attempt has a task. A run in its claim state ("Pending") with a pid is an orphan when
 * the pid's task was created before the claim (an earlier attempt's) or ECS no longer knows it; the
 * sweep asks ECS (`check-task`) and decides again with the answer. A named sub-state with a pid
 * (`InfrastructurePending`) is proposed only for the current attempt's task: not an orphan.
 */
import { type InfrastructurePid, parseInfrastructurePid } from '../ecs/infrastructure-pid.ts';
import { isClaimState } from '../launch/current-claim.ts';
import type { FlowRun } from '../prefect/schemas.ts';
import { isClaimTransitionIdOf } from './claim-marker.ts';
import { lastRequeueAt, requeueCount, WORKER_NAME_LABEL } from './run-labels.ts';

/** Inputs besides the run. */
export interface OrphanContext {
  workerName: string;
  now: Date;
  orphanAfterSeconds: number;
  maxRequeues: number;
  leadSeconds: number;
}

/** What ECS says of the task a claimed run's `infrastructure_pid` names (asked by the sweep). */
export type PidTask =
  | {
      createdAt: Date | undefined;
      attempt: string | undefined;
      lastStatus?: string | undefined;
      stopCode?: string | undefined;
      stoppedReason?: string | undefined;
    }
  | 'missing';

/** The verdict for one PENDING run. */
export type OrphanDecision =
  | { kind: 'not-orphan'; reason: string }
  | { kind: 'wait'; dueAt: Date }
  /** Overdue in its claim state with a pid: ask ECS whether the pid's task is this attempt's. */
  | { kind: 'check-task'; pid: InfrastructurePid }
  | {
      kind: 'requeue';
      /** The launch message's transition id: the current state's (the launcher checks it). */
      transitionId: string;
      scheduledTime: Date;
      /** When the claim was accepted, when the run is still in its claim state. */
      claimedAt: Date | undefined;
      /** The re-enqueue this will be (1 = first). */
      requeue: number;
    }
  | { kind: 'give-up'; message: string }
  /**
   * The attempt's own task has stopped (or ECS forgot it) while the run stayed PENDING: the
   * reporter's answer to STOPPED was lost, or a PENDING proposal landed after the run ended (Prefect
   * accepts PENDING after final states and offers no compare-and-set). The sweep restores the final
   * state the history shows after the claim, or proposes CRASHED with `message`.
   */
  | { kind: 'settle'; message: string };

const parseTime = (iso: string | null | undefined): Date | undefined => {
  if (!iso) return undefined;
  const time = new Date(iso);
  return Number.isNaN(time.getTime()) ? undefined : time;
};

/** Whether the run carries our claim marker or our worker label. */
export const isClaimedBy = (run: FlowRun, workerName: string): boolean =>
  run.labels[WORKER_NAME_LABEL] === workerName ||
  isClaimTransitionIdOf(run.state?.state_details.transition_id, workerName);

/** The attempt's own task: alive → not an orphan; stopped or forgotten → settle the run. */
const stoppedWhilePending = (
  pid: InfrastructurePid,
  task: PidTask,
  name: string
): OrphanDecision => {
  if (task !== 'missing' && task.lastStatus !== 'STOPPED') {
    return { kind: 'not-orphan', reason: 'has a task of this attempt' };
  }
  const how =
    task === 'missing'
      ? 'is no longer known to ECS'
      : `stopped${task.stopCode ? ` (${task.stopCode}${task.stoppedReason ? `: ${task.stoppedReason}` : ''})` : ''}`;
  return {
    kind: 'settle',
    message: `The flow run's ECS task ${pid.taskArn} ${how}, but the run stayed ${name}: it ended without its final state being recorded.`,
  };
};

const describeAttempts = (requeues: number, last: Date | undefined): string =>
  requeues === 0
    ? 'its launch message was sent once, when it was claimed'
    : `its launch message was sent ${requeues + 1} times (once when claimed, then re-enqueued ${requeues} time${requeues === 1 ? '' : 's'} by the orphan sweep${last ? `, last at ${last.toISOString()}` : ''})`;

/**
 * @example
 * classifyOrphan(run, { workerName: 'w', now, orphanAfterSeconds: 300, maxRequeues: 3, leadSeconds: 0 });
 * // { kind: 'requeue', transitionId: '…', scheduledTime, requeue: 1 }
 */
export const classifyOrphan = (
  run: FlowRun,
  context: OrphanContext,
  pidTask?: PidTask
): OrphanDecision => {
  const state = run.state;
  if (state?.type !== 'PENDING') return { kind: 'not-orphan', reason: 'not PENDING' };
  const claimState = isClaimState(state);
  if (!isClaimedBy(run, context.workerName)) {
    return { kind: 'not-orphan', reason: 'claimed by another worker' };
  }
  const requeues = requeueCount(run.labels);
  const lastRequeue = lastRequeueAt(run.labels);
  const pendingSince = parseTime(state.timestamp) ?? context.now;
  const scheduled =
    parseTime(state.state_details.scheduled_time) ??
    parseTime(run.next_scheduled_start_time) ??
    parseTime(run.expected_start_time) ??
    pendingSince;
  const launchDue = new Date(scheduled.getTime() - context.leadSeconds * 1000);
  const dueAt = new Date(
    Math.max(pendingSince.getTime(), launchDue.getTime(), lastRequeue?.getTime() ?? 0)
  );
  const overdueSeconds = (context.now.getTime() - dueAt.getTime()) / 1000;
  if (overdueSeconds < context.orphanAfterSeconds) return { kind: 'wait', dueAt };

  let noTask = 'no ECS task was recorded (no infrastructure_pid)';
  if (run.infrastructure_pid) {
    const pid = parseInfrastructurePid(run.infrastructure_pid);
    if (!pid) {
      return {
        kind: 'not-orphan',
        reason: `infrastructure_pid '${run.infrastructure_pid}' is not <cluster>::<task ARN>`,
      };
    }
    if (pidTask === undefined) return { kind: 'check-task', pid };
    if (!claimState) {
      // A PENDING sub-state is proposed only for the current attempt's task: it is this attempt's.
      return stoppedWhilePending(pid, pidTask, state.name ?? 'Pending');
    }
    // The task's attempt marker says whose it is; a task of the previous release has none, and
    // is an earlier attempt's when it was created before this claim.
    const older =
      pidTask === 'missing' ||
      (pidTask.attempt !== undefined
        ? pidTask.attempt !== state.state_details.transition_id
        : pidTask.createdAt !== undefined && pidTask.createdAt.getTime() < pendingSince.getTime());
    if (!older) return stoppedWhilePending(pid, pidTask, state.name ?? 'Pending');
    noTask = `no ECS task was recorded for this attempt (its infrastructure_pid names ${pidTask === 'missing' ? 'a task ECS no longer knows' : 'an earlier attempt’s task'}, ${pid.taskArn})`;
  }

  const transitionId = state.state_details.transition_id;
  const stateName = state.name ?? 'Pending';
  const tried = `The run was claimed by worker '${context.workerName}' and has been ${stateName} since ${pendingSince.toISOString()}; ${describeAttempts(requeues, lastRequeue)}; ${noTask} ${Math.round(overdueSeconds)} s after the launch was due.`;
  const check = "Check the launcher's logs and the launch queue's dead-letter queue.";
  if (!transitionId) {
    return {
      kind: 'give-up',
      message: `Launch never completed. ${tried} Its state has no transition id, so it cannot be re-enqueued. ${check}`,
    };
  }
  if (requeues >= context.maxRequeues) {
    return { kind: 'give-up', message: `Launch never completed. ${tried} ${check}` };
  }
  return {
    kind: 'requeue',
    transitionId,
    scheduledTime: scheduled,
    claimedAt: claimState ? pendingSince : undefined,
    requeue: requeues + 1,
  };
};
