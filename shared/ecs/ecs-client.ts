/**
 * The `@aws-sdk/client-ecs` adapter of the {@link EcsApi} port. Throttling, 5xx and network failures
 * are retried by the SDK's own retry strategy (configure `maxAttempts` on the client); what is left
 * is mapped to an `EcsApiError` whose `retryable` says whether the queue should redeliver, and whose
 * message says what to fix when it should not.
 */
import {
  DeregisterTaskDefinitionCommand,
  DescribeTaskDefinitionCommand,
  DescribeTasksCommand,
  type ECSClient,
  ListTasksCommand,
  RegisterTaskDefinitionCommand,
  RunTaskCommand,
  StopTaskCommand,
  type Tag,
  type Task,
  type TaskDefinition,
} from '@aws-sdk/client-ecs';
import { EcsApiError } from '../errors/ecs-api-error.ts';
import { attemptOfTask } from './attempt-marker.ts';
import {
  CONCURRENT_REGISTRATION_MESSAGE,
  type DescribedTask,
  type DescribedTaskDefinition,
  type EcsApi,
  type EcsTag,
  type EcsTaskCleanup,
  type EcsTaskControl,
  type LiveTask,
  type RunTaskFailure,
  type StartedTask,
} from './ecs-api.ts';

/** Error codes worth trying again later. */
const RETRYABLE_CODES = new Set([
  'ThrottlingException',
  'Throttling',
  'TooManyRequestsException',
  'RequestLimitExceeded',
  'ServerException',
  'ServiceUnavailable',
  'ServiceUnavailableException',
  'InternalFailure',
  'InternalError',
  'RequestTimeout',
  'RequestTimeoutException',
  'TimeoutError',
  'NetworkError',
  'UpdateInProgressException',
]);

interface SdkErrorShape {
  name?: string;
  message?: string;
  $fault?: 'client' | 'server';
  $metadata?: { httpStatusCode?: number; requestId?: string };
  code?: string;
}

const describeCode = (error: unknown): string => {
  if (!(error instanceof Error)) return 'Unknown';
  const shape = error as SdkErrorShape;
  if (shape.$metadata?.httpStatusCode === undefined && (error.name === 'Error' || shape.code)) {
    // No HTTP answer: connection refused/reset, DNS, socket timeout.
    return 'NetworkError';
  }
  return error.name;
};

/** Classifies an SDK error: retryable for throttling, 5xx, network; permanent otherwise. */
const isRetryableSdkError = (code: string, error: unknown): boolean => {
  const shape = error as SdkErrorShape;
  const status = shape.$metadata?.httpStatusCode;
  if (RETRYABLE_CODES.has(code)) return true;
  if (status !== undefined && status >= 500) return true;
  if (code === 'ClientException' && shape.message?.includes(CONCURRENT_REGISTRATION_MESSAGE)) {
    return true;
  }
  // "TaskDefinition is inactive": someone deregistered the revision we remembered; the launcher
  // forgets it and registers again on the next delivery.
  if (
    code === 'InvalidParameterException' &&
    /TaskDefinition is inactive/i.test(shape.message ?? '')
  ) {
    return true;
  }
  return false;
};

/** Context for messages that say what to fix. */
export interface EcsClientOptions {
  /** The region the client talks to, for messages (e.g. "not found in us-east-1"). */
  region?: string;
}

const NETWORK_HINT = /subnet|security ?group|vpc|network/i;

/** A sentence a person can act on, for the permanent errors we know. */
const fixFor = (
  operation: string,
  code: string,
  message: string,
  input: { cluster?: string | undefined },
  region: string | undefined
): string | undefined => {
  const where = region ? ` in ${region}` : '';
  switch (code) {
    case 'ClusterNotFoundException':
      return `ECS cluster '${input.cluster ?? 'default'}' was not found${where}. Create it, or set the work pool's (or deployment's) \`cluster\` job variable to an existing cluster name or ARN.`;
    case 'AccessDeniedException':
      return /PassRole/i.test(message)
        ? "The launcher's IAM role may not pass the task or execution role (iam:PassRole). Allow iam:PassRole on the roles named in the job configuration (`task_role_arn`, `execution_role_arn`), with iam:PassedToService = ecs-tasks.amazonaws.com."
        : `The launcher's IAM role is not allowed to call ecs:${operation[0]?.toUpperCase()}${operation.slice(1)}. Grant it in the launcher's policy.`;
    case 'InvalidParameterException':
      if (NETWORK_HINT.test(message)) {
        return 'Check the `network_configuration` (subnets, securityGroups) and `vpc_id` job variables: every subnet and security group must exist and belong to the same VPC.';
      }
      if (/No Container Instances/i.test(message)) {
        return `The cluster has no container instances for the EC2 launch type. Register instances with cluster '${input.cluster ?? 'default'}', use a capacity provider, or set \`launch_type\` to FARGATE.`;
      }
      return undefined;
    case 'ClientException':
      return operation === 'registerTaskDefinition'
        ? 'ECS refused the task definition rendered from the work pool template and job variables; fix the template or variables named in the message.'
        : undefined;
    case 'PlatformUnknownException':
    case 'PlatformTaskDefinitionIncompatibilityException':
      return 'Check `platformVersion` in the task run request and the task definition compatibility.';
    case 'BlockedException':
      return 'The AWS account is blocked from ECS; contact AWS Support.';
    default:
      return undefined;
  }
};

