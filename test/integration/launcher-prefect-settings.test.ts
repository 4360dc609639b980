/**
 * The launcher's Prefect settings reach the flow-run container, as Prefect's worker passes its own,
 * through the real handler: configuration from the environment a deployed launcher has (its own
 * Prefect settings and FLOW_RUN_PREFECT_SETTINGS, which the `prefectSettings` parameter sets), real
 * SDK clients and the Prefect client → the Prefect, AWS and SQS stand-ins over HTTP. Also the
 * `prefect.io/version` tag of the started task.
 */
import { randomUUID } from 'node:crypto';
import { Logger } from '@aws-lambda-powertools/logger';
import {
  DeleteMessageCommand,
  type Message,
  ReceiveMessageCommand,
  SendMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import type { SQSEvent, SQSRecord } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLauncherHandler, type LauncherHandler } from '../../functions/launcher/handler.ts';
import { createLauncherDeps } from '../../functions/launcher/launcher-deps.ts';
import { loadConfig } from '../../shared/config.ts';
import { buildLaunchMessage } from '../../shared/launch/launch-message.ts';
import type { AwsStandin } from '../standins/ecs/types.ts';
import { type ActorOptions, proposeState, seed } from '../standins/prefect/actors.ts';
import type { PrefectStandin } from '../standins/prefect/server.ts';
import { sqsRecord } from '../standins/sqs/esm-record.ts';
import { type LauncherWorld, startLauncherWorld } from './launcher-world.ts';

const API_KEY = 'pnu_launcher-settings-key';
const POOL = 'ecs-settings';
const CLUSTER = 'prefect';
const auth: ActorOptions = { headers: { authorization: `Bearer ${API_KEY}` } };

let world: LauncherWorld;
let prefect: PrefectStandin;
let aws: AwsStandin;
let sqs: SQSClient;
let queueUrl: string;

beforeAll(async () => {
  world = await startLauncherWorld({ apiKey: API_KEY, pool: POOL, cluster: CLUSTER });
  ({ prefect, aws, sqs, queueUrl } = world);
});

afterAll(async () => {
  await world?.close();
});

/** A launcher as deployed with these extra variables in its environment. */
const createLauncher = async (env: Record<string, string>): Promise<LauncherHandler> => {
  const config = loadConfig(
    world.environment({ PREFECT_WORKER_NAME: 'settings-launcher', ...env })
  );
  const deps = await createLauncherDeps(config, {
    logger: new Logger({ serviceName: 'launcher-settings-test', logLevel: 'ERROR' }),
    clients: world.launcherClients(),
    prefectDeps: { sleep: async () => {} },
  });
  return createLauncherHandler(deps);
};

/** A claimed run of a new deployment, its launch message enqueued and received. */
const claimedRun = async (jobVariables: Record<string, unknown> = {}) => {
  const deployment = await seed.deployment(
    prefect.apiUrl,
    {
      name: randomUUID(),
      workPoolName: POOL,
      jobVariables: { cluster: CLUSTER, image: 'etl:settings', ...jobVariables },
    },
    auth
  );
  const run = await seed.flowRun(
    prefect.apiUrl,
    deployment.id,
    { scheduledTime: new Date() },
    auth
  );
  const transitionId = randomUUID();
  const claim = await proposeState(
    prefect.apiUrl,
    run.id,
    { type: 'PENDING', name: 'Pending', state_details: { transition_id: transitionId } },
    false,
    auth
  );
  expect(claim.status).toBe('ACCEPT');
  const body = JSON.stringify(
    buildLaunchMessage({
      flowRunId: run.id,
      workPool: POOL,
      transitionId,
      scheduledTime: new Date(),
      claimedAt: String(claim.state?.timestamp),
    })
  );
  const sent = await sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: body }));
  let message: Message | undefined;
  for (let round = 0; round < 50 && message === undefined; round++) {
    const { Messages = [] } = await sqs.send(
      new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10 })
    );
    message = Messages.find((received) => received.MessageId === sent.MessageId);
  }
  if (message === undefined) throw new Error('the launch message never arrived');
  return { run, message };
};

