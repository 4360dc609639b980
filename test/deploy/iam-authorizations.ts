/**
 * What IAM authorizes for one AWS request: the action(s), the resource ARN and the request context,
 * as AWS's Service Authorization Reference describes them
 * (https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonelasticcontainerservice.html
 * and the pages of SQS, Secrets Manager, CloudWatch Logs, EC2 and IAM):
 *
 * - ecs:RunTask: resource `task-definition` (required); condition key `ecs:cluster` (the cluster ARN).
 *   Tags given at RunTask / RegisterTaskDefinition also need `ecs:TagResource` on the created
 *   resource with `ecs:CreateAction` = the creating action
 *   (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/supported-iam-actions-tagging.html).
 *   The roles the task will assume (the definition's or the overrides' execution and task roles)
 *   need `iam:PassRole` with `iam:PassedToService` = ecs-tasks.amazonaws.com.
 * - ecs:StopTask, ecs:DescribeTasks: resource `task` (required, one per task); condition keys
 *   `ecs:cluster` and `aws:ResourceTag/${TagKey}` (the task's tags).
 * - ecs:ListTasks: resource `container-instance`, which Fargate tasks have none of: `*`, with
 *   `ecs:cluster`.
 * - ecs:RegisterTaskDefinition: resource `task-definition`; ecs:DescribeTaskDefinition and
 *   ecs:DeregisterTaskDefinition: no resource type (`*`).
 * - sqs:*: resource `queue` (the queue ARN); the batch APIs are authorized as their single action.
 * - secretsmanager:GetSecretValue: resource `Secret` (its full ARN).
 * - ssm:GetParameter: resource `parameter` (`…:parameter/<name without its leading slash>`); a
 *   SecureString under the AWS-managed aws/ssm key needs no KMS permission of the caller.
 * - logs:GetLogEvents: resource `log-stream` (`…:log-group:<group>:log-stream:<stream>`).
 * - ec2:DescribeVpcs, ec2:DescribeSubnets: no resource type (`*`).
 */

/** One authorization IAM performs for a request. */
export interface Authorization {
  action: string;
  resource: string;
  context: Record<string, string | string[]>;
}

/** A request as the stand-ins recorded it. */
export interface RecordedRequest {
  service: 'ecs' | 'ec2' | 'secretsmanager' | 'logs' | 'sqs' | 'ssm';
  operation: string;
  input: unknown;
  output?: unknown;
}

/** What the mapping needs to know about the world beyond the request itself. */
export interface AuthorizationLookups {
  accountId: string;
  region: string;
  partition: string;
  /** The tags a task had when the request was made (undefined: unknown task). */
  taskTags(taskArn: string): readonly { key: string; value: string }[] | undefined;
  /** The execution and task role ARNs of a registered task definition. */
  taskDefinitionRoles(taskDefinitionArn: string): readonly string[];
  /** The ARN of the queue behind a queue URL. */
  queueArn(queueUrl: string): string;
}

const ECS_TASKS_SERVICE = 'ecs-tasks.amazonaws.com';

type Input = Record<string, unknown>;

const asRecord = (value: unknown): Input =>
  typeof value === 'object' && value !== null ? (value as Input) : {};

const tagContext = (
  prefix: 'aws:ResourceTag' | 'aws:RequestTag',
  tags: readonly { key?: string; value?: string }[]
): Record<string, string | string[]> =>
  Object.fromEntries(tags.map((tag) => [`${prefix}/${tag.key}`, tag.value ?? '']));

/** The ARN of a cluster named by name or ARN (ECS's default cluster when none). */
export const clusterArnOf = (cluster: unknown, lookups: AuthorizationLookups): string => {
  const name = typeof cluster === 'string' && cluster !== '' ? cluster : 'default';
  return name.startsWith('arn:')
    ? name
    : `arn:${lookups.partition}:ecs:${lookups.region}:${lookups.accountId}:cluster/${name}`;
};

const ecsArn = (lookups: AuthorizationLookups, path: string): string =>
  `arn:${lookups.partition}:ecs:${lookups.region}:${lookups.accountId}:${path}`;

/** A task named by id or ARN → its ARN (`task/<cluster name>/<id>`). */
const taskArnOf = (task: string, clusterArn: string, lookups: AuthorizationLookups): string =>
  task.startsWith('arn:') ? task : ecsArn(lookups, `task/${clusterArn.split('/').pop()}/${task}`);

/** A task definition named by family, family:revision or ARN → an ARN. */
const taskDefinitionArnOf = (
  taskDefinition: unknown,
  answered: unknown,
  lookups: AuthorizationLookups
): string => {
  if (typeof answered === 'string' && answered.startsWith('arn:')) return answered;
  const name = String(taskDefinition ?? '');
  if (name.startsWith('arn:')) return name;
  return ecsArn(lookups, `task-definition/${name.includes(':') ? name : `${name}:*`}`);
};

const passRoles = (roles: readonly unknown[]): Authorization[] =>
  [...new Set(roles.filter((role): role is string => typeof role === 'string' && role !== ''))].map(
    (role) => ({
      action: 'iam:PassRole',
      resource: role,
      context: { 'iam:PassedToService': ECS_TASKS_SERVICE },
    })
  );

