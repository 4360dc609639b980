/**
 * One "ECS Task State Change" event → the flow run's state in Prefect. Reads the run, decides with
 * {@link decideReport}, makes at most one Prefect write (a proposal whose `transition_id` comes from
 * the event id, or the missing `infrastructure_pid`), then, for STOPPED tasks, forwards the log tail
 * of a run that crashed before starting and deregisters a tagged task definition.
 *
 * Prefect calls per event: 0 for a task that is not a flow run's or an event that cannot change
 * anything (a task ECS is stopping), 1 (read) when nothing changes, 2 (read + write) otherwise, plus
 * the `POST /logs/` of a forwarded tail, plus one read of the state history when the run is past
 * its claim and the decision depends on which attempt the task belongs to (a crash, a cancel, a
 * task that is not the recorded one).
 * A STOPPED task adds one `POST /events` (`prefect.worker.executed-flow-run`, best effort) when
 * worker events are on.
 *
 * Errors: Prefect failures propagate (the handler fails and EventBridge/Lambda retry the event;
 * the transition id makes the retry safe), except a run that no longer exists. The log tail is best
 * effort (logged); a retryable ECS failure while deregistering propagates.
 */
import type { Metrics } from '@aws-lambda-powertools/metrics';
import { attemptOfRun, attemptOfTask } from '../ecs/attempt-marker.ts';
import type { EcsApi, EcsTaskCleanup, EcsTaskControl } from '../ecs/ecs-api.ts';
import { isRetryable } from '../errors/is-retryable.ts';
import { executedFlowRunOfTask } from '../events/executed-flow-run-of-task.ts';
import type { PublishResult, WorkerEventPublisher } from '../events/worker-event-publisher.ts';
import {
  claimOfCurrentState,
  endedSinceClaim,
  latestClaim,
  restoring,
} from '../launch/current-claim.ts';
import { type LaunchLogger, withLogKeys } from '../launch/launch-logger.ts';
import { CrashCause, MetricName, recordCount, recordRunCrashed } from '../observability.ts';
import type { PrefectClient } from '../prefect/client.ts';
import { isNotFound } from '../prefect/prefect-api-error.ts';
import { PrefectError } from '../prefect/prefect-error.ts';
import type { FlowRun, SetStateStatus, State } from '../prefect/schemas.ts';
import {
  decideReport,
  decideWithoutRun,
  needsAttemptCheck,
  type ReportAction,
} from './decide-report.ts';
import { type DeregisterOutcome, deregisterIfTagged } from './deregister-if-tagged.ts';
import { flowRunIdFromEvent } from './flow-run-id-from-event.ts';
import { forwardLogTail, type LogTailResult } from './forward-log-tail.ts';
import type { LogReader } from './log-reader.ts';
import type { ReporterConfig } from './reporter-config.ts';
import { logField, scrubEventText } from './scrub-event-text.ts';
import type { TaskStateChangeEvent } from './task-state-change-event.ts';
import { transitionIdFromEventId } from './transition-id.ts';

/** I/O of {@link syncTaskState}. */
export interface SyncTaskStateDeps {
  prefect: Pick<
    PrefectClient,
    'readFlowRun' | 'readFlowRunStates' | 'setFlowRunState' | 'updateFlowRun' | 'createLogs'
  >;
  ecs: Pick<EcsApi, 'describeTaskDefinition'> & EcsTaskCleanup & Pick<EcsTaskControl, 'stopTask'>;
  logs: LogReader;
  /** Powertools' `Logger` fits; every line of an event carries `flow_run_id`. */
  logger: LaunchLogger;
  config: Pick<ReporterConfig, 'logTailLines'>;
  /** Waits between decisions after a failed proposal (default: a timer). */
  sleep?: (ms: number) => Promise<void>;
  /**
   * Where the accepted CRASHED (RunsCrashed, by diagnosis cause) and CANCELLED (RunsCancelled)
   * proposals are counted; the handler publishes them. None: not counted.
   */
  metrics?: Metrics;
  /**
   * Sends `prefect.worker.executed-flow-run` when a flow run's task STOPPED (best effort: never
   * fails the report). None: no worker events.
   */
  workerEvents?: Pick<WorkerEventPublisher, 'worker' | 'publish'> | undefined;
  /**
   * The ECS and CloudWatch Logs clients for the run's own AWS credentials (its pool's
   * `aws_credentials`, `reporter-deps.ts`), in the event's region; `run` undefined when the run is
   * gone. None: `ecs` and `logs` above for every run.
   */
  awsForRun?: (
    run: FlowRun | undefined,
    event: TaskStateChangeEvent
  ) => Promise<Pick<SyncTaskStateDeps, 'ecs' | 'logs'>>;
}

