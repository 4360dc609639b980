/**
 * `start` (`npm start`): the whole worker in this process. With `PREFECT_API_URL` set it serves
 * that Prefect's pools on the AWS account of the default credential chain until Ctrl-C; without it
 * it runs the sandbox: local stand-ins, seeded runs, a live table, a summary, exit.
 */
import { createWriteStream } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { ECSClient } from '@aws-sdk/client-ecs';
import { flowRunIdFromStartedBy } from '../shared/ecs/started-by.ts';
import { ConfigError } from '../shared/errors/config-error.ts';
import { type LocalWorkerConfig, loadLocalWorkerConfig } from '../shared/local/local-config.ts';
import { createLocalWorker, describeStop, type LocalWorker } from '../shared/local/local-worker.ts';
import { createTextLogger } from '../shared/local/text-logger.ts';
import type { TrackedLaunch } from '../shared/local/track-launches.ts';
import { type CliCommand, type CliIo, CommandError, EXIT, UsageError } from './cli-command.ts';
import type { Sandbox } from './sandbox.ts';
import {
  attemptsInHistory,
  hasEnded,
  LiveView,
  type RunRow,
  renderSummary,
} from './sandbox-view.ts';

const REAL_COMMAND = 'PREFECT_API_URL=… PREFECT_API_KEY=… PREFECT_WORK_POOLS=… npm start';

const HELP = `Usage: npm start [-- options]      (or: prefect-ecs-serverless start [options])

Runs the poller, the launcher and the reporter in this process, through the same code as the
Lambdas, with an in-process launch queue. ECS task state changes are read by following the
launched tasks with DescribeTasks (one call per cluster per interval), since EventBridge cannot
reach this process. Ctrl-C stops cleanly: nothing claimed is lost.

Without PREFECT_API_URL: the sandbox. Local stand-ins for Prefect and AWS, an ECS work pool with
Prefect's default template, and a few flow runs that complete, run out of memory, cannot pull
their image, are cancelled while pending, crash and are retried, are interrupted on Fargate Spot
and rescheduled, or are scheduled ahead; a live table, then a summary. Nothing leaves this
machine. Exit status 0 when every run ended as expected, after the expected number of attempts.

Against your Prefect and AWS account:
  ${REAL_COMMAND}
  PREFECT_API_URL          http(s)://…/api, or https://api.prefect.cloud/api/accounts/<a>/workspaces/<w>
  PREFECT_API_KEY          Prefect Cloud API key (or PREFECT_API_AUTH_STRING=user:pass, self-hosted)
  PREFECT_WORK_POOLS       comma-separated ECS work pools to serve
  AWS credentials and region: the AWS SDK's default chain (AWS_PROFILE, AWS_REGION, SSO, …).
  Containers get the Prefect credential from Secrets Manager: set PREFECT_API_KEY_SECRET_ARN (or
  PREFECT_API_AUTH_STRING_SECRET_ARN), or the pool's prefect_api_key_secret_arn variable.
  Optional: POLL_INTERVAL_SECONDS (20), TASK_FOLLOW_INTERVAL_SECONDS (5), LOG_LEVEL (INFO), and the
  Lambdas' other variables (ECS_EXECUTION_ROLE_ARN, PREFECT_WORK_QUEUES, …). No queue URLs.

Options:
  --sandbox   run the sandbox even when PREFECT_API_URL is set
  --watch     (sandbox) keep running after the seeded runs ended, until Ctrl-C
  -h, --help  show this help
`;

/** The sandbox's limit: it normally ends in about 20 s. */
const SANDBOX_TIMEOUT_MS = 90_000;
/** How long stopping waits for work in flight. */
const STOP_TIMEOUT_MS = 30_000;

interface StartOptions {
  sandbox: boolean;
  watch: boolean;
}

const parse = (args: readonly string[]): StartOptions => {
  try {
    const { values } = parseArgs({
      args: [...args],
      options: { sandbox: { type: 'boolean' }, watch: { type: 'boolean' } },
      strict: true,
      allowPositionals: false,
    });
    return { sandbox: values.sandbox === true, watch: values.watch === true };
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : String(error));
  }
};

/** The first Ctrl-C (or SIGTERM) asks to stop; a second one quits at once. */
const interruption = (io: CliIo) => {
  let fired = false;
  let resolve: () => void = () => {};
  const promise = new Promise<void>((settle) => {
    resolve = settle;
  });
  const onSignal = (): void => {
    if (fired) {
      io.stderr('\nQuitting without waiting.\n');
      process.exit(130);
    }
    fired = true;
    io.stderr('\nStopping… (Ctrl-C again to quit at once)\n');
    resolve();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return {
    promise,
    fired: () => fired,
    dispose: () => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    },
  };
};

/** The region of the AWS SDK's default chain (profile), when `AWS_REGION` is not set. */
const defaultRegion = async (): Promise<string | undefined> => {
  const client = new ECSClient({});
  try {
    return await client.config.region();
  } catch {
    return undefined;
  } finally {
    client.destroy();
  }
};

