/**
 * The soak (issue 11): N flow runs through the deployed design in one process, with the faults of
 * a profile injected at random from a seed, then an audit of every run (`audit.ts`).
 *
 * The world is `startEndToEndWorld` (Prefect, ECS/EC2/Secrets/Logs and SQS stand-ins, the real
 * poller, launcher and reporter handlers) with time compressed (`profiles.ts`), and around it:
 * - the poller, invoked directly every `pollEveryMs` (sometimes twice at once), its sweeps
 *   sometimes throttled by ECS;
 * - `launcher-fleet.ts`: several launcher containers on the launch queue, killed at scheduled
 *   points; duplicate launch messages sent when a run's message is first received;
 * - `event-bridge.ts`: ECS events to the reporter, duplicated, late and out of order;
 * - `containers.ts`: ECS and the engine in each task, the engine's log in the journal;
 * - `people.ts`: the user (Cancel, Retry) and the run watcher;
 * - `prefect-faults.ts`: 503s, 500s, dropped connections, before and after handling, on the
 *   Lambdas' Prefect calls about a run, armed at scripted phases of its life.
 *
 * At most `concurrency` runs are in flight; a run leaves the window once it has been final with no
 * live task for a moment (or after `RUN_TIMEOUT_MS`). Then everything is drained and audited.
 */
import { createHash } from 'node:crypto';
import { SendMessageCommand } from '@aws-sdk/client-sqs';
import { flowRunIdFromStartedBy } from '../../shared/ecs/started-by.ts';
import {
  type EndToEndWorld,
  inspectQueue,
  startEndToEndWorld,
  taskStateRulePattern,
} from '../../test/integration/end-to-end-fixtures.ts';
import {
  readFlowRun,
  readFlowRunStates,
  seed as seedPrefect,
} from '../../test/standins/prefect/actors.ts';
import { auditRun, type RunVerdict } from './audit.ts';
import { playContainers } from './containers.ts';
import { connectChaoticEventBridge } from './event-bridge.ts';
import { createJournal, type Journal } from './journal.ts';
import { startLauncherFleet } from './launcher-fleet.ts';
import { actorOptions, createSoakUser, startRunWatcher, TERMINAL } from './people.ts';
import { armPrefectFault, faultRule } from './prefect-faults.ts';
import { createRandom } from './prng.ts';
import type { FaultProfile } from './profiles.ts';
import { type FaultPhase, type RunScript, scriptRun } from './run-script.ts';
import { timelineOf } from './timeline.ts';

export interface SoakOptions {
  runs: number;
  seed: string | number;
  profile: FaultProfile;
  /** Timelines of at most this many offending runs are kept (default 12). */
  explain?: number;
  /** Run indexes whose timelines are kept whatever their verdict. */
  trace?: readonly number[];
  /** Progress lines (default: none). */
  progress?: (line: string) => void;
}

export interface SoakTotals {
  duplicates: number;
  lost: number;
  stuck: number;
  wrong: number;
}

export interface SoakResult {
  runs: number;
  seed: string | number;
  profile: FaultProfile;
  /**
   * A fingerprint of the runs' scripts (classes, timings, faults): the same seed, profile and
   * number of runs give the same one.
   */
  schedule: string;
  verdicts: RunVerdict[];
  totals: SoakTotals;
  /** Seconds from the first run's creation to the end of the drain. */
  seconds: number;
  /** What the soak did and saw, for the report. */
  stats: Record<string, number>;
  /** Run index → its timeline, for offending runs. */
  explanations: Map<number, string[]>;
}

/** The deployed launch queue's maxReceiveCount (infra/parameters.cjs with the default deadline). */
const DEPLOYED_LAUNCH_MAX_RECEIVE_COUNT = 11;
/** A run still in flight after this long leaves the window anyway (the audit will say why). */
const RUN_TIMEOUT_MS = 30_000;
/** A run is settled once final with no live task for this long (late events still land). */
const QUIET_MS = 400;
/** The last drain waits at most this long for the queue, deliveries and containers. */
const DRAIN_TIMEOUT_MS = 30_000;
/** `ORPHAN_AFTER_SECONDS` (60, its minimum) plus a few polls. */
const ORPHAN_WAIT_MS = 75_000;

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