const toEcsApiError = (
  operation: string,
  error: unknown,
  input: { cluster?: string | undefined },
  region: string | undefined
): EcsApiError => {
  const shape = error as SdkErrorShape;
  const code = describeCode(error);
  const retryable = isRetryableSdkError(code, error);
  const message = shape.message ?? String(error);
  const fix = retryable ? undefined : fixFor(operation, code, message, input, region);
  return new EcsApiError(
    `ECS ${operation} failed: ${code}: ${message}${fix ? ` ${fix}` : ''} (${retryable ? 'retryable' : 'not retryable'})`,
    {
      operation,
      code,
      status: shape.$metadata?.httpStatusCode,
      requestId: shape.$metadata?.requestId,
    },
    retryable,
    { cause: error }
  );
};

const toTags = (tags: Tag[] | undefined): EcsTag[] =>
  (tags ?? []).flatMap((tag) =>
    tag.key === undefined ? [] : [{ key: tag.key, value: tag.value ?? '' }]
  );

const toDescribed = (
  definition: TaskDefinition | undefined,
  tags: Tag[] | undefined,
  operation: string
): DescribedTaskDefinition => {
  const arn = definition?.taskDefinitionArn;
  if (definition === undefined || arn === undefined) {
    throw new EcsApiError(
      `ECS ${operation} answered without a task definition ARN (retryable)`,
      { operation, code: 'MalformedResponse' },
      true
    );
  }
  return { taskDefinition: { ...definition, taskDefinitionArn: arn }, tags: toTags(tags) };
};

const toStartedTask = (task: Task): StartedTask[] =>
  task.taskArn === undefined
    ? []
    : [
        {
          taskArn: task.taskArn,
          clusterArn: task.clusterArn,
          taskDefinitionArn: task.taskDefinitionArn,
          desiredStatus: task.desiredStatus,
          lastStatus: task.lastStatus,
          createdAt: task.createdAt,
          attempt: attemptOfTask(task.overrides),
        },
      ];

/**
 * Creates the ECS adapter over an SDK client the caller built (region, endpoint, `maxAttempts`).
 *
 * @example
 * const ecs = createEcsClient(new ECSClient({ maxAttempts: 4 }), { region: 'us-east-1' });
 * await ecs.runTask(runTaskInput);
 */
