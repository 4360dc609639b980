/**
 * The scenarios of the end-to-end and launch tests, driven through the four handlers with each
 * function's own AWS credentials (its SigV4 access key id), so that the stand-ins' recorders say
 * which function made every request, as AWS attributes a request to the role whose session signed
 * it. The functions' environment is the packaged template's own (intrinsics resolved to the
 * stand-ins' queues and secrets), so what runs is configured as deployed.
 *
 * What the platform does with a function's role is recorded with that role too: the SQS event
 * source mappings (GetQueueAttributes, ReceiveMessage, DeleteMessageBatch) are played here with the
 * consuming function's credentials.
 *
 * Scenarios: the schedule polls (claim, enqueue launches and ticks); the launcher registers task
 * definitions and runs tasks (template tags, auto-deregister, a task role in the job variables, the
 * default VPC found through EC2); a transient RunTask failure makes the launcher ask for a later
 * redelivery; the tasks' events reach the reporter (a completed run, a run whose image cannot be
 * pulled: log tail; deregistration of tagged definitions; a run cancelled while its task starts:
 * StopTask); a tick polls again and its cancel sweep stops the task of a run the user cancelled; the
 * webhook triggers a poll with a signed request.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import { EC2Client } from '@aws-sdk/client-ec2';
import {
  CreateClusterCommand,
  ECSClient,
  RegisterTaskDefinitionCommand,
} from '@aws-sdk/client-ecs';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import {
  DeleteMessageBatchCommand,
  GetQueueAttributesCommand,
  type Message,
  ReceiveMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import type { SQSEvent } from 'aws-lambda';
import { createLauncherHandler } from '../../functions/launcher/handler.ts';
import { createLauncherDeps } from '../../functions/launcher/launcher-deps.ts';
import {
  createPollerHandler,
  POLLER_PREFECT_TIMEOUTS,
} from '../../functions/poller/create-handler.ts';
import { createReporterHandler } from '../../functions/reporter/handler.ts';
import { createReporterDeps } from '../../functions/reporter/reporter-deps.ts';
import { createWebhookHandler } from '../../functions/webhook/handler.ts';
import { createWebhookDeps } from '../../functions/webhook/webhook-deps.ts';
import { loadConfig } from '../../shared/config.ts';
import { createEcsClient } from '../../shared/ecs/ecs-client.ts';
import { loadPollerConfig, pollOptionsFromConfig } from '../../shared/poll/poller-config.ts';
import { createPrefectClient } from '../../shared/prefect/client.ts';
import { createSqsQueueSender } from '../../shared/queue/sqs-queue-sender.ts';
import { loadReporterConfig } from '../../shared/report/reporter-config.ts';
import { resolvePrefectCredentials } from '../../shared/secrets/prefect-credentials.ts';
import { createSecretsManagerReader } from '../../shared/secrets/secrets-manager-reader.ts';
import { loadWebhookConfig } from '../../shared/webhook/webhook-config.ts';
import { defaultSubnetIds, fargateTaskDefinition } from '../standins/ecs/fixtures.ts';
import { startAwsStandin } from '../standins/ecs/server.ts';
import type { AwsStandin } from '../standins/ecs/types.ts';
import { engine, seed, user } from '../standins/prefect/actors.ts';
import { type PrefectStandin, startPrefectStandin } from '../standins/prefect/server.ts';
import { type SqsStandin, startSqsStandin } from '../standins/sqs/server.ts';
import { apiGatewayEvent, lambdaContext } from '../unit/shared/webhook/webhook-fixtures.ts';
import { type CfnTemplate, resourceOf } from './cfn-template.ts';
import type { AuthorizationLookups, RecordedRequest } from './iam-authorizations.ts';
import { type DeployTarget, resolveIntrinsics } from './iam-role-policies.ts';

export const FUNCTION_NAMES = ['poller', 'launcher', 'reporter', 'webhook'] as const;
export type FunctionName = (typeof FUNCTION_NAMES)[number];

/** The access key id each function's clients sign with. */
const ACCESS_KEYS: Readonly<Record<FunctionName, string>> = {
  poller: 'AKIDPOLLER',
  launcher: 'AKIDLAUNCHER',
  reporter: 'AKIDREPORTER',
  webhook: 'AKIDWEBHOOK',
};
/** The test's own calls (set-up, inspection): never attributed to a function. */
const TEST_KEY = 'AKIDTESTHARNESS';

