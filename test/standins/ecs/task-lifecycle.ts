import { createHash, randomInt } from 'node:crypto';
import type { AccountContext } from './ecs-arns.ts';
import { buildTaskEvent, type EventBus } from './task-events.ts';
import { snapshotTask, type TaskRecord } from './tasks.ts';
import type {
  CompletionOptions,
  FailToStartOptions,
  TaskMatcher,
  TaskOutcome,
  TaskPlan,
  TaskStatus,
} from './types.ts';

const DEFAULT_STEP_MS = 5;
const ORDER: readonly TaskStatus[] = ['PROVISIONING', 'PENDING', 'RUNNING', 'STOPPED'];

export const ESSENTIAL_EXITED = 'Essential container in task exited';
export const USER_STOPPED = 'Task stopped by user';

export interface Lifecycle {
  /** Emits the first event of a task just created by RunTask and starts its plan's clock. */
  started(task: TaskRecord): void;
  advance(task: TaskRecord, to?: TaskStatus): void;
  runToCompletion(task: TaskRecord, options?: CompletionOptions): void;
  failToStart(task: TaskRecord, options: FailToStartOptions): void;
  /** StopTask: desired STOPPED now, STOPPED shortly after. */
  userStop(task: TaskRecord, reason: string | undefined): void;
  setPlan(matcher: TaskMatcher, plan: TaskPlan): () => void;
  clearPlans(): void;
  planFor(task: TaskRecord): TaskPlan | undefined;
  close(): void;
}

const matches = (matcher: TaskMatcher, task: TaskRecord): boolean => {
  if (typeof matcher === 'function') return matcher(snapshotTask(task));
  if (matcher.family !== undefined && matcher.family !== task.taskDefinition.family) return false;
  if (matcher.group !== undefined && matcher.group !== task.group) return false;
  if (
    matcher.cluster !== undefined &&
    matcher.cluster !== task.cluster.name &&
    matcher.cluster !== task.cluster.arn
  ) {
    return false;
  }
  if (matcher.startedBy !== undefined) {
    if (task.startedBy === undefined) return false;
    if (typeof matcher.startedBy === 'string') return matcher.startedBy === task.startedBy;
    return matcher.startedBy.test(task.startedBy);
  }
  return true;
};

const stepDelay = (plan: TaskPlan | undefined): number | undefined => {
  const auto = plan?.autoAdvance;
  if (auto === undefined || auto === false) return undefined;
  return auto === true ? DEFAULT_STEP_MS : (auto.delayMs ?? DEFAULT_STEP_MS);
};

const digestOf = (image: string): string =>
  `sha256:${createHash('sha256').update(image).digest('hex')}`;