interface SoakRun {
  id: string;
  script: RunScript;
  createdAt: number;
  armed: Set<FaultPhase>;
  received: boolean;
  cancelledDuringRunTask: boolean;
  killed: boolean;
  retried: boolean;
  quietSince: number | undefined;
}

/** Runs the soak and audits it. */
export const runSoak = async (options: SoakOptions): Promise<SoakResult> => {
  const { profile } = options;
  const progress = options.progress ?? (() => {});
  const world = await startEndToEndWorld({
    launchVisibilityTimeout: profile.launchVisibilityTimeout,
    launchMaxReceiveCount: DEPLOYED_LAUNCH_MAX_RECEIVE_COUNT,
    // The orphan sweep's shortest wait, and a launch deadline it must exceed (4 × 60 s > 180 s).
    env: { ORPHAN_AFTER_SECONDS: '60', LAUNCH_RETRY_DEADLINE_SECONDS: '180' },
    prefectRetrySleep: (ms) => sleep(ms * profile.retryScale),
    awsRetryScale: profile.retryScale,
  });
  try {
    return await soakIn(world, options, progress);
  } finally {
    await world.close();
  }
};

const soakIn = async (
  world: EndToEndWorld,
  options: SoakOptions,
  progress: (line: string) => void
): Promise<SoakResult> => {
  const { profile, seed } = options;
  const journal = createJournal();
  const runs = new Map<string, SoakRun>();
  const byIndex: SoakRun[] = [];
  const taskArnsOf = (runId: string): string[] =>
    [...journal.tasks].filter(([, task]) => task.runId === runId).map(([arn]) => arn);

  // Tasks wait in PROVISIONING until their container script moves them.
  world.aws.ecs.setPlan({ startedBy: /^prefect\// }, { outcome: { kind: 'keepRunning' } });
  const watcher = startRunWatcher(world, 100);
  const user = createSoakUser(world, journal);
  const stats = {
    duplicate_launch_messages: 0,
    runtask_throttles_armed: 0,
    capacity_failures_armed: 0,
    prefect_faults_armed: 0,
    polls: 0,
    overlapping_polls: 0,
    sweep_throttles_armed: 0,
    timed_out_runs: 0,
  };

  const arm = (runId: string, phase: FaultPhase): void => {
    const run = runs.get(runId);
    if (!run || run.armed.has(phase)) return;
    run.armed.add(phase);
    for (const fault of run.script.prefectFaults.filter((plan) => plan.phase === phase)) {
      armPrefectFault(world, journal, runId, fault);
      stats.prefect_faults_armed += 1;
    }
  };

  const onFirstReceive = (run: SoakRun, body: string): void => {
    const { launch, cancel } = run.script;
    arm(run.id, 'launch');
    if (launch.throttleRunTask > 0) {
      world.aws.ecs.throttle('RunTask', launch.throttleRunTask);
      stats.runtask_throttles_armed += launch.throttleRunTask;
      journal.faults.push({
        at: Date.now(),
        runId: run.id,
        what: `armed: ecs RunTask throttled ×${launch.throttleRunTask}`,
      });
    }
    if (launch.capacityFailures > 0) {
      world.aws.ecs.failNextRunTask('RESOURCE:MEMORY', launch.capacityFailures);
      stats.capacity_failures_armed += launch.capacityFailures;
      journal.faults.push({
        at: Date.now(),
        runId: run.id,
        what: `armed: ecs RunTask RESOURCE:MEMORY ×${launch.capacityFailures}`,
      });
    }
    for (let copy = 0; copy < launch.duplicates; copy += 1) {
      stats.duplicate_launch_messages += 1;
      journal.faults.push({
        at: Date.now(),
        runId: run.id,
        what: 'sent: a duplicate launch message',
      });
      void world.sqsClient
        .send(
          new SendMessageCommand({
            QueueUrl: world.launchQueue.url,
            MessageBody: body,
            DelaySeconds: launch.duplicateDelaySeconds,
          })
        )
        .catch(() => {});
    }
    if (cancel?.moment === 'before-launch') {
      void sleep(cancel.delayMs).then(() => user.cancel(run.id));
    }
    if (cancel?.moment === 'during-pid-write') {
      world.prefect.faults.inject(
        faultRule(run.id, { call: 'pid', failure: '500', times: 1, stallMs: 0 }, () =>
          user.cancel(run.id)
        )
      );
      journal.faults.push({
        at: Date.now(),
        runId: run.id,
        what: 'armed: prefect pid:500, the user cancelling meanwhile',
      });
    }
  };

  const player = playContainers(world, journal, {
    scriptOf: (runId) => runs.get(runId)?.script,
    arm,
    cancel: (runId) => user.cancel(runId),
    stateOf: (runId) => watcher.state(runId)?.type,
  });
  const bridge = connectChaoticEventBridge(world, await taskStateRulePattern(), journal, {
    seed,
    profile,
    runIndexOf: (runId) => runs.get(runId)?.script.index,
  });
  const fleet = startLauncherFleet(
    world,
    journal,
    {
      onReceive: (runId, body) => {
        const run = runs.get(runId);
        if (!run || run.received) return;
        run.received = true;
        onFirstReceive(run, body);
      },
      beforeRunTask: async (runId) => {
        const run = runs.get(runId);
        if (!run || run.cancelledDuringRunTask || run.script.cancel?.moment !== 'during-run-task') {
          return;
        }
        run.cancelledDuringRunTask = true;
        await user.cancel(runId);
      },
      takeKill: (runId, point) => {
        const run = runs.get(runId);
        if (!run || run.killed || run.script.launch.kill !== point) return false;
        run.killed = true;
        return true;
      },
    },
    { consumers: profile.launchers, batchSize: profile.batchSize }
  );

  // The poller: the schedule and its ticks, compressed
  let polling = true;
  const poll = async (): Promise<void> => {
    try {
      await world.poller({});
    } catch {
      // a failed poll is in the logs; the next one tries again
    }
  };
  const overlapping = new Set<Promise<void>>();
  const pollLoop = (async () => {
    for (let index = 0; polling; index += 1) {
      const random = createRandom(seed, profile.name, 'poll', index);
      if (random.chance(profile.throttledSweep)) {
        const operation = random.pick(['DescribeTasks', 'StopTask', 'ListTasks'] as const);
        world.aws.ecs.throttle(operation, random.int(1, 5));
        stats.sweep_throttles_armed += 1;
      }
      stats.polls += 1;
      if (random.chance(profile.overlappingPoll)) {
        stats.overlapping_polls += 1;
        const extra: Promise<void> = poll().finally(() => overlapping.delete(extra));
        overlapping.add(extra);
      }
      await poll();
      await sleep(profile.pollEveryMs);
    }
  })();

  // Runs in flight: create as others settle
  const started = Date.now();
  const active = new Set<SoakRun>();
  const settle = (now: number): void => {
    for (const run of active) {
      const state = watcher.state(run.id)?.type;
      if (run.script.retryAfterCrash && !run.retried && state === 'CRASHED') {
        run.retried = true;
        run.quietSince = undefined;
        void user.retry(run.id);
        continue;
      }
      const alive = taskArnsOf(run.id).some(
        (arn) => world.aws.ecs.task(arn)?.lastStatus !== 'STOPPED'
      );
      const quiet =
        state !== undefined &&
        TERMINAL.has(state) &&
        !alive &&
        (!run.script.retryAfterCrash || run.retried);
      if (!quiet) run.quietSince = undefined;
      else run.quietSince ??= now;
      const timedOut = now - run.createdAt > RUN_TIMEOUT_MS;
      if ((run.quietSince !== undefined && now - run.quietSince >= QUIET_MS) || timedOut) {
        if (timedOut) stats.timed_out_runs += 1;
        active.delete(run);
        watcher.unwatch(run.id);
      }
    }
  };
  const deployment = world.deploymentId;
  for (let index = 0; index < options.runs; index += 1) {
    while (active.size >= profile.concurrency) {
      await sleep(50);
      settle(Date.now());
    }
    const script = scriptRun(seed, index, profile);
    const created = await seedPrefect.flowRun(
      world.prefect.apiUrl,
      deployment,
      {
        name: `soak-${index}`,
        ...(script.spot
          ? {
              jobVariables: {
                capacity_provider_strategy: [
                  { capacityProvider: 'FARGATE_SPOT', weight: 1, base: 0 },
                ],
              },
            }
          : {}),
      },
      actorOptions(world, 'inspector')
    );
    const run: SoakRun = {
      id: created.id,
      script,
      createdAt: Date.now(),
      armed: new Set(),
      received: false,
      cancelledDuringRunTask: false,
      killed: false,
      retried: false,
      quietSince: undefined,
    };
    runs.set(run.id, run);
    byIndex.push(run);
    active.add(run);
    watcher.watch(run.id);
    arm(run.id, 'created');
    if ((index + 1) % 100 === 0) {
      progress(
        `  ${index + 1}/${options.runs} runs created, ${active.size} in flight, ${((Date.now() - started) / 1000).toFixed(0)} s`
      );
    }
  }
  while (active.size > 0) {
    await sleep(50);
    settle(Date.now());
  }

  // The orphan sweep looks at PENDING runs `ORPHAN_AFTER_SECONDS` after their launch was due: it
  // re-enqueues a claim whose launch message was never sent (the claim's answer lost for good) and
  // settles a run whose attempt's task has stopped. Give it that long for runs left PENDING.
  const orphansBy = Date.now() + ORPHAN_WAIT_MS;
  for (let round = 0; Date.now() < orphansBy; round += 1) {
    const pending = await pendingRuns(world, [...runs.keys()]);
    if (pending.length === 0) break;
    if (round === 0) {
      progress(`  ${pending.length} run(s) still PENDING: giving the orphan sweep its time`);
    }
    await sleep(1_000);
  }

  // Drain: the queue, the deliveries, the containers
  const drainBy = Date.now() + DRAIN_TIMEOUT_MS;
  while (Date.now() < drainBy) {
    const queue = inspectQueue(world, 'launch');
    const alive = world.aws.ecs
      .tasks()
      .some((task) => flowRunIdFromStartedBy(task.startedBy) && task.lastStatus !== 'STOPPED');
    if (queue.depth === 0 && !alive) break;
    await sleep(200);
  }
  await Promise.race([Promise.all([player.drained(), bridge.drained()]), sleep(DRAIN_TIMEOUT_MS)]);
  await sleep(profile.pollEveryMs * 2);
  polling = false;
  await pollLoop;
  await Promise.all([...overlapping]);
  await fleet.stop();
  await watcher.stop();
  player.disconnect();
  bridge.disconnect();
  await Promise.race([Promise.all([player.drained(), bridge.drained()]), sleep(DRAIN_TIMEOUT_MS)]);
  const seconds = (Date.now() - started) / 1000;
  world.prefect.faults.clear();

  // Audit
  const inspector = actorOptions(world, 'inspector');
  const tasksByRun = new Map<string, ReturnType<typeof world.aws.ecs.tasks>>();
  for (const task of world.aws.ecs.tasks()) {
    const runId = flowRunIdFromStartedBy(task.startedBy);
    if (runId) tasksByRun.set(runId, [...(tasksByRun.get(runId) ?? []), task]);
  }
  const markers = new Map([...journal.tasks].map(([arn, task]) => [arn, task.attempt]));
  const verdicts: RunVerdict[] = [];
  for (const run of byIndex) {
    verdicts.push(
      auditRun({
        script: run.script,
        run: await readFlowRun(world.prefect.apiUrl, run.id, inspector),
        history: await readFlowRunStates(world.prefect.apiUrl, run.id, inspector),
        tasks: tasksByRun.get(run.id) ?? [],
        markers,
        engine: journal.engine.filter((entry) => entry.runId === run.id),
      })
    );
  }
  const totals: SoakTotals = {
    duplicates: verdicts.reduce((sum, verdict) => sum + verdict.duplicates, 0),
    lost: verdicts.reduce((sum, verdict) => sum + verdict.lost, 0),
    stuck: verdicts.filter((verdict) => verdict.stuck).length,
    wrong: verdicts.filter((verdict) => verdict.wrong.length > 0).length,
  };
  const explanations = new Map<number, string[]>();
  let explained = 0;
  for (const verdict of verdicts) {
    const offending =
      verdict.duplicates || verdict.lost || verdict.stuck || verdict.wrong.length > 0;
    if (offending && explained < (options.explain ?? 12)) explained += 1;
    else if (!options.trace?.includes(verdict.index)) continue;
    explanations.set(verdict.index, timelineOf(world, journal, verdict.id));
  }
  return {
    runs: options.runs,
    seed,
    profile,
    schedule: createHash('sha256')
      .update(JSON.stringify(byIndex.map((run) => run.script)))
      .digest('hex')
      .slice(0, 12),
    verdicts,
    totals,
    seconds,
    stats: {
      ...stats,
      ...summarize(world, journal),
      launcher_invocations: fleet.stats.invocations,
      launcher_containers: fleet.stats.containers,
      launchers_killed: fleet.stats.killed,
      launcher_failed_records: fleet.stats.failedRecords,
      reporter_events_lost_after_retries: bridge.errors.length,
    },
    explanations,
  };
};

/** The runs (of `ids`) that are PENDING, whatever the state's name. */
const pendingRuns = async (world: EndToEndWorld, ids: readonly string[]): Promise<string[]> => {
  const pending: string[] = [];
  for (let start = 0; start < ids.length; start += 200) {
    const response = await fetch(`${world.prefect.apiUrl}/flow_runs/filter`, {
      method: 'POST',
      headers: {
        ...actorOptions(world, 'inspector').headers,
        'content-type': 'application/json',
        'x-prefect-api-version': '0.8.4',
      },
      body: JSON.stringify({
        flow_runs: {
          id: { any_: ids.slice(start, start + 200) },
          state: { type: { any_: ['PENDING'] } },
        },
        limit: 200,
      }),
    });
    if (!response.ok) throw new Error(`flow_runs/filter answered ${response.status}`);
    pending.push(...((await response.json()) as { id: string }[]).map((run) => run.id));
  }
  return pending;
};

/** Counts of what the stand-ins saw. */
const summarize = (world: EndToEndWorld, journal: Journal): Record<string, number> => ({
  ecs_tasks: world.aws.ecs.tasks().filter((task) => flowRunIdFromStartedBy(task.startedBy)).length,
  run_task_calls: world.aws.callsTo('RunTask').length,
  ecs_events: world.aws.events.length,
  event_deliveries: journal.deliveries.length,
  duplicate_event_deliveries: journal.deliveries.filter((entry) => entry.copy > 0).length,
  late_event_deliveries: journal.deliveries.filter((entry) => entry.late).length,
  prefect_requests: world.prefect.requests.length,
  prefect_error_answers: world.prefect.requests.filter(
    (request) =>
      request.status === 0 || request.status >= 500 || request.handledStatus !== undefined
  ).length,
  prefect_faults_fired: journal.faults.filter((entry) => entry.what.startsWith('fired:')).length,
  user_cancels: journal.user.filter(
    (entry) => entry.action === 'cancel' && entry.answer === 'ACCEPT'
  ).length,
  user_retries: journal.user.filter(
    (entry) => entry.action === 'retry' && entry.answer === 'ACCEPT'
  ).length,
  launch_dlq_depth: inspectQueue(world, 'launch-dlq').depth,
  launch_queue_depth_at_end: inspectQueue(world, 'launch').depth,
  engine_errors: journal.engine.filter((entry) => entry.action === 'error').length,
});
