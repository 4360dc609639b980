/**
 * The reporter end to end through the real code path: handler → shared → real SDK clients and the
 * Prefect client → the Prefect and AWS (ECS, CloudWatch Logs, Secrets Manager) stand-ins over HTTP.
 * The ECS stand-in delivers every "ECS Task State Change" event to the handler as EventBridge
 * would; the engine and the user act through the Prefect actors. Prefect calls per event are
 * counted from the stand-in's `requests`.
 */
import { randomUUID } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import { EC2Client } from '@aws-sdk/client-ec2';
import {
  ECSClient,
  RegisterTaskDefinitionCommand,
  RunTaskCommand,
  type RunTaskCommandInput,
  StopTaskCommand,
} from '@aws-sdk/client-ecs';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SQSClient } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createLauncherHandler } from '../../functions/launcher/handler.ts';
import { createLauncherDeps } from '../../functions/launcher/launcher-deps.ts';
import { createReporterHandler, type ReporterHandler } from '../../functions/reporter/handler.ts';
import { createReporterDeps } from '../../functions/reporter/reporter-deps.ts';
import { loadConfig } from '../../shared/config.ts';
import { ATTEMPT_LABEL, ATTEMPT_VARIABLE } from '../../shared/ecs/attempt-marker.ts';
import { DEREGISTER_TAG_KEY } from '../../shared/ecs/ecs-tags.ts';
import { buildLaunchMessage } from '../../shared/launch/launch-message.ts';
import { PrefectApiError } from '../../shared/prefect/prefect-api-error.ts';
import { crashMessage, diagnoseStoppedTask } from '../../shared/report/diagnose-stopped-task.ts';
import { loadReporterConfig } from '../../shared/report/reporter-config.ts';
import {
  type TaskStateChangeEvent,
  TaskStateChangeEventSchema,
} from '../../shared/report/task-state-change-event.ts';
import {
  credentials,
  type FargateSetup,
  fargateTaskDefinition,
  setUpFargate,
} from '../standins/ecs/fixtures.ts';
import { startAwsStandin } from '../standins/ecs/server.ts';
import type { AwsStandin, EcsTaskStateChangeEvent } from '../standins/ecs/types.ts';
import {
  engine,
  type FlowRun,
  labelFlowRun,
  proposeState,
  readFlowRun,
  seed,
  user,
} from '../standins/prefect/actors.ts';
import {
  type PrefectStandin,
  type RecordedRequest,
  startPrefectStandin,
} from '../standins/prefect/server.ts';

const POOL = 'ecs-serverless';

/** What the handler's logger was given. */
interface LogLine {
  level: string;
  message: string;
  attributes: Record<string, unknown>;
}

/** One delivery of an event to the handler, with the Prefect requests it made. */
interface Delivery {
  event: EcsTaskStateChangeEvent;
  prefect: RecordedRequest[];
  error?: unknown;
}

interface Reporter {
  handler: ReporterHandler;
  lines: LogLine[];
  deliveries: Delivery[];
  /** Invokes the handler as EventBridge would, recording the Prefect requests it made. */
  deliver(event: EcsTaskStateChangeEvent): Promise<void>;
  close(): void;
}

