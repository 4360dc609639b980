/**
 * What ships, end to end (issue 12 §3): the `.mjs` bundles inside the osls zips, each run in its own
 * Node 24 process as a Lambda container (test/deploy/bundle-harness.mjs), with only the environment
 * the packaged template gives it plus what Lambda itself sets (test/deploy/shipped-world.ts).
 *
 * The test plays AWS's plumbing as deployed: the schedule's event and the tick queue's records
 * invoke the poller; messages received from the launch queue are handed to the launcher as the
 * event source mapping does (batch size from the template, `batchItemFailures` honoured: only the
 * records that succeeded are deleted); the ECS stand-in's "ECS Task State Change" events that match
 * the template's rule go to the reporter (asynchronous invoke: two retries); API Gateway's payload
 * 2.0 request goes to the webhook. The flow engine in each task is an actor on the Prefect stand-in.
 *
 * A deployment whose `aws_credentials` assume a role in another account and region runs there
 * through the shipped code (the hand-signed STS call, the per-scope clients, forwarded events).
 *
 * This also proves the esbuild plugins harmless (infra/esbuild-plugins.cjs): every AWS call is
 * signed with the role credentials from the environment (the replaced credential chain), and a
 * launch discovers the default VPC through EC2 (the tree-shaken EC2 schemas) before RunTask.
 */

import { CreateClusterCommand, ECSClient } from '@aws-sdk/client-ecs';
import {
  DeleteMessageBatchCommand,
  type Message,
  ReceiveMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { flowRunIdFromStartedBy } from '../../shared/ecs/started-by.ts';
import { parseLaunchMessage } from '../../shared/launch/launch-message.ts';
import { createPrefectClient } from '../../shared/prefect/client.ts';
import { defaultSubnetIds } from '../standins/ecs/fixtures.ts';
import type { EcsTaskStateChangeEvent } from '../standins/ecs/types.ts';
import { engine, readFlowRun, readFlowRunStates, seed } from '../standins/prefect/actors.ts';
import { registerAwsCredentialsBlock } from '../standins/prefect/aws-credentials-block.ts';
import type { LambdaContainer } from './lambda-container.ts';
import { httpApiEvent, scheduledEvent, sqsEvent } from './lambda-events.ts';
import {
  CLUSTER,
  FUNCTIONS,
  type FunctionName,
  POOL,
  PREFECT_API_KEY,
  REGION,
  ROLE_CREDENTIALS,
  type ShippedWorld,
  startShippedWorld,
  WEBHOOK_TOKEN,
} from './shipped-world.ts';

const OOM_REASON = 'OutOfMemoryError: Container killed due to memory usage';
/** A deployment whose aws_credentials assume a role in another account and region. */
const MEMBER_ACCOUNT = '210987654321';
const MEMBER_REGION = 'eu-west-1';
const MEMBER_ROLE = `arn:aws:iam::${MEMBER_ACCOUNT}:role/prefect-ecs-serverless-pools`;
const MEMBER_CLUSTER = 'prefect-member';
const PULL_REASON =
  'CannotPullContainerError: pull image manifest has been retried 7 time(s): failed to resolve ref docker.io/prefecthq/prefect:nope: not found';
const PULL_LINES = [
  'Pulling image prefecthq/prefect:nope',
  'Error response from daemon: manifest for prefecthq/prefect:nope not found',
];
const FINAL = new Set(['COMPLETED', 'FAILED', 'CRASHED', 'CANCELLED']);

type Behaviour = 'complete' | 'oom' | 'pull';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const waitFor = async (what: string, check: () => Promise<boolean>, timeoutMs: number) => {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await sleep(50);
  }
};

/** EventBridge matching for the operators the task-state rule uses (exact values, `prefix`). */
const matches = (pattern: unknown, event: unknown): boolean =>
  Object.entries(pattern as Record<string, unknown>).every(([key, expected]) => {
    const actual = (event as Record<string, unknown> | undefined)?.[key];
    if (!Array.isArray(expected)) return matches(expected, actual);
    return expected.some((candidate: unknown) => {
      if (typeof candidate === 'string') return actual === candidate;
      const { prefix } = candidate as { prefix?: string };
      if (prefix === undefined)
        throw new Error(`Unsupported operator ${JSON.stringify(candidate)}`);
      return typeof actual === 'string' && actual.startsWith(prefix);
    });
  });

