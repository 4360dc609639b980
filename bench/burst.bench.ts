/**
 * Burst benchmark (issue 14): many runs due at once, through the whole launch path against ECS's
 * token buckets: the poller (`pollPools`, real Prefect and SQS clients) claims them and enqueues
 * the launch messages, delayed to their scheduled time, on the launch queue (fauxqs); Lambda's SQS
 * event source (test/integration/sqs-event-source.ts) runs as many launcher containers as the
 * deployed `maximumConcurrency` (5), each receiving the deployed batch size (5) and running the real
 * launcher handler with the deployed pacing (20 launches/s shared) and ECS client (adaptive
 * retries); the AWS stand-in enforces the documented buckets (test/standins/ecs/throttling.ts).
 *
 * Scenarios:
 * - burst: 1,000 runs due at the same second, in real time, with the documented limits. The
 *   fastest any client can launch them is max over the buckets a one-task Fargate RunTask draws
 *   from of (runs − capacity) / refill: (1000 − 20) / 20 = 49 s (the Fargate RunTask-call bucket,
 *   20 burst and 20/s, binds; the Fargate task bucket alone gives (1000 − 100) / 20 = 45 s).
 * - spread: 10,000 runs due over 10 minutes, in real time by default (about 12 minutes with
 *   seeding). BURST_BENCH_ACCELERATION=A runs it faster: every bucket and the launch rate × A, the
 *   schedule ÷ A, the poller at its real 20 s cadence and 60 s prefetch; delays are then
 *   wall-clock seconds of the accelerated run, fixed latencies (1 s SQS delay granularity, a
 *   throttled run's 1–3 s redelivery, each launch's own latency) are not compressed, and the
 *   machine must launch A × 20 runs per second (2 busy cores manage about 25 with these stand-ins
 *   in one process, so A = 5 measures the machine, not the pacing).
 *
 * Targets (issue 14): the burst finishes within 10 % of the ideal above, ≤ 5 % of RunTask calls
 * throttled, 0 runs crashed or lost, and no run launched twice.
 *
 * Run: `npm run bench -- burst` (BURST_BENCH_SCENARIOS=burst to skip the 10,000-run one).
 */