const toRecord = (message: Message): SQSRecord =>
  sqsRecord(message, { arn: world.sqsStandin.queues.launch?.arn ?? '' });

/** Launches the run through the handler; returns its RunTask input and registered definition. */
const launch = async (handler: LauncherHandler, jobVariables: Record<string, unknown> = {}) => {
  const { run, message } = await claimedRun(jobVariables);
  const event: SQSEvent = { Records: [toRecord(message)] };
  const response = await handler(event);
  expect(response.batchItemFailures).toEqual([]);
  await sqs.send(
    new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: message.ReceiptHandle })
  );
  const runTask = aws
    .callsTo('RunTask')
    .find((call) => (call.input as { startedBy?: string }).startedBy === `prefect/${run.id}`)
    ?.input as {
    overrides?: { containerOverrides?: { environment?: { name: string; value: string }[] }[] };
    tags?: { key: string; value: string }[];
  };
  const environment = Object.fromEntries(
    (runTask?.overrides?.containerOverrides?.[0]?.environment ?? []).map((pair) => [
      pair.name,
      pair.value,
    ])
  );
  const tags = Object.fromEntries((runTask?.tags ?? []).map((tag) => [tag.key, tag.value]));
  return { run, runTask, environment, tags };
};

describe('launcher: the Prefect settings of its environment reach the container', () => {
  it('forwards its settings and the prefectSettings parameter, never its own variables, the key or its proxy headers', async () => {
    // Prepare
    const handler = await createLauncher({
      PREFECT_LOGGING_LEVEL: 'INFO',
      PREFECT_CLIENT_MAX_RETRIES: '9',
      PREFECT_CLIENT_CUSTOM_HEADERS: '{"X-Proxy-Token":"proxy-secret-value"}',
      FLOW_RUN_PREFECT_SETTINGS: JSON.stringify({
        PREFECT_LOGGING_LEVEL: 'DEBUG',
        PREFECT_FLOW_DEFAULT_RETRIES: 2,
      }),
    });
    // Act
    const { run, runTask, environment } = await launch(handler);
    // Assess
    expect(environment).toMatchObject({
      PREFECT_API_URL: prefect.apiUrl,
      PREFECT_LOGGING_LEVEL: 'DEBUG',
      PREFECT_CLIENT_MAX_RETRIES: '9',
      PREFECT_FLOWS_DEFAULT_RETRIES: '2',
      PREFECT__FLOW_RUN_ID: run.id,
      PREFECT__WORKER_NAME: 'settings-launcher',
    });
    for (const name of [
      'PREFECT_API_KEY',
      'PREFECT_API_KEY_SECRET_ARN',
      'PREFECT_WORK_POOLS',
      'PREFECT_WORKER_NAME',
      'FLOW_RUN_PREFECT_SETTINGS',
      'PREFECT_CLIENT_CUSTOM_HEADERS',
    ]) {
      expect(environment).not.toHaveProperty(name);
    }
    expect(JSON.stringify(runTask)).not.toContain(API_KEY);
    expect(JSON.stringify(runTask)).not.toContain('proxy-secret-value');
  });

  it("lets the deployment's env job variable win over a forwarded setting", async () => {
    // Prepare
    const handler = await createLauncher({
      FLOW_RUN_PREFECT_SETTINGS: '{"PREFECT_LOGGING_LEVEL":"DEBUG"}',
    });
    // Act
    const { environment } = await launch(handler, { env: { PREFECT_LOGGING_LEVEL: 'ERROR' } });
    // Assess
    expect(environment.PREFECT_LOGGING_LEVEL).toBe('ERROR');
  });
});

describe('launcher: the prefect.io/version tag', () => {
  it("tags the task with the Prefect release whose worker it reproduces, not the previous '3'", async () => {
    // Prepare
    const handler = await createLauncher({});
    // Act
    const { run, tags } = await launch(handler);
    // Assess
    expect(tags['prefect.io/version']).toBe('3.8.3');
    expect(tags['prefect.io/flow-run-id']).toBe(run.id);
  });
});