export const REGION = 'us-east-1';
export const ACCOUNT = '123456789012';
const API_KEY = 'pnu_iam-simulation-key';
const WEBHOOK_TOKEN = 'whtok-iam-simulation-0123456789';
const PULL_REASON =
  'CannotPullContainerError: pull image manifest has been retried 7 time(s): not found';

/** The queues of infra/queues.yml, named in the stand-in by their logical ids. */
const QUEUES = ['LaunchQueue', 'TickQueue', 'LaunchDeadLetterQueue', 'EventsDeadLetterQueue'];

/** Started before packaging: the secrets' ARNs may be stack parameters. */
export interface IamWorld {
  aws: AwsStandin;
  sqs: SqsStandin;
  prefect: PrefectStandin;
  prefectSecretArn: string;
  webhookSecretArn: string;
  close(): Promise<void>;
}

export const startIamWorld = async (): Promise<IamWorld> => {
  const prefect = await startPrefectStandin({ apiKey: API_KEY });
  const aws = await startAwsStandin({ region: REGION, accountId: ACCOUNT });
  const sqs = await startSqsStandin({
    region: REGION,
    queues: QUEUES.map((name) => ({ name, visibilityTimeout: 2 })),
  });
  return {
    aws,
    sqs,
    prefect,
    prefectSecretArn: aws.secrets.putSecret('prefect-ecs-serverless/prefect-api-key', API_KEY),
    webhookSecretArn: aws.secrets.putSecret('prefect-ecs-serverless/webhook', WEBHOOK_TOKEN),
    close: async () => {
      await sqs.close();
      await aws.close();
      await prefect.close();
    },
  };
};

/** Where the template's resources are in the world (secrets the stack creates → the stand-in's). */
export const deployTargetOf = (world: IamWorld): DeployTarget => ({
  accountId: ACCOUNT,
  region: REGION,
  partition: 'aws',
  physical: {
    PrefectApiSecret: { ref: world.prefectSecretArn, arn: world.prefectSecretArn },
    WebhookSecret: { ref: world.webhookSecretArn, arn: world.webhookSecretArn },
    ...Object.fromEntries(
      QUEUES.map((name) => [
        name,
        { ref: world.sqs.queues[name]?.url ?? '', arn: `arn:aws:sqs:${REGION}:${ACCOUNT}:${name}` },
      ])
    ),
  },
});

/** What a scenario run leaves: each function's requests, and how to map them to IAM. */
export interface RecordedScenarios {
  byFunction: Record<FunctionName, RecordedRequest[]>;
  lookups: AuthorizationLookups;
  /** Runs a scenario meant to launch that got no task (a scenario that did not happen). */
  unlaunched: string[];
}

/** The logical id of each function in the packaged template. */
export const FUNCTION_IDS: Readonly<Record<FunctionName, string>> = {
  poller: 'PollerLambdaFunction',
  launcher: 'LauncherLambdaFunction',
  reporter: 'ReporterLambdaFunction',
  webhook: 'WebhookLambdaFunction',
};

/** A function's deployed name and the on-failure destination of its asynchronous invocations. */
export const deployedFunction = (
  template: CfnTemplate,
  name: FunctionName,
  world: IamWorld
): {
  functionName: string;
  onFailure?: string;
  vpc?: { subnetIds: string[]; securityGroupIds: string[] };
} => {
  const id = FUNCTION_IDS[name];
  const functionName = String(template.Resources[id]?.Properties?.FunctionName);
  const vpcConfig = template.Resources[id]?.Properties?.VpcConfig as
    | { SubnetIds?: string[]; SecurityGroupIds?: string[] }
    | undefined;
  const config = Object.values(template.Resources).find(
    (resource) =>
      resource.Type === 'AWS::Lambda::EventInvokeConfig' &&
      JSON.stringify(resource.Properties?.FunctionName) === JSON.stringify({ Ref: id })
  );
  const destination = (
    config?.Properties?.DestinationConfig as { OnFailure?: { Destination?: unknown } } | undefined
  )?.OnFailure?.Destination;
  return {
    functionName,
    ...(vpcConfig
      ? {
          vpc: {
            subnetIds: vpcConfig.SubnetIds ?? [],
            securityGroupIds: vpcConfig.SecurityGroupIds ?? [],
          },
        }
      : {}),
    ...(destination === undefined
      ? {}
      : { onFailure: String(resolveIntrinsics(template, destination, deployTargetOf(world))) }),
  };
};

