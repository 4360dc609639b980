import type { ClusterRecord, ClusterStore } from './clusters.ts';
import { type AccountContext, isArn, parseOwnArn, taskArn } from './ecs-arns.ts';
import { invalidParameter } from './ecs-errors.ts';
import { decodeToken, encodeToken } from './task-definitions.ts';
import type { Lifecycle } from './task-lifecycle.ts';
import { renderTask, type TaskRecord } from './tasks.ts';

/** ECS forgets a stopped task about an hour after it stops: DescribeTasks answers MISSING. */
const STOPPED_VISIBLE_MS = 60 * 60 * 1000;

export interface TaskQueryDeps {
  ctx: AccountContext;
  now: () => Date;
  clusters: ClusterStore;
  lifecycle: Lifecycle;
  tasks: Map<string, TaskRecord>;
}

interface ListTasksInput {
  cluster?: string;
  containerInstance?: string;
  family?: string;
  nextToken?: string;
  maxResults?: number;
  startedBy?: string;
  serviceName?: string;
  desiredStatus?: string;
  launchType?: string;
}

export interface TaskQueries {
  describeTasks(input: { cluster?: string; tasks: string[]; include?: string[] }): {
    tasks: Record<string, unknown>[];
    failures: { arn: string; reason: string }[];
  };
  stopTask(input: { cluster?: string; task: string; reason?: string }): {
    task: Record<string, unknown>;
  };
  listTasks(input: ListTasksInput): { taskArns: string[]; nextToken?: string };
}

export const createTaskQueries = (deps: TaskQueryDeps): TaskQueries => {
  const { ctx, now, clusters, lifecycle, tasks } = deps;

  const visible = (task: TaskRecord): boolean =>
    task.stoppedAt === undefined ||
    now().getTime() - task.stoppedAt.getTime() <= STOPPED_VISIBLE_MS;

  /** The task an identifier (ARN or ID) names in `cluster`, if ECS would still show it. */
  const find = (cluster: ClusterRecord, identifier: string): TaskRecord | undefined => {
    let id = identifier;
    if (isArn(identifier)) {
      const arn = parseOwnArn(ctx, identifier, 'task');
      if (!arn) return undefined;
      const parts = arn.resource.split('/');
      if (parts.length === 2 && parts[0] !== cluster.name) {
        throw invalidParameter(
          `Invalid identifier: Identifier is for cluster ${parts[0]}. Your cluster is ${cluster.name}`
        );
      }
      id = parts.at(-1) ?? '';
    }
    const task = tasks.get(taskArn(ctx, cluster.name, id));
    return task && visible(task) ? task : undefined;
  };

  return {
    describeTasks(input) {
      if (input.tasks.length === 0) throw invalidParameter('Tasks cannot be empty.');
      if (input.tasks.length > 100) {
        throw invalidParameter('Tasks cannot have more than 100 elements.');
      }
      const cluster = clusters.resolve(input.cluster);
      const includeTags = input.include?.includes('TAGS') ?? false;
      const found: Record<string, unknown>[] = [];
      const failures: { arn: string; reason: string }[] = [];
      for (const identifier of input.tasks) {
        const task = find(cluster, identifier);
        if (task) {
          found.push(renderTask(task, includeTags));
        } else {
          const arn = isArn(identifier) ? identifier : taskArn(ctx, cluster.name, identifier);
          failures.push({ arn, reason: 'MISSING' });
        }
      }
      return { tasks: found, failures };
    },

    stopTask(input) {
      const cluster = clusters.resolve(input.cluster);
      const task = find(cluster, input.task);
      if (!task) throw invalidParameter('The referenced task was not found.');
      if (input.reason !== undefined && input.reason.length > 1024) {
        throw invalidParameter('The reason must be at most 1024 characters long.');
      }
      lifecycle.userStop(task, input.reason);
      return { task: renderTask(task, false) };
    },

    listTasks(input) {
      const cluster = clusters.resolve(input.cluster);
      if (
        input.startedBy !== undefined &&
        (input.family !== undefined ||
          input.desiredStatus !== undefined ||
          input.launchType !== undefined ||
          input.serviceName !== undefined ||
          input.containerInstance !== undefined)
      ) {
        throw invalidParameter('startedBy must be the only filter when listing tasks.');
      }
      const maxResults = input.maxResults ?? 100;
      if (maxResults < 1 || maxResults > 100) {
        throw invalidParameter('maxResults must be between 1 and 100.');
      }
      const desired = input.desiredStatus ?? 'RUNNING';
      const matching = [...tasks.values()].filter(
        (task) =>
          task.cluster === cluster &&
          visible(task) &&
          task.desiredStatus === desired &&
          (input.startedBy === undefined || task.startedBy === input.startedBy) &&
          (input.family === undefined || task.taskDefinition.family === input.family) &&
          (input.launchType === undefined || task.launchType === input.launchType) &&
          input.serviceName === undefined
      );
      const start = input.nextToken === undefined ? 0 : decodeToken(input.nextToken);
      const page = matching.slice(start, start + maxResults);
      const next =
        start + maxResults < matching.length ? encodeToken(start + maxResults) : undefined;
      return {
        taskArns: page.map((task) => task.arn),
        ...(next === undefined ? {} : { nextToken: next }),
      };
    },
  };
};
