/**
 * The webhook against the stand-ins: its secret read from the Secrets Manager stand-in through the
 * real SDK (once per cold start), and a real poll against the Prefect and SQS stand-ins.
 */
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createWebhookHandler, type WebhookHandler } from '../../functions/webhook/handler.ts';
import { createWebhookDeps } from '../../functions/webhook/webhook-deps.ts';
import { createSecretsManagerReader } from '../../shared/secrets/secrets-manager-reader.ts';
import { signWebhookRequest } from '../../shared/webhook/authenticate.ts';
import { loadWebhookConfig } from '../../shared/webhook/webhook-config.ts';
import { createWebhookCredentialsProvider } from '../../shared/webhook/webhook-secret.ts';
import { startAwsStandin } from '../standins/ecs/server.ts';
import type { AwsStandin } from '../standins/ecs/types.ts';
import {
  apiGatewayEvent,
  type EventOptions,
  lambdaContext,
  recordingLogger,
} from '../unit/shared/webhook/webhook-fixtures.ts';
import { type PollerWorld, seedRuns, startPollerWorld, WORKER } from './poller-fixtures.ts';

const REGION = 'us-east-1';
const TOKEN = 'whtok-0123456789abcdef0123456789';
const SIGNING_KEY = 'whkey-fedcba9876543210fedcba9876';
const AWS_CREDENTIALS = { accessKeyId: 'AKIDTEST', secretAccessKey: 'secret' };

let aws: AwsStandin;
let secretsManager: SecretsManagerClient;

beforeAll(async () => {
  aws = await startAwsStandin({ region: REGION });
  secretsManager = new SecretsManagerClient({
    endpoint: aws.url,
    region: REGION,
    credentials: AWS_CREDENTIALS,
    maxAttempts: 1,
  });
});

afterAll(async () => {
  secretsManager?.destroy();
  await aws?.close();
});

describe('webhook: the secret from Secrets Manager', () => {
  let polls: (readonly string[] | undefined)[];
  let handler: WebhookHandler;
  let log: ReturnType<typeof recordingLogger>;

  const handlerFor = (secretArn: string): WebhookHandler =>
    createWebhookHandler({
      workPools: ['ecs-serverless'],
      credentials: createWebhookCredentialsProvider(
        { kind: 'secretArn', secretArn },
        createSecretsManagerReader(secretsManager)
      ),
      poll: async (pools) => {
        polls.push(pools);
        return { claimed: 0, enqueued: 0 };
      },
      logger: log.logger,
    });

  const send = (options: EventOptions) => handler(apiGatewayEvent(options), lambdaContext());

  beforeEach(() => {
    polls = [];
    log = recordingLogger();
  });

  it('reads a JSON secret once and checks both methods against it', async () => {
    // Prepare
    const arn = aws.secrets.putSecret(
      'prefect-ecs-serverless/webhook-json',
      JSON.stringify({ token: TOKEN, signing_key: SIGNING_KEY })
    );
    handler = handlerFor(arn);
    const reads = aws.callsTo('GetSecretValue').length;
    const body = '{"work_pool":"ecs-serverless"}';
    // Act
    const results = [
      await send({ body, headers: { authorization: `Bearer ${TOKEN}` } }),
      await send({ body, headers: signWebhookRequest(SIGNING_KEY, body) }),
      await send({ body, headers: { authorization: `Bearer ${SIGNING_KEY}` } }),
      await send({ body, headers: signWebhookRequest(TOKEN, body) }),
    ];
    // Assess
    expect(results.map((result) => result.statusCode)).toEqual([202, 202, 401, 401]);
    expect(aws.callsTo('GetSecretValue').length - reads).toBe(1);
    expect(aws.callsTo('GetSecretValue').at(-1)?.input).toEqual({ SecretId: arn });
    expect(polls).toEqual([['ecs-serverless'], ['ecs-serverless']]);
  });

  it('uses a plain-text secret as token and signing key', async () => {
    // Prepare
    const arn = aws.secrets.putSecret('prefect-ecs-serverless/webhook-plain', TOKEN);
    handler = handlerFor(arn);
    // Act
    const bearer = await send({ body: '{}', headers: { authorization: `Bearer ${TOKEN}` } });
    const signed = await send({ body: '{}', headers: signWebhookRequest(TOKEN, '{}') });
    // Assess
    expect([bearer.statusCode, signed.statusCode]).toEqual([202, 202]);
  });

  it('answers a generic 500 while the secret is missing, and recovers once it exists', async () => {
    // Prepare: a partial ARN (no random suffix) names the secret before it exists
    const arn = `arn:aws:secretsmanager:${REGION}:${aws.accountId}:secret:prefect-ecs-serverless/webhook-late`;
    handler = handlerFor(arn);
    const headers = { authorization: `Bearer ${TOKEN}` };
    // Act
    const missing = await send({ body: '{}', headers });
    aws.secrets.putSecret('prefect-ecs-serverless/webhook-late', TOKEN);
    const recovered = await send({ body: '{}', headers: { authorization: `Bearer ${TOKEN}` } });
    // Assess
    expect(missing).toMatchObject({ statusCode: 500, body: '{"message":"Internal Server Error"}' });
    expect(log.spies.error).toHaveBeenCalledWith(
      'Webhook request failed',
      expect.objectContaining({
        error: expect.objectContaining({ code: 'ResourceNotFoundException' }),
      })
    );
    expect(log.text()).not.toContain(TOKEN);
    expect(polls).toEqual([undefined]);
    expect(recovered.statusCode).toBe(202);
  });
});