/** The state machine behind a task's events: every change bumps `version` and emits one event. */
export const createLifecycle = (
  ctx: AccountContext,
  now: () => Date,
  bus: EventBus,
  fallbackPlan?: TaskPlan
): Lifecycle => {
  const plans: { matcher: TaskMatcher; plan: TaskPlan }[] = [];
  const timers = new Map<string, NodeJS.Timeout>();

  const emit = (task: TaskRecord, bump = true): void => {
    const at = now();
    if (bump) task.version += 1;
    task.updatedAt = at;
    void bus.publish(buildTaskEvent(ctx, task, at));
  };

  const cancelTimer = (task: TaskRecord): void => {
    const timer = timers.get(task.id);
    if (timer) clearTimeout(timer);
    timers.delete(task.id);
  };

  const toPending = (task: TaskRecord): void => {
    const at = now();
    if (task.eni) {
      task.eni.status = 'ATTACHED';
      task.connectivityAt = at;
    }
    task.pullStartedAt ??= at;
    task.lastStatus = 'PENDING';
    emit(task);
  };

  const toRunning = (task: TaskRecord): void => {
    const at = now();
    task.pullStoppedAt = at;
    task.startedAt = at;
    for (const container of task.containers) {
      container.lastStatus = 'RUNNING';
      container.runtimeId = `${task.id}-${randomInt(1_000_000_000, 9_999_999_999)}`;
      container.imageDigest = digestOf(container.image);
    }
    task.lastStatus = 'RUNNING';
    emit(task);
  };

  /** desiredStatus STOPPED; the containers may have exited already (then executionStoppedAt). */
  const beginStop = (task: TaskRecord, stopCode: string, stoppedReason: string): void => {
    task.desiredStatus = 'STOPPED';
    task.stopCode = stopCode;
    task.stoppedReason = stoppedReason;
    task.stoppingAt = now();
  };

  const finishStop = (task: TaskRecord): void => {
    cancelTimer(task);
    const at = now();
    for (const container of task.containers) {
      if (container.lastStatus === 'RUNNING') container.exitCode ??= 143;
      container.lastStatus = 'STOPPED';
    }
    task.executionStoppedAt ??= at;
    if (task.eni) task.eni.status = 'DELETED';
    task.stoppedAt = at;
    task.lastStatus = 'STOPPED';
    emit(task);
  };

  const exit = (task: TaskRecord, options: CompletionOptions): void => {
    if (task.lastStatus === 'STOPPED') throw new Error(`Task ${task.arn} is already STOPPED`);
    if (task.desiredStatus === 'STOPPED') {
      finishStop(task);
      return;
    }
    if (task.lastStatus === 'PROVISIONING') toPending(task);
    if (task.lastStatus === 'PENDING') toRunning(task);
    beginStop(
      task,
      options.stopCode ?? 'EssentialContainerExited',
      options.stoppedReason ?? ESSENTIAL_EXITED
    );
    task.executionStoppedAt = task.stoppingAt;
    for (const container of task.containers) {
      container.lastStatus = 'STOPPED';
      container.exitCode =
        options.containerExitCodes?.[container.name] ??
        (container.essential ? (options.exitCode ?? 0) : 0);
      if (container.essential && options.containerReason !== undefined) {
        container.reason = options.containerReason;
      }
    }
    emit(task);
    finishStop(task);
  };

  const failToStart = (task: TaskRecord, options: FailToStartOptions): void => {
    if (task.lastStatus !== 'PROVISIONING' && task.lastStatus !== 'PENDING') {
      throw new Error(
        `Task ${task.arn} is ${task.lastStatus}; only a starting task can fail to start`
      );
    }
    if (task.desiredStatus === 'STOPPED') throw new Error(`Task ${task.arn} is already stopping`);
    beginStop(task, 'TaskFailedToStart', options.stoppedReason);
    task.executionStoppedAt = task.stoppingAt;
    for (const container of task.containers) {
      container.lastStatus = 'STOPPED';
      container.reason = options.containerReason ?? options.stoppedReason;
    }
    task.containersGone = options.withoutContainers === true;
    emit(task);
    finishStop(task);
  };

  const outcomeOf = (task: TaskRecord): TaskOutcome => task.plan?.outcome ?? { kind: 'exit' };

  /** One step along the task's plan. */
  const step = (task: TaskRecord): void => {
    if (task.lastStatus === 'STOPPED') throw new Error(`Task ${task.arn} is already STOPPED`);
    if (task.desiredStatus === 'STOPPED') {
      finishStop(task);
      return;
    }
    const outcome = outcomeOf(task);
    switch (task.lastStatus) {
      case 'PROVISIONING':
        toPending(task);
        return;
      case 'PENDING':
        if (outcome.kind === 'failToStart') failToStart(task, outcome);
        else toRunning(task);
        return;
      default:
        exit(task, outcome.kind === 'exit' ? outcome : {});
    }
  };

  const schedule = (task: TaskRecord): void => {
    const delay = stepDelay(task.plan);
    if (delay === undefined || task.lastStatus === 'STOPPED') return;
    const holds =
      outcomeOf(task).kind === 'keepRunning' &&
      task.lastStatus === 'RUNNING' &&
      task.desiredStatus === 'RUNNING';
    if (holds) return;
    cancelTimer(task);
    timers.set(
      task.id,
      setTimeout(() => {
        timers.delete(task.id);
        if (task.lastStatus === 'STOPPED') return;
        step(task);
        schedule(task);
      }, delay)
    );
  };

  return {
    started(task) {
      emit(task, false);
      schedule(task);
    },

    advance(task, to) {
      if (to === undefined) {
        step(task);
      } else {
        if (ORDER.indexOf(to) < ORDER.indexOf(task.lastStatus)) {
          throw new Error(`Task ${task.arn} is ${task.lastStatus}; it cannot go back to ${to}`);
        }
        while (task.lastStatus !== to && task.lastStatus !== 'STOPPED') step(task);
      }
      schedule(task);
    },

    runToCompletion(task, options = {}) {
      exit(task, options);
    },

    failToStart(task, options) {
      failToStart(task, options);
    },

    userStop(task, reason) {
      if (task.lastStatus === 'STOPPED' || task.desiredStatus === 'STOPPED') return;
      cancelTimer(task);
      beginStop(task, 'UserInitiated', reason ?? USER_STOPPED);
      emit(task);
      timers.set(
        task.id,
        setTimeout(() => {
          timers.delete(task.id);
          if (task.lastStatus !== 'STOPPED') finishStop(task);
        }, stepDelay(task.plan) ?? DEFAULT_STEP_MS)
      );
    },

    setPlan(matcher, plan) {
      const entry = { matcher, plan };
      plans.push(entry);
      return () => {
        const index = plans.indexOf(entry);
        if (index !== -1) plans.splice(index, 1);
      };
    },

    clearPlans() {
      plans.length = 0;
    },

    planFor(task) {
      return plans.findLast((entry) => matches(entry.matcher, task))?.plan ?? fallbackPlan;
    },

    close() {
      for (const timer of timers.values()) clearTimeout(timer);
      timers.clear();
    },
  };
};