/** `deps` with the AWS clients of `run` (see `SyncTaskStateDeps.awsForRun`). */
const withRunAws = async (
  run: FlowRun | undefined,
  event: TaskStateChangeEvent,
  deps: SyncTaskStateDeps
): Promise<SyncTaskStateDeps> =>
  deps.awsForRun ? { ...deps, ...(await deps.awsForRun(run, event)) } : deps;

/** What one event led to (also logged). */
export interface SyncOutcome {
  flowRunId: string | undefined;
  action: 'foreign-task' | 'run-not-found' | ReportAction['kind'];
  reason: string;
  /** Prefect's answer to the proposal, when one was made. */
  status?: SetStateStatus;
  /** REJECT because this very proposal was applied before (a redelivered event). */
  duplicate?: boolean;
  logTail?: LogTailResult;
  deregister?: DeregisterOutcome;
  /** The executed-flow-run event of a STOPPED task, when worker events are on. */
  workerEvents?: PublishResult;
}

/** An error for a log line: its name and message, scrubbed and bounded (AWS errors echo inputs). */
const errorField = (error: unknown): string =>
  logField(error instanceof Error ? `${error.name}: ${error.message}` : String(error));

const runState = (run: FlowRun): string =>
  run.state ? `${run.state.type}${run.state.name ? ` (${run.state.name})` : ''}` : 'no state';

/**
 * Decides knowing the run's current attempt: from its state when it is the claim, else from its
 * attempt label (both already read), else (a server without labels, a task of the previous
 * release without a marker) from the state history, read only when the answer matters: the
 * decision would write, or the pid names another task that may be an older attempt's.
 */
const decide = async (
  event: TaskStateChangeEvent,
  run: FlowRun,
  deps: SyncTaskStateDeps
): Promise<ReportAction> => {
  const current = claimOfCurrentState(run);
  const action = decideReport(run, event, {
    transitionId: current ? current.transitionId : attemptOfRun(run.labels),
    claimedAt: current?.claimedAt,
  });
  // The claim state says everything; a marked task and the attempt label say whose task it is.
  if (current) return action;
  const known = attemptOfTask(event.detail.overrides) !== undefined && attemptOfRun(run.labels);
  if (known && !mayHaveEnded(run, action)) return action;
  if (!needsAttemptCheck(action)) return action;
  const states = await deps.prefect.readFlowRunStates(run.id);
  const claim = latestClaim(states);
  const decided = known
    ? action
    : decideReport(run, event, { transitionId: claim?.transitionId, claimedAt: claim?.claimedAt });
  return mayHaveEnded(run, decided) ? (restoreIfEnded(states, decided) ?? decided) : decided;
};

/**
 * A CRASHED for a PENDING run whose engine ran at some point (`start_time` is set, and never reset):
 * the run may have ended and been moved back to PENDING by a late proposal, which only the history
 * shows. A first attempt that never started (`start_time` null) needs no read.
 */
const mayHaveEnded = (run: FlowRun, action: ReportAction): boolean =>
  action.kind === 'propose' &&
  action.state.type === 'CRASHED' &&
  run.state?.type === 'PENDING' &&
  run.start_time !== null;

/** The final or SCHEDULED state the run reached after its latest claim, as a `restore`, if any. */
const restoreIfEnded = (
  states: readonly State[],
  action: ReportAction
): ReportAction | undefined => {
  const ended = endedSinceClaim(states);
  if (!ended) return undefined;
  return {
    kind: 'restore',
    state: ended,
    reason: `the run had ended ${ended.type} before a late PENDING; restoring it instead of: ${action.reason}`,
  };
};

