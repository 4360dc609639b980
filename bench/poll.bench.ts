/**
 * Benchmark of one poll (issue 4 §5): a pool with 1,000 due runs, polled once through the Prefect
 * and SQS stand-ins with the real clients. Reports runs claimed and enqueued per second, Prefect
 * calls per run (claim path and sweeps), and SQS requests per run (batching).
 *
 * Run: `npx tsx bench/poll.bench.ts` (prints JSON); `npm run bench` calls `runPollBenchmark`.
 */
import { pathToFileURL } from 'node:url';
import { SQSClient } from '@aws-sdk/client-sqs';
import type { PollEcs } from '../shared/poll/poll-deps.ts';
import { pollPools } from '../shared/poll/poll-pools.ts';
import { summarizePoll } from '../shared/poll/poll-result.ts';
import { POLLER_DEFAULTS } from '../shared/poll/poller-config.ts';
import { createPrefectClient } from '../shared/prefect/client.ts';
import type { QueueSender } from '../shared/queue/queue-sender.ts';
import { createSqsQueueSender } from '../shared/queue/sqs-queue-sender.ts';
import { seed } from '../test/standins/prefect/actors.ts';
import { startPrefectStandin } from '../test/standins/prefect/server.ts';
import { startSqsStandin } from '../test/standins/sqs/server.ts';

const RUNS = 1_000;
const POOL = 'bench-pool';

/** Seeds `count` due runs, a few requests at a time. */
const seedRuns = async (apiUrl: string, deploymentId: string, count: number): Promise<void> => {
  const scheduledTime = new Date(Date.now() - 1_000);
  for (let start = 0; start < count; start += 50) {
    await Promise.all(
      Array.from({ length: Math.min(50, count - start) }, () =>
        seed.flowRun(apiUrl, deploymentId, { scheduledTime })
      )
    );
  }
};

const operationOf = (method: string, path: string): string => {
  if (path.endsWith('/set_state')) return 'set_state';
  if (path.endsWith('/labels')) return 'labels';
  if (path.endsWith('/get_scheduled_flow_runs')) return 'get_scheduled_flow_runs';
  if (path.endsWith('/workers/heartbeat')) return 'heartbeat';
  if (path === '/flow_runs/filter') return 'flow_runs_filter (sweeps)';
  return `${method} ${path.replace(/[0-9a-f-]{36}/g, '{id}')}`;
};

/** Runs the benchmark and resolves with its figures. */
export const runPollBenchmark = async (): Promise<Record<string, number | string>> => {
  const prefect = await startPrefectStandin();
  const sqs = await startSqsStandin({ queues: [{ name: 'launch', visibilityTimeout: 300 }] });
  const sqsClient = new SQSClient({
    region: 'us-east-1',
    endpoint: sqs.url,
    credentials: { accessKeyId: 'bench', secretAccessKey: 'bench' },
  });
  try {
    await seed.workPool(prefect.apiUrl, { name: POOL });
    const deployment = await seed.deployment(prefect.apiUrl, { name: 'bench', workPoolName: POOL });
    await seedRuns(prefect.apiUrl, deployment.id, RUNS);

    let sqsRequests = 0;
    const sender = createSqsQueueSender(sqsClient);
    const queue: QueueSender = {
      async sendMessages(url, messages) {
        const outcome = await sender.sendMessages(url, messages);
        sqsRequests += outcome.requests;
        return outcome;
      },
    };
    const noEcs: PollEcs = {
      describeTasks: async () => ({ tasks: [], failures: [] }),
      stopTask: async () => undefined,
      listLiveTasksStartedBy: async () => [],
    };
    const firstRequest = prefect.requests.length;
    const started = performance.now();
    const result = await pollPools(
      {},
      {
        prefect: createPrefectClient({ apiUrl: prefect.apiUrl }),
        queue,
        ecs: noEcs,
        logger: { debug() {}, info() {}, warn() {}, error() {} },
        options: {
          workPools: [POOL],
          workQueues: [],
          workerName: 'bench-worker',
          launchQueueUrl: sqs.queues.launch?.url ?? '',
          ...POLLER_DEFAULTS,
        },
      }
    );
    const seconds = (performance.now() - started) / 1000;
    const totals = summarizePoll(result);
    const calls = prefect.requests.slice(firstRequest);
    const byOperation = new Map<string, number>();
    for (const call of calls) {
      const operation = operationOf(call.method, call.path);
      byOperation.set(operation, (byOperation.get(operation) ?? 0) + 1);
    }
    const sweepCalls = byOperation.get('flow_runs_filter (sweeps)') ?? 0;
    const queued = sqs.fauxqs.inspectQueue('launch')?.messages;
    const messages = (queued?.ready.length ?? 0) + (queued?.delayed.length ?? 0);
    const round = (value: number, digits = 3) => Number(value.toFixed(digits));
    return {
      runs_due: RUNS,
      claimed: totals.claimed,
      enqueued: totals.enqueued,
      messages_in_launch_queue: messages,
      errors: totals.errors,
      poll_seconds: round(seconds),
      runs_claimed_and_enqueued_per_second: round(totals.enqueued / seconds, 1),
      prefect_calls: calls.length,
      prefect_calls_per_run: round(calls.length / RUNS),
      prefect_calls_per_run_claim_path: round((calls.length - sweepCalls) / RUNS),
      prefect_calls_by_operation: [...byOperation.entries()]
        .sort((a, b) => b[1] - a[1])
        .map(([operation, count]) => `${operation}: ${count}`)
        .join(', '),
      sqs_requests: sqsRequests,
      sqs_requests_per_run: round(sqsRequests / RUNS),
      claim_concurrency: 8,
      poll_limit: POLLER_DEFAULTS.limit,
    };
  } finally {
    sqsClient.destroy();
    await sqs.close();
    await prefect.close();
  }
};

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const figures = await runPollBenchmark();
  console.log(JSON.stringify(figures, null, 2));
}
