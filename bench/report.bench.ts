/**
 * Reporter benchmark: "ECS Task State Change" events through the real handler, the real Prefect
 * and AWS SDK clients and the local stand-ins (Prefect, ECS, CloudWatch Logs) over HTTP.
 *
 * Measures
 * - events per second: handler time only (the test choreography between events is not counted),
 *   one event at a time as EventBridge invokes the Lambda; and crash reports (read + CRASHED) one at
 *   a time and 20 at a time (concurrent Lambdas; everything shares one Node process here, so this
 *   shows contention, not Lambda scaling);
 * - Prefect calls per event for every mapping (goal: ≤ 2, the crash log tail's `POST /logs/`
 *   counted separately).
 *
 * Run: `npx tsx bench/report.bench.ts` (prints JSON). `runReportBenchmark()` is what `npm run bench`
 * calls.
 */

import { randomUUID } from 'node:crypto';
import { pathToFileURL } from 'node:url';
import { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import { ECSClient, RunTaskCommand, StopTaskCommand } from '@aws-sdk/client-ecs';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { createReporterHandler } from '../functions/reporter/handler.ts';
import { createReporterDeps } from '../functions/reporter/reporter-deps.ts';
import { loadConfig } from '../shared/config.ts';
import { ATTEMPT_LABEL, ATTEMPT_VARIABLE } from '../shared/ecs/attempt-marker.ts';
import { loadReporterConfig } from '../shared/report/reporter-config.ts';
import { credentials, setUpFargate } from '../test/standins/ecs/fixtures.ts';
import { startAwsStandin } from '../test/standins/ecs/server.ts';
import type { EcsTaskStateChangeEvent } from '../test/standins/ecs/types.ts';
import { engine, labelFlowRun, proposeState, seed, user } from '../test/standins/prefect/actors.ts';
import { startPrefectStandin } from '../test/standins/prefect/server.ts';

/** Options of {@link runReportBenchmark}. */
export interface ReportBenchmarkOptions {
  /** Runs per scenario (default 25). */
  runs?: number;
  /** Events handled at once in the concurrent measurement (default 20). */
  concurrency?: number;
}

interface Sample {
  mapping: string;
  ms: number;
  prefectCalls: number;
  logCalls: number;
}

const quiet = { debug() {}, info() {}, warn() {}, error() {} };

const round = (value: number, digits = 2): number => Number(value.toFixed(digits));

/**
 * Runs the benchmark on fresh stand-ins and returns flat metrics:
 * `events_per_second`, `ms_per_event_p50`/`_p95`, `crash_events_per_second_sequential`,
 * `events_per_second_concurrent` (crash reports), and
 * `prefect_calls_per_event.<mapping>` (plus `prefect_log_calls_per_event.<mapping>` for the tail).
 *
 * @example
 * const metrics = await runReportBenchmark({ runs: 10 });
 * metrics['prefect_calls_per_event.stopped_oom_crashed']; // 2
 */
export const runReportBenchmark = async (
  options: ReportBenchmarkOptions = {}
): Promise<Record<string, number | string>> => {
  const runs = options.runs ?? 25;
  const concurrency = options.concurrency ?? 20;
  const prefect = await startPrefectStandin();
  const aws = await startAwsStandin();
  const endpoint = { region: aws.region, endpoint: aws.url, credentials };
  const ecs = new ECSClient(endpoint);
  const reporterEcs = new ECSClient({ ...endpoint, maxAttempts: 2 });
  const secretsManager = new SecretsManagerClient(endpoint);
  const logs = new CloudWatchLogsClient(endpoint);
  try {
    const fargate = await setUpFargate(aws, ecs);
    await seed.workPool(prefect.apiUrl, { name: 'bench' });
    const { id: deploymentId } = await seed.deployment(prefect.apiUrl, {
      name: 'bench',
      workPoolName: 'bench',
    });
    const env = {
      PREFECT_API_URL: prefect.apiUrl,
      PREFECT_WORK_POOLS: 'bench',
      LAUNCH_QUEUE_URL: 'https://sqs.us-east-1.amazonaws.com/123456789012/launch',
      AWS_REGION: aws.region,
      // As the stack sets it: tasks of its own account and region need no aws_credentials read.
      STACK_ACCOUNT_ID: aws.accountId,
    };
    const handler = createReporterHandler(
      await createReporterDeps(loadConfig(env, { role: 'reporter' }), loadReporterConfig(env), {
        logger: quiet,
        clients: { ecs: reporterEcs, secretsManager, logs: () => logs },
        prefectDeps: { sleep: async () => {} },
      })
    );

    const samples: Sample[] = [];
    /** The mapping the events of a task exercise, by `startedBy`, set before RunTask. */
    const labels = new Map<string, (event: EcsTaskStateChangeEvent) => string>();
    const deliver = async (event: unknown, mapping: string): Promise<void> => {
      const before = prefect.requests.length;
      const started = performance.now();
      await handler(event);
      const ms = performance.now() - started;
      const made = prefect.requests.slice(before);
      const logCalls = made.filter((request) => request.path === '/logs/').length;
      // Worker events (issue 13: executed-flow-run at STOPPED) are best effort, counted apart.
      const eventCalls = made.filter((request) => request.path === '/events').length;
      samples.push({ mapping, ms, prefectCalls: made.length - logCalls - eventCalls, logCalls });
    };
    aws.subscribe((event) => {
      const label = labels.get(event.detail.startedBy ?? '');
      return deliver(event, label ? label(event) : 'unlabelled');
    });

    // Each run's claim, as the poller writes it (PENDING with a transition id, and the attempt label).
    const attempts = new Map<string, string>();
    const claimed = async (): Promise<string> => {
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
      return run.id;
    };
    /** The task's overrides as the launcher sends them: the attempt marker in the environment. */
    const markerOf = (flowRunId: string) => ({
      containerOverrides: [
        {
          name: 'prefect',
          environment: [{ name: ATTEMPT_VARIABLE, value: attempts.get(flowRunId) ?? 'none' }],
        },
      ],
    });
    const launch = async (
      flowRunId: string,
      label: (event: EcsTaskStateChangeEvent) => string,
      startedBy = `prefect/${flowRunId}`
    ): Promise<string> => {
      labels.set(startedBy, label);
      const { tasks } = await ecs.send(
        new RunTaskCommand(fargate.runInput({ startedBy, overrides: markerOf(flowRunId) }))
      );
      const taskArn = tasks?.[0]?.taskArn ?? '';
      await aws.ecs.settled();
      return taskArn;
    };
    const starting = (event: EcsTaskStateChangeEvent): string | undefined => {
      if (event.detail.lastStatus === 'PROVISIONING') return 'provisioning_infrastructure_pending';
      if (event.detail.lastStatus === 'PENDING') return 'pending_record_infrastructure_pid';
      if (event.detail.lastStatus === 'RUNNING') {
        return event.detail.desiredStatus === 'STOPPED' ? 'running_stopping' : 'running_nothing';
      }
      return undefined;
    };

    for (let i = 0; i < runs; i++) {
      // Happy path: the engine completes the run, the container exits 0.
      let id = await claimed();
      let task = await launch(id, (e) => starting(e) ?? 'stopped_after_completed_nothing');
      await aws.ecs.advance(task, 'RUNNING');
      await engine.start(prefect.apiUrl, id);
      await engine.complete(prefect.apiUrl, id);
      await aws.ecs.runToCompletion(task, { exitCode: 0 });
      await aws.ecs.settled();
      const stopped = aws.events.filter((e) => e.detail.taskArn === task).at(-1);
      if (stopped) await deliver(stopped, 'stopped_redelivered_nothing');

      // Out of memory while RUNNING.
      id = await claimed();
      task = await launch(id, (e) => starting(e) ?? 'stopped_oom_crashed');
      await aws.ecs.advance(task, 'RUNNING');
      await engine.start(prefect.apiUrl, id);
      await aws.ecs.runToCompletion(task, {
        exitCode: 137,
        containerReason: 'OutOfMemoryError: Container killed due to memory usage',
      });

      // Exit 0 while RUNNING: the engine never reported a final state.
      id = await claimed();
      task = await launch(id, (e) => starting(e) ?? 'stopped_exit0_running_crashed');
      await aws.ecs.advance(task, 'RUNNING');
      await engine.start(prefect.apiUrl, id);
      await aws.ecs.runToCompletion(task, { exitCode: 0 });

      // Cancelled in Prefect, the task stopped.
      id = await claimed();
      task = await launch(id, (e) => starting(e) ?? 'stopped_cancelling_cancelled');
      await aws.ecs.advance(task, 'RUNNING');
      await engine.start(prefect.apiUrl, id);
      await user.cancel(prefect.apiUrl, id);
      await ecs.send(new StopTaskCommand({ cluster: fargate.cluster, task, reason: 'Cancelled' }));
      await aws.ecs.advance(task, 'STOPPED');

      // The image cannot be pulled: CRASHED before RUNNING, with the log tail.
      id = await claimed();
      task = await launch(
        id,
        (e) => starting(e) ?? 'stopped_failed_to_start_crashed_with_log_tail'
      );
      aws.logs.putLogEvents('prefect', `prefect-logs/prefect/${task.split('/').at(-1)}`, [
        { timestamp: Date.now() - 10, message: 'Pulling image' },
        { timestamp: Date.now() - 5, message: 'pull failed: not found' },
      ]);
      await aws.ecs.failToStart(task, {
        stoppedReason: 'CannotPullContainerError: failed to resolve ref docker.io/x/y:z: not found',
      });

      // A task that is not a flow run's.
      task = await launch(randomUUID(), () => 'foreign_task', `ecs-svc/${i}`);
      await aws.ecs.runToCompletion(task, { exitCode: 1 });
      await aws.ecs.settled();

      // An event that does not parse.
      await deliver({ id: `malformed-${i}`, detail: {} }, 'unparseable');
    }
    await aws.ecs.settled();

    // Concurrent: crash reports (read + CRASHED) for RUNNING runs, `concurrency` at a time. The
    // events are copies of an OOM STOPPED event above, each naming its own run.
    const template = aws.events.find(
      (event) =>
        event.detail.lastStatus === 'STOPPED' &&
        event.detail.containers[0]?.exitCode === 137 &&
        event.detail.startedBy?.startsWith('prefect/')
    );
    if (!template) throw new Error('no OOM STOPPED event to copy');
    const pendingStops: EcsTaskStateChangeEvent[] = [];
    for (let i = 0; i < runs * 2; i++) {
      const id = await claimed();
      await engine.start(prefect.apiUrl, id);
      const copy = structuredClone(template);
      copy.id = randomUUID();
      copy.detail.startedBy = `prefect/${id}`;
      copy.detail.overrides = markerOf(id);
      pendingStops.push(copy);
    }
    const wallStart = performance.now();
    for (let start = 0; start < pendingStops.length; start += concurrency) {
      await Promise.all(
        pendingStops.slice(start, start + concurrency).map((event) => handler(event))
      );
    }
    const wallMs = performance.now() - wallStart;

    const timed = samples;
    const sorted = timed.map((sample) => sample.ms).sort((a, b) => a - b);
    const total = sorted.reduce((sum, ms) => sum + ms, 0);
    const metrics: Record<string, number | string> = {
      events: timed.length,
      events_per_second: round((timed.length / total) * 1000, 1),
      ms_per_event_p50: round(sorted[Math.floor(sorted.length * 0.5)] ?? 0),
      ms_per_event_p95: round(sorted[Math.floor(sorted.length * 0.95)] ?? 0),
      events_concurrent: pendingStops.length,
      concurrency,
      events_per_second_concurrent: round((pendingStops.length / wallMs) * 1000, 1),
    };
    const crashes = timed.filter((sample) => sample.mapping === 'stopped_oom_crashed');
    const crashMs = crashes.reduce((sum, sample) => sum + sample.ms, 0);
    metrics.crash_events_per_second_sequential = round((crashes.length / crashMs) * 1000, 1);
    const byMapping = new Map<string, Sample[]>();
    for (const sample of timed) {
      byMapping.set(sample.mapping, [...(byMapping.get(sample.mapping) ?? []), sample]);
    }
    let worst = 0;
    for (const [mapping, list] of [...byMapping].sort(([a], [b]) => a.localeCompare(b))) {
      const calls = list.reduce((sum, sample) => sum + sample.prefectCalls, 0) / list.length;
      const logCalls = list.reduce((sum, sample) => sum + sample.logCalls, 0) / list.length;
      worst = Math.max(worst, calls);
      metrics[`prefect_calls_per_event.${mapping}`] = round(calls);
      if (logCalls > 0) metrics[`prefect_log_calls_per_event.${mapping}`] = round(logCalls);
    }
    metrics.prefect_calls_per_event_max = round(worst);
    metrics.goal =
      worst <= 2
        ? 'met: ≤ 2 Prefect calls per event (log tail and worker events aside; tasks of the previous release, without the attempt marker, add one state-history read when they crash or cancel a run)'
        : 'missed';
    return metrics;
  } finally {
    ecs.destroy();
    reporterEcs.destroy();
    secretsManager.destroy();
    logs.destroy();
    await aws.close();
    await prefect.close();
  }
};

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  console.log(JSON.stringify(await runReportBenchmark(), null, 2));
}