const tagOnCreate = (
  createAction: string,
  resources: readonly string[],
  tags: readonly { key?: string; value?: string }[]
): Authorization[] =>
  tags.length === 0
    ? []
    : resources.map((resource) => ({
        action: 'ecs:TagResource',
        resource,
        context: {
          'ecs:CreateAction': createAction,
          'aws:TagKeys': tags.map((tag) => String(tag.key)),
          ...tagContext('aws:RequestTag', tags),
        },
      }));

const taskScoped = (
  action: string,
  taskArns: readonly string[],
  clusterArn: string,
  lookups: AuthorizationLookups
): Authorization[] =>
  taskArns.map((resource) => ({
    action,
    resource,
    context: {
      'ecs:cluster': clusterArn,
      ...tagContext('aws:ResourceTag', lookups.taskTags(resource) ?? []),
    },
  }));

const ecsAuthorizations = (
  operation: string,
  input: Input,
  output: Input,
  lookups: AuthorizationLookups
): Authorization[] => {
  const clusterArn = clusterArnOf(input.cluster, lookups);
  switch (operation) {
    case 'RunTask': {
      const tasks = (output.tasks ?? []) as { taskArn?: string; taskDefinitionArn?: string }[];
      const definitionArn = taskDefinitionArnOf(
        input.taskDefinition,
        tasks[0]?.taskDefinitionArn,
        lookups
      );
      const overrides = asRecord(input.overrides);
      const created =
        tasks.length > 0
          ? tasks.map((task) => String(task.taskArn))
          : [ecsArn(lookups, `task/${clusterArn.split('/').pop()}/*`)];
      return [
        { action: 'ecs:RunTask', resource: definitionArn, context: { 'ecs:cluster': clusterArn } },
        ...tagOnCreate('RunTask', created, (input.tags ?? []) as { key: string; value: string }[]),
        ...passRoles([
          overrides.executionRoleArn,
          overrides.taskRoleArn,
          ...lookups.taskDefinitionRoles(definitionArn),
        ]),
      ];
    }
    case 'StopTask':
      return taskScoped(
        'ecs:StopTask',
        [taskArnOf(String(input.task), clusterArn, lookups)],
        clusterArn,
        lookups
      );
    case 'DescribeTasks':
      return taskScoped(
        'ecs:DescribeTasks',
        ((input.tasks ?? []) as string[]).map((task) => taskArnOf(task, clusterArn, lookups)),
        clusterArn,
        lookups
      );
    case 'ListTasks':
      return [{ action: 'ecs:ListTasks', resource: '*', context: { 'ecs:cluster': clusterArn } }];
    case 'RegisterTaskDefinition': {
      const registered = asRecord(output.taskDefinition).taskDefinitionArn;
      const arn = taskDefinitionArnOf(input.family, registered, lookups);
      return [
        { action: 'ecs:RegisterTaskDefinition', resource: arn, context: {} },
        ...tagOnCreate(
          'RegisterTaskDefinition',
          [arn],
          (input.tags ?? []) as { key: string; value: string }[]
        ),
        ...passRoles([input.executionRoleArn, input.taskRoleArn]),
      ];
    }
    case 'DescribeTaskDefinition':
    case 'DeregisterTaskDefinition':
      return [{ action: `ecs:${operation}`, resource: '*', context: {} }];
    default:
      throw new Error(`No IAM mapping for ecs:${operation}: add it (with its SAR entry)`);
  }
};

/** SQS APIs → the action IAM checks (batch APIs are authorized as their single action). */
const SQS_ACTIONS: Readonly<Record<string, string>> = {
  SendMessage: 'sqs:SendMessage',
  SendMessageBatch: 'sqs:SendMessage',
  ReceiveMessage: 'sqs:ReceiveMessage',
  DeleteMessage: 'sqs:DeleteMessage',
  DeleteMessageBatch: 'sqs:DeleteMessage',
  ChangeMessageVisibility: 'sqs:ChangeMessageVisibility',
  ChangeMessageVisibilityBatch: 'sqs:ChangeMessageVisibility',
  GetQueueAttributes: 'sqs:GetQueueAttributes',
};

/**
 * The authorizations IAM performs for a recorded request.
 *
 * @example
 * authorizationsOf({ service: 'ecs', operation: 'ListTasks', input: { cluster: 'prefect' } }, lookups);
 * // [{ action: 'ecs:ListTasks', resource: '*', context: { 'ecs:cluster': 'arn:aws:ecs:…:cluster/prefect' } }]
 */