let world: ShippedWorld;
let sqs: SQSClient;
const containers = {} as Record<FunctionName, LambdaContainer>;
const behaviours = new Map<string, Behaviour>();
const engineErrors: unknown[] = [];
const reporterInvocations: { event: EcsTaskStateChangeEvent; ok: boolean; attempts: number }[] = [];
let stopEngine: () => Promise<void> = async () => {};
let unsubscribe: () => void = () => {};

const templateProperties = (id: string) =>
  world.template.Resources[id]?.Properties as Record<string, unknown>;

/** The batch size of the event source mapping of `queue` (from the template). */
const batchSizeOf = (queueId: string): number => {
  const mapping = Object.values(world.template.Resources).find(
    (resource) =>
      resource.Type === 'AWS::Lambda::EventSourceMapping' &&
      JSON.stringify(resource.Properties?.EventSourceArn).includes(`"${queueId}"`)
  );
  return Number((mapping?.Properties as { BatchSize?: number } | undefined)?.BatchSize);
};

/** Receives what the launch queue holds (up to `count` messages), as the mapping polls. */
const receiveLaunches = async (count: number): Promise<Message[]> => {
  const received: Message[] = [];
  for (let round = 0; round < 10 && received.length < count; round += 1) {
    const { Messages = [] } = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: world.launchQueue.url,
        MaxNumberOfMessages: Math.min(batchSizeOf('LaunchQueue'), count - received.length),
        WaitTimeSeconds: 1,
        MessageSystemAttributeNames: ['All'],
      })
    );
    received.push(...Messages);
  }
  return received;
};

/**
 * Invokes an SQS-triggered function with `messages` as the mapping does, and deletes the records
 * it did not report in `batchItemFailures`.
 */
const invokeFromQueue = async (
  container: LambdaContainer,
  messages: Message[],
  queue: { url: string; arn: string }
) => {
  const invocation = await container.invoke<{ batchItemFailures: { itemIdentifier: string }[] }>(
    sqsEvent(messages, queue, REGION)
  );
  const failed = invocation.ok
    ? invocation.result.batchItemFailures.map((item) => item.itemIdentifier)
    : messages.map((message) => message.MessageId);
  const done = messages.filter((message) => !failed.includes(message.MessageId));
  if (done.length > 0) {
    await sqs.send(
      new DeleteMessageBatchCommand({
        QueueUrl: queue.url,
        Entries: done.map((message, index) => ({
          Id: `m${index}`,
          ReceiptHandle: message.ReceiptHandle,
        })),
      })
    );
  }
  return invocation;
};

const seedRun = async (name: string, behaviour: Behaviour): Promise<string> => {
  const run = await seed.flowRun(
    world.prefect.apiUrl,
    world.deploymentId,
    {
      name,
      ...(behaviour === 'pull' ? { jobVariables: { image: 'prefecthq/prefect:nope' } } : {}),
    },
    world.auth
  );
  behaviours.set(run.id, behaviour);
  world.aws.ecs.setPlan(
    { startedBy: `prefect/${run.id}` },
    behaviour === 'pull'
      ? { outcome: { kind: 'failToStart', stoppedReason: PULL_REASON } }
      : { autoAdvance: { delayMs: 50 }, outcome: { kind: 'keepRunning' } }
  );
  return run.id;
};

/** The awslogs stream the task's registered definition names for its container. */
const logStreamOf = (taskArn: string, taskDefinitionArn: string) => {
  const definition = world.aws
    .callsTo('RegisterTaskDefinition')
    .map((call) => (call.output as { taskDefinition?: Record<string, unknown> }).taskDefinition)
    .find((registered) => registered?.taskDefinitionArn === taskDefinitionArn) as
    | {
        containerDefinitions: {
          name: string;
          logConfiguration?: { options?: Record<string, string> };
        }[];
      }
    | undefined;
  const container = definition?.containerDefinitions[0];
  const options = container?.logConfiguration?.options ?? {};
  const group = options['awslogs-group'];
  const prefix = options['awslogs-stream-prefix'];
  if (!container || !group || !prefix) throw new Error(`No awslogs for ${taskArn}`);
  return { group, stream: `${prefix}/${container.name}/${taskArn.split('/').at(-1)}` };
};

const readRun = (id: string) => readFlowRun(world.prefect.apiUrl, id, world.auth);
const tasksOf = (id: string) =>
  world.aws.ecs.tasks().filter((task) => task.startedBy === `prefect/${id}`);