import { pathToFileURL } from 'node:url';
import { Logger } from '@aws-lambda-powertools/logger';
import { EC2Client } from '@aws-sdk/client-ec2';
import { CreateClusterCommand, ECSClient } from '@aws-sdk/client-ecs';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { GetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { createLauncherHandler } from '../functions/launcher/handler.ts';
import { createLauncherDeps, LAUNCHER_ECS_RETRY } from '../functions/launcher/launcher-deps.ts';
import { loadConfig } from '../shared/config.ts';
import {
  DEFAULT_LAUNCH_RATE_PER_SECOND,
  DEFAULT_LAUNCHER_MAX_CONCURRENCY,
  LAUNCHER_BATCH_SIZE,
  type LaunchPacing,
} from '../shared/launch/launch-pacing.ts';
import type { PollEcs } from '../shared/poll/poll-deps.ts';
import { pollPools } from '../shared/poll/poll-pools.ts';
import { summarizePoll } from '../shared/poll/poll-result.ts';
import { POLLER_DEFAULTS } from '../shared/poll/poller-config.ts';
import { createPrefectClient } from '../shared/prefect/client.ts';
import { createSqsQueueSender } from '../shared/queue/sqs-queue-sender.ts';
import { startSqsEventSource } from '../test/integration/sqs-event-source.ts';
import { startAwsStandin } from '../test/standins/ecs/server.ts';
import {
  type BucketLimits,
  DOCUMENTED_ECS_LIMITS,
  type EcsBucketName,
} from '../test/standins/ecs/throttling.ts';
import type { AwsStandin } from '../test/standins/ecs/types.ts';
import { readFlowRun, seed } from '../test/standins/prefect/actors.ts';
import { startPrefectStandin } from '../test/standins/prefect/server.ts';
import { startSqsStandin } from '../test/standins/sqs/server.ts';

const POOL = 'burst-ecs';
const CLUSTER = 'prefect';
const DEPLOYMENTS = 10;
const API_KEY = 'pnu_burst-bench';
const EXECUTION_ROLE = 'arn:aws:iam::123456789012:role/prefect-execution';
const credentials = { accessKeyId: 'bench', secretAccessKey: 'bench' };
const auth = { headers: { authorization: `Bearer ${API_KEY}` } };
/** The buckets a one-task Fargate RunTask draws from. */
const RUN_TASK_BUCKETS: EcsBucketName[] = [
  'clusterResourceModify',
  'fargateRunTaskCalls',
  'fargateOnDemandTasks',
];

type Row = Record<string, number | string | boolean>;

const round = (value: number, digits = 2): number => Number(value.toFixed(digits));
const verdict = (met: boolean) => (met ? 'met' : 'MISSED');
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const percentile = (sorted: readonly number[], p: number): number =>
  sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? Number.NaN;

/** Runs `work` over `items`, `limit` at a time. */
const inParallel = async <T>(
  items: readonly T[],
  limit: number,
  work: (item: T) => Promise<unknown>
): Promise<void> => {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await work(items[next++] as T);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
};

/** Swallows the launchers' JSON log lines while `work` runs. */
const quietly = async <T>(work: () => Promise<T>): Promise<T> => {
  const original = process.stdout.write.bind(process.stdout);
  process.stdout.write = ((chunk: unknown, ...rest: unknown[]) =>
    String(chunk).startsWith('{"level"')
      ? true
      : (original as (...args: unknown[]) => boolean)(
          chunk,
          ...rest
        )) as typeof process.stdout.write;
  try {
    return await work();
  } finally {
    process.stdout.write = original;
  }
};

interface Scenario {
  name: string;
  runs: number;
  /** Seconds over which the runs are due (0: the same second), before acceleration. */
  spreadSeconds: number;
  acceleration: number;
}

/** One scenario on fresh stand-ins; rows are prefixed with its name. */
const runScenario = async (scenario: Scenario): Promise<Row> => {
  const { runs, acceleration } = scenario;
  const limits = Object.fromEntries(
    (Object.keys(DOCUMENTED_ECS_LIMITS) as EcsBucketName[]).map((name) => [
      name,
      {
        capacity: DOCUMENTED_ECS_LIMITS[name].capacity * acceleration,
        refillPerSecond: DOCUMENTED_ECS_LIMITS[name].refillPerSecond * acceleration,
      },
    ])
  ) as Record<EcsBucketName, BucketLimits>;
  const pacing: LaunchPacing = {
    ratePerSecond: DEFAULT_LAUNCH_RATE_PER_SECOND * acceleration,
    maxConcurrency: DEFAULT_LAUNCHER_MAX_CONCURRENCY,
    batchSize: LAUNCHER_BATCH_SIZE,
  };
  const prefect = await startPrefectStandin({ apiKey: API_KEY });
  const aws: AwsStandin = await startAwsStandin({ throttling: { buckets: limits } });
  const sqsStandin = await startSqsStandin({
    queues: [{ name: 'launch', visibilityTimeout: 360, maxReceiveCount: 11 }],
  });
  const queue = sqsStandin.queues.launch;
  if (!queue?.dlq) throw new Error('the SQS stand-in did not create the launch queue and DLQ');
  const sqs = new SQSClient({ region: 'us-east-1', endpoint: sqsStandin.url, credentials });
  const clients: { destroy(): void }[] = [sqs];
  try {
    // Set up: cluster, secret, pool, deployments, the runs (due at T, or spread after T).
    const setupEcs = new ECSClient({ region: aws.region, endpoint: aws.url, credentials });
    clients.push(setupEcs);
    await setupEcs.send(
      new CreateClusterCommand({ clusterName: CLUSTER, capacityProviders: ['FARGATE'] })
    );
    const secretArn = aws.secrets.putSecret('prefect/api-key', API_KEY);
    await seed.workPool(prefect.apiUrl, { name: POOL }, auth);
    const deployments = await Promise.all(
      Array.from({ length: DEPLOYMENTS }, (_, index) =>
        seed.deployment(
          prefect.apiUrl,
          {
            name: `etl-${index}`,
            workPoolName: POOL,
            jobVariables: {
              cluster: CLUSTER,
              image: `123456789012.dkr.ecr.us-east-1.amazonaws.com/etl-${index}:1`,
            },
          },
          auth
        )
      )
    );
    const spreadMs = (scenario.spreadSeconds * 1000) / acceleration;
    // Far enough ahead that seeding ends first (a few hundred runs per second on a busy machine).
    const startMs = Date.now() + 10_000 + runs * 6;
    const scheduled = new Map<string, number>();
    await inParallel(
      Array.from({ length: runs }, (_, index) => index),
      50,
      async (index) => {
        const deployment = deployments[index % DEPLOYMENTS];
        if (!deployment) throw new Error('no deployment');
        const at = startMs + (spreadMs * index) / runs;
        const run = await seed.flowRun(
          prefect.apiUrl,
          deployment.id,
          { scheduledTime: new Date(at) },
          auth
        );
        scheduled.set(run.id, at);
      }
    );

    const seedingLagSeconds = Math.max(0, (Date.now() - startMs) / 1000);
    // The launchers: one container per concurrent invocation, as deployed.
    const config = loadConfig({
      PREFECT_API_URL: prefect.apiUrl,
      PREFECT_API_KEY_SECRET_ARN: secretArn,
      PREFECT_WORK_POOLS: POOL,
      LAUNCH_QUEUE_URL: queue.url,
      AWS_REGION: aws.region,
      ECS_EXECUTION_ROLE_ARN: EXECUTION_ROLE,
    });
    const endpoint = { region: aws.region, endpoint: aws.url, credentials };
    const createHandler = async (index: number) => {
      const ecs = new ECSClient({ ...endpoint, ...LAUNCHER_ECS_RETRY });
      const ec2 = new EC2Client(endpoint);
      const secretsManager = new SecretsManagerClient(endpoint);
      const launcherSqs = new SQSClient({
        region: 'us-east-1',
        endpoint: sqsStandin.url,
        credentials,
      });
      clients.push(ecs, ec2, secretsManager, launcherSqs);
      const deps = await createLauncherDeps(config, {
        logger: new Logger({ serviceName: `launcher-${index}`, logLevel: 'INFO' }),
        clients: { ecs, ec2, secretsManager, sqs: launcherSqs },
        pacing,
      });
      return createLauncherHandler(deps);
    };
    const noEcs: PollEcs = {
      describeTasks: async () => ({ tasks: [], failures: [] }),
      stopTask: async () => undefined,
      listLiveTasksStartedBy: async () => [],
    };
    const poll = () =>
      pollPools(
        {},
        {
          prefect: createPrefectClient({ apiUrl: prefect.apiUrl, apiKey: API_KEY }),
          queue: createSqsQueueSender(sqs),
          ecs: noEcs,
          logger: { debug() {}, info() {}, warn() {}, error() {} },
          options: {
            workPools: [POOL],
            workQueues: [],
            workerName: 'burst-bench',
            launchQueueUrl: queue.url,
            ...POLLER_DEFAULTS,
          },
        }
      );

    const lastDueMs = startMs + spreadMs;
    const idealSeconds = Math.max(
      ...RUN_TASK_BUCKETS.map(
        (name) => Math.max(0, runs - limits[name].capacity) / limits[name].refillPerSecond
      )
    );
    const timeoutMs = lastDueMs + (idealSeconds * 3 + 120) * 1000;
    let claimed = 0;
    let invocations = 0;
    const settled = () => aws.ecs.tasks().length >= runs;
    await quietly(async () => {
      const source = await startSqsEventSource({
        sqs,
        queueUrl: queue.url,
        queueArn: queue.arn,
        maxConcurrency: pacing.maxConcurrency,
        batchSize: pacing.batchSize,
        createHandler,
      });
      try {
        // The poller at its real cadence until every run is claimed, then wait for the launches.
        while (claimed < runs && Date.now() < timeoutMs) {
          const result = await poll();
          claimed += summarizePoll(result).enqueued;
          if (claimed < runs) await sleep(POLLER_DEFAULTS.pollIntervalSeconds * 1000);
        }
        while (!settled() && Date.now() < timeoutMs) await sleep(100);
      } finally {
        await source.stop();
        invocations = source.stats.invocations;
      }
    });

    // What happened, per run.
    const runTasks = aws.callsTo('RunTask');
    const throttledCalls = runTasks.filter(
      (call) => call.error?.code === 'ThrottlingException'
    ).length;
    const firstLaunch = new Map<string, number>();
    for (const call of runTasks) {
      const startedBy = (call.input as { startedBy?: string }).startedBy ?? '';
      const id = startedBy.replace(/^prefect\//, '');
      if (call.output !== undefined && !firstLaunch.has(id)) firstLaunch.set(id, call.at.getTime());
    }
    const tasksPerRun = new Map<string, number>();
    for (const task of aws.ecs.tasks()) {
      const id = (task.startedBy ?? '').replace(/^prefect\//, '');
      tasksPerRun.set(id, (tasksPerRun.get(id) ?? 0) + 1);
    }
    let crashed = 0;
    let lost = 0;
    await inParallel([...scheduled.keys()], 50, async (id) => {
      const run = await readFlowRun(prefect.apiUrl, id, auth);
      if (run.state?.type === 'CRASHED') crashed++;
      else if (!run.infrastructure_pid || !tasksPerRun.has(id)) lost++;
    });
    const twice = [...tasksPerRun.values()].filter((count) => count > 1).length;
    const delays = [...scheduled.entries()]
      .flatMap(([id, at]) => {
        const launched = firstLaunch.get(id);
        return launched === undefined ? [] : [(launched - at) / 1000];
      })
      .sort((a, b) => a - b);
    const lastLaunchMs = Math.max(...firstLaunch.values());
    const { Attributes } = await sqs.send(
      new GetQueueAttributesCommand({
        QueueUrl: queue.dlq.url,
        AttributeNames: ['ApproximateNumberOfMessages'],
      })
    );
    const inDlq = Number(Attributes?.ApproximateNumberOfMessages ?? 0);
    const secondsToLast = (lastLaunchMs - startMs) / 1000;
    const throttledShare = runTasks.length === 0 ? 0 : throttledCalls / runTasks.length;
    const counts = aws.throttling?.counts() ?? {};
    const otherThrottles = Object.entries(counts)
      .filter(([operation, count]) => operation !== 'RunTask' && count.throttled > 0)
      .map(([operation, count]) => `${operation}: ${count.throttled}`)
      .join(', ');
    const p = (name: string) => `${scenario.name}: ${name}`;
    const rateLimit = DEFAULT_LAUNCH_RATE_PER_SECOND * acceleration;
    const row: Row = {
      [p('runs')]: runs,
      [p('due over (s, wall clock)')]: round(spreadMs / 1000, 1),
      [p('time')]:
        acceleration === 1
          ? 'real time'
          : `accelerated ×${acceleration} (buckets and rate ×${acceleration}, schedule ÷${acceleration})`,
      [p('seeding overran the first due time by (s)')]: round(seedingLagSeconds, 1),
      [p('launchers × batch size')]: `${pacing.maxConcurrency} × ${pacing.batchSize}`,
      [p('pacing (RunTask/s, all launchers)')]: rateLimit,
      [p('runs launched')]: firstLaunch.size,
      [p('runs crashed')]: crashed,
      [p('runs lost (no task, not crashed)')]: lost,
      [p('runs with more than one task')]: twice,
      [p('launch DLQ messages')]: inDlq,
      [p('seconds from first due to last RunTask')]: round(secondsToLast, 1),
      [p('launches per second (overall)')]: round(
        firstLaunch.size / Math.max(secondsToLast, 1e-9),
        1
      ),
      [p('sustained rate of the binding bucket (per second)')]: Math.min(
        ...RUN_TASK_BUCKETS.map((name) => limits[name].refillPerSecond)
      ),
      [p('RunTask calls')]: runTasks.length,
      [p('RunTask calls throttled')]: throttledCalls,
      [p('share of RunTask calls throttled')]: `${round(throttledShare * 100, 2)} %`,
      [p('other ECS calls throttled')]: otherThrottles || 'none',
      [p('launch delay p50 (s)')]: round(percentile(delays, 0.5), 1),
      [p('launch delay p95 (s)')]: round(percentile(delays, 0.95), 1),
      [p('launch delay max (s)')]: round(delays.at(-1) ?? Number.NaN, 1),
      [p('launcher invocations')]: invocations,
      [p('target: ≤ 5 % of RunTask calls throttled')]: verdict(throttledShare <= 0.05),
      [p('target: 0 runs crashed or lost')]: verdict(crashed === 0 && lost === 0 && twice === 0),
    };
    if (scenario.spreadSeconds === 0) {
      const fargateOnly =
        (runs - limits.fargateOnDemandTasks.capacity) / limits.fargateOnDemandTasks.refillPerSecond;
      row[p('ideal seconds: max over buckets of (runs − capacity) / refill')] = round(
        idealSeconds,
        1
      );
      row[p('ideal seconds with the Fargate task bucket alone ((runs − 100) / 20)')] = round(
        fargateOnly,
        1
      );
      row[p('target: within 10 % of the ideal')] = verdict(secondsToLast <= idealSeconds * 1.1);
    }
    return row;
  } finally {
    for (const client of clients) client.destroy();
    await sqsStandin.close();
    await aws.close();
    await prefect.close();
  }
};

/**
 * Runs the scenarios (see the module comment) and resolves with one flat record.
 *
 * @example
 * const figures = await runBurstBenchmark();
 */
export const runBurstBenchmark = async (): Promise<Row> => {
  const acceleration = Number(process.env.BURST_BENCH_ACCELERATION ?? 1);
  const only = process.env.BURST_BENCH_SCENARIOS?.split(',');
  const scenarios: Scenario[] = [
    { name: 'burst', runs: 1_000, spreadSeconds: 0, acceleration: 1 },
    { name: 'spread', runs: 10_000, spreadSeconds: 600, acceleration },
  ].filter((scenario) => !only || only.includes(scenario.name));
  const rows: Row = {};
  for (const scenario of scenarios) Object.assign(rows, await runScenario(scenario));
  return rows;
};

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const figures = await runBurstBenchmark();
  console.log(JSON.stringify(figures, null, 2));
}
