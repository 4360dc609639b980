/**
 * The poller's metrics through the real handler factory over a small fake Prefect: one poll that
 * claims a run, cancels a CANCELLING one, stops the live task of a CANCELLED one and gives up on an
 * orphan publishes PollDuration (when asked for), RunsClaimed, RunsCancelled and TasksStopped in one
 * EMF document, and the orphan's RunsCrashed (Cause `launch-never-completed`) in its own; an idle
 * poll publishes nothing.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createPollerHandler } from '../../../../functions/poller/create-handler.ts';
import {
  CRASH_CAUSE_DIMENSION,
  CrashCause,
  createMetrics,
  METRICS_NAMESPACE,
} from '../../../../shared/observability.ts';
import type { PollEcs, PollPrefect } from '../../../../shared/poll/poll-deps.ts';
import { WORKER_NAME_LABEL } from '../../../../shared/poll/run-labels.ts';
import type { PollerDeps } from '../../../../shared/poll/run-poller.ts';
import type { FlowRun } from '../../../../shared/prefect/schemas.ts';
import type { QueueSender } from '../../../../shared/queue/queue-sender.ts';
import { flowRun, iso, NOW, setStateResult } from '../../shared/poll/fixtures.ts';
import { captureEmf, metricNames, TEST_ENV, TEST_SERVICE } from '../emf-capture.ts';

const POOL_ID = '0b3b0000-0000-4000-8000-000000000001';
const WORKER = 'prod';

const scheduled = flowRun(
  { id: '7f0e4c2a-0000-4d3e-8f90-000000000001', next_scheduled_start_time: iso(0) },
  { type: 'SCHEDULED', name: 'Scheduled' }
);
/** Cancelled before its engine started, without a task: the sweep sets it CANCELLED. */
const cancelling = flowRun(
  { id: '7f0e4c2a-0000-4d3e-8f90-000000000002' },
  { type: 'CANCELLING', name: 'Cancelling' }
);
/** Cancelled (forced) while its task still runs: the sweep stops the task. */
const TASK_ARN = 'arn:aws:ecs:us-east-1:123456789012:task/prefect/0123456789abcdef0123456789abcdef';
const cancelled = flowRun(
  { id: '7f0e4c2a-0000-4d3e-8f90-000000000004', infrastructure_pid: `prefect::${TASK_ARN}` },
  { type: 'CANCELLED', name: 'Cancelled' }
);
/** Ours, PENDING for 10 minutes without a task, and no transition id to re-enqueue it with. */
const orphan = flowRun(
  { id: '7f0e4c2a-0000-4d3e-8f90-000000000003', labels: { [WORKER_NAME_LABEL]: WORKER } },
  { timestamp: iso(-600), state_details: { scheduled_time: iso(-600) } }
);

const fakePrefect = (): PollPrefect => {
  const byId = new Map<string, FlowRun>([cancelling, orphan].map((run) => [run.id, run]));
  return {
    readWorkPool: async (name) => ({
      id: POOL_ID,
      name,
      type: 'ecs',
      is_paused: false,
      status: 'READY',
      base_job_template: {},
      concurrency_limit: null,
      default_queue_id: null,
    }),
    sendWorkerHeartbeat: async () => undefined,
    getScheduledFlowRuns: async () => [
      { work_pool_id: POOL_ID, work_queue_id: POOL_ID, flow_run: scheduled },
    ],
    setFlowRunState: async (_id, state) => {
      const transitionId = state.stateDetails?.transitionId ?? '';
      return {
        ...setStateResult('ACCEPT', { type: state.type, transition_id: transitionId }),
        transitionId,
      };
    },
    updateFlowRunLabels: async () => 'updated',
    filterAllFlowRuns: async (filter) => {
      const state = filter?.stateTypes?.[0];
      if (state === 'CANCELLING') return [cancelling];
      if (state === 'CANCELLED') return [cancelled];
      return [orphan];
    },
    readFlowRun: async (id) => {
      const run = byId.get(id);
      if (!run) throw new Error(`no run ${id}`);
      return run;
    },
    createLogs: async () => undefined,
    readFlowRunStates: async () => [],
    readDeployment: async () => {
      throw new Error('not expected');
    },
  };
};

/** ECS where the cancelled run's task is RUNNING until StopTask. */
const fakeEcs = (): PollEcs => ({
  listLiveTasksStartedBy: async () => [],
  describeTasks: async (_cluster, taskArns) => ({
    tasks: taskArns.map((taskArn) => ({
      taskArn,
      lastStatus: 'RUNNING',
      desiredStatus: 'RUNNING',
      createdAt: undefined,
    })),
    failures: [],
  }),
  stopTask: async (_cluster, taskArn) => ({
    taskArn,
    clusterArn: 'arn:aws:ecs:us-east-1:123456789012:cluster/prefect',
    taskDefinitionArn: undefined,
    desiredStatus: 'STOPPED',
    lastStatus: 'RUNNING',
    createdAt: undefined,
  }),
});