export const createEcsClient = (
  client: ECSClient,
  options: EcsClientOptions = {}
): EcsApi & EcsTaskControl & EcsTaskCleanup => {
  const { region } = options;
  return {
    async registerTaskDefinition(input) {
      try {
        const output = await client.send(new RegisterTaskDefinitionCommand(input));
        return toDescribed(output.taskDefinition, output.tags, 'registerTaskDefinition');
      } catch (error) {
        if (error instanceof EcsApiError) throw error;
        throw toEcsApiError('registerTaskDefinition', error, {}, region);
      }
    },

    async describeTaskDefinition(familyOrArn, describeOptions = {}) {
      try {
        const output = await client.send(
          new DescribeTaskDefinitionCommand({
            taskDefinition: familyOrArn,
            ...(describeOptions.includeTags ? { include: ['TAGS'] } : {}),
          })
        );
        return toDescribed(output.taskDefinition, output.tags, 'describeTaskDefinition');
      } catch (error) {
        if (error instanceof EcsApiError) throw error;
        const shape = error as SdkErrorShape;
        if (
          shape.name === 'ClientException' &&
          /unable to describe task definition/i.test(shape.message ?? '')
        ) {
          return undefined;
        }
        throw toEcsApiError('describeTaskDefinition', error, {}, region);
      }
    },

    async runTask(input) {
      try {
        const output = await client.send(new RunTaskCommand(input));
        return {
          tasks: (output.tasks ?? []).flatMap(toStartedTask),
          failures: (output.failures ?? []).map(
            (failure): RunTaskFailure => ({
              arn: failure.arn,
              reason: failure.reason ?? 'UNKNOWN',
              detail: failure.detail,
            })
          ),
        };
      } catch (error) {
        throw toEcsApiError('runTask', error, { cluster: input.cluster }, region);
      }
    },

    async listLiveTasksStartedBy(cluster, startedBy) {
      const arns: string[] = [];
      let nextToken: string | undefined;
      try {
        do {
          const output = await client.send(
            new ListTasksCommand({
              ...(cluster === undefined ? {} : { cluster }),
              startedBy,
              ...(nextToken === undefined ? {} : { nextToken }),
            })
          );
          arns.push(...(output.taskArns ?? []));
          nextToken = output.nextToken;
        } while (nextToken !== undefined && arns.length < 1000);
      } catch (error) {
        throw toEcsApiError('listTasks', error, { cluster }, region);
      }
      const live: LiveTask[] = [];
      try {
        // DescribeTasks takes at most 100 tasks per call; ListTasks listed only live ones.
        for (let start = 0; start < arns.length; start += 100) {
          const output = await client.send(
            new DescribeTasksCommand({
              ...(cluster === undefined ? {} : { cluster }),
              tasks: arns.slice(start, start + 100),
            })
          );
          for (const task of output.tasks ?? []) {
            if (task.taskArn === undefined || task.desiredStatus === 'STOPPED') continue;
            live.push({
              taskArn: task.taskArn,
              createdAt: task.createdAt,
              attempt: attemptOfTask(task.overrides),
            });
          }
        }
      } catch (error) {
        throw toEcsApiError('describeTasks', error, { cluster }, region);
      }
      return live;
    },

    async describeTasks(cluster, taskArns) {
      const tasks: DescribedTask[] = [];
      const failures: RunTaskFailure[] = [];
      try {
        // DescribeTasks takes at most 100 tasks per call.
        for (let start = 0; start < taskArns.length; start += 100) {
          const output = await client.send(
            new DescribeTasksCommand({
              ...(cluster === undefined ? {} : { cluster }),
              tasks: taskArns.slice(start, start + 100),
            })
          );
          for (const task of output.tasks ?? []) {
            if (task.taskArn === undefined) continue;
            tasks.push({
              taskArn: task.taskArn,
              lastStatus: task.lastStatus,
              desiredStatus: task.desiredStatus,
              createdAt: task.createdAt,
              attempt: attemptOfTask(task.overrides),
              stopCode: task.stopCode,
              stoppedReason: task.stoppedReason,
            });
          }
          for (const failure of output.failures ?? []) {
            failures.push({
              arn: failure.arn,
              reason: failure.reason ?? 'UNKNOWN',
              detail: failure.detail,
            });
          }
        }
      } catch (error) {
        throw toEcsApiError('describeTasks', error, { cluster }, region);
      }
      return { tasks, failures };
    },

    async stopTask(cluster, taskArn, reason) {
      try {
        const output = await client.send(
          new StopTaskCommand({
            ...(cluster === undefined ? {} : { cluster }),
            task: taskArn,
            reason: reason.slice(0, 1024),
          })
        );
        return output.task === undefined ? undefined : toStartedTask(output.task)[0];
      } catch (error) {
        const shape = error as SdkErrorShape;
        if (
          shape.name === 'InvalidParameterException' &&
          /referenced task was not found/i.test(shape.message ?? '')
        ) {
          return undefined;
        }
        throw toEcsApiError('stopTask', error, { cluster }, region);
      }
    },

    async describeTaskTags(cluster, taskArn) {
      try {
        const output = await client.send(
          new DescribeTasksCommand({ cluster, tasks: [taskArn], include: ['TAGS'] })
        );
        const task = output.tasks?.find((candidate) => candidate.taskArn !== undefined);
        return task === undefined ? undefined : toTags(task.tags);
      } catch (error) {
        throw toEcsApiError('describeTasks', error, { cluster }, region);
      }
    },

    async deregisterTaskDefinition(taskDefinition) {
      try {
        await client.send(new DeregisterTaskDefinitionCommand({ taskDefinition }));
      } catch (error) {
        throw toEcsApiError('deregisterTaskDefinition', error, {}, region);
      }
    },
  };
};
