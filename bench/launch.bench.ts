/**
 * Launcher benchmark (issue 3 §5): 1,000 claimed runs across 10 deployments through the launcher's
 * handler, as one warm Lambda container receives them: SQS batches of 10, one invocation after the
 * other, with the real SDK and Prefect clients against the Prefect, AWS (ECS, EC2, Secrets Manager)
 * and SQS stand-ins over HTTP.
 *
 * Only the handler invocations are timed: seeding the deployments and runs, claiming them (PENDING
 * with a transition id, as the poller does), and sending and receiving the launch messages happen
 * before. Runs alternate between the deployments, so the first batch holds each deployment's first
 * launch (DescribeTaskDefinition + RegisterTaskDefinition, EC2 network discovery, flow and pool
 * reads) and the 99 batches after it are the steady state.
 *
 * The stand-ins share this process, so the rate includes their work too; peak RSS is the whole
 * process's. Targets (issue 3 "Must show", on a 2-core machine): ≥ 100 launches/s, ≤ 1 ECS call per
 * run in steady state, ≤ 5 Prefect calls per run.
 *
 * Run: `npx tsx bench/launch.bench.ts` (prints JSON); `npm run bench` calls `runLaunchBenchmark`.
 */
import { randomUUID } from 'node:crypto';
import { pathToFileURL } from 'node:url';
import { Logger } from '@aws-lambda-powertools/logger';
import { EC2Client } from '@aws-sdk/client-ec2';
import { CreateClusterCommand, ECSClient } from '@aws-sdk/client-ecs';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import {
  type Message,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import type { SQSEvent } from 'aws-lambda';
import { createLauncherHandler } from '../functions/launcher/handler.ts';
import { createLauncherDeps } from '../functions/launcher/launcher-deps.ts';
import { DEFAULT_WORKER_NAME, loadConfig } from '../shared/config.ts';
import { buildLaunchMessage } from '../shared/launch/launch-message.ts';
import { claimLabels } from '../shared/poll/run-labels.ts';
import { startAwsStandin } from '../test/standins/ecs/server.ts';
import { labelFlowRun, proposeState, seed } from '../test/standins/prefect/actors.ts';
import { startPrefectStandin } from '../test/standins/prefect/server.ts';
import { sqsRecord } from '../test/standins/sqs/esm-record.ts';
import { startSqsStandin } from '../test/standins/sqs/server.ts';

const RUNS = 1_000;
const DEPLOYMENTS = 10;
const BATCH = 10;
const POOL = 'bench-ecs';
const CLUSTER = 'prefect';
const API_KEY = 'pnu_launch-bench';
const EXECUTION_ROLE = 'arn:aws:iam::123456789012:role/prefect-execution';
const SEED_CONCURRENCY = 50;
const TARGETS = { launchesPerSecond: 100, steadyEcsCallsPerRun: 1, prefectCallsPerRun: 5 };

const credentials = { accessKeyId: 'bench', secretAccessKey: 'bench' };
const auth = { headers: { authorization: `Bearer ${API_KEY}` } };

const round = (value: number, digits = 2): number => Number(value.toFixed(digits));

/** Runs `work` over `items`, `limit` at a time. */
const inParallel = async <T, R>(
  items: readonly T[],
  limit: number,
  work: (item: T, index: number) => Promise<R>
): Promise<R[]> => {
  const results: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await work(items[index] as T, index);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
};

/** Counts the launcher's JSON log lines and keeps them off the terminal while `work` runs. */
const withSwallowedLogs = async <T>(
  work: () => Promise<T>
): Promise<{ result: T; lines: number }> => {
  const original = process.stdout.write.bind(process.stdout);
  let lines = 0;
  process.stdout.write = ((chunk: unknown, ...rest: unknown[]) => {
    const text = String(chunk);
    if (text.startsWith('{"level"')) {
      lines += text.trim().split('\n').length;
      return true;
    }
    return (original as (...args: unknown[]) => boolean)(chunk, ...rest);
  }) as typeof process.stdout.write;
  try {
    return { result: await work(), lines };
  } finally {
    process.stdout.write = original;
  }
};

const operationOf = (method: string, path: string): string =>
  `${method} ${path.replace(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g, '{id}')}`;

const summarize = (counts: Map<string, number>): string =>
  [...counts.entries()]
    .sort((a, b) => b[1] - a[1])
    .map(([name, count]) => `${name}: ${count}`)
    .join(', ');

const countBy = <T>(items: readonly T[], key: (item: T) => string): Map<string, number> => {
  const counts = new Map<string, number>();
  for (const item of items) counts.set(key(item), (counts.get(key(item)) ?? 0) + 1);
  return counts;
};

/**
 * Runs the benchmark on fresh stand-ins and resolves with its figures (see the module comment).
 *
 * @example
 * const figures = await runLaunchBenchmark();
 * figures.launches_per_second; // e.g. 180
 */
export const runLaunchBenchmark = async (): Promise<Record<string, number | string | boolean>> => {
  const prefect = await startPrefectStandin({ apiKey: API_KEY });
  const aws = await startAwsStandin();
  const sqsStandin = await startSqsStandin({
    queues: [{ name: 'launch', visibilityTimeout: 600, maxReceiveCount: 5 }],
  });
  const queue = sqsStandin.queues.launch;
  if (!queue) throw new Error('the SQS stand-in did not create the launch queue');
  const endpoint = { region: aws.region, endpoint: aws.url, credentials };
  const sqs = new SQSClient({ region: 'us-east-1', endpoint: sqsStandin.url, credentials });
  const launcherSqs = new SQSClient({ region: 'us-east-1', endpoint: sqsStandin.url, credentials });
  const ecs = new ECSClient(endpoint);
  const ec2 = new EC2Client(endpoint);
  const secretsManager = new SecretsManagerClient(endpoint);
  const clients = [sqs, launcherSqs, ecs, ec2, secretsManager];
  try {
    // Set up: cluster, credential secret, pool, deployments, claimed runs, queued messages.
    await ecs.send(new CreateClusterCommand({ clusterName: CLUSTER }));
    const secretArn = aws.secrets.putSecret('prefect/api-key', API_KEY);
    const pool = await seed.workPool(prefect.apiUrl, { name: POOL }, auth);
    const deployments = await inParallel(
      Array.from({ length: DEPLOYMENTS }, (_, index) => index),
      DEPLOYMENTS,
      (index) =>
        seed.deployment(
          prefect.apiUrl,
          {
            name: `etl-${index}`,
            workPoolName: POOL,
            jobVariables: {
              cluster: CLUSTER,
              image: `123456789012.dkr.ecr.us-east-1.amazonaws.com/etl-${index}:1`,
              env: { TEAM: `team-${index}` },
            },
          },
          auth
        )
    );
    const scheduledTime = new Date();
    const bodies = await inParallel(
      Array.from({ length: RUNS }, (_, index) => index),
      SEED_CONCURRENCY,
      async (index) => {
        const deployment = deployments[index % DEPLOYMENTS];
        if (!deployment) throw new Error('no deployment');
        const run = await seed.flowRun(prefect.apiUrl, deployment.id, { scheduledTime }, auth);
        const transitionId = randomUUID();
        const claim = await proposeState(
          prefect.apiUrl,
          run.id,
          { type: 'PENDING', name: 'Pending', state_details: { transition_id: transitionId } },
          false,
          auth
        );
        if (claim.status !== 'ACCEPT') throw new Error(`claim of ${run.id}: ${claim.status}`);
        // The poller writes the worker and attempt labels before it enqueues (claim-scheduled-runs.ts).
        await labelFlowRun(
          prefect.apiUrl,
          run.id,
          claimLabels(DEFAULT_WORKER_NAME, { name: POOL, id: pool.id }, transitionId),
          auth
        );
        return JSON.stringify(
          buildLaunchMessage({
            flowRunId: run.id,
            workPool: POOL,
            transitionId,
            scheduledTime,
            claimedAt: String(claim.state?.timestamp),
          })
        );
      }
    );
    for (let start = 0; start < bodies.length; start += BATCH) {
      await sqs.send(
        new SendMessageBatchCommand({
          QueueUrl: queue.url,
          Entries: bodies
            .slice(start, start + BATCH)
            .map((body, index) => ({ Id: String(index), MessageBody: body })),
        })
      );
    }
    // SQS hands out messages in no fixed order; keep the order of the runs (one run of each
    // deployment per batch), as a queue fed by round-robin polls would.
    const received = new Map<string, Message>();
    for (let round = 0; round < 10 * RUNS && received.size < RUNS; round++) {
      const { Messages = [] } = await sqs.send(
        new ReceiveMessageCommand({
          QueueUrl: queue.url,
          MaxNumberOfMessages: BATCH,
          WaitTimeSeconds: 0,
          MessageSystemAttributeNames: ['All'],
        })
      );
      for (const message of Messages) received.set(message.Body ?? '', message);
    }
    if (received.size !== RUNS) throw new Error(`received ${received.size} of ${RUNS} messages`);
    const events: SQSEvent[] = [];
    for (let start = 0; start < RUNS; start += BATCH) {
      events.push({
        Records: bodies
          .slice(start, start + BATCH)
          .map((body) => sqsRecord(received.get(body) as Message, queue)),
      });
    }

    // The launcher as deployed: configuration from the environment, credential from Secrets Manager.
    let visibilityChanges = 0;
    launcherSqs.middlewareStack.add(
      (next) => async (args) => {
        visibilityChanges++;
        return next(args);
      },
      { step: 'initialize', name: 'countVisibilityChanges' }
    );
    const config = loadConfig({
      PREFECT_API_URL: prefect.apiUrl,
      PREFECT_API_KEY_SECRET_ARN: secretArn,
      PREFECT_WORK_POOLS: POOL,
      LAUNCH_QUEUE_URL: queue.url,
      AWS_REGION: aws.region,
      ECS_EXECUTION_ROLE_ARN: EXECUTION_ROLE,
    });
    const deps = await createLauncherDeps(config, {
      logger: new Logger({ serviceName: 'launcher-bench', logLevel: 'INFO' }),
      clients: { ecs, ec2, secretsManager, sqs: launcherSqs },
    });
    const handler = createLauncherHandler(deps);

    const rssBeforeMiB = process.resourceUsage().maxRSS / 1024;

    // Timed: the handler invocations, one batch after the other (one warm container).
    const prefectBefore = prefect.requests.length;
    const awsBefore = aws.calls.length;
    let firstBatchPrefect = 0;
    let firstBatchAws = 0;
    let failedRecords = 0;
    const batchMs: number[] = [];
    const { lines } = await withSwallowedLogs(async () => {
      for (const [index, event] of events.entries()) {
        const started = performance.now();
        const response = await handler(event);
        batchMs.push(performance.now() - started);
        failedRecords += response.batchItemFailures.length;
        if (index === 0) {
          firstBatchPrefect = prefect.requests.length - prefectBefore;
          firstBatchAws = aws.calls.length - awsBefore;
        }
      }
    });
    const seconds = batchMs.reduce((sum, ms) => sum + ms, 0) / 1000;

    const allPrefectCalls = prefect.requests.slice(prefectBefore);
    // Worker events (issue 13) are one POST /events per batch, best effort, after the batch's
    // launches: counted apart from the launch path's calls and held to their own target.
    const isEventPost = (call: { method: string; path: string }) =>
      call.method === 'POST' && call.path === '/events';
    const eventPosts = allPrefectCalls.filter(isEventPost).length;
    const prefectCalls = allPrefectCalls.filter((call) => !isEventPost(call));
    const firstBatchLaunchPath = allPrefectCalls
      .slice(0, firstBatchPrefect)
      .filter((call) => !isEventPost(call)).length;
    const awsCalls = aws.calls.slice(awsBefore);
    const ecsCalls = awsCalls.filter((call) => call.service === 'ecs');
    const steadyAws = awsCalls.slice(firstBatchAws);
    const steadyEcs = steadyAws.filter((call) => call.service === 'ecs').length;
    const steadyRuns = RUNS - BATCH;
    const tasks = aws.ecs.tasks().filter((task) => task.startedBy?.startsWith('prefect/'));
    const launchesPerSecond = RUNS / seconds;
    const prefectPerRun = prefectCalls.length / RUNS;
    const steadyEcsPerRun = steadyEcs / steadyRuns;
    const sortedMs = [...batchMs].sort((a, b) => a - b);
    const percentile = (p: number) =>
      sortedMs[Math.min(sortedMs.length - 1, Math.floor(p * sortedMs.length))] ?? 0;
    const verdict = (met: boolean) => (met ? 'met' : 'MISSED');
    const steadyPrefectPerRun = (prefectCalls.length - firstBatchLaunchPath) / steadyRuns;
    const oneTimeReads = prefectCalls.length - TARGETS.prefectCallsPerRun * RUNS;
    // Each warm container reads every flow and the pool once (then caches them): those reads are
    // spread over the container's runs, so the per-run figure tends to 5 as the container lives.
    const prefectVerdict = () => {
      if (prefectPerRun <= TARGETS.prefectCallsPerRun) return 'met';
      if (steadyPrefectPerRun > TARGETS.prefectCallsPerRun) return 'MISSED';
      return `met in steady state (${round(steadyPrefectPerRun, 3)}); overall +${oneTimeReads} one-time reads per warm container (each flow and the pool, then cached)`;
    };
    return {
      runs: RUNS,
      deployments: DEPLOYMENTS,
      batch_size: BATCH,
      batches: events.length,
      tasks_started: tasks.length,
      failed_records: failedRecords,
      handler_seconds: round(seconds, 3),
      launches_per_second: round(launchesPerSecond, 1),
      'target: launches_per_second ≥ 100': verdict(launchesPerSecond >= TARGETS.launchesPerSecond),
      batch_ms_p50: round(percentile(0.5), 1),
      batch_ms_p95: round(percentile(0.95), 1),
      batch_ms_first: round(batchMs[0] ?? 0, 1),
      prefect_calls: prefectCalls.length,
      prefect_calls_note: 'launch path only; worker events are the rows below',
      prefect_calls_per_run: round(prefectPerRun, 3),
      prefect_calls_per_run_steady_state: round(steadyPrefectPerRun, 3),
      'target: prefect_calls_per_run ≤ 5': prefectVerdict(),
      prefect_calls_by_operation: summarize(
        countBy(prefectCalls, (call) => operationOf(call.method, call.path))
      ),
      worker_event_posts: eventPosts,
      worker_event_posts_per_run: round(eventPosts / RUNS, 3),
      'target: worker_event_posts_per_run ≤ 1 (issue 13: at most one more call per run)': verdict(
        eventPosts / RUNS <= 1 && eventPosts > 0
      ),
      ecs_calls: ecsCalls.length,
      ecs_calls_per_run: round(ecsCalls.length / RUNS, 3),
      ecs_calls_per_run_steady_state: round(steadyEcsPerRun, 3),
      'target: ecs_calls_per_run_steady_state ≤ 1': verdict(
        steadyEcsPerRun <= TARGETS.steadyEcsCallsPerRun
      ),
      aws_calls_by_operation: summarize(
        countBy(awsCalls, (call) => `${call.service}:${call.operation}`)
      ),
      register_task_definition_calls: ecsCalls.filter(
        (call) => call.operation === 'RegisterTaskDefinition'
      ).length,
      sqs_visibility_changes: visibilityChanges,
      launcher_log_lines: lines,
      peak_rss_mib_before_launches: round(rssBeforeMiB, 1),
      peak_rss_mib: round(process.resourceUsage().maxRSS / 1024, 1),
    };
  } finally {
    for (const client of clients) client.destroy();
    await sqsStandin.close();
    await aws.close();
    await prefect.close();
  }
};

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const figures = await runLaunchBenchmark();
  console.log(JSON.stringify(figures, null, 2));
}
