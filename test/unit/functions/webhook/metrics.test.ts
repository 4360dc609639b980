/**
 * The webhook's metrics through the real handler and dependency factories, over the poller's
 * stand-in world (Prefect, SQS, Secrets Manager): a call that claims runs publishes RunsClaimed
 * once; one that claims nothing, or is refused, publishes nothing.
 */
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  createWebhookHandler,
  type WebhookHandler,
} from '../../../../functions/webhook/handler.ts';
import { createWebhookDeps } from '../../../../functions/webhook/webhook-deps.ts';
import { createMetrics, METRICS_NAMESPACE } from '../../../../shared/observability.ts';
import { loadWebhookConfig } from '../../../../shared/webhook/webhook-config.ts';
import {
  credentials,
  type PollerWorld,
  seedRuns,
  startPollerWorld,
  WORKER,
} from '../../../integration/poller-fixtures.ts';
import type { AwsStandin } from '../../../standins/ecs/types.ts';
import {
  apiGatewayEvent,
  type EventOptions,
  lambdaContext,
  recordingLogger,
} from '../../shared/webhook/webhook-fixtures.ts';
import { captureEmf, metricNames, TEST_ENV, TEST_SERVICE } from '../emf-capture.ts';

const POOL = 'ecs-serverless';
const REGION = 'us-east-1';
const TOKEN = 'whtok-0123456789abcdef0123456789';

describe('webhook metrics', () => {
  let world: PollerWorld;
  let secretsManager: SecretsManagerClient;
  let handler: WebhookHandler;

  const send = (options: EventOptions) =>
    captureEmf(() => handler(apiGatewayEvent(options), lambdaContext()));

  beforeEach(async () => {
    // Prepare: the stack's environment over the stand-ins, as test/integration/webhook.test.ts
    world = await startPollerWorld({ pools: [POOL], aws: true });
    const aws = world.aws as AwsStandin;
    secretsManager = new SecretsManagerClient({
      endpoint: aws.url,
      region: REGION,
      credentials,
      maxAttempts: 1,
    });
    const env = {
      PREFECT_API_URL: world.prefect.apiUrl,
      PREFECT_API_KEY_SECRET_ARN: aws.secrets.putSecret('prefect/api-key', 'pnu_test_key'),
      PREFECT_WORK_POOLS: POOL,
      PREFECT_WORKER_NAME: WORKER,
      LAUNCH_QUEUE_URL: world.launchQueueUrl,
      AWS_REGION: REGION,
      WEBHOOK_SECRET_ARN: aws.secrets.putSecret('prefect-ecs-serverless/webhook', TOKEN),
    };
    handler = createWebhookHandler(
      createWebhookDeps(loadWebhookConfig(env), {
        logger: recordingLogger().logger,
        metrics: createMetrics(TEST_ENV),
        clients: { sqs: world.sqsClient, secretsManager },
        prefectDeps: { sleep: async () => {} },
        now: world.now,
      })
    );
  });

  afterEach(async () => {
    vi.restoreAllMocks();
    secretsManager?.destroy();
    await world?.close();
  });

  it('publishes RunsClaimed for the runs one call claimed, and nothing when it claims none', async () => {
    // Prepare
    await seedRuns(world, { pool: POOL, count: 2 });
    const headers = { authorization: `Bearer ${TOKEN}` };
    // Act
    const first = await send({ body: '{}', headers });
    const second = await send({ body: '{}', headers });
    // Assess
    expect(first.result).toMatchObject({ statusCode: 202, body: '{"claimed":2,"enqueued":2}' });
    expect(first.documents).toHaveLength(1);
    expect(first.documents[0]?._aws.CloudWatchMetrics).toEqual([
      {
        Namespace: METRICS_NAMESPACE,
        Dimensions: [['service']],
        Metrics: [{ Name: 'RunsClaimed', Unit: 'Count' }],
      },
    ]);
    expect(first.documents[0]).toMatchObject({ service: TEST_SERVICE, RunsClaimed: 2 });
    expect(second.result).toMatchObject({ statusCode: 202, body: '{"claimed":0,"enqueued":0}' });
    expect(second.documents).toEqual([]);
  });

  it('publishes nothing for a refused call', async () => {
    // Prepare
    await seedRuns(world, { pool: POOL, count: 1 });
    // Act
    const refused = await send({
      body: '{}',
      headers: { authorization: 'Bearer wrong-token-0123' },
    });
    // Assess
    expect(refused.result.statusCode).toBe(401);
    expect(refused.documents.map(metricNames)).toEqual([]);
  });
});