const queue: QueueSender = {
  sendMessages: async (_url, messages) => ({
    sent: messages.map((message) => message.id),
    failed: [],
    requests: 1,
  }),
};

const silent = { debug() {}, info() {}, warn() {}, error() {} };

const deps = (): PollerDeps => ({
  prefect: fakePrefect(),
  queue,
  ecs: fakeEcs(),
  options: {
    workPools: ['ecs'],
    workQueues: [],
    workerName: WORKER,
    launchQueueUrl: 'https://sqs/launch',
    pollIntervalSeconds: 20,
    prefetchSeconds: 60,
    leadSeconds: 0,
    limit: 200,
    orphanAfterSeconds: 300,
    maxRequeues: 3,
    cancelLookbackSeconds: 3600,
  },
  logger: silent,
  now: () => NOW,
  tickQueueUrl: undefined,
  metrics: createMetrics(TEST_ENV),
});

afterEach(() => {
  vi.restoreAllMocks();
});

describe('poller metrics', () => {
  it('publishes the poll duration, the claims, the cancellations, the stopped task and the orphan crash', async () => {
    // Prepare
    const handler = createPollerHandler(async () => deps(), silent, { pollDurationMetric: true });
    // Act
    const { result, documents } = await captureEmf(() => handler({}));
    // Assess
    expect(result).toMatchObject({ claimed: 1, cancelled: 1, stopped: 1, crashed: 1, errors: 0 });
    expect(documents.map(metricNames)).toEqual([
      ['RunsCrashed'],
      ['PollDuration', 'RunsClaimed', 'RunsCancelled', 'TasksStopped'],
    ]);
    const [crash, poll] = documents;
    expect(crash).toMatchObject({
      _aws: {
        CloudWatchMetrics: [
          { Namespace: METRICS_NAMESPACE, Dimensions: [['service', CRASH_CAUSE_DIMENSION]] },
        ],
      },
      service: TEST_SERVICE,
      [CRASH_CAUSE_DIMENSION]: CrashCause.LaunchNeverCompleted,
      RunsCrashed: 1,
    });
    expect(poll?._aws.CloudWatchMetrics).toEqual([
      {
        Namespace: METRICS_NAMESPACE,
        Dimensions: [['service']],
        Metrics: [
          { Name: 'PollDuration', Unit: 'Milliseconds' },
          { Name: 'RunsClaimed', Unit: 'Count' },
          { Name: 'RunsCancelled', Unit: 'Count' },
          { Name: 'TasksStopped', Unit: 'Count' },
        ],
      },
    ]);
    expect(poll).toMatchObject({
      service: TEST_SERVICE,
      RunsClaimed: 1,
      RunsCancelled: 1,
      TasksStopped: 1,
    });
    expect(poll?.PollDuration).toBeGreaterThanOrEqual(0);
  });

  const quiet = (): PollPrefect => ({
    ...fakePrefect(),
    getScheduledFlowRuns: async () => [],
    filterAllFlowRuns: async () => [],
  });

  it('publishes nothing for an idle poll (a metric published every poll is billed all month)', async () => {
    // Prepare
    const handler = createPollerHandler(async () => ({ ...deps(), prefect: quiet() }), silent);
    // Act
    const { documents } = await captureEmf(() => handler({}));
    // Assess
    expect(documents).toEqual([]);
  });

  it('publishes the poll duration alone for an idle poll when the dashboard asks for it', async () => {
    // Prepare
    const handler = createPollerHandler(async () => ({ ...deps(), prefect: quiet() }), silent, {
      pollDurationMetric: true,
    });
    // Act
    const { documents } = await captureEmf(() => handler({}));
    // Assess
    expect(documents.map(metricNames)).toEqual([['PollDuration']]);
  });

  it('logs an idle poll at DEBUG and a poll that did something at INFO', async () => {
    // Prepare
    const levels: string[] = [];
    const recording = {
      debug: (message: string) => levels.push(`debug:${message}`),
      info: (message: string) => levels.push(`info:${message}`),
      warn() {},
      error() {},
    };
    const idle = createPollerHandler(async () => ({ ...deps(), prefect: quiet() }), recording);
    const busy = createPollerHandler(async () => deps(), recording);
    // Act
    await captureEmf(() => idle({}));
    await captureEmf(() => busy({}));
    // Assess
    expect(levels.filter((level) => level.endsWith(':Poll finished'))).toEqual([
      'debug:Poll finished',
      'info:Poll finished',
    ]);
  });
});