/** A reporter as deployed: config from the environment, real SDK clients aimed at the stand-ins. */
const startReporter = async (
  prefect: PrefectStandin,
  aws: AwsStandin,
  env: Record<string, string> = {}
): Promise<Reporter> => {
  const endpoint = { region: aws.region, endpoint: aws.url, credentials };
  const ecs = new ECSClient({ ...endpoint, maxAttempts: 2 });
  const secretsManager = new SecretsManagerClient(endpoint);
  const logs = new CloudWatchLogsClient(endpoint);
  const lines: LogLine[] = [];
  const at =
    (level: string) =>
    (message: string, ...attributes: Record<string, unknown>[]) => {
      lines.push({ level, message, attributes: Object.assign({}, ...attributes) });
    };
  const fullEnv = {
    PREFECT_API_URL: prefect.apiUrl,
    PREFECT_WORK_POOLS: POOL,
    LAUNCH_QUEUE_URL: 'https://sqs.us-east-1.amazonaws.com/123456789012/launch',
    AWS_REGION: aws.region,
    STACK_ACCOUNT_ID: aws.accountId,
    ...env,
  };
  const deps = await createReporterDeps(
    loadConfig(fullEnv, { role: 'reporter' }),
    loadReporterConfig(fullEnv),
    {
      logger: { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') },
      clients: { ecs, secretsManager, logs: () => logs },
      prefectDeps: { sleep: async () => {} },
      // These tests count the state calls per event; worker-events.test.ts covers the events.
      workerEvents: false,
    }
  );
  const handler = createReporterHandler(deps);
  const deliveries: Delivery[] = [];
  const deliver = async (event: EcsTaskStateChangeEvent): Promise<void> => {
    const before = prefect.requests.length;
    const delivery: Delivery = { event, prefect: [] };
    deliveries.push(delivery);
    try {
      await handler(event);
    } catch (error) {
      delivery.error = error;
      throw error;
    } finally {
      delivery.prefect = prefect.requests.slice(before);
    }
  };
  return {
    handler,
    lines,
    deliveries,
    deliver,
    close: () => {
      ecs.destroy();
      secretsManager.destroy();
      logs.destroy();
    },
  };
};

/** `GET /flow_runs/x` → `GET /flow_runs/{id}`, for call-count assertions. */
const shape = (requests: readonly RecordedRequest[]): string[] =>
  requests.map(
    (request) =>
      `${request.method} ${request.path.replace(/[0-9a-f]{8}-[0-9a-f-]{27}/g, '{id}')} ${request.status}`
  );

const stateOf = (run: FlowRun) => ({ type: run.state?.type, name: run.state?.name });

describe('reporter: task lifecycles through the ECS and Prefect stand-ins', () => {
  let prefect: PrefectStandin;
  let aws: AwsStandin;
  let ecs: ECSClient;
  let fargate: FargateSetup;
  let reporter: Reporter;
  let deploymentId: string;
  /** Whether the stand-in's events reach the handler as they happen. */
  let live = true;

  beforeAll(async () => {
    prefect = await startPrefectStandin();
    aws = await startAwsStandin();
    ecs = new ECSClient({ region: aws.region, endpoint: aws.url, credentials });
    fargate = await setUpFargate(aws, ecs);
    reporter = await startReporter(prefect, aws);
    aws.subscribe((event) => (live ? reporter.deliver(event) : undefined));
    await seed.workPool(prefect.apiUrl, { name: POOL });
    deploymentId = (await seed.deployment(prefect.apiUrl, { name: 'etl', workPoolName: POOL })).id;
  });

  afterAll(async () => {
    reporter?.close();
    ecs?.destroy();
    await aws?.close();
    await prefect?.close();
  });

  beforeEach(() => {
    live = true;
    prefect.faults.clear();
    reporter.deliveries.length = 0;
    reporter.lines.length = 0;
  });

  /** Each claimed run's claim (its attempt). */
  const claims = new Map<string, string>();

  /** A run the poller claimed (PENDING, labelled with its attempt), scheduled a second ago. */
  const claimedRun = async (): Promise<string> => {
    const run = await seed.flowRun(prefect.apiUrl, deploymentId, {
      scheduledTime: new Date(Date.now() - 1000),
    });
    const transitionId = randomUUID();
    const claim = await proposeState(prefect.apiUrl, run.id, {
      type: 'PENDING',
      name: 'Pending',
      state_details: { transition_id: transitionId },
    });
    expect(claim.status).toBe('ACCEPT');
    await labelFlowRun(prefect.apiUrl, run.id, { [ATTEMPT_LABEL]: transitionId });
    claims.set(run.id, transitionId);
    return run.id;
  };

  /**
   * RunTask as the launcher calls it: startedBy `prefect/<id>`, the id and the attempt marker in
   * the environment.
   */
  const launch = async (
    flowRunId: string,
    input: Partial<RunTaskCommandInput> = {}
  ): Promise<string> => {
    const { tasks } = await ecs.send(
      new RunTaskCommand(
        fargate.runInput({
          startedBy: `prefect/${flowRunId}`,
          overrides: {
            containerOverrides: [
              {
                name: 'prefect',
                environment: [
                  { name: 'PREFECT__FLOW_RUN_ID', value: flowRunId },
                  { name: ATTEMPT_VARIABLE, value: claims.get(flowRunId) ?? 'none' },
                ],
              },
            ],
          },
          ...input,
        })
      )
    );
    const taskArn = tasks?.[0]?.taskArn;
    if (!taskArn) throw new Error('RunTask started no task');
    await aws.ecs.settled();
    return taskArn;
  };

  const deliveriesOf = (taskArn: string) =>
    reporter.deliveries.filter((delivery) => delivery.event.detail.taskArn === taskArn);

  const reported = (flowRunId: string) =>
    reporter.lines.filter(
      (line) =>
        line.message === 'Reported an ECS task state change' &&
        line.attributes.flow_run_id === flowRunId
    );

  it('follows a full lifecycle and never touches the COMPLETED the engine reported', async () => {
    // Prepare
    const flowRunId = await claimedRun();
    // Act: PROVISIONING (at RunTask), then PENDING
    const taskArn = await launch(flowRunId);
    await aws.ecs.advance(taskArn, 'PENDING');
    await aws.ecs.settled();
    const pendingRun = await readFlowRun(prefect.apiUrl, flowRunId);
    // Act: RUNNING, the engine runs the flow, the container exits 0
    await aws.ecs.advance(taskArn, 'RUNNING');
    expect((await engine.start(prefect.apiUrl, flowRunId)).status).toBe('ACCEPT');
    expect((await engine.complete(prefect.apiUrl, flowRunId)).status).toBe('ACCEPT');
    await aws.ecs.runToCompletion(taskArn, { exitCode: 0 });
    await aws.ecs.settled();
    // Assess
    expect(stateOf(pendingRun)).toEqual({ type: 'PENDING', name: 'InfrastructurePending' });
    expect(pendingRun.infrastructure_pid).toBe(`${aws.ecs.task(taskArn)?.clusterArn}::${taskArn}`);
    const finalRun = await readFlowRun(prefect.apiUrl, flowRunId);
    expect(stateOf(finalRun)).toEqual({ type: 'COMPLETED', name: 'Completed' });
    expect(deliveriesOf(taskArn).map((d) => [d.event.detail.lastStatus, shape(d.prefect)])).toEqual(
      [
        ['PROVISIONING', ['GET /flow_runs/{id} 200', 'POST /flow_runs/{id}/set_state 201']],
        ['PENDING', ['GET /flow_runs/{id} 200', 'PATCH /flow_runs/{id} 204']],
        ['RUNNING', ['GET /flow_runs/{id} 200']],
        ['RUNNING', []], // desired STOPPED: the STOPPED event follows
        ['STOPPED', ['GET /flow_runs/{id} 200']],
      ]
    );
  });

  it('marks a run killed for memory CRASHED with the OOM diagnosis', async () => {
    // Prepare
    const flowRunId = await claimedRun();
    const taskArn = await launch(flowRunId);
    await aws.ecs.advance(taskArn, 'RUNNING');
    await engine.start(prefect.apiUrl, flowRunId);
    // Act
    await aws.ecs.runToCompletion(taskArn, {
      exitCode: 137,
      containerReason: 'OutOfMemoryError: Container killed due to memory usage',
    });
    await aws.ecs.settled();
    // Assess
    const run = await readFlowRun(prefect.apiUrl, flowRunId);
    const taskId = taskArn.split('/').at(-1);
    expect(stateOf(run)).toEqual({ type: 'CRASHED', name: 'Crashed' });
    expect(run.state?.message).toBe(
      `ECS task ${taskId} ran out of memory: container 'prefect' was killed (exit code 137, OutOfMemoryError: Container killed due to memory usage). The task had 2048 MiB. Raise \`memory\` in the deployment’s job variables or the work pool defaults, e.g. memory: 4096 (on Fargate, with a \`cpu\` that allows it).`
    );
    const stopped = deliveriesOf(taskArn).at(-1);
    expect(shape(stopped?.prefect ?? [])).toEqual([
      'GET /flow_runs/{id} 200',
      'POST /flow_runs/{id}/set_state 201',
    ]);
    expect(prefect.logs.filter((line) => line.flow_run_id === flowRunId)).toEqual([]);
  });

  it('marks a run whose image cannot be pulled CRASHED and forwards the task’s last log lines', async () => {
    // Prepare
    const flowRunId = await claimedRun();
    const taskArn = await launch(flowRunId);
    const taskId = taskArn.split('/').at(-1) ?? '';
    const t0 = Date.parse('2026-01-15T10:00:00Z');
    aws.logs.putLogEvents(
      'prefect',
      `prefect-logs/prefect/${taskId}`,
      Array.from({ length: 250 }, (_, i) => ({ timestamp: t0 + i, message: `line ${i}` }))
    );
    // Act
    await aws.ecs.failToStart(taskArn, {
      stoppedReason:
        'CannotPullContainerError: pull image manifest has been retried 7 time(s): failed to resolve ref docker.io/prefecthq/prefect:nope: not found',
    });
    await aws.ecs.settled();
    // Assess
    const run = await readFlowRun(prefect.apiUrl, flowRunId);
    expect(stateOf(run)).toEqual({ type: 'CRASHED', name: 'Crashed' });
    expect(run.state?.message).toMatch(
      new RegExp(`^ECS task ${taskId} could not pull the image of container 'prefect'`)
    );
    const forwarded = prefect.logs.filter((line) => line.flow_run_id === flowRunId);
    expect(forwarded).toHaveLength(201);
    expect(forwarded[0]?.message).toBe(
      `ECS task ${taskId} stopped before the flow started. The last 200 line(s) container 'prefect' wrote to CloudWatch Logs (group prefect, stream prefect-logs/prefect/${taskId}) follow.`
    );
    expect(forwarded.slice(1).map((line) => line.message)).toEqual(
      Array.from({ length: 200 }, (_, i) => `line ${i + 50}`)
    );
    const stopped = deliveriesOf(taskArn).at(-1);
    expect(shape(stopped?.prefect ?? [])).toEqual([
      'GET /flow_runs/{id} 200',
      'POST /flow_runs/{id}/set_state 201',
      'POST /logs/ 201',
    ]);
    expect(aws.callsTo('GetLogEvents')).not.toHaveLength(0);
  });

  it('marks a CANCELLING run CANCELLED when its task stops, not CRASHED', async () => {
    // Prepare
    const flowRunId = await claimedRun();
    const taskArn = await launch(flowRunId);
    await aws.ecs.advance(taskArn, 'RUNNING');
    await engine.start(prefect.apiUrl, flowRunId);
    await user.cancel(prefect.apiUrl, flowRunId);
    // Act
    await ecs.send(
      new StopTaskCommand({
        cluster: fargate.cluster,
        task: taskArn,
        reason: 'Cancelled in Prefect',
      })
    );
    await aws.ecs.advance(taskArn, 'STOPPED');
    await aws.ecs.settled();
    // Assess
    const run = await readFlowRun(prefect.apiUrl, flowRunId);
    expect(stateOf(run)).toEqual({ type: 'CANCELLED', name: 'Cancelled' });
    expect(run.state?.message).toBe(
      `Flow run cancelled: its ECS task ${taskArn.split('/').at(-1)} stopped (Cancelled in Prefect).`
    );
  });

  it('marks a run CRASHED when the container exits 0 while the run is still RUNNING', async () => {
    // Prepare
    const flowRunId = await claimedRun();
    const taskArn = await launch(flowRunId);
    await aws.ecs.advance(taskArn, 'RUNNING');
    await engine.start(prefect.apiUrl, flowRunId);
    // Act
    await aws.ecs.runToCompletion(taskArn, { exitCode: 0 });
    await aws.ecs.settled();
    // Assess
    const run = await readFlowRun(prefect.apiUrl, flowRunId);
    expect(stateOf(run)).toEqual({ type: 'CRASHED', name: 'Crashed' });
    expect(run.state?.message).toContain(
      'the container exited without the flow reporting a final state'
    );
  });

  it('applies a duplicated event once: concurrent copies get REJECT, a later copy changes nothing', async () => {
    // Prepare
    const flowRunId = await claimedRun();
    const taskArn = await launch(flowRunId);
    live = false;
    await aws.ecs.runToCompletion(taskArn, { exitCode: 1 });
    await aws.ecs.settled();
    const stopped = aws.events.filter((e) => e.detail.taskArn === taskArn).at(-1);
    if (!stopped) throw new Error('no STOPPED event');
    // Act
    await Promise.all([reporter.deliver(stopped), reporter.deliver(stopped)]);
    await reporter.deliver(stopped);
    // Assess
    const run = await readFlowRun(prefect.apiUrl, flowRunId);
    expect(stateOf(run)).toEqual({ type: 'CRASHED', name: 'Crashed' });
    const outcomes = reported(flowRunId)
      .filter((line) => line.attributes.ecs_status === 'STOPPED')
      .map((line) => [line.attributes.prefect_status, line.attributes.duplicate]);
    // The two concurrent copies: one applied, one answered REJECT (in either order).
    expect(outcomes.slice(0, 2)).toEqual(
      expect.arrayContaining([
        ['ACCEPT', false],
        ['REJECT', true],
      ])
    );
    // The later copy reads the CRASHED run and proposes nothing.
    expect(outcomes[2]).toEqual([undefined, undefined]);
    const crashes = prefect.requests.filter(
      (request) =>
        request.path === `/flow_runs/${flowRunId}/set_state` &&
        request.status === 201 &&
        (request.body as { state?: { type?: string } }).state?.type === 'CRASHED'
    );
    expect(crashes).toHaveLength(1);
    expect(shape(reporter.deliveries.at(-1)?.prefect ?? [])).toEqual(['GET /flow_runs/{id} 200']);
  });

  it('never moves a run backwards: STOPPED first, then the late RUNNING and PROVISIONING', async () => {
    // Prepare
    const flowRunId = await claimedRun();
    live = false;
    const taskArn = await launch(flowRunId);
    await aws.ecs.advance(taskArn, 'RUNNING');
    await aws.ecs.runToCompletion(taskArn, { exitCode: 1 });
    await aws.ecs.settled();
    const events = aws.events.filter((e) => e.detail.taskArn === taskArn);
    const byStatus = (status: string) => events.find((e) => e.detail.lastStatus === status);
    // Act: out of order
    for (const status of ['STOPPED', 'RUNNING', 'PENDING', 'PROVISIONING']) {
      const event = byStatus(status);
      if (event) await reporter.deliver(event);
    }
    // Assess
    const run = await readFlowRun(prefect.apiUrl, flowRunId);
    expect(stateOf(run)).toEqual({ type: 'CRASHED', name: 'Crashed' });
    expect(deliveriesOf(taskArn).map((d) => [d.event.detail.lastStatus, shape(d.prefect)])).toEqual(
      [
        ['STOPPED', ['GET /flow_runs/{id} 200', 'POST /flow_runs/{id}/set_state 201']],
        ['RUNNING', ['GET /flow_runs/{id} 200']],
        ['PENDING', ['GET /flow_runs/{id} 200']],
        ['PROVISIONING', ['GET /flow_runs/{id} 200']],
      ]
    );
  });

  it('ignores a task that is not a flow run’s without calling Prefect', async () => {
    // Prepare
    const before = prefect.requests.length;
    // Act
    const { tasks } = await ecs.send(
      new RunTaskCommand(fargate.runInput({ startedBy: 'ecs-svc/42' }))
    );
    const taskArn = tasks?.[0]?.taskArn ?? '';
    await aws.ecs.runToCompletion(taskArn, { exitCode: 1 });
    await aws.ecs.settled();
    // Assess
    expect(deliveriesOf(taskArn).map((d) => d.event.detail.lastStatus)).toEqual([
      'PROVISIONING',
      'PENDING',
      'RUNNING',
      'RUNNING',
      'STOPPED',
    ]);
    expect(prefect.requests.length).toBe(before);
    expect(
      aws.callsTo('DescribeTasks').filter((c) => JSON.stringify(c.input).includes(taskArn))
    ).toEqual([]);
  });

  it('fails the invocation when Prefect answers 503, so the event is retried', async () => {
    // Prepare
    const flowRunId = await claimedRun();
    live = false;
    const taskArn = await launch(flowRunId);
    const provisioning = aws.events.find((e) => e.detail.taskArn === taskArn);
    if (!provisioning) throw new Error('no event');
    prefect.faults.inject({ path: `/flow_runs/${flowRunId}`, status: 503, times: 10 });
    // Act / Assess
    await expect(reporter.handler(provisioning)).rejects.toBeInstanceOf(PrefectApiError);
    expect(reporter.lines.filter((line) => line.level === 'error')).toEqual([
      expect.objectContaining({
        attributes: expect.objectContaining({ flow_run_id: flowRunId, retryable: true }),
      }),
    ]);
    // Act: the retry after the outage applies the event
    prefect.faults.clear();
    await reporter.handler(provisioning);
    // Assess
    expect(stateOf(await readFlowRun(prefect.apiUrl, flowRunId))).toEqual({
      type: 'PENDING',
      name: 'InfrastructurePending',
    });
  });

  it('logs an event it cannot parse once, with its id, and returns', async () => {
    // Prepare
    const before = prefect.requests.length;
    const event = { ...structuredClone(aws.events[0]), id: 'malformed-1', detail: { taskArn: 42 } };
    // Act
    await expect(reporter.handler(event)).resolves.toBeUndefined();
    // Assess
    expect(reporter.lines).toEqual([
      expect.objectContaining({
        level: 'error',
        attributes: expect.objectContaining({ event_id: 'malformed-1' }),
      }),
    ]);
    expect(prefect.requests.length).toBe(before);
  });

  it('deregisters the task definition of a task that carries the deregister tag', async () => {
    // Prepare
    const family = `prefect-deregister-${randomUUID().slice(0, 8)}`;
    const { taskDefinition } = await ecs.send(
      new RegisterTaskDefinitionCommand(fargateTaskDefinition(family))
    );
    const tagged = await claimedRun();
    const plain = await claimedRun();
    const taggedTask = await launch(tagged, {
      taskDefinition: taskDefinition?.taskDefinitionArn,
      tags: [{ key: DEREGISTER_TAG_KEY, value: 'true' }],
    });
    const plainTask = await launch(plain);
    // Act
    await aws.ecs.runToCompletion(taggedTask, { exitCode: 1 });
    await aws.ecs.runToCompletion(plainTask, { exitCode: 1 });
    await aws.ecs.settled();
    // Assess
    expect(
      aws
        .callsTo('DeregisterTaskDefinition')
        .map((call) => (call.input as { taskDefinition: string }).taskDefinition)
    ).toEqual([taskDefinition?.taskDefinitionArn]);
    const describe = aws
      .callsTo('DescribeTasks')
      .filter((c) => JSON.stringify(c.input).includes(taggedTask));
    expect(describe.map((c) => c.input)).toEqual([
      { cluster: aws.ecs.task(taggedTask)?.clusterArn, tasks: [taggedTask], include: ['TAGS'] },
    ]);
    expect(stateOf(await readFlowRun(prefect.apiUrl, tagged)).type).toBe('CRASHED');
  });
});

describe('reporter: every vendored event file through the stand-ins', () => {
  const EVENTS = new URL('../fixtures/aws-events/', import.meta.url);
  const FIXTURE_RUN = '7a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d';
  const FIXTURE_TASK_ID = '0f1e2d3c4b5a69788796a5b4c3d2e1f0';
  let prefect: PrefectStandin;
  let aws: AwsStandin;
  let ecs: ECSClient;
  let reporter: Reporter;
  let deploymentId: string;

  const raw = (path: string): Record<string, unknown> =>
    JSON.parse(readFileSync(new URL(path, EVENTS), 'utf8')) as Record<string, unknown>;

  beforeAll(async () => {
    prefect = await startPrefectStandin();
    // The synthetic events' region, account, cluster and task definition (prefect-flow-run:3).
    aws = await startAwsStandin({ region: 'eu-west-1', accountId: '123456789012' });
    ecs = new ECSClient({ region: aws.region, endpoint: aws.url, credentials });
    await setUpFargate(aws, ecs);
    for (let revision = 2; revision <= 3; revision++) {
      await ecs.send(new RegisterTaskDefinitionCommand(fargateTaskDefinition('prefect-flow-run')));
    }
    aws.logs.putLogEvents('prefect', `prefect-logs/prefect/${FIXTURE_TASK_ID}`, [
      {
        timestamp: Date.parse('2026-01-15T10:00:20Z'),
        message: 'Pulling docker.io/prefecthq/prefect:does-not-exist',
      },
    ]);
    reporter = await startReporter(prefect, aws);
    await seed.workPool(prefect.apiUrl, { name: POOL });
    deploymentId = (await seed.deployment(prefect.apiUrl, { name: 'fixtures', workPoolName: POOL }))
      .id;
  });

  afterAll(async () => {
    reporter?.close();
    ecs?.destroy();
    await aws?.close();
    await prefect?.close();
  });

  beforeEach(() => {
    reporter.lines.length = 0;
  });

  const attempts = new Map<string, string>();

  /** A run in `state`: PENDING (claimed, labelled), RUNNING (engine started) or COMPLETED. */
  const runIn = async (state: 'PENDING' | 'RUNNING' | 'COMPLETED'): Promise<string> => {
    const run = await seed.flowRun(prefect.apiUrl, deploymentId, {
      scheduledTime: new Date(Date.now() - 1000),
    });
    const transitionId = randomUUID();
    await proposeState(prefect.apiUrl, run.id, {
      type: 'PENDING',
      name: 'Pending',
      state_details: { transition_id: transitionId },
    });
    await labelFlowRun(prefect.apiUrl, run.id, { [ATTEMPT_LABEL]: transitionId });
    attempts.set(run.id, transitionId);
    if (state !== 'PENDING') await engine.start(prefect.apiUrl, run.id);
    if (state === 'COMPLETED') await engine.complete(prefect.apiUrl, run.id);
    return run.id;
  };

  /**
   * The fixture with its flow run id replaced by a run of the stand-in, and its task marked with
   * the run's attempt, as the launcher starts tasks (`attempt-marker.ts`).
   */
  const forRun = (file: string, flowRunId: string): TaskStateChangeEvent => {
    const event = TaskStateChangeEventSchema.parse(
      JSON.parse(JSON.stringify(raw(`synthetic/${file}`)).replaceAll(FIXTURE_RUN, flowRunId))
    );
    const marker = { name: ATTEMPT_VARIABLE, value: attempts.get(flowRunId) ?? 'none' };
    const [first, ...rest] = event.detail.overrides.containerOverrides;
    const containerOverrides = first
      ? [{ ...first, environment: [...(first.environment ?? []), marker] }, ...rest]
      : [{ name: 'prefect', environment: [marker] }];
    return { ...event, detail: { ...event.detail, overrides: { containerOverrides } } };
  };

  it.each<
    [
      string,
      'PENDING' | 'RUNNING' | 'COMPLETED',
      { type: string; name: string },
      RegExp | undefined,
    ]
  >([
    [
      'lifecycle-1-provisioning.json',
      'PENDING',
      { type: 'PENDING', name: 'InfrastructurePending' },
      /is provisioning\.$/,
    ],
    [
      'lifecycle-2-pending.json',
      'PENDING',
      { type: 'PENDING', name: 'InfrastructurePending' },
      /is pending\.$/,
    ],
    ['lifecycle-3-running.json', 'RUNNING', { type: 'RUNNING', name: 'Running' }, undefined],
    [
      'lifecycle-4-stopped-exit0.json',
      'COMPLETED',
      { type: 'COMPLETED', name: 'Completed' },
      undefined,
    ],
    [
      'stopped-essential-container-exit1.json',
      'RUNNING',
      { type: 'CRASHED', name: 'Crashed' },
      /exited with code 1, a general error/,
    ],
    [
      'stopped-oom-exit137.json',
      'RUNNING',
      { type: 'CRASHED', name: 'Crashed' },
      /ran out of memory/,
    ],
    [
      'stopped-spot-interruption.json',
      'RUNNING',
      { type: 'CRASHED', name: 'Crashed' },
      /reclaimed its Spot capacity \(SpotInterruption/,
    ],
    [
      'stopped-taskfailedtostart-cannotpull.json',
      'PENDING',
      { type: 'CRASHED', name: 'Crashed' },
      /could not pull the image/,
    ],
    [
      'stopped-taskfailedtostart-resourceinit.json',
      'PENDING',
      { type: 'CRASHED', name: 'Crashed' },
      /could not fetch the secrets/,
    ],
    [
      'stopped-user-initiated.json',
      'RUNNING',
      { type: 'CRASHED', name: 'Crashed' },
      /stopped by a StopTask call \(UserInitiated/,
    ],
  ])('synthetic/%s on a %s run → %j', async (file, initial, expected, message) => {
    // Prepare
    const flowRunId = await runIn(initial);
    const event = forRun(file, flowRunId);
    const before = prefect.requests.length;
    // Act
    await reporter.handler(event);
    const calls = prefect.requests.slice(before).filter((r) => r.path !== '/logs/');
    // Assess
    const run = await readFlowRun(prefect.apiUrl, flowRunId);
    expect(stateOf(run)).toEqual(expected);
    if (message) expect(run.state?.message).toMatch(message);
    if (expected.type === 'CRASHED') {
      expect(run.state?.message).toBe(crashMessage(diagnoseStoppedTask(event)));
    }
    expect(calls.length).toBeLessThanOrEqual(2);
    if (file === 'stopped-taskfailedtostart-cannotpull.json') {
      expect(prefect.logs.filter((l) => l.flow_run_id === flowRunId).map((l) => l.message)).toEqual(
        [
          expect.stringContaining(`ECS task ${FIXTURE_TASK_ID} stopped before the flow started.`),
          'Pulling docker.io/prefecthq/prefect:does-not-exist',
        ]
      );
    }
  });

  it.each(readdirSync(new URL('official/', EVENTS)).sort())(
    'official/%s: not ours or not an event, so no Prefect call',
    async (file) => {
      // Prepare
      const before = prefect.requests.length;
      const event = raw(`official/${file}`);
      // Act
      await expect(reporter.handler(event)).resolves.toBeUndefined();
      // Assess
      expect(prefect.requests.length).toBe(before);
      const errors = reporter.lines.filter((line) => line.level === 'error');
      // Complete events of tasks something else started are ignored quietly; fragments and
      // patterns are not events and get one error line.
      expect(errors).toHaveLength(file.startsWith('task-running') ? 0 : 1);
    }
  );
});

describe('reporter: end to end with the launcher', () => {
  let prefect: PrefectStandin;
  let aws: AwsStandin;
  let reporter: Reporter;
  const clients: { destroy(): void }[] = [];

  beforeAll(async () => {
    prefect = await startPrefectStandin();
    aws = await startAwsStandin();
    const ecs = new ECSClient({ region: aws.region, endpoint: aws.url, credentials });
    clients.push(ecs);
    await setUpFargate(aws, ecs);
    reporter = await startReporter(prefect, aws);
    aws.subscribe((event) => reporter.deliver(event));
    await seed.workPool(prefect.apiUrl, { name: POOL });
  });

  afterAll(async () => {
    reporter?.close();
    for (const client of clients) client.destroy();
    await aws?.close();
    await prefect?.close();
  });

  it('a launched run whose task is killed with exit 137 ends CRASHED (OOM) with its log tail', async () => {
    // Prepare: a deployment logging to CloudWatch, a run claimed as the poller claims it
    const deployment = await seed.deployment(prefect.apiUrl, {
      name: 'e2e',
      workPoolName: POOL,
      jobVariables: {
        cluster: 'prefect',
        image: 'acct.dkr.ecr.us-east-1.amazonaws.com/etl:1',
        configure_cloudwatch_logs: true,
        execution_role_arn: 'arn:aws:iam::123456789012:role/prefect-execution',
      },
    });
    const run = await seed.flowRun(prefect.apiUrl, deployment.id, {
      scheduledTime: new Date(Date.now() - 1000),
    });
    const transitionId = randomUUID();
    await proposeState(prefect.apiUrl, run.id, {
      type: 'PENDING',
      name: 'Pending',
      state_details: { transition_id: transitionId },
    });
    const endpoint = { region: aws.region, endpoint: aws.url, credentials };
    const launcherClients = {
      ecs: new ECSClient(endpoint),
      ec2: new EC2Client(endpoint),
      secretsManager: new SecretsManagerClient(endpoint),
      // Only used to delay a retry; this launch succeeds.
      sqs: new SQSClient({ region: 'us-east-1', endpoint: 'http://127.0.0.1:9', credentials }),
    };
    clients.push(...Object.values(launcherClients));
    const launcher = createLauncherHandler(
      await createLauncherDeps(
        loadConfig({
          PREFECT_API_URL: prefect.apiUrl,
          PREFECT_WORK_POOLS: POOL,
          LAUNCH_QUEUE_URL: 'http://127.0.0.1:9/123456789012/launch',
          AWS_REGION: aws.region,
          ECS_EXECUTION_ROLE_ARN: 'arn:aws:iam::123456789012:role/prefect-execution',
        }),
        {
          logger: { debug() {}, info() {}, warn() {}, error() {} },
          clients: launcherClients,
          prefectDeps: { sleep: async () => {} },
        }
      )
    );
    const body = JSON.stringify(
      buildLaunchMessage({
        flowRunId: run.id,
        workPool: POOL,
        transitionId,
        scheduledTime: new Date(),
      })
    );
    // Act: launch
    const response = await launcher({
      Records: [
        {
          messageId: randomUUID(),
          receiptHandle: 'receipt',
          body,
          attributes: {
            ApproximateReceiveCount: '1',
            SentTimestamp: String(Date.now()),
            SenderId: 'AIDATEST',
            ApproximateFirstReceiveTimestamp: String(Date.now()),
          },
          messageAttributes: {},
          md5OfBody: '',
          eventSource: 'aws:sqs',
          eventSourceARN: 'arn:aws:sqs:us-east-1:123456789012:launch',
          awsRegion: 'us-east-1',
        },
      ],
    });
    await aws.ecs.settled();
    expect(response.batchItemFailures).toEqual([]);
    const task = aws.ecs.tasks().find((candidate) => candidate.startedBy === `prefect/${run.id}`);
    if (!task) throw new Error('the launcher started no task');
    const taskId = task.taskArn.split('/').at(-1) ?? '';
    aws.logs.putLogEvents('prefect', `prefect-logs_${POOL}_${deployment.id}/prefect/${taskId}`, [
      { timestamp: Date.now() - 20, message: 'Downloading flow code' },
      { timestamp: Date.now() - 10, message: 'Loading 40 GB of parquet into memory' },
    ]);
    // Act: ECS kills the container for memory
    await aws.ecs.runToCompletion(task.taskArn, {
      exitCode: 137,
      containerReason: 'OutOfMemoryError: Container killed due to memory usage',
    });
    await aws.ecs.settled();
    // Assess
    const after = await readFlowRun(prefect.apiUrl, run.id);
    expect(stateOf(after)).toEqual({ type: 'CRASHED', name: 'Crashed' });
    expect(after.infrastructure_pid).toBe(`prefect::${task.taskArn}`);
    expect(after.state?.message).toMatch(
      new RegExp(
        `^ECS task ${taskId} ran out of memory: container 'prefect' was killed \\(exit code 137, OutOfMemoryError`
      )
    );
    expect(after.state?.message).toContain('Raise `memory`');
    const forwarded = prefect.logs
      .filter((line) => line.flow_run_id === run.id)
      .map((line) => line.message)
      .filter((message) => !message.startsWith('Created ECS task'));
    expect(forwarded).toEqual([
      expect.stringMatching(
        /stopped before the flow started\. The last 2 line\(s\) container 'prefect'/
      ),
      'Downloading flow code',
      'Loading 40 GB of parquet into memory',
    ]);
    const stopped = reporter.deliveries.filter(
      (d) => d.event.detail.taskArn === task.taskArn && d.event.detail.lastStatus === 'STOPPED'
    );
    expect(stopped.map((d) => shape(d.prefect))).toEqual([
      ['GET /flow_runs/{id} 200', 'POST /flow_runs/{id}/set_state 201', 'POST /logs/ 201'],
    ]);
  });
});