/**
 * The container's part: the engine proposes RUNNING (waiting while told to), then ends; or the
 * image cannot be pulled: the agent's lines land in the awslogs stream, the task fails to start.
 */
const playContainer = async (
  task: { taskArn: string; taskDefinitionArn: string },
  runId: string,
  behaviour: Behaviour
) => {
  const { taskArn } = task;
  if (behaviour === 'pull') {
    const { group, stream } = logStreamOf(taskArn, task.taskDefinitionArn);
    const now = Date.now();
    world.aws.logs.putLogEvents(
      group,
      stream,
      PULL_LINES.map((message, index) => ({ timestamp: now - 20 + index, message }))
    );
    await world.aws.ecs.advance(taskArn, 'STOPPED');
    return;
  }
  for (;;) {
    const answer = await engine.start(world.prefect.apiUrl, runId, world.auth);
    if (answer.status === 'ACCEPT') break;
    if (answer.status !== 'WAIT') throw new Error(`RUNNING refused: ${answer.status}`);
    await sleep(Math.max(100, (answer.details.delay_seconds ?? 0) * 1000));
  }
  if (behaviour === 'complete') {
    await engine.complete(world.prefect.apiUrl, runId, world.auth);
    await world.aws.ecs.runToCompletion(taskArn, { exitCode: 0 });
  } else {
    await world.aws.ecs.runToCompletion(taskArn, { exitCode: 137, containerReason: OOM_REASON });
  }
};

beforeAll(async () => {
  world = await startShippedWorld({
    params: { assumeRoleArns: MEMBER_ROLE },
    regions: [MEMBER_REGION],
  });
  sqs = new SQSClient({
    region: REGION,
    endpoint: world.sqs.url,
    credentials: { accessKeyId: 'esm', secretAccessKey: 'esm' },
  });
  for (const name of Object.keys(FUNCTIONS) as FunctionName[]) {
    containers[name] = await world.startContainer(name);
  }
  // EventBridge: the template's rule → the reporter, invoked asynchronously (two retries)
  const pattern = (templateProperties('TaskStateChangeRule') as { EventPattern: unknown })
    .EventPattern;
  unsubscribe = world.aws.subscribe(async (event) => {
    if (!matches(pattern, event)) return;
    let attempts = 0;
    let ok = false;
    while (!ok && attempts < 3) {
      attempts += 1;
      ok = (await containers.reporter.invoke(event)).ok;
    }
    reporterInvocations.push({ event, ok, attempts });
  });
  // The flow engine inside each of our tasks, once ECS reports it RUNNING
  let stopped = false;
  const handled = new Set<string>();
  const acting: Promise<void>[] = [];
  const loop = (async () => {
    while (!stopped) {
      for (const task of world.aws.ecs.tasks()) {
        const runId = flowRunIdFromStartedBy(task.startedBy);
        const behaviour = runId === undefined ? undefined : behaviours.get(runId);
        const ready = behaviour === 'pull' || task.lastStatus === 'RUNNING';
        if (!runId || !behaviour || !ready || handled.has(task.taskArn)) continue;
        handled.add(task.taskArn);
        acting.push(
          playContainer(task, runId, behaviour).catch((error: unknown) => {
            engineErrors.push(error);
          })
        );
      }
      await sleep(25);
    }
  })();
  stopEngine = async () => {
    stopped = true;
    await loop;
    await Promise.all(acting);
  };
}, 180_000);

afterAll(async () => {
  await stopEngine();
  unsubscribe();
  sqs?.destroy();
  await world?.close();
});

