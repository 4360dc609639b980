/**
 * Following launched ECS tasks with DescribeTasks, for a process that cannot receive EventBridge:
 * once per interval, one DescribeTasks call per cluster for every task followed there (at most 100
 * ARNs per call, ECS's limit), and an "ECS Task State Change" event (`task-event.ts`) whenever a
 * task's `lastStatus` differs from the last one seen. A task is followed until it is STOPPED (its
 * STOPPED event is the last), or until ECS no longer knows it (`MISSING`).
 *
 * Statuses a task passes through between two rounds are not seen; the reporter handles any subset
 * of a lifecycle, in any order, so only the interval's latency is lost.
 */
import type { Task } from '@aws-sdk/client-ecs';
import type { LaunchLogger } from '../launch/launch-logger.ts';
import { clusterArnOfTask } from '../launch/start-task.ts';
import {
  type DescribedEcsTask,
  type FollowedTaskEvent,
  taskStateChangeEventOf,
} from './task-event.ts';

/** ECS's limit of tasks per DescribeTasks call. */
export const MAX_TASKS_PER_DESCRIBE = 100;

/** What one DescribeTasks call answers (the SDK's output fits). */
export interface DescribeTasksAnswer {
  tasks?: Task[] | undefined;
  failures?: { arn?: string | undefined; reason?: string | undefined }[] | undefined;
}

/** One DescribeTasks call: the cluster (name or ARN) and at most 100 task ARNs. */
export type DescribeTasksCall = (
  cluster: string,
  taskArns: readonly string[]
) => Promise<DescribeTasksAnswer>;

/** Options of {@link TaskFollower}. */
export interface TaskFollowerOptions {
  describeTasks: DescribeTasksCall;
  /** Receives each event; may be async (not awaited: delivery is the caller's business). */
  onEvent: (event: FollowedTaskEvent) => void;
  /** Milliseconds between rounds (default 5 000). */
  intervalMs?: number;
  logger: LaunchLogger;
  now?: () => Date;
}

interface Followed {
  taskArn: string;
  /** The DescribeTasks of the task's account and region (its run's AWS credentials). */
  describe: DescribeTasksCall;
  /** The cluster DescribeTasks is asked about (the ARN from the task ARN when it has one). */
  cluster: string;
  lastStatus: string | undefined;
}

/** What one round did. */
export interface FollowRound {
  /** DescribeTasks calls made, by cluster. */
  calls: { cluster: string; tasks: number }[];
  events: number;
  /** Tasks no longer followed after this round (STOPPED or MISSING). */
  finished: number;
  errors: string[];
}

/**
 * @example
 * const follower = new TaskFollower({ describeTasks, onEvent: deliver, intervalMs: 5000, logger });
 * follower.start();
 * follower.follow(taskArn, 'prefect');
 */
export class TaskFollower {
  private readonly describeTasks: DescribeTasksCall;
  private readonly onEvent: (event: FollowedTaskEvent) => void;
  private readonly intervalMs: number;
  private readonly logger: LaunchLogger;
  private readonly now: () => Date;
  private readonly followed = new Map<string, Followed>();
  private timer: NodeJS.Timeout | undefined;
  private inFlight: Promise<FollowRound> | undefined;
  private stopped = false;
  /** Rounds made so far. */
  rounds = 0;

  constructor(options: TaskFollowerOptions) {
    this.describeTasks = options.describeTasks;
    this.onEvent = options.onEvent;
    this.intervalMs = options.intervalMs ?? 5_000;
    this.logger = options.logger;
    this.now = options.now ?? (() => new Date());
  }

  /**
   * Follows a task (again a no-op when it is followed already). `cluster` is what DescribeTasks is
   * asked with when the task ARN does not name its cluster (the old ARN format); `describe`, the
   * DescribeTasks of the task's account and region when it is not the follower's own (a pool whose
   * `aws_credentials` reach another account or region).
   */
  follow(taskArn: string, cluster?: string, describe?: DescribeTasksCall): void {
    if (this.followed.has(taskArn)) return;
    const clusterKey = clusterArnOfTask(taskArn) ?? cluster ?? 'default';
    this.followed.set(taskArn, {
      taskArn,
      describe: describe ?? this.describeTasks,
      cluster: clusterKey,
      lastStatus: undefined,
    });
    this.logger.debug('Following ECS task', { ecs_task_arn: taskArn, cluster: clusterKey });
  }

