import { AwsServiceError, type JsonService } from '../aws/service.ts';
import { createClusterStore } from './clusters.ts';
import type { AccountContext } from './ecs-arns.ts';
import { throttled } from './ecs-errors.ts';
import { assertEcsInput, ecsModel, isEcsOperation } from './ecs-input.ts';
import {
  createRunTask,
  type NetworkLookup,
  type RunTaskFailure,
  type RunTaskInput,
} from './run-task.ts';
import { createTagging } from './tagging.ts';
import { createTaskDefinitionStore, type RegisterTaskDefinitionInput } from './task-definitions.ts';
import { createEventBus, type EventBus } from './task-events.ts';
import { createLifecycle } from './task-lifecycle.ts';
import { createTaskQueries } from './task-queries.ts';
import { snapshotTask, type TaskRecord } from './tasks.ts';
import type { EcsControl, EcsTaskSnapshot, TaskPlan } from './types.ts';

export interface EcsServiceOptions extends AccountContext {
  now: () => Date;
  /** Subnets and security groups RunTask must find (the EC2 stand-in); format checks only without. */
  network?: NetworkLookup;
  /** The plan of tasks no `setPlan` matcher picks. */
  taskPlan?: TaskPlan;
}

/** The ECS control plane: a JsonService for the HTTP server plus its programming hooks. */
export interface EcsService extends JsonService {
  readonly control: EcsControl;
  readonly bus: EventBus;
  /** Stops pending lifecycle timers. */
  close(): void;
}

type Handler = (input: never) => unknown;

export const createEcsService = (options: EcsServiceOptions): EcsService => {
  const ctx: AccountContext = { region: options.region, accountId: options.accountId };
  const { now } = options;
  const tasks = new Map<string, TaskRecord>();
  const failures: RunTaskFailure[] = [];
  const throttles = new Map<string, number>();
  const bus = createEventBus();
  const lifecycle = createLifecycle(ctx, now, bus, options.taskPlan);

  const clusters = createClusterStore(ctx, (clusterName) => {
    let running = 0;
    let pending = 0;
    for (const task of tasks.values()) {
      if (task.cluster.name !== clusterName) continue;
      if (task.lastStatus === 'RUNNING') running += 1;
      else if (task.lastStatus !== 'STOPPED') pending += 1;
    }
    return { running, pending };
  });
  const taskDefinitions = createTaskDefinitionStore(ctx, now);
  const runTask = createRunTask({
    ctx,
    now,
    clusters,
    taskDefinitions,
    lifecycle,
    tasks,
    failures,
    ...(options.network ? { network: options.network } : {}),
  });
  const queries = createTaskQueries({ ctx, now, clusters, lifecycle, tasks });
  const tagging = createTagging(clusters, taskDefinitions, tasks);

  const handlers: Record<string, Handler> = {
    CreateCluster: (input: Parameters<typeof clusters.create>[0]) => clusters.create(input),
    DescribeClusters: (input: Parameters<typeof clusters.describe>[0]) => clusters.describe(input),
    ListClusters: () => clusters.list(),
    RegisterTaskDefinition: (input: RegisterTaskDefinitionInput) => taskDefinitions.register(input),
    DescribeTaskDefinition: (input: Parameters<typeof taskDefinitions.describe>[0]) =>
      taskDefinitions.describe(input),
    DeregisterTaskDefinition: (input: Parameters<typeof taskDefinitions.deregister>[0]) =>
      taskDefinitions.deregister(input),
    ListTaskDefinitions: (input: Parameters<typeof taskDefinitions.list>[0]) =>
      taskDefinitions.list(input),
    RunTask: (input: RunTaskInput) => runTask(input),
    StopTask: (input: Parameters<typeof queries.stopTask>[0]) => queries.stopTask(input),
    DescribeTasks: (input: Parameters<typeof queries.describeTasks>[0]) =>
      queries.describeTasks(input),
    ListTasks: (input: Parameters<typeof queries.listTasks>[0]) => queries.listTasks(input),
    TagResource: (input: Parameters<typeof tagging.tagResource>[0]) => tagging.tagResource(input),
    UntagResource: (input: Parameters<typeof tagging.untagResource>[0]) =>
      tagging.untagResource(input),
    ListTagsForResource: (input: Parameters<typeof tagging.listTagsForResource>[0]) =>
      tagging.listTagsForResource(input),
  };

  const taskNamed = (taskArnOrId: string): TaskRecord => {
    const task =
      tasks.get(taskArnOrId) ??
      [...tasks.values()].find((candidate) => candidate.id === taskArnOrId);
    if (!task) throw new Error(`The ECS stand-in has no task ${taskArnOrId}`);
    return task;
  };

  const afterDelivery = async (task: TaskRecord): Promise<EcsTaskSnapshot> => {
    await bus.settled();
    return snapshotTask(task);
  };

  const control: EcsControl = {
    failNextRunTask(reason, times = 1, failOptions = {}) {
      failures.push({ reason, times, options: failOptions });
    },
    throttle(operation, times = 1) {
      throttles.set(operation, (throttles.get(operation) ?? 0) + times);
    },
    setPlan: (matcher, plan) => lifecycle.setPlan(matcher, plan),
    clearPlans: () => lifecycle.clearPlans(),
    async advance(taskArn, to) {
      const task = taskNamed(taskArn);
      lifecycle.advance(task, to);
      return afterDelivery(task);
    },
    async runToCompletion(taskArn, completion) {
      const task = taskNamed(taskArn);
      lifecycle.runToCompletion(task, completion);
      return afterDelivery(task);
    },
    async failToStart(taskArn, failure) {
      const task = taskNamed(taskArn);
      lifecycle.failToStart(task, failure);
      return afterDelivery(task);
    },
    async redeliver(event) {
      void bus.redeliver(event);
      await bus.settled();
    },
    setContainerInstances(cluster, count) {
      const record = clusters.get(cluster) ?? clusters.byArn(cluster);
      if (!record) throw new Error(`The ECS stand-in has no cluster ${cluster}`);
      record.containerInstances = count;
    },
    task(taskArnOrId) {
      const task =
        tasks.get(taskArnOrId) ??
        [...tasks.values()].find((candidate) => candidate.id === taskArnOrId);
      return task ? snapshotTask(task) : undefined;
    },
    tasks: () => [...tasks.values()].map(snapshotTask),
    settled: () => bus.settled(),
  };

  return {
    targetPrefix: ecsModel().metadata.targetPrefix ?? 'AmazonEC2ContainerServiceV20141113',
    control,
    bus,
    close: () => lifecycle.close(),
    handle(operation, input) {
      if (!isEcsOperation(operation)) {
        throw new AwsServiceError(
          'UnknownOperationException',
          `Operation ${operation} is not supported by this service.`
        );
      }
      const pendingThrottles = throttles.get(operation) ?? 0;
      if (pendingThrottles > 0) {
        throttles.set(operation, pendingThrottles - 1);
        throw throttled();
      }
      assertEcsInput(operation, input);
      const handler = handlers[operation];
      if (!handler) {
        throw new AwsServiceError(
          'NotImplementedByStandin',
          `The ECS stand-in does not implement ${operation}.`,
          501
        );
      }
      return handler((input ?? {}) as never);
    },
  };
};