export const authorizationsOf = (
  request: RecordedRequest,
  lookups: AuthorizationLookups
): Authorization[] => {
  const input = asRecord(request.input);
  const output = asRecord(request.output);
  switch (request.service) {
    case 'ecs':
      return ecsAuthorizations(request.operation, input, output, lookups);
    case 'sqs': {
      const action = SQS_ACTIONS[request.operation];
      if (!action) throw new Error(`No IAM mapping for sqs:${request.operation}`);
      return [{ action, resource: lookups.queueArn(String(input.QueueUrl)), context: {} }];
    }
    case 'secretsmanager': {
      if (request.operation !== 'GetSecretValue') {
        throw new Error(`No IAM mapping for secretsmanager:${request.operation}`);
      }
      const answered = output.ARN;
      const resource = typeof answered === 'string' ? answered : String(input.SecretId);
      return [{ action: 'secretsmanager:GetSecretValue', resource, context: {} }];
    }
    case 'ssm': {
      if (request.operation !== 'GetParameter') {
        throw new Error(`No IAM mapping for ssm:${request.operation}`);
      }
      const name = String(input.Name);
      const resource = name.startsWith('arn:')
        ? name
        : `arn:${lookups.partition}:ssm:${lookups.region}:${lookups.accountId}:parameter/${name.replace(/^\//, '')}`;
      return [{ action: 'ssm:GetParameter', resource, context: {} }];
    }
    case 'logs': {
      if (request.operation !== 'GetLogEvents') {
        throw new Error(`No IAM mapping for logs:${request.operation}`);
      }
      const group = String(input.logGroupName ?? input.logGroupIdentifier ?? '');
      const groupArn = group.startsWith('arn:')
        ? group.replace(/:\*$/, '')
        : `arn:${lookups.partition}:logs:${lookups.region}:${lookups.accountId}:log-group:${group}`;
      return [
        {
          action: 'logs:GetLogEvents',
          resource: `${groupArn}:log-stream:${String(input.logStreamName)}`,
          context: {},
        },
      ];
    }
    case 'ec2':
      if (request.operation !== 'DescribeVpcs' && request.operation !== 'DescribeSubnets') {
        throw new Error(`No IAM mapping for ec2:${request.operation}`);
      }
      return [{ action: `ec2:${request.operation}`, resource: '*', context: {} }];
  }
};

/**
 * What Lambda itself does with a function's role (no request of our code, so no stand-in sees it):
 * the runtime writes the function's logs (logs:CreateLogStream, logs:PutLogEvents on a stream of
 * `/aws/lambda/<function name>`), and an asynchronous invocation that failed for good goes to the
 * on-failure destination of its EventInvokeConfig (sqs:SendMessage for a queue).
 * https://docs.aws.amazon.com/lambda/latest/dg/monitoring-cloudwatchlogs.html ,
 * https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-retain-records.html
 */
export const platformAuthorizationsOf = (
  functionName: string,
  onFailureDestination: string | undefined,
  lookups: Pick<AuthorizationLookups, 'accountId' | 'region' | 'partition'>,
  vpc?: { subnetIds: readonly string[]; securityGroupIds: readonly string[] }
): Authorization[] => {
  const stream = `arn:${lookups.partition}:logs:${lookups.region}:${lookups.accountId}:log-group:/aws/lambda/${functionName}:log-stream:2026/01/15/[$LATEST]0123456789abcdef0123456789abcdef`;
  return [
    { action: 'logs:CreateLogStream', resource: stream, context: {} },
    { action: 'logs:PutLogEvents', resource: stream, context: {} },
    ...(onFailureDestination?.includes(':sqs:')
      ? [{ action: 'sqs:SendMessage', resource: onFailureDestination, context: {} }]
      : []),
    ...(vpc ? vpcAuthorizations(vpc, lookups) : []),
  ];
};

/**
 * A function in a VPC: Lambda validates the subnets and manages the function's network interfaces
 * with its role (https://docs.aws.amazon.com/lambda/latest/dg/configuration-vpc.html#configuration-vpc-permissions).
 * ec2:CreateNetworkInterface is authorized on the new interface, each subnet and each security
 * group (all three resource types are required in the Service Authorization Reference for EC2);
 * Delete/Assign/Unassign on the interface; the Describe actions on `*`.
 */
const vpcAuthorizations = (
  vpc: { subnetIds: readonly string[]; securityGroupIds: readonly string[] },
  lookups: Pick<AuthorizationLookups, 'accountId' | 'region' | 'partition'>
): Authorization[] => {
  const ec2 = (path: string) =>
    `arn:${lookups.partition}:ec2:${lookups.region}:${lookups.accountId}:${path}`;
  const eni = ec2('network-interface/eni-0123456789abcdef0');
  return [
    { action: 'ec2:DescribeNetworkInterfaces', resource: '*', context: {} },
    { action: 'ec2:DescribeSubnets', resource: '*', context: {} },
    ...[
      ec2('network-interface/*'),
      ...vpc.subnetIds.map((id) => ec2(`subnet/${id}`)),
      ...vpc.securityGroupIds.map((id) => ec2(`security-group/${id}`)),
    ].map((resource) => ({ action: 'ec2:CreateNetworkInterface', resource, context: {} })),
    ...[
      'ec2:DeleteNetworkInterface',
      'ec2:AssignPrivateIpAddresses',
      'ec2:UnassignPrivateIpAddresses',
    ].map((action) => ({ action, resource: eni, context: {} })),
  ];
};