const loadConfig = (
  env: Readonly<Record<string, string | undefined>>,
  region: string | undefined
): LocalWorkerConfig => {
  try {
    return loadLocalWorkerConfig(env, region);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    throw new CommandError(
      `${error.message}\nPREFECT_API_URL is set, so this runs the local worker against it. Fix the variables above, or run the sandbox: unset PREFECT_API_URL, or \`npm start -- --sandbox\`.`
    );
  }
};

/**
 * A note when this process has a Prefect credential but the flow-run containers would get none:
 * they read it only from Secrets Manager (never a plain value in the task definition).
 */
const containerCredentialNote = (config: LocalWorkerConfig): string[] => {
  const settings = config.poller;
  const secret = settings.prefectApiKeySecretArn ?? settings.prefectApiAuthStringSecretArn;
  if (settings.prefectCredentials.kind === 'none' || secret !== undefined) return [];
  return [
    '  note         the flow-run containers get the Prefect credential only from Secrets Manager:',
    '               set PREFECT_API_KEY_SECRET_ARN (or PREFECT_API_AUTH_STRING_SECRET_ARN), or the',
    "               work pool's prefect_api_key_secret_arn variable; this process's key is never passed on",
  ];
};

/** The local worker against a real Prefect and AWS, until Ctrl-C. */
const runLocal = async (io: CliIo): Promise<number> => {
  const region = io.env.AWS_REGION?.trim() ? io.env.AWS_REGION : await defaultRegion();
  const config = loadConfig(io.env, region);
  const settings = config.poller;
  const logger = createTextLogger({ write: io.stdout, level: config.logLevel });
  const worker = await createLocalWorker({ config, logger });
  io.stdout(
    [
      'prefect-ecs-serverless: local worker',
      `  Prefect      ${settings.prefectApiUrl} (worker '${settings.workerName}')`,
      `  work pools   ${settings.workPools.join(', ')}${settings.workQueues.length > 0 ? ` (queues ${settings.workQueues.join(', ')})` : ''}`,
      `  AWS          region ${settings.awsRegion}, credentials from the AWS SDK's default chain`,
      `  cadence      a poll now, then every ${settings.poll.pollIntervalSeconds} s; launched tasks followed with DescribeTasks every ${config.followIntervalSeconds} s`,
      ...containerCredentialNote(config),
      '  Ctrl-C stops cleanly: nothing claimed is lost.',
      '',
    ].join('\n')
  );
  const stop = interruption(io);
  try {
    // Ctrl-C while starting (Prefect slow to answer) stops at once.
    await Promise.race([worker.start(), stop.promise]);
    await stop.promise;
    const report = await worker.stop(STOP_TIMEOUT_MS);
    io.stdout(`${describeStop(report, config).join('\n')}\n`);
    return EXIT.ok;
  } finally {
    stop.dispose();
  }
};

const SANDBOX_BANNER = `prefect-ecs-serverless: SANDBOX
  This is a sandbox. Local stand-ins play Prefect and AWS (ECS, EC2, CloudWatch Logs); nothing
  leaves this machine and nothing is billed. The worker itself is the real one: the same poller,
  launcher and reporter code as the Lambdas.
  To point it at a real Prefect and your AWS account (credentials and region from your AWS config):
    ${REAL_COMMAND}
`;

/**
 * Reads the runs' states and their ECS tasks into the rows; with `history`, also each run's state
 * history (its attempts, for the summary).
 */
const refresh = async (
  sandbox: Sandbox,
  rows: Map<string, RunRow>,
  options: { history?: boolean } = {}
): Promise<void> => {
  const runs = await sandbox.reader.filterFlowRuns({ ids: [...rows.keys()] });
  for (const run of runs) {
    const row = rows.get(run.id);
    if (!row) continue;
    row.tasks = sandbox.tasksOf(run.id).length;
    if (options.history) {
      row.attempts = attemptsInHistory(await sandbox.reader.readFlowRunStates(run.id));
    }
    row.state = run.state
      ? { type: run.state.type, name: run.state.name ?? '', message: run.state.message }
      : undefined;
    // Prefect also sets start_time when a run ends without ever running: only a run seen RUNNING
    // (or finished COMPLETED or FAILED, which only a running flow reports) was started by its flow.
    const ran = ['RUNNING', 'COMPLETED', 'FAILED'].includes(run.state?.type ?? '');
    if (ran && run.start_time) row.startTime ??= new Date(run.start_time);
  }
};