describe('shipped bundles: the packaged Lambdas on Node 24 against the stand-ins', () => {
  it('run on Node 24 with only the template environment, the runtime variables and the endpoints', () => {
    // Prepare / Act: the containers started in beforeAll
    const keyed = (Object.keys(FUNCTIONS) as FunctionName[]).map((name) => [
      name,
      world.environment(name),
    ]);
    // Assess
    for (const name of Object.keys(FUNCTIONS) as FunctionName[]) {
      expect(containers[name].nodeVersion).toMatch(/^v24\./);
      expect(world.bundleBytes[name]).toBeGreaterThan(0);
    }
    for (const [name, env] of keyed as [FunctionName, Record<string, string>][]) {
      const variables = (
        templateProperties(FUNCTIONS[name]) as { Environment: { Variables: object } }
      ).Environment.Variables;
      const outside = Object.keys(env).filter(
        (key) =>
          !(key in variables) &&
          !/^(AWS_|_HANDLER$|LAMBDA_|TZ$|LANG$|PATH$)/.test(key) &&
          !key.startsWith('AWS_ENDPOINT_URL_')
      );
      expect(outside).toEqual([]);
      expect(env).not.toHaveProperty('PREFECT_API_KEY');
      expect(env).not.toHaveProperty('HOME');
      expect(Object.values(env)).not.toContain(PREFECT_API_KEY);
      expect(Object.values(env)).not.toContain(WEBHOOK_TOKEN);
      expect(env.PREFECT_API_KEY_SECRET_ARN).toBe(world.prefectSecretArn);
    }
    expect(world.environment('webhook').WEBHOOK_SECRET_ARN).toBe(world.webhookSecretArn);
  });

  it('schedule → poller → launch queue → launcher (EC2 default VPC) → ECS → reporter → Prefect: COMPLETED, CRASHED out of memory, CRASHED with the log tail of an image that cannot be pulled', async () => {
    // Prepare: three runs due now; two tasks start and run until the engine ends them, the third
    // cannot pull its image
    const completes = await seedRun('shipped-complete', 'complete');
    const oom = await seedRun('shipped-oom', 'oom');
    const pull = await seedRun('shipped-pull', 'pull');
    const ids = [completes, oom, pull];
    const proxiedBefore = world.proxied.length;

    // Act: the schedule invokes the poller; the mapping hands the launch messages to the launcher
    const polled = await containers.poller.invoke<{ claimed: number; ticks_enqueued: number }>(
      scheduledEvent(REGION, 'prefect-ecs-serverless-shipped-poll')
    );
    const messages = await receiveLaunches(ids.length);
    const launched = await invokeFromQueue(containers.launcher, messages, world.launchQueue);
    await waitFor(
      'every run final',
      async () =>
        (await Promise.all(ids.map(readRun))).every((run) => FINAL.has(run.state_type ?? '')),
      20_000
    );
    await world.aws.ecs.settled();

    // Assess: the poll claimed all three and enqueued the ticks of the minute (5 s interval)
    expect(polled).toMatchObject({ ok: true, result: { claimed: 3, ticks_enqueued: 11 } });
    expect(new Set(messages.map((m) => parseLaunchMessage(m.Body ?? '').flow_run_id))).toEqual(
      new Set(ids)
    );
    // ... the launcher reported no failed record, and launched each run once on the default VPC
    expect(launched).toMatchObject({ ok: true, result: { batchItemFailures: [] } });
    const defaultSubnets = await defaultSubnetIds(world.aws);
    for (const id of ids) {
      const runTasks = world.aws
        .callsTo('RunTask')
        .filter((call) => (call.input as { startedBy?: string }).startedBy === `prefect/${id}`);
      expect(runTasks).toHaveLength(1);
      const input = runTasks[0]?.input as
        | { networkConfiguration?: { awsvpcConfiguration?: { subnets?: string[] } } }
        | undefined;
      const subnets = input?.networkConfiguration?.awsvpcConfiguration?.subnets ?? [];
      expect(subnets.length).toBeGreaterThan(0);
      expect(defaultSubnets).toEqual(expect.arrayContaining(subnets));
      expect(tasksOf(id)).toHaveLength(1);
    }
    expect(world.aws.callsTo('DescribeVpcs').length).toBeGreaterThan(0);
    expect(world.aws.callsTo('DescribeSubnets').length).toBeGreaterThan(0);
    // ... the reporter got the rule's events and handled each at the first attempt
    const reported = reporterInvocations.filter((r) =>
      ids.some((id) => r.event.detail.startedBy === `prefect/${id}`)
    );
    expect(reported.map((r) => r.event.detail.lastStatus)).toEqual(
      expect.arrayContaining(['PROVISIONING', 'RUNNING', 'STOPPED'])
    );
    expect(reported.every((r) => r.ok && r.attempts === 1)).toBe(true);
    // ... and Prefect shows PENDING → RUNNING (engine) → COMPLETED, and the crash diagnoses
    const [completedRun, oomRun, pullRun] = await Promise.all(ids.map(readRun));
    expect(completedRun?.state).toMatchObject({ type: 'COMPLETED' });
    expect(completedRun?.infrastructure_pid).toBe(`${CLUSTER}::${tasksOf(completes)[0]?.taskArn}`);
    const history = (await readFlowRunStates(world.prefect.apiUrl, completes, world.auth)).map(
      (state) => state.type
    );
    expect(history.indexOf('PENDING')).toBeGreaterThanOrEqual(0);
    expect(history.indexOf('PENDING')).toBeLessThan(history.indexOf('RUNNING'));
    expect(history.at(-1)).toBe('COMPLETED');
    expect(oomRun?.state).toMatchObject({ type: 'CRASHED', name: 'Crashed' });
    expect(oomRun?.state?.message).toMatch(/ran out of memory/);
    expect(oomRun?.state?.message).toContain(OOM_REASON);
    expect(pullRun?.state).toMatchObject({ type: 'CRASHED', name: 'Crashed' });
    expect(pullRun?.state?.message).toMatch(/could not pull the image/);
    // ... with the container's last CloudWatch lines (read by the reporter) as the run's logs
    const pullLogs = world.prefect.logs
      .filter((line) => line.flow_run_id === pull)
      .map((line) => line.message);
    expect(pullLogs).toEqual(expect.arrayContaining(PULL_LINES));
    expect(engineErrors).toEqual([]);
    // ... every AWS call (Secrets Manager, SQS, ECS, EC2, CloudWatch Logs) signed with the role's
    // environment credentials: the bundled credential provider is the environment link of the chain
    const operations = world.proxied.slice(proxiedBefore).map((call) => call.operation);
    for (const operation of [
      'AmazonSQS.SendMessageBatch',
      'AmazonEC2ContainerServiceV20141113.RunTask',
      'DescribeSubnets',
      'Logs_20140328.GetLogEvents',
    ]) {
      expect(operations).toContain(operation);
    }
    expect(world.proxied.map((call) => call.operation)).toContain('secretsmanager.GetSecretValue');
    for (const call of world.proxied) {
      expect(call).toMatchObject({
        accessKeyId: ROLE_CREDENTIALS.AWS_ACCESS_KEY_ID,
        securityToken: ROLE_CREDENTIALS.AWS_SESSION_TOKEN,
      });
    }
  }, 60_000);

  it('a tick from the tick queue → the warm poller claims a new run → the warm launcher starts it', async () => {
    // Prepare: a scheduled poll enqueues the ticks of the minute; then a run comes due
    const scheduled = await containers.poller.invoke(
      scheduledEvent(REGION, 'prefect-ecs-serverless-shipped-poll')
    );
    const id = await seedRun('shipped-tick', 'complete');
    // Act: the first tick becomes visible (its delay is the poll interval), the mapping invokes
    const ticks: Message[] = [];
    for (let round = 0; round < 12 && ticks.length === 0; round += 1) {
      const { Messages = [] } = await sqs.send(
        new ReceiveMessageCommand({
          QueueUrl: world.tickQueue.url,
          MaxNumberOfMessages: batchSizeOf('TickQueue'),
          WaitTimeSeconds: 1,
          MessageSystemAttributeNames: ['All'],
        })
      );
      ticks.push(...Messages);
    }
    const ticked = await invokeFromQueue(containers.poller, ticks, world.tickQueue);
    const launches = await receiveLaunches(1);
    const launched = await invokeFromQueue(containers.launcher, launches, world.launchQueue);
    await waitFor(
      'the run COMPLETED',
      async () => (await readRun(id)).state_type === 'COMPLETED',
      15_000
    );
    // Assess
    expect(scheduled.ok).toBe(true);
    expect(ticks).toHaveLength(1);
    expect(JSON.parse(ticks[0]?.Body ?? '{}')).toMatchObject({ kind: 'poll-tick' });
    expect(ticked).toMatchObject({ ok: true, result: { batchItemFailures: [] } });
    expect(launches.map((m) => parseLaunchMessage(m.Body ?? '').flow_run_id)).toEqual([id]);
    expect(launched).toMatchObject({ ok: true, result: { batchItemFailures: [] } });
    expect(tasksOf(id)).toHaveLength(1);
    expect(containers.poller.output()).toMatch(/"message":"Poll finished"[^\n]*"trigger":"tick"/);
    expect(engineErrors).toEqual([]);
  }, 40_000);

  it('webhook: refuses a caller without the token, then with the bearer token polls and enqueues; the launcher starts the run', async () => {
    // Prepare
    const id = await seedRun('shipped-webhook', 'complete');
    const request = (headers: Record<string, string>) =>
      httpApiEvent({ path: '/trigger', body: '{}', headers, region: REGION });
    const prefectCallsBefore = world.prefect.requests.length;
    // Act
    const anonymous = await containers.webhook.invoke<{ statusCode: number }>(
      request({ authorization: 'Bearer not-the-token-0123456789' })
    );
    // (the reporter and the engine may still be busy with earlier runs: only pool reads count)
    const polledAnonymous = world.prefect.requests
      .slice(prefectCallsBefore)
      .filter((call) => call.path.startsWith('/work_pools/'));
    const prefectCallsAnonymous = world.prefect.requests.length;
    const triggered = await containers.webhook.invoke<{ statusCode: number; body: string }>(
      request({ authorization: `Bearer ${WEBHOOK_TOKEN}` })
    );
    const polledTriggered = world.prefect.requests
      .slice(prefectCallsAnonymous)
      .filter((call) => call.path.startsWith('/work_pools/'));
    const launches = await receiveLaunches(1);
    const launched = await invokeFromQueue(containers.launcher, launches, world.launchQueue);
    await waitFor(
      'the run COMPLETED',
      async () => (await readRun(id)).state_type === 'COMPLETED',
      15_000
    );
    // Assess: the wrong token never reached Prefect; the right one claimed and enqueued the run
    expect(anonymous).toMatchObject({ ok: true, result: { statusCode: 401 } });
    expect(polledAnonymous).toEqual([]);
    expect(triggered).toMatchObject({ ok: true, result: { statusCode: 202 } });
    expect(polledTriggered.length).toBeGreaterThan(0);
    expect(JSON.parse(triggered.ok ? triggered.result.body : '{}')).toEqual({
      claimed: 1,
      enqueued: 1,
    });
    expect(launches.map((m) => parseLaunchMessage(m.Body ?? '').flow_run_id)).toEqual([id]);
    expect(launched).toMatchObject({ ok: true, result: { batchItemFailures: [] } });
    expect(tasksOf(id)).toHaveLength(1);
    expect(engineErrors).toEqual([]);
  }, 40_000);

  it('a deployment whose aws_credentials assume a role in another account and region: the shipped launcher assumes it (hand-signed STS) and runs there, the shipped reporter follows the forwarded events with it', async () => {
    // Prepare: the member role, its cluster, the AWS Credentials block and a deployment using it
    world.aws.sts.addRole({ arn: MEMBER_ROLE });
    const member = world.aws.tenant(MEMBER_ACCOUNT, MEMBER_REGION);
    const sts = new STSClient({
      region: REGION,
      endpoint: world.aws.url,
      credentials: { accessKeyId: 'AKIDTESTADMIN', secretAccessKey: 'test' },
    });
    const { Credentials: admin } = await sts.send(
      new AssumeRoleCommand({ RoleArn: MEMBER_ROLE, RoleSessionName: 'test-admin' })
    );
    sts.destroy();
    const memberEcs = new ECSClient({
      region: MEMBER_REGION,
      endpoint: world.aws.url,
      credentials: {
        accessKeyId: admin?.AccessKeyId ?? '',
        secretAccessKey: admin?.SecretAccessKey ?? '',
        sessionToken: admin?.SessionToken ?? '',
      },
    });
    await memberEcs.send(new CreateClusterCommand({ clusterName: MEMBER_CLUSTER }));
    memberEcs.destroy();
    const prefect = createPrefectClient({ apiUrl: world.prefect.apiUrl, apiKey: PREFECT_API_KEY });
    const blockId = await (await registerAwsCredentialsBlock(prefect)).create('member', {
      assume_role_arn: MEMBER_ROLE,
      region_name: MEMBER_REGION,
    });
    const deployment = await seed.deployment(
      world.prefect.apiUrl,
      {
        name: 'member-etl',
        workPoolName: POOL,
        jobVariables: {
          cluster: MEMBER_CLUSTER,
          aws_credentials: { $ref: { block_document_id: blockId } },
          execution_role_arn: `arn:aws:iam::${MEMBER_ACCOUNT}:role/prefect-execution`,
          prefect_api_key_secret_arn: member.secrets.putSecret('prefect/api-key', PREFECT_API_KEY),
          auto_deregister_task_definition: true,
        },
      },
      world.auth
    );
    const run = await seed.flowRun(
      world.prefect.apiUrl,
      deployment.id,
      { name: 'shipped-member', scheduledTime: new Date() },
      world.auth
    );
    member.ecs.setPlan({ startedBy: `prefect/${run.id}` }, { autoAdvance: { delayMs: 50 } });
    // The member account's forwarding rule has the template's pattern; the central rule delivers.
    const pattern = (templateProperties('TaskStateChangeRule') as { EventPattern: unknown })
      .EventPattern;
    const forwarded: { account: string; ok: boolean }[] = [];
    const stopForwarding = member.subscribe(async (event) => {
      if (!matches(pattern, event)) return;
      const answer = await containers.reporter.invoke(event);
      forwarded.push({ account: event.account, ok: answer.ok });
    });
    // The engine in the member task: RUNNING, then COMPLETED, then the container exits
    let engineDone = false;
    const memberEngine = (async () => {
      while (!engineDone) {
        const task = member.ecs
          .tasks()
          .find((t) => t.startedBy === `prefect/${run.id}` && t.lastStatus === 'RUNNING');
        if (task) {
          await engine.start(world.prefect.apiUrl, run.id, world.auth);
          await engine.complete(world.prefect.apiUrl, run.id, world.auth);
          await member.ecs.runToCompletion(task.taskArn, { exitCode: 0 });
          return;
        }
        await sleep(25);
      }
    })();

    // Act
    try {
      await containers.poller.invoke(scheduledEvent(REGION, 'prefect-ecs-serverless-shipped-poll'));
      const messages = await receiveLaunches(1);
      const launched = await invokeFromQueue(containers.launcher, messages, world.launchQueue);
      expect(launched).toMatchObject({ ok: true, result: { batchItemFailures: [] } });
      await waitFor(
        'the member run COMPLETED and its task STOPPED',
        async () =>
          (await readRun(run.id)).state_type === 'COMPLETED' &&
          member.ecs.tasks().every((task) => task.lastStatus === 'STOPPED'),
        20_000
      );
      await member.ecs.settled();
    } finally {
      engineDone = true;
      await memberEngine;
      stopForwarding();
    }

    // Assess: run in the member account's region, signed with a session of the member role that
    // the launcher obtained with its own (environment) credentials
    const runTasks = member.callsTo('RunTask');
    expect(runTasks).toHaveLength(1);
    const session = world.aws.sts.session(runTasks[0]?.accessKeyId ?? '');
    expect(session).toMatchObject({ roleArn: MEMBER_ROLE, accountId: MEMBER_ACCOUNT });
    expect(
      world.aws
        .callsTo('AssumeRole')
        .filter((call) => call.accessKeyId === ROLE_CREDENTIALS.AWS_ACCESS_KEY_ID)
        .every((call) => (call.input as { RoleArn?: string }).RoleArn === MEMBER_ROLE)
    ).toBe(true);
    expect((await readRun(run.id)).infrastructure_pid).toMatch(
      new RegExp(`^${MEMBER_CLUSTER}::arn:aws:ecs:${MEMBER_REGION}:${MEMBER_ACCOUNT}:task/`)
    );
    // ... and the shipped reporter handled every forwarded event, deregistering there
    expect(forwarded.length).toBeGreaterThan(0);
    expect(forwarded.every((event) => event.ok && event.account === MEMBER_ACCOUNT)).toBe(true);
    const deregistered = member.callsTo('DeregisterTaskDefinition');
    expect(deregistered).toHaveLength(1);
    expect(world.aws.sts.session(deregistered[0]?.accessKeyId ?? '')?.roleArn).toBe(MEMBER_ROLE);
  }, 60_000);

  it('never writes the Prefect key or the webhook token to any container output', () => {
    // Prepare / Act: everything the containers logged in the tests above
    const outputs = (Object.keys(FUNCTIONS) as FunctionName[]).map((name) =>
      containers[name].output()
    );
    // Assess: they logged (so this checks something), and never a secret value
    expect(outputs.every((output) => output.length > 0)).toBe(true);
    for (const output of outputs) {
      expect(output).not.toContain(PREFECT_API_KEY);
      expect(output).not.toContain(WEBHOOK_TOKEN);
    }
  });
});