const apply = async (
  event: TaskStateChangeEvent,
  flowRunId: string,
  run: FlowRun,
  deps: SyncTaskStateDeps
): Promise<SyncOutcome> => {
  const action = await decide(event, run, deps);
  const outcome: SyncOutcome = { flowRunId, action: action.kind, reason: action.reason };
  if (action.kind === 'record-infrastructure-pid') {
    await deps.prefect.updateFlowRun(flowRunId, { infrastructurePid: action.infrastructurePid });
    return outcome;
  }
  if (action.kind === 'stop-task') {
    await (await withRunAws(run, event, deps)).ecs.stopTask(
      event.detail.clusterArn,
      event.detail.taskArn,
      `Prefect flow run ${flowRunId} is CANCELLED (prefect-ecs-serverless)`
    );
    return outcome;
  }
  if (action.kind === 'restore') {
    const result = await deps.prefect.setFlowRunState(flowRunId, restoring(action.state), {
      force: true,
      replay: false,
    });
    outcome.status = result.status;
    return outcome;
  }
  if (action.kind !== 'propose') return outcome;

  const transitionId = transitionIdFromEventId(event.id);
  const result = await deps.prefect.setFlowRunState(
    flowRunId,
    {
      ...action.state,
      // The message quotes the event (stopped reasons): no credential from it reaches Prefect.
      message: scrubEventText(action.state.message, MAX_STATE_MESSAGE),
      stateDetails: { transitionId },
    },
    { replay: false }
  );
  outcome.status = result.status;
  outcome.duplicate =
    result.status === 'REJECT' && result.state?.state_details.transition_id === transitionId;
  if (result.status === 'ACCEPT' && deps.metrics) {
    // Only ACCEPT counts: a redelivered event's proposal comes back REJECT (`duplicate`).
    if (action.state.type === 'CRASHED') {
      recordRunCrashed(deps.metrics, action.diagnosis?.cause ?? CrashCause.Other);
    } else if (action.state.type === 'CANCELLED') {
      recordCount(deps.metrics, MetricName.RunsCancelled);
    }
  }
  if (result.status === 'WAIT') {
    deps.logger.warn('Prefect asked to wait before this state; not retried', {
      proposed: action.state.type,
      details: result.details,
    });
  }
  if (result.status === 'ACCEPT' && action.forwardLogTail && deps.config.logTailLines > 0) {
    try {
      outcome.logTail = await forwardLogTail(
        event,
        flowRunId,
        await withRunAws(run, event, deps),
        deps.config.logTailLines
      );
    } catch (error) {
      deps.logger.warn('Could not forward the task’s log tail to Prefect', {
        error: errorField(error),
      });
    }
  }
  return outcome;
};

/** Longest state message proposed (it quotes the event; Prefect shows it in the run's header). */
const MAX_STATE_MESSAGE = 4096;

/** Decisions made again after a proposal failed retryably, before the event itself is retried. */
export const MAX_DECISIONS = 3;

const isFailedProposal = (error: unknown): boolean =>
  error instanceof PrefectError && error.operation === 'setFlowRunState' && isRetryable(error);

/**
 * Reads the run, decides and applies; when the proposal fails retryably (a 503, a lost answer) the
 * client does not resend it (`replay: false`): the run is read again and the event decided again,
 * because the proposal was right only in the state it was decided from. Prefect accepts PENDING
 * after COMPLETED or CRASHED (no rule of CoreFlowPolicy forbids it; PreventPendingTransitions only
 * covers PENDING, RUNNING, CANCELLING and CANCELLED), so resending an InfrastructurePending decided
 * while the run was PENDING could undo a flow that completed meanwhile. A failed proposal whose
 * write nevertheless happened is seen in the new read (its transition id, or the state it made), so
 * deciding again never applies it twice. After {@link MAX_DECISIONS} the error propagates and the
 * event is retried (EventBridge/Lambda), which starts from a fresh read too.
 */
const readDecideApply = async (
  event: TaskStateChangeEvent,
  flowRunId: string,
  deps: SyncTaskStateDeps,
  onRead: (run: FlowRun) => void
): Promise<SyncOutcome> => {
  for (let decision = 1; ; decision++) {
    const run = await deps.prefect.readFlowRun(flowRunId);
    onRead(run);
    try {
      return await apply(event, flowRunId, run, deps);
    } catch (error) {
      if (!isFailedProposal(error) || decision >= MAX_DECISIONS) throw error;
      deps.logger.warn('The proposal failed; reading the run again and deciding again', {
        decision,
        error: error instanceof Error ? error.message : String(error),
      });
      await (deps.sleep ?? defaultSleep)(200 * 2 ** (decision - 1));
    }
  }
};

