/**
 * Measures idle polls of the real poller Lambda (`functions/poller/handler.ts`, imported afresh with
 * the environment the packaged template gives it): its clients reach the stand-ins through
 * `AWS_ENDPOINT_URL_<SERVICE>`, Prefect is the Prefect stand-in with an empty pool. What it writes to
 * stdout (Powertools' JSON logs and EMF documents, which is what CloudWatch Logs ingests), its
 * Prefect requests and its SQS requests are counted per invocation.
 */
import { randomUUID } from 'node:crypto';
import { vi } from 'vitest';
import { startAwsStandin } from '../standins/ecs/server.ts';
import { seed } from '../standins/prefect/actors.ts';
import { startPrefectStandin } from '../standins/prefect/server.ts';
import { type SqsQueue, startSqsStandin } from '../standins/sqs/server.ts';
import type { IdleMeasurements, IdlePollMeasurement } from './idle-cost.ts';

const REGION = 'us-east-1';
const API_KEY = 'pnu_idlecostidlecostidlecostidlecost0000';

/** The credential store the poller reads the Prefect API key from. */
export type CredentialStore = 'secretsmanager' | 'ssm';

interface EmfLike {
  _aws?: {
    CloudWatchMetrics?: {
      Namespace: string;
      Dimensions: string[][];
      Metrics: { Name: string }[];
    }[];
  };
  [key: string]: unknown;
}

/** `namespace/name/dim=value,…` of every metric an EMF line declares. */
const metricKeysOf = (line: string): string[] => {
  if (!line.includes('"_aws"')) return [];
  const document = JSON.parse(line) as EmfLike;
  return (document._aws?.CloudWatchMetrics ?? []).flatMap((set) =>
    set.Dimensions.flatMap((dimensions) =>
      set.Metrics.map(
        (metric) =>
          `${set.Namespace}/${metric.Name}/${dimensions.map((name) => `${name}=${String(document[name])}`).join(',')}`
      )
    )
  );
};

/** Runs `act` and returns the complete lines written to stdout meanwhile (and swallows them). */
const captureStdout = async (act: () => Promise<unknown>): Promise<string[]> => {
  let text = '';
  const spy = vi.spyOn(process.stdout, 'write').mockImplementation(((chunk: unknown) => {
    text += String(chunk);
    return true;
  }) as typeof process.stdout.write);
  try {
    await act();
  } finally {
    spy.mockRestore();
  }
  return text.split('\n').filter((line) => line.trim() !== '');
};

/**
 * Starts the stand-ins, imports the poller with `environment` (the template's, stand-in URLs
 * substituted), warms it up once (the cold start reads the secret), then measures one scheduled
 * poll and one tick poll of the empty pool.
 *
 * @example
 * const measured = await measureIdlePolls(functionEnvironment(template, 'PollerLambdaFunction'));
 */
export const measureIdlePolls = async (
  environment: Readonly<Record<string, string>>,
  store: CredentialStore = 'secretsmanager'
): Promise<IdleMeasurements> => {
  const prefect = await startPrefectStandin({ apiKey: API_KEY });
  const aws = await startAwsStandin({ region: REGION });
  const sqs = await startSqsStandin({
    region: REGION,
    queues: [
      { name: 'launch', visibilityTimeout: 360 },
      { name: 'tick', visibilityTimeout: 60 },
    ],
  });
  try {
    const pool = 'idle-pool';
    await seed.workPool(
      prefect.apiUrl,
      { name: pool },
      { headers: { authorization: `Bearer ${API_KEY}` } }
    );
    const credential =
      store === 'ssm'
        ? {
            PREFECT_API_KEY_SECRET_ARN: aws.parameters.putSecureString(
              '/prefect-ecs-serverless/dev/prefect-api-key',
              API_KEY
            ),
          }
        : { PREFECT_API_KEY_SECRET_ARN: aws.secrets.putSecret('prefect-api-key', API_KEY) };
    const tickQueue = sqs.queues.tick as SqsQueue;
    const env: Record<string, string> = {
      ...environment,
      ...credential,
      AWS_REGION: REGION,
      AWS_ACCESS_KEY_ID: 'AKIAIDLECOSTEXAMPLE0',
      AWS_SECRET_ACCESS_KEY: 'idle-cost-secret-access-key',
      AWS_ENDPOINT_URL_SQS: sqs.url,
      AWS_ENDPOINT_URL_ECS: aws.url,
      AWS_ENDPOINT_URL_SECRETS_MANAGER: aws.url,
      AWS_ENDPOINT_URL_SSM: aws.url,
      PREFECT_API_URL: prefect.apiUrl,
      PREFECT_WORK_POOLS: pool,
      PREFECT_API_AUTH_STRING_SECRET_ARN: '',
      LAUNCH_QUEUE_URL: (sqs.queues.launch as SqsQueue).url,
      TICK_QUEUE_URL: tickQueue.url,
      POWERTOOLS_DEV: '',
    };
    for (const [name, value] of Object.entries(env)) vi.stubEnv(name, value);
    vi.resetModules();
    const { handler } = (await import('../../functions/poller/handler.ts')) as {
      handler: (event: unknown, context?: unknown) => Promise<unknown>;
    };
    const scheduled = () => ({
      version: '0',
      id: randomUUID(),
      'detail-type': 'Scheduled Event',
      source: 'aws.events',
      account: '123456789012',
      time: `${new Date().toISOString().slice(0, 19)}Z`,
      region: REGION,
      resources: [`arn:aws:events:${REGION}:123456789012:rule/poll`],
      detail: {},
    });

    const measure = async (event: () => unknown): Promise<IdlePollMeasurement> => {
      const prefectBefore = prefect.requests.length;
      const sqsBefore = sqs.calls.length;
      const lines = await captureStdout(() => handler(event()));
      return {
        logBytes: lines.reduce((sum, line) => sum + Buffer.byteLength(line) + 1, 0),
        logLines: lines.length,
        metricKeys: [...new Set(lines.flatMap(metricKeysOf))],
        prefectRequests: prefect.requests.length - prefectBefore,
        sqsRequests: sqs.calls.length - sqsBefore,
      };
    };

    const queued = () => {
      const ticks = sqs.fauxqs.inspectQueue(tickQueue.name);
      return [...(ticks?.messages.delayed ?? []), ...(ticks?.messages.ready ?? [])];
    };
    await captureStdout(() => handler(scheduled())); // cold start: the secret read
    const before = queued().length;
    const schedule = await measure(scheduled);
    const enqueued = queued();
    const body = enqueued.at(-1)?.body ?? '{}';
    const tick = await measure(() => ({
      Records: [
        {
          messageId: randomUUID(),
          receiptHandle: 'receipt',
          body,
          attributes: {
            ApproximateReceiveCount: '1',
            SentTimestamp: String(Date.now()),
            SenderId: 'AROAEXAMPLE',
            ApproximateFirstReceiveTimestamp: String(Date.now()),
          },
          messageAttributes: {},
          md5OfBody: '',
          eventSource: 'aws:sqs',
          eventSourceARN: tickQueue.arn,
          awsRegion: REGION,
        },
      ],
    }));
    return { schedule, tick, ticksPerSchedule: enqueued.length - before };
  } finally {
    vi.unstubAllEnvs();
    await Promise.all([prefect.close(), aws.close(), sqs.close()]);
  }
};