/** How the deployments of the scenarios run their tasks. */
export interface ScenarioOptions {
  /** The cluster of the deployments' job variables (a configured cluster). */
  cluster: string;
  /** `task_role_arn` of one deployment, if the stack allows passing one. */
  taskRoleArn?: string;
}

const environmentOf = (
  template: CfnTemplate,
  functionId: string,
  world: IamWorld
): Record<string, string> => {
  const properties = resourceOf(template, functionId).Properties as
    | { Environment?: { Variables?: unknown } }
    | undefined;
  const variables = properties?.Environment?.Variables;
  const resolved = resolveIntrinsics(template, variables ?? {}, deployTargetOf(world)) as Record<
    string,
    unknown
  >;
  return {
    ...Object.fromEntries(Object.entries(resolved).map(([name, value]) => [name, String(value)])),
    AWS_REGION: REGION,
    PREFECT_API_URL: world.prefect.apiUrl,
  };
};

const launcherConfigOf = (template: CfnTemplate, world: IamWorld) =>
  loadConfig(environmentOf(template, 'LauncherLambdaFunction', world));

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const silentLogger = { debug() {}, info() {}, warn() {}, error() {}, addContext() {} };

/**
 * Runs every scenario through the handlers configured by `template` (the packaged stack), and
 * returns what each function asked AWS.
 */
export const runScenarios = async (
  template: CfnTemplate,
  world: IamWorld,
  options: ScenarioOptions
): Promise<RecordedScenarios> => {
  const { aws } = world;
  const auth = { headers: { authorization: `Bearer ${API_KEY}` } };
  // Credentials kept as SSM SecureString parameters (the default store): create the ones the
  // template names, as a user does before deploying. The SSM reader signs its own requests and
  // finds the stand-in through AWS_ENDPOINT_URL_SSM.
  const credentialValues: Record<string, string> = {
    PREFECT_API_KEY_SECRET_ARN: API_KEY,
    PREFECT_API_AUTH_STRING_SECRET_ARN: API_KEY,
    WEBHOOK_SECRET_ARN: WEBHOOK_TOKEN,
  };
  for (const id of Object.values(FUNCTION_IDS)) {
    for (const [variable, value] of Object.entries(environmentOf(template, id, world))) {
      const parameter = /^arn:aws:ssm:[^:]+:\d+:parameter(\/.+)$/.exec(value)?.[1];
      const secret = credentialValues[variable];
      if (parameter && secret !== undefined) aws.parameters.putSecureString(parameter, secret);
    }
  }
  const previousSsmEndpoint = process.env.AWS_ENDPOINT_URL_SSM;
  process.env.AWS_ENDPOINT_URL_SSM = aws.url;
  try {
    return await runWith(template, world, options, auth);
  } finally {
    if (previousSsmEndpoint === undefined) delete process.env.AWS_ENDPOINT_URL_SSM;
    else process.env.AWS_ENDPOINT_URL_SSM = previousSsmEndpoint;
  }
};