/** Every run ended, and neither the worker nor the sandbox's actors (a retry to come) have work. */
const allEnded = (rows: Map<string, RunRow>, worker: LocalWorker, sandbox: Sandbox): boolean =>
  [...rows.values()].every(hasEnded) && worker.idle() && sandbox.idle();

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** The sandbox: stand-ins, seeded runs, the real worker, a live table, a summary. */
const runSandbox = async (io: CliIo, options: StartOptions): Promise<number> => {
  const tty = process.stdout.isTTY === true;
  io.stdout(`${SANDBOX_BANNER}\n`);
  const { startSandbox, SANDBOX_CLUSTER, SANDBOX_POOL } = await import('./sandbox.ts');
  const sandbox = await startSandbox();
  const logPath = join(tmpdir(), `prefect-ecs-serverless-sandbox-${process.pid}.log`);
  const logFile = createWriteStream(logPath);
  let problems = 0;
  const logger = createTextLogger({
    write: (line) => {
      logFile.write(line);
      if (/^\S+ (WARN|ERROR)/.test(line)) problems += 1;
    },
    level: 'debug',
  });
  const rows = new Map<string, RunRow>();
  /** Each run's latest task as the launcher obtained it: the table shows that one's ECS status. */
  const latestTask = new Map<string, string>();
  const seenTasks = new Set<string>();
  const onLaunch = (launch: TrackedLaunch): void => {
    const row = rows.get(launch.flowRunId ?? '');
    if (!row || seenTasks.has(launch.taskArn)) return;
    seenTasks.add(launch.taskArn);
    row.launchedAt ??= launch.at;
    latestTask.set(launch.flowRunId ?? '', launch.taskArn);
    row.ecsStatus = undefined;
  };
  const stop = interruption(io);
  let worker: LocalWorker | undefined;
  let view: LiveView | undefined;
  try {
    const config = loadLocalWorkerConfig(sandbox.env);
    worker = await createLocalWorker({
      config,
      logger,
      aws: sandbox.awsOptions,
      reporterRetryDelaysMs: [1_000, 2_000],
      observer: {
        onLaunch,
        onTaskEvent: (event) => {
          const flowRunId = flowRunIdFromStartedBy(event.detail.startedBy) ?? '';
          const row = rows.get(flowRunId);
          // An older attempt's task (a Spot task stopping late) does not hide the current one's.
          if (row && latestTask.get(flowRunId) === event.detail.taskArn) {
            row.ecsStatus = event.detail.lastStatus;
          }
        },
      },
    });
    io.stdout(
      [
        `Sandbox Prefect API: ${sandbox.prefect.apiUrl}  (work pool '${SANDBOX_POOL}', ECS cluster '${SANDBOX_CLUSTER}')`,
        `The worker polls every ${config.poller.poll.pollIntervalSeconds} s and follows its tasks every ${config.followIntervalSeconds} s; its log: ${logPath}`,
        '',
      ].join('\n')
    );
    for (const run of await sandbox.seedRuns()) {
      rows.set(run.id, {
        name: run.name,
        does: run.does,
        expected: run.expected,
        expectedMessage: run.expectedMessage,
        expectedAttempts: run.expectedAttempts,
        scheduledTime: run.scheduledTime,
      });
    }
    io.stdout(`Seeded ${rows.size} flow runs.\n\n`);
    sandbox.startActors();
    await worker.start();
    view = new LiveView({ write: io.stdout, tty, columns: process.stdout.columns });
    const startedAt = Date.now();
    let timedOut = false;
    for (;;) {
      await refresh(sandbox, rows);
      view.update([...rows.values()], new Date());
      if (stop.fired()) break;
      if (!options.watch && allEnded(rows, worker, sandbox)) break;
      if (!options.watch && Date.now() - startedAt > SANDBOX_TIMEOUT_MS) {
        timedOut = true;
        break;
      }
      await Promise.race([sleep(tty ? 250 : 500), stop.promise]);
    }
    view.finish();
    view = undefined;
    const report = await worker.stop(STOP_TIMEOUT_MS);
    worker = undefined;
    await refresh(sandbox, rows, { history: true });
    const summary = renderSummary([...rows.values()], Date.now() - startedAt, {
      interrupted: stop.fired(),
    });
    const lines = ['', ...summary.lines, ''];
    if (timedOut) {
      lines.push(
        `The sandbox did not finish within ${SANDBOX_TIMEOUT_MS / 1000} s (${report.queued.length} launch message(s) still queued, ${report.following.length} task(s) still followed); see the worker log.`
      );
    }
    if (stop.fired()) {
      lines.push('Interrupted: the sandbox (its Prefect, its AWS and its runs) is discarded.');
    }
    for (const error of sandbox.actorErrors) lines.push(`Sandbox actor problem: ${error}`);
    lines.push(
      `Worker log (${problems} warning and error line${problems === 1 ? '' : 's'}): ${logPath}`,
      '',
      'Next: point the same worker at your Prefect and AWS account:',
      `  ${REAL_COMMAND}`,
      ''
    );
    io.stdout(lines.join('\n'));
    return summary.ok && !timedOut ? EXIT.ok : EXIT.failure;
  } finally {
    view?.finish();
    stop.dispose();
    if (worker) await worker.stop(STOP_TIMEOUT_MS).catch(() => undefined);
    await sandbox.close();
    await new Promise<void>((resolve) => logFile.end(resolve));
  }
};

/** The `start` command. */
export const startCommand: CliCommand = {
  summary: 'Run the worker in this process (the sandbox when PREFECT_API_URL is not set).',
  help: HELP,
  async run(args, io) {
    const options = parse(args);
    if (!options.sandbox && io.env.PREFECT_API_URL?.trim()) return runLocal(io);
    return runSandbox(io, options);
  },
};