describe('webhook: a real poll through the Prefect and SQS stand-ins', () => {
  const POOL = 'ecs-serverless';
  let world: PollerWorld;
  let sm: SecretsManagerClient;
  let handler: WebhookHandler;
  let log: ReturnType<typeof recordingLogger>;
  let prefectKeyArn: string;

  const send = (options: EventOptions) => handler(apiGatewayEvent(options), lambdaContext());
  const prefectKeyReads = () =>
    world.aws?.callsTo('GetSecretValue').filter((call) => {
      const input = call.input as { SecretId: string };
      return input.SecretId === prefectKeyArn;
    }).length;

  beforeEach(async () => {
    // Prepare: the stack's environment, as serverless.yml sets it, over the stand-ins
    world = await startPollerWorld({ pools: [POOL], aws: true });
    const aws = world.aws as AwsStandin;
    sm = new SecretsManagerClient({
      endpoint: aws.url,
      region: REGION,
      credentials: AWS_CREDENTIALS,
      maxAttempts: 1,
    });
    prefectKeyArn = aws.secrets.putSecret('prefect-ecs-serverless/prefect-api-key', 'pnu_test_key');
    const env = {
      PREFECT_API_URL: world.prefect.apiUrl,
      PREFECT_API_KEY_SECRET_ARN: prefectKeyArn,
      PREFECT_WORK_POOLS: POOL,
      PREFECT_WORKER_NAME: WORKER,
      LAUNCH_QUEUE_URL: world.launchQueueUrl,
      AWS_REGION: REGION,
      WEBHOOK_SECRET_ARN: aws.secrets.putSecret('prefect-ecs-serverless/webhook', TOKEN),
    };
    log = recordingLogger();
    handler = createWebhookHandler(
      createWebhookDeps(loadWebhookConfig(env), {
        logger: log.logger,
        clients: { sqs: world.sqsClient, secretsManager: sm },
        prefectDeps: { sleep: async () => {} },
        now: world.now,
      })
    );
  });

  afterEach(async () => {
    sm?.destroy();
    await world?.close();
  });

  it('claims and enqueues an ad-hoc run with one call: 202 {claimed: 1, enqueued: 1}', async () => {
    // Prepare
    const { runs } = await seedRuns(world, { pool: POOL, count: 1 });
    const run = runs[0];
    const body = JSON.stringify({
      flow_run_id: run?.id,
      event: 'prefect.flow-run.Scheduled',
      event_id: '91aa2d4e-1111-4aaa-8bbb-000000000006',
      expected_start_time: world.now().toISOString(),
      work_pool: POOL,
      work_queue: 'default',
      deployment_id: run?.deployment_id,
    });
    // Act
    const result = await send({ body, headers: { authorization: `Bearer ${TOKEN}` } });
    // Assess
    expect(result).toMatchObject({ statusCode: 202, body: '{"claimed":1,"enqueued":1}' });
    const claimed = await world.admin.readFlowRun(run?.id ?? '');
    expect(claimed.state?.type).toBe('PENDING');
    const launches = world.launches();
    expect(launches.map((launch) => launch.message)).toEqual([
      expect.objectContaining({ flow_run_id: run?.id, work_pool: POOL }),
    ]);
    expect(launches[0]?.message.transition_id).toBe(claimed.state?.state_details.transition_id);
    // No sweeps: the webhook never lists CANCELLING or PENDING runs, and never calls ECS.
    expect(
      world.prefect.requests.map((request) => `${request.method} ${request.path}`)
    ).not.toContain('POST /flow_runs/filter');
    expect(world.aws?.calls.filter((call) => call.service === 'ecs')).toEqual([]);
  });

  it('claims nothing twice: a second call answers {claimed: 0, enqueued: 0}', async () => {
    // Prepare
    await seedRuns(world, { pool: POOL, count: 2 });
    const headers = { authorization: `Bearer ${TOKEN}` };
    // Act
    const first = await send({ body: '', headers });
    const second = await send({
      body: `{"work_pool":"${POOL}"}`,
      headers: signWebhookRequest(TOKEN, `{"work_pool":"${POOL}"}`, world.now().getTime() / 1000),
    });
    // Assess
    expect(first.body).toBe('{"claimed":2,"enqueued":2}');
    expect(second).toMatchObject({ statusCode: 202, body: '{"claimed":0,"enqueued":0}' });
    expect(world.launches()).toHaveLength(2);
  });

  it('never reaches Prefect (nor reads its key) on a 4xx', async () => {
    // Prepare
    await seedRuns(world, { pool: POOL, count: 1 });
    const before = world.prefect.requests.length;
    const stale = signWebhookRequest(TOKEN, '{}', world.now().getTime() / 1000 - 301);
    // Act
    const results = await Promise.all([
      send({ body: '{}' }),
      send({ body: '{}', headers: { authorization: 'Bearer wrong-token-0123456789' } }),
      send({ body: '{}', headers: stale }),
      send({ body: '{}', headers: signWebhookRequest('another-key-0123456789', '{}') }),
      send({ body: '{"work_pool":"elsewhere"}', headers: { authorization: `Bearer ${TOKEN}` } }),
      send({ body: '{"work_pool":', headers: { authorization: `Bearer ${TOKEN}` } }),
      send({ body: ' '.repeat(65_537), headers: { authorization: `Bearer ${TOKEN}` } }),
      send({ method: 'GET', headers: { authorization: `Bearer ${TOKEN}` } }),
      send({ path: '/poll', body: '{}', headers: { authorization: `Bearer ${TOKEN}` } }),
    ]);
    // Assess
    expect(results.map((result) => result.statusCode)).toEqual([
      401, 401, 401, 401, 400, 400, 413, 405, 404,
    ]);
    expect(world.prefect.requests.length).toBe(before);
    expect(prefectKeyReads()).toBe(0);
    expect(world.launches()).toEqual([]);
    // The first authenticated request reads the key once, and later ones reuse it.
    await send({ body: '{}', headers: { authorization: `Bearer ${TOKEN}` } });
    await send({ body: '{}', headers: { authorization: `Bearer ${TOKEN}` } });
    expect(prefectKeyReads()).toBe(1);
    expect(world.prefect.requests[before]?.headers.authorization).toBe('Bearer pnu_test_key');
    expect(log.text()).not.toContain('pnu_test_key');
    expect(log.text()).not.toContain(TOKEN);
  });

  it('answers 202 {0, 0} and logs the problem when the pool does not exist in Prefect', async () => {
    // Prepare: nothing seeded
    // Act
    const result = await send({ body: '{}', headers: { authorization: `Bearer ${TOKEN}` } });
    // Assess
    expect(result).toMatchObject({ statusCode: 202, body: '{"claimed":0,"enqueued":0}' });
    expect(log.spies.error).toHaveBeenCalledWith(
      expect.stringContaining(`Work pool '${POOL}' was not found in Prefect`),
      expect.anything()
    );
    expect(log.spies.warn).toHaveBeenCalledWith('Webhook poll finished with errors', {
      pools: [{ name: POOL, errors: 1 }],
    });
  });
});
