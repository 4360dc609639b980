import type { Task } from '@aws-sdk/client-ecs';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { type FollowedTaskEvent, followedEventId } from '../../../../shared/local/task-event.ts';
import { type DescribeTasksAnswer, TaskFollower } from '../../../../shared/local/task-follower.ts';
import { parseTaskStateChange } from '../../../../shared/report/task-state-change-event.ts';

const ACCOUNT = 'arn:aws:ecs:eu-west-1:123456789012';
const RUN_ID = '7a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d';

const taskArn = (cluster: string, id: string) => `${ACCOUNT}:task/${cluster}/${id}`;

/** A DescribeTasks task as the SDK parses it (Dates, `ElasticNetworkInterface`). */
const sdkTask = (arn: string, lastStatus: string, extra: Partial<Task> = {}): Task => ({
  taskArn: arn,
  clusterArn: `${ACCOUNT}:cluster/${arn.split('/')[1]}`,
  taskDefinitionArn: `${ACCOUNT}:task-definition/prefect_ecs_abc:1`,
  lastStatus,
  desiredStatus: lastStatus === 'STOPPED' ? 'STOPPED' : 'RUNNING',
  version: { PROVISIONING: 1, PENDING: 2, RUNNING: 3, STOPPED: 5 }[lastStatus] ?? 1,
  createdAt: new Date('2026-01-15T10:00:00.000Z'),
  startedBy: `prefect/${RUN_ID}`,
  group: 'family:prefect_ecs_abc',
  launchType: 'FARGATE',
  cpu: '1024',
  memory: '2048',
  attachments: [
    {
      id: 'att-1',
      type: 'ElasticNetworkInterface',
      status: 'ATTACHED',
      details: [{ name: 'subnetId', value: 'subnet-1' }],
    },
  ],
  containers: [
    {
      containerArn: `${ACCOUNT}:container/prefect/c1`,
      taskArn: arn,
      name: 'prefect',
      image: 'prefecthq/prefect:3-latest',
      lastStatus: lastStatus === 'PROVISIONING' ? 'PENDING' : lastStatus,
      networkBindings: [],
      healthStatus: 'UNKNOWN',
      cpu: '0',
    },
  ],
  overrides: {
    containerOverrides: [
      { name: 'prefect', environment: [{ name: 'PREFECT__FLOW_RUN_ID', value: RUN_ID }] },
    ],
    inferenceAcceleratorOverrides: [],
  },
  healthStatus: 'UNKNOWN',
  tags: [],
  ...extra,
});