  /** The task ARNs followed now. */
  following(): string[] {
    return [...this.followed.keys()];
  }

  /** Starts the rounds: one every interval, never two at once. */
  start(): void {
    if (this.stopped || this.timer !== undefined) return;
    this.schedule();
  }

  /** Stops the rounds and waits for the one in flight. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    await this.inFlight?.catch(() => undefined);
  }

  /** One round now (also what the timer runs). Never throws: failures are logged and retried. */
  async round(): Promise<FollowRound> {
    if (this.inFlight !== undefined) return this.inFlight;
    this.inFlight = this.describeAll().finally(() => {
      this.inFlight = undefined;
    });
    return this.inFlight;
  }

  private schedule(): void {
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.round().finally(() => {
        if (!this.stopped) this.schedule();
      });
    }, this.intervalMs);
  }

  private async describeAll(): Promise<FollowRound> {
    this.rounds += 1;
    const result: FollowRound = { calls: [], events: 0, finished: 0, errors: [] };
    // One DescribeTasks per account-and-region client and cluster (cluster ARNs name both).
    const groups = new Map<string, { describe: DescribeTasksCall; tasks: Followed[] }>();
    const clients = new Map<DescribeTasksCall, number>();
    for (const task of this.followed.values()) {
      if (!clients.has(task.describe)) clients.set(task.describe, clients.size);
      const key = `${clients.get(task.describe)}\u0000${task.cluster}`;
      const group = groups.get(key) ?? { describe: task.describe, tasks: [] };
      group.tasks.push(task);
      groups.set(key, group);
    }
    await Promise.all(
      [...groups.values()].map(async ({ describe, tasks }) => {
        const cluster = tasks[0]?.cluster ?? 'default';
        for (let start = 0; start < tasks.length; start += MAX_TASKS_PER_DESCRIBE) {
          const chunk = tasks.slice(start, start + MAX_TASKS_PER_DESCRIBE);
          result.calls.push({ cluster, tasks: chunk.length });
          await this.describeChunk(describe, cluster, chunk, result);
        }
      })
    );
    return result;
  }

  private async describeChunk(
    describe: DescribeTasksCall,
    cluster: string,
    chunk: readonly Followed[],
    result: FollowRound
  ): Promise<void> {
    let answer: DescribeTasksAnswer;
    try {
      answer = await describe(
        cluster,
        chunk.map((task) => task.taskArn)
      );
    } catch (error) {
      const message = `DescribeTasks failed for ${chunk.length} task(s) on ${cluster}: ${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}; trying again next round`;
      result.errors.push(message);
      this.logger.warn(message, { cluster });
      return;
    }
    const observedAt = this.now();
    for (const task of answer.tasks ?? []) {
      if (task.taskArn === undefined || task.lastStatus === undefined) continue;
      const followed = this.followed.get(task.taskArn);
      if (!followed) continue;
      if (task.lastStatus !== followed.lastStatus) {
        followed.lastStatus = task.lastStatus;
        result.events += 1;
        this.emit(taskStateChangeEventOf(task as DescribedEcsTask, observedAt));
      }
      if (task.lastStatus === 'STOPPED') {
        this.followed.delete(task.taskArn);
        result.finished += 1;
      }
    }
    for (const failure of answer.failures ?? []) {
      if (failure.arn === undefined || !this.followed.has(failure.arn)) continue;
      if (failure.reason !== 'MISSING') continue;
      this.followed.delete(failure.arn);
      result.finished += 1;
      this.logger.warn('ECS no longer knows a followed task; no longer following it', {
        ecs_task_arn: failure.arn,
        cluster,
      });
    }
  }

  private emit(event: FollowedTaskEvent): void {
    try {
      this.onEvent(event);
    } catch (error) {
      this.logger.error('The task event consumer threw', {
        ecs_task_arn: event.detail.taskArn,
        error: error instanceof Error ? error.message : String(error),
      });
    }
  }
}