const runWith = async (
  template: CfnTemplate,
  world: IamWorld,
  options: ScenarioOptions,
  auth: { headers: Record<string, string> }
): Promise<RecordedScenarios> => {
  const { aws, sqs, prefect } = world;
  const clientsFor = (key: string) => {
    const credentials = { accessKeyId: key, secretAccessKey: 'secret' };
    const endpoint = { region: REGION, endpoint: aws.url, credentials, maxAttempts: 1 };
    const sqsEndpoint = { region: REGION, endpoint: sqs.url, credentials };
    return {
      ecs: new ECSClient(endpoint),
      ec2: new EC2Client(endpoint),
      secretsManager: new SecretsManagerClient(endpoint),
      logs: new CloudWatchLogsClient(endpoint),
      sqs: new SQSClient(sqsEndpoint),
    };
  };
  const clients = {
    poller: clientsFor(ACCESS_KEYS.poller),
    launcher: clientsFor(ACCESS_KEYS.launcher),
    reporter: clientsFor(ACCESS_KEYS.reporter),
    webhook: clientsFor(ACCESS_KEYS.webhook),
    test: clientsFor(TEST_KEY),
  };
  const noWait = { sleep: async () => {} };

  // The stack's functions, configured as deployed
  // Ticks every 5 s instead of the template's 20 s, so that the scenarios need not wait for one
  const pollerConfig = loadPollerConfig({
    ...environmentOf(template, 'PollerLambdaFunction', world),
    POLL_INTERVAL_SECONDS: '5',
  });
  const pollerHandler = createPollerHandler(async () => {
    const credentials = await resolvePrefectCredentials(
      pollerConfig.prefectCredentials,
      createSecretsManagerReader(clients.poller.secretsManager)
    );
    return {
      prefect: createPrefectClient(
        { apiUrl: pollerConfig.prefectApiUrl, ...credentials, ...POLLER_PREFECT_TIMEOUTS },
        noWait
      ),
      queue: createSqsQueueSender(clients.poller.sqs),
      ecs: createEcsClient(clients.poller.ecs, { region: REGION }),
      options: pollOptionsFromConfig(pollerConfig),
      logger: silentLogger,
      tickQueueUrl: pollerConfig.tickQueueUrl,
    };
  }, silentLogger);
  const launcherDeps = await createLauncherDeps(launcherConfigOf(template, world), {
    logger: silentLogger,
    clients: clients.launcher,
    prefectDeps: noWait,
  });
  // The launcher asks SQS for its real backoff (15 s and up); the record comes back in 1 s here.
  const launcher = createLauncherHandler({
    ...launcherDeps,
    queue: {
      changeVisibility: (receiptHandle, seconds) =>
        launcherDeps.queue.changeVisibility(receiptHandle, Math.min(seconds, 1)),
    },
  });
  const reporterEnvironment = environmentOf(template, 'ReporterLambdaFunction', world);
  const reporter = createReporterHandler(
    await createReporterDeps(
      loadConfig(reporterEnvironment, { role: 'reporter' }),
      loadReporterConfig(reporterEnvironment),
      {
        logger: silentLogger,
        clients: {
          ecs: clients.reporter.ecs,
          secretsManager: clients.reporter.secretsManager,
          logs: () => clients.reporter.logs,
        },
        prefectDeps: noWait,
      }
    )
  );
  const webhook = createWebhookHandler(
    createWebhookDeps(loadWebhookConfig(environmentOf(template, 'WebhookLambdaFunction', world)), {
      logger: new Logger({ serviceName: 'webhook', logLevel: 'SILENT' }),
      clients: { sqs: clients.webhook.sqs, secretsManager: clients.webhook.secretsManager },
      prefectDeps: noWait,
    })
  );

  /** An SQS event source mapping: the consuming function's role reads, invokes, deletes. */
  const consume = async (
    queueName: 'LaunchQueue' | 'TickQueue',
    as: 'launcher' | 'poller',
    handler: (event: SQSEvent) => Promise<unknown>
  ): Promise<number> => {
    const queue = sqs.queues[queueName];
    if (!queue) throw new Error(`No queue ${queueName}`);
    const client = clients[as].sqs;
    await client.send(
      new GetQueueAttributesCommand({ QueueUrl: queue.url, AttributeNames: ['All'] })
    );
    const { Messages = [] } = await client.send(
      new ReceiveMessageCommand({
        QueueUrl: queue.url,
        MaxNumberOfMessages: 10,
        WaitTimeSeconds: 0,
        MessageSystemAttributeNames: ['All'],
      })
    );
    if (Messages.length === 0) return 0;
    const answer = (await handler({
      Records: Messages.map((message: Message) => ({
        messageId: message.MessageId ?? '',
        receiptHandle: message.ReceiptHandle ?? '',
        body: message.Body ?? '',
        attributes: {
          ApproximateReceiveCount: message.Attributes?.ApproximateReceiveCount ?? '1',
          SentTimestamp: message.Attributes?.SentTimestamp ?? String(Date.now()),
          SenderId: 'AIDAEXAMPLE',
          ApproximateFirstReceiveTimestamp: String(Date.now()),
        },
        messageAttributes: {},
        md5OfBody: message.MD5OfBody ?? '',
        eventSource: 'aws:sqs',
        eventSourceARN: queue.arn,
        awsRegion: REGION,
      })),
    })) as { batchItemFailures?: { itemIdentifier: string }[] } | undefined;
    const failed = new Set(answer?.batchItemFailures?.map((item) => item.itemIdentifier) ?? []);
    const done = Messages.filter((message) => !failed.has(message.MessageId ?? ''));
    if (done.length > 0) {
      await client.send(
        new DeleteMessageBatchCommand({
          QueueUrl: queue.url,
          Entries: done.map((message, index) => ({
            Id: String(index),
            ReceiptHandle: message.ReceiptHandle ?? '',
          })),
        })
      );
    }
    return Messages.length;
  };

  /** Delivers the task events the rule lets through, once each, in order. */
  let delivered = 0;
  const deliverEvents = async (): Promise<void> => {
    await aws.ecs.settled();
    while (delivered < aws.events.length) {
      const event = aws.events[delivered];
      delivered += 1;
      if (event?.detail.startedBy?.startsWith('prefect/')) await reporter(event);
    }
  };
  const taskOf = (runId: string) =>
    aws.ecs.tasks().find((task) => task.startedBy === `prefect/${runId}`);
  /** A forced state, as an operator or another client may set it. */
  const setState = async (runId: string, type: string): Promise<void> => {
    const answer = await fetch(`${prefect.apiUrl}/flow_runs/${runId}/set_state`, {
      method: 'POST',
      headers: { ...auth.headers, 'content-type': 'application/json' },
      body: JSON.stringify({
        state: { type, name: type[0] + type.slice(1).toLowerCase() },
        force: true,
      }),
    });
    if (!answer.ok) throw new Error(`set_state ${type}: ${answer.status}`);
  };

  // Prepare: the cluster, a pool and two deployments (one with auto-deregister and, when given, a
  // task role), and the runs of the scenarios, all due now
  await clients.test.ecs.send(
    new CreateClusterCommand({
      clusterName: options.cluster.split('/').pop(),
      capacityProviders: ['FARGATE', 'FARGATE_SPOT'],
    })
  );
  const pool = pollerConfig.workPools[0] ?? 'placeholder-pool';
  await seed.workPool(prefect.apiUrl, { name: pool }, auth);
  const plain = await seed.deployment(
    prefect.apiUrl,
    {
      name: 'etl',
      workPoolName: pool,
      jobVariables: { cluster: options.cluster, configure_cloudwatch_logs: true },
    },
    auth
  );
  const tagged = await seed.deployment(
    prefect.apiUrl,
    {
      name: 'tagged',
      workPoolName: pool,
      jobVariables: {
        cluster: options.cluster,
        // Its own task definition (another size), registered for its run, so tagged to deregister
        cpu: 512,
        memory: 1024,
        auto_deregister_task_definition: true,
        ...(options.taskRoleArn ? { task_role_arn: options.taskRoleArn } : {}),
      },
    },
    auth
  );
  const runOf = async (
    deploymentId: string,
    name: string,
    jobVariables?: Record<string, unknown>
  ) =>
    (
      await seed.flowRun(
        prefect.apiUrl,
        deploymentId,
        { name, scheduledTime: new Date(), ...(jobVariables ? { jobVariables } : {}) },
        auth
      )
    ).id;
  // Rows of the launch matrix (test/integration/launch-matrix.test.ts) that change what IAM sees:
  // Fargate Spot with a task role and size on the run (RunTask overrides), a custom capacity
  // provider strategy, a given task definition (run as is: the roles it names are passed), a given
  // network configuration (no EC2 discovery), labels that become slugged tags.
  const executionRole = launcherConfigOf(template, world).ecsExecutionRoleArn;
  const given = await clients.test.ecs.send(
    new RegisterTaskDefinitionCommand(
      fargateTaskDefinition('given-by-the-user', {
        ...(executionRole ? { executionRoleArn: executionRole } : {}),
        ...(options.taskRoleArn ? { taskRoleArn: options.taskRoleArn } : {}),
      })
    )
  );
  const subnets = await defaultSubnetIds(aws);
  const matrix = await Promise.all(
    [
      { launch_type: 'FARGATE_SPOT' },
      {
        capacity_provider_strategy: [
          { capacityProvider: 'FARGATE', weight: 1, base: 1 },
          { capacityProvider: 'FARGATE_SPOT', weight: 3, base: 0 },
        ],
      },
      { task_definition_arn: given.taskDefinition?.taskDefinitionArn },
      {
        vpc_id: aws.ec2.defaultVpcId,
        network_configuration: { subnets: [subnets[0]], assignPublicIp: 'DISABLED' },
      },
      { labels: { 'team name': 'data/eng ✓' } },
    ].map((jobVariables, index) =>
      seed.deployment(
        prefect.apiUrl,
        {
          name: `matrix-${index}`,
          workPoolName: pool,
          jobVariables: { cluster: options.cluster, ...jobVariables },
        },
        auth
      )
    )
  );
  const matrixRuns = [
    await runOf(matrix[0]?.id ?? '', 'matrix-spot', {
      cpu: 512,
      memory: 1024,
      ...(options.taskRoleArn ? { task_role_arn: options.taskRoleArn } : {}),
    }),
    ...(await Promise.all(matrix.slice(1).map((deployment) => runOf(deployment.id, 'matrix')))),
  ];
  const runs = {
    /** Auto-deregister: the reporter deregisters its definition once it stops. */
    complete: await runOf(tagged.id, 'complete'),
    /** The image cannot be pulled: the reporter forwards the log tail. */
    pull: await runOf(plain.id, 'pull'),
    /** CANCELLED while its task starts: the reporter stops it. */
    cancelledWhileStarting: await runOf(plain.id, 'cancelled-while-starting'),
    /** Cancelled once launched, before its engine started: the poller's sweep stops it. */
    cancelledAfterLaunch: await runOf(plain.id, 'cancelled-after-launch'),
    /** Cancelled before any launcher saw it: the sweep looks for its tasks (ListTasks). */
    cancelledBeforeLaunch: await runOf(plain.id, 'cancelled-before-launch'),
    /** Cancelled while RunTask was answering: the launcher stops the task it just started. */
    cancelledDuringRunTask: await runOf(plain.id, 'cancelled-during-run-task'),
  };
  aws.ecs.setPlan(
    { startedBy: `prefect/${runs.pull}` },
    { outcome: { kind: 'failToStart', stoppedReason: PULL_REASON } }
  );
  let failedOnce = false;
  clients.launcher.ecs.middlewareStack.add(
    (next, context) => async (args) => {
      const input = args.input as { startedBy?: string };
      if (
        context.commandName === 'RunTaskCommand' &&
        input.startedBy === `prefect/${runs.pull}` &&
        !failedOnce
      ) {
        failedOnce = true; // a transient failure: the launcher asks for a later redelivery
        aws.ecs.failNextRunTask('Capacity is unavailable at this time.', 1);
      }
      const result = await next(args);
      if (
        context.commandName === 'RunTaskCommand' &&
        input.startedBy === `prefect/${runs.cancelledDuringRunTask}`
      ) {
        await user.cancel(prefect.apiUrl, runs.cancelledDuringRunTask, auth);
      }
      return result;
    },
    { step: 'initialize', name: 'scenarioFaults' }
  );
  const names = new Map<string, string>([
    ...Object.entries(runs).map(([name, id]) => [id, name] as [string, string]),
    ...matrixRuns.map((id, index) => [id, `matrix-${index}`] as [string, string]),
  ]);
  const launched = [
    ...matrixRuns,
    runs.complete,
    runs.pull,
    runs.cancelledWhileStarting,
    runs.cancelledAfterLaunch,
    runs.cancelledDuringRunTask,
  ];

  // Act 1: the schedule polls; one run is cancelled before any launcher sees it; the launcher's
  // first RunTask meets a transient failure and asks for a later redelivery; the rest start
  await pollerHandler({ source: 'aws.events', 'detail-type': 'Scheduled Event', detail: {} });
  await user.cancel(prefect.apiUrl, runs.cancelledBeforeLaunch, auth);
  for (let round = 0; round < 20 && launched.some((id) => !taskOf(id)); round += 1) {
    if ((await consume('LaunchQueue', 'launcher', launcher)) === 0) await sleep(250);
  }
  // Act 2: one run is CANCELLED while its task starts (the reporter stops it); the others start
  await setState(runs.cancelledWhileStarting, 'CANCELLED');
  for (const id of [runs.complete, runs.cancelledWhileStarting, runs.cancelledAfterLaunch]) {
    const task = taskOf(id);
    if (task) await aws.ecs.advance(task.taskArn, 'RUNNING');
  }
  await deliverEvents();
  // Act 3: the complete run's engine reports and its container exits; the pull failure stops
  await engine.start(prefect.apiUrl, runs.complete, auth);
  await engine.complete(prefect.apiUrl, runs.complete, auth);
  const completed = taskOf(runs.complete);
  if (completed) await aws.ecs.runToCompletion(completed.taskArn, { exitCode: 0 });
  const pulled = taskOf(runs.pull);
  if (pulled) await aws.ecs.advance(pulled.taskArn, 'STOPPED');
  await deliverEvents();
  // Act 4: the user cancels a launched run; a tick's poll sweeps the cancellations
  await user.cancel(prefect.apiUrl, runs.cancelledAfterLaunch, auth);
  for (let round = 0; round < 40; round += 1) {
    if ((await consume('TickQueue', 'poller', pollerHandler)) > 0) break;
    await sleep(250);
  }
  await deliverEvents();
  // Act 5: the webhook: a run due now, an authenticated trigger
  await runOf(plain.id, 'webhook');
  await webhook(
    apiGatewayEvent({
      body: JSON.stringify({ pool }),
      headers: { authorization: `Bearer ${WEBHOOK_TOKEN}`, 'content-type': 'application/json' },
    }),
    lambdaContext()
  );

  for (const set of Object.values(clients)) {
    for (const client of Object.values(set)) client.destroy();
  }

  // Assess material: each function's requests, by the key that signed them
  const byFunction = Object.fromEntries(
    FUNCTION_NAMES.map((name) => [
      name,
      [
        ...aws.calls
          .filter((call) => call.accessKeyId === ACCESS_KEYS[name])
          .map((call) => ({
            service: call.service,
            operation: call.operation,
            input: call.input,
            output: call.output,
          })),
        ...sqs.calls
          .filter((call) => call.accessKeyId === ACCESS_KEYS[name])
          .map((call) => ({
            service: 'sqs' as const,
            operation: call.operation,
            input: call.input,
          })),
      ],
    ])
  ) as Record<FunctionName, RecordedRequest[]>;
  return {
    byFunction,
    lookups: lookupsOf(world),
    unlaunched: launched.filter((id) => !taskOf(id)).map((id) => names.get(id) ?? id),
  };
};

/** The world's facts the IAM mapping needs (task tags, task definition roles, queue ARNs). */
const lookupsOf = (world: IamWorld): AuthorizationLookups => ({
  accountId: ACCOUNT,
  region: REGION,
  partition: 'aws',
  taskTags: (taskArn) => world.aws.ecs.task(taskArn)?.tags,
  taskDefinitionRoles: (arn) =>
    world.aws.calls
      .filter(
        (call) =>
          call.operation === 'RegisterTaskDefinition' || call.operation === 'DescribeTaskDefinition'
      )
      .map(
        (call) =>
          (call.output as { taskDefinition?: Record<string, unknown> } | undefined)?.taskDefinition
      )
      .filter((definition) => definition?.taskDefinitionArn === arn)
      .flatMap((definition) => [definition?.executionRoleArn, definition?.taskRoleArn])
      .filter((role): role is string => typeof role === 'string'),
  queueArn: (url) => `arn:aws:sqs:${REGION}:${ACCOUNT}:${url.split('/').pop()}`,
});