const logger = () => {
  const lines: { level: string; message: string }[] = [];
  const at = (level: string) => (message: string) => {
    lines.push({ level, message });
  };
  return { lines, debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
};

/** A DescribeTasks stand-in: answers from `states` (task ARN → status), records each call. */
const describer = (states: Map<string, string | Task>) => {
  const calls: { cluster: string; tasks: string[] }[] = [];
  const describeTasks = async (
    cluster: string,
    tasks: readonly string[]
  ): Promise<DescribeTasksAnswer> => {
    calls.push({ cluster, tasks: [...tasks] });
    const found: Task[] = [];
    const failures: { arn: string; reason: string }[] = [];
    for (const arn of tasks) {
      const state = states.get(arn);
      if (state === undefined) failures.push({ arn, reason: 'MISSING' });
      else found.push(typeof state === 'string' ? sdkTask(arn, state) : state);
    }
    return { tasks: found, failures };
  };
  return { calls, describeTasks };
};

describe('TaskFollower', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('describes all followed tasks with one call per cluster per round, at most 100 ARNs per call', async () => {
    // Prepare
    const states = new Map<string, string>();
    const { calls, describeTasks } = describer(states);
    const counted = new TaskFollower({ describeTasks, onEvent: () => {}, logger: logger() });
    for (let i = 0; i < 150; i += 1) {
      states.set(taskArn('a', `t${i}`), 'RUNNING');
      counted.follow(taskArn('a', `t${i}`));
    }
    for (let i = 0; i < 3; i += 1) {
      states.set(taskArn('b', `t${i}`), 'PENDING');
      counted.follow(taskArn('b', `t${i}`));
    }
    // Act
    const round = await counted.round();
    // Assess
    expect(calls.map((call) => [call.cluster, call.tasks.length])).toEqual([
      [`${ACCOUNT}:cluster/a`, 100],
      [`${ACCOUNT}:cluster/b`, 3],
      [`${ACCOUNT}:cluster/a`, 50],
    ]);
    expect(round).toMatchObject({ events: 153, finished: 0, errors: [] });
    expect(counted.following()).toHaveLength(153);
  });

  it('emits an event when lastStatus changes, none when it does not, and stops at STOPPED', async () => {
    // Prepare
    const arn = taskArn('prefect', 'abc');
    const states = new Map([[arn, 'PROVISIONING']]);
    const { calls, describeTasks } = describer(states);
    const events: FollowedTaskEvent[] = [];
    const follower = new TaskFollower({
      describeTasks,
      onEvent: (event) => events.push(event),
      logger: logger(),
    });
    follower.follow(arn, 'prefect');
    follower.follow(arn, 'prefect');
    // Act
    await follower.round();
    await follower.round();
    states.set(arn, 'RUNNING');
    await follower.round();
    states.set(arn, 'STOPPED');
    await follower.round();
    await follower.round();
    // Assess
    expect(events.map((event) => event.detail.lastStatus)).toEqual([
      'PROVISIONING',
      'RUNNING',
      'STOPPED',
    ]);
    expect(calls.map((call) => call.tasks)).toEqual([[arn], [arn], [arn], [arn]]);
    expect(follower.following()).toEqual([]);
  });

  it('builds events the reporter parses, in the EventBridge envelope with event-style detail', async () => {
    // Prepare
    const arn = taskArn('prefect', 'abc');
    const stopped = sdkTask(arn, 'STOPPED', {
      stopCode: 'EssentialContainerExited',
      stoppedReason: 'Essential container in task exited',
      startedAt: new Date('2026-01-15T10:00:30.000Z'),
      stoppingAt: new Date('2026-01-15T10:01:00.000Z'),
      stoppedAt: new Date('2026-01-15T10:01:05.500Z'),
      containers: [
        {
          containerArn: `${ACCOUNT}:container/prefect/c1`,
          taskArn: arn,
          name: 'prefect',
          lastStatus: 'STOPPED',
          exitCode: 137,
          reason: 'OutOfMemoryError: Container killed due to memory usage',
        },
      ],
    });
    const { describeTasks } = describer(new Map([[arn, stopped]]));
    const events: FollowedTaskEvent[] = [];
    const follower = new TaskFollower({
      describeTasks,
      onEvent: (event) => events.push(event),
      logger: logger(),
      now: () => new Date('2026-01-15T10:01:07.250Z'),
    });
    follower.follow(arn);
    // Act
    await follower.round();
    // Assess
    const [event] = events;
    const parsed = parseTaskStateChange(JSON.parse(JSON.stringify(event)));
    expect(parsed.ok).toBe(true);
    expect(event).toMatchObject({
      version: '0',
      id: followedEventId(arn, 5, 'STOPPED'),
      'detail-type': 'ECS Task State Change',
      source: 'aws.ecs',
      account: '123456789012',
      region: 'eu-west-1',
      time: '2026-01-15T10:01:07Z',
      resources: [arn],
      detail: {
        taskArn: arn,
        lastStatus: 'STOPPED',
        desiredStatus: 'STOPPED',
        stopCode: 'EssentialContainerExited',
        createdAt: '2026-01-15T10:00:00.000Z',
        startedAt: '2026-01-15T10:00:30.000Z',
        stoppedAt: '2026-01-15T10:01:05.500Z',
        updatedAt: '2026-01-15T10:01:05.500Z',
        startedBy: `prefect/${RUN_ID}`,
        memory: '2048',
        version: 5,
        attachments: [{ id: 'att-1', type: 'eni', status: 'ATTACHED' }],
        containers: [
          {
            name: 'prefect',
            lastStatus: 'STOPPED',
            exitCode: 137,
            reason: 'OutOfMemoryError: Container killed due to memory usage',
          },
        ],
      },
    });
    expect(event?.detail).not.toHaveProperty('tags');
    expect(event?.detail).not.toHaveProperty('healthStatus');
    expect(event?.detail.containers[0]).not.toHaveProperty('networkBindings');
    expect(followedEventId(arn, 5, 'STOPPED')).toBe(event?.id);
    expect(followedEventId(arn, 3, 'RUNNING')).not.toBe(event?.id);
  });

  it('stops following a task ECS no longer knows (MISSING), with a warning and no event', async () => {
    // Prepare
    const arn = taskArn('prefect', 'gone');
    const { describeTasks } = describer(new Map());
    const log = logger();
    const events: FollowedTaskEvent[] = [];
    const follower = new TaskFollower({
      describeTasks,
      onEvent: (e) => events.push(e),
      logger: log,
    });
    follower.follow(arn);
    // Act
    const round = await follower.round();
    // Assess
    expect(round.finished).toBe(1);
    expect(events).toEqual([]);
    expect(follower.following()).toEqual([]);
    expect(log.lines.filter((line) => line.level === 'warn')).toHaveLength(1);
  });

  it('keeps following when DescribeTasks fails, and reports the change on the next round', async () => {
    // Prepare
    const arn = taskArn('prefect', 'abc');
    let fail = true;
    const log = logger();
    const events: FollowedTaskEvent[] = [];
    const follower = new TaskFollower({
      describeTasks: async () => {
        if (fail) throw Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' });
        return { tasks: [sdkTask(arn, 'RUNNING')], failures: [] };
      },
      onEvent: (event) => events.push(event),
      logger: log,
    });
    follower.follow(arn);
    // Act
    const failed = await follower.round();
    fail = false;
    await follower.round();
    // Assess
    expect(failed.errors).toEqual([expect.stringContaining('ThrottlingException: Rate exceeded')]);
    expect(events.map((event) => event.detail.lastStatus)).toEqual(['RUNNING']);
    expect(follower.following()).toEqual([arn]);
  });

  it('asks about an old-format task ARN on the cluster it was launched on', async () => {
    // Prepare
    const arn = `${ACCOUNT}:task/0123456789abcdef`;
    const states = new Map([[arn, 'RUNNING']]);
    const { calls, describeTasks } = describer(states);
    const follower = new TaskFollower({ describeTasks, onEvent: () => {}, logger: logger() });
    follower.follow(arn, 'legacy');
    // Act
    await follower.round();
    // Assess
    expect(calls).toEqual([{ cluster: 'legacy', tasks: [arn] }]);
  });

  it('runs one round per interval, never two at once, and stop waits for the one in flight', async () => {
    // Prepare
    vi.useFakeTimers();
    const arn = taskArn('prefect', 'slow');
    const started: number[] = [];
    let running = 0;
    let most = 0;
    const follower = new TaskFollower({
      describeTasks: async () => {
        started.push(Date.now());
        running += 1;
        most = Math.max(most, running);
        await new Promise((resolve) => setTimeout(resolve, 1_500));
        running -= 1;
        return { tasks: [sdkTask(arn, 'RUNNING')], failures: [] };
      },
      onEvent: () => {},
      intervalMs: 1_000,
      logger: logger(),
    });
    follower.follow(arn);
    const t0 = Date.now();
    // Act
    follower.start();
    await vi.advanceTimersByTimeAsync(6_000);
    const stopping = follower.stop();
    await vi.advanceTimersByTimeAsync(1_500);
    await stopping;
    const rounds = follower.rounds;
    await vi.advanceTimersByTimeAsync(10_000);
    // Assess
    expect(most).toBe(1);
    expect(started.map((at) => at - t0)).toEqual([1_000, 3_500, 6_000]);
    expect(follower.rounds).toBe(rounds);
  });
});