const defaultSleep = (ms: number): Promise<void> =>
  new Promise((resolve) => setTimeout(resolve, ms));

const deregister = async (
  event: TaskStateChangeEvent,
  run: FlowRun | undefined,
  deps: SyncTaskStateDeps
): Promise<DeregisterOutcome | undefined> => {
  try {
    return await deregisterIfTagged(event, (await withRunAws(run, event, deps)).ecs);
  } catch (error) {
    if (isRetryable(error)) throw error;
    deps.logger.warn('Could not deregister the task definition', {
      task_definition_arn: logField(event.detail.taskDefinitionArn),
      error: errorField(error),
    });
    return undefined;
  }
};

/**
 * Every task of an attempt stops once: its `prefect.worker.executed-flow-run`, paired with the
 * attempt's submitted event by the task's attempt marker (a redelivered STOPPED sends the same event
 * id again, which the server ignores). Never throws.
 */
const publishExecuted = async (
  event: TaskStateChangeEvent,
  run: FlowRun,
  events: NonNullable<SyncTaskStateDeps['workerEvents']>,
  logger: LaunchLogger
): Promise<PublishResult> => {
  try {
    return await events.publish([executedFlowRunOfTask(event, run, events.worker)]);
  } catch (error) {
    logger.warn('Could not build the executed-flow-run event', { error: errorField(error) });
    return { sent: 0, dropped: 1 };
  }
};

/**
 * Syncs one parsed event to Prefect and ECS.
 *
 * @example
 * const outcome = await syncTaskState(event, { prefect, ecs, logs, logger, config });
 * // { flowRunId: '7a1b…', action: 'propose', status: 'ACCEPT', reason: 'the task stopped while the run was PENDING (image-pull)', … }
 */
export const syncTaskState = async (
  event: TaskStateChangeEvent,
  deps: SyncTaskStateDeps
): Promise<SyncOutcome> => {
  const { detail } = event;
  const flowRunId = flowRunIdFromEvent(event);
  if (flowRunId === undefined) {
    deps.logger.debug('Ignored an ECS task that is not a flow run’s', {
      ecs_task_arn: logField(detail.taskArn),
      started_by: logField(detail.startedBy),
    });
    return { flowRunId, action: 'foreign-task', reason: 'the task is not a flow run’s' };
  }

  const logger = withLogKeys(deps.logger, {
    flow_run_id: flowRunId,
    ecs_task_arn: logField(detail.taskArn),
    ecs_event_id: logField(event.id),
  });
  const scoped: SyncTaskStateDeps = { ...deps, logger };
  const early = decideWithoutRun(event);
  if (early) {
    logger.debug('Nothing to report for this ECS task state change', { reason: early.reason });
    return { flowRunId, action: early.kind, reason: early.reason };
  }
  try {
    let outcome: SyncOutcome;
    let state = 'not found';
    let lastRead = undefined as FlowRun | undefined;
    try {
      outcome = await readDecideApply(event, flowRunId, scoped, (run) => {
        state = runState(run);
        lastRead = run;
      });
    } catch (error) {
      if (!isNotFound(error) || error.operation !== 'readFlowRun') throw error;
      outcome = { flowRunId, action: 'run-not-found', reason: 'the flow run no longer exists' };
    }
    if (detail.lastStatus === 'STOPPED') {
      outcome.deregister = await deregister(event, lastRead, scoped);
    }
    if (detail.lastStatus === 'STOPPED' && lastRead && deps.workerEvents) {
      outcome.workerEvents = await publishExecuted(event, lastRead, deps.workerEvents, logger);
    }
    logger.info('Reported an ECS task state change', {
      ecs_status: logField(detail.lastStatus),
      stop_code: logField(detail.stopCode),
      run_state: state,
      action: outcome.action,
      reason: outcome.reason,
      prefect_status: outcome.status,
      duplicate: outcome.duplicate,
      log_lines_forwarded: outcome.logTail?.lines,
      task_definition: outcome.deregister,
      worker_events: outcome.workerEvents,
    });
    return outcome;
  } catch (error) {
    logger.error('Could not report the ECS task state change; the event will be retried', {
      ecs_status: logField(detail.lastStatus),
      retryable: isRetryable(error),
      error: errorField(error),
    });
    throw error;
  }
};
