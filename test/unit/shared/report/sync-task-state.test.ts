/**
 * `syncTaskState` over recording fakes: which calls each kind of event makes, and what failures
 * do (the happy paths through real HTTP are in test/integration/reporter.test.ts).
 */
import { describe, expect, it } from 'vitest';
import type { EcsTag } from '../../../../shared/ecs/ecs-api.ts';
import { DEREGISTER_TAG_KEY } from '../../../../shared/ecs/ecs-tags.ts';
import { EcsApiError } from '../../../../shared/errors/ecs-api-error.ts';
import type { SetStateResult } from '../../../../shared/prefect/flow-run-calls.ts';
import {
  PrefectApiError,
  PrefectNotFoundError,
} from '../../../../shared/prefect/prefect-api-error.ts';
import { type FlowRun, FlowRunSchema, type State } from '../../../../shared/prefect/schemas.ts';
import {
  type SyncTaskStateDeps,
  syncTaskState,
} from '../../../../shared/report/sync-task-state.ts';
import type { TaskStateChangeEvent } from '../../../../shared/report/task-state-change-event.ts';
import { transitionIdFromEventId } from '../../../../shared/report/transition-id.ts';
import { FLOW_RUN_ID, syntheticEvent, withDetail } from './fixtures.ts';

const call = {
  operation: 'readFlowRun',
  method: 'GET',
  path: `/flow_runs/${FLOW_RUN_ID}`,
  attempts: 1,
};

const flowRun = (type: string, name: string, extra: Record<string, unknown> = {}): FlowRun =>
  FlowRunSchema.parse({
    id: FLOW_RUN_ID,
    name: 'tidy-otter',
    flow_id: '22222222-2222-4222-8222-222222222222',
    state: {
      id: '33333333-3333-4333-8333-333333333333',
      type,
      name,
      timestamp: '2026-01-15T10:00:00Z',
      state_details: {},
    },
    ...extra,
  });

interface Recorded {
  calls: string[];
  /** What the logger was given. */
  lines: { level: string; message: string; attributes: Record<string, unknown> }[];
}

interface FakeOptions {
  run?: FlowRun | Error;
  answer?: (transitionId: string) => SetStateResult;
  tags?: EcsTag[] | undefined | Error;
  deregister?: Error;
  readTail?: Error;
  logTailLines?: number;
  /** The run's state history (default: none, so nothing is known of the current attempt). */
  history?: State[];
}

const fakes = (options: FakeOptions = {}): SyncTaskStateDeps & Recorded => {
  const calls: string[] = [];
  const lines: Recorded['lines'] = [];
  const logAt =
    (level: string) =>
    (message: string, ...attributes: Record<string, unknown>[]) => {
      lines.push({ level, message, attributes: Object.assign({}, ...attributes) });
    };
  return {
    calls,
    lines,
    prefect: {
      async readFlowRun(id) {
        calls.push(`readFlowRun ${id}`);
        const run = options.run ?? flowRun('PENDING', 'Pending');
        if (run instanceof Error) throw run;
        return run;
      },
      async readFlowRunStates(id) {
        calls.push(`readFlowRunStates ${id}`);
        return options.history ?? [];
      },
      async setFlowRunState(id, state) {
        calls.push(`setFlowRunState ${id} ${state.type}`);
        const transitionId = state.stateDetails?.transitionId ?? '';
        return (
          options.answer?.(transitionId) ?? {
            status: 'ACCEPT',
            state: null,
            details: { type: 'accept_details' },
            stateWritten: true,
            transitionId,
          }
        );
      },
      async updateFlowRun(id, update) {
        calls.push(`updateFlowRun ${id} ${update.infrastructurePid}`);
      },
      async createLogs(entries) {
        calls.push(`createLogs ${entries.length}`);
      },
    },
    ecs: {
      async describeTaskDefinition(arn) {
        calls.push(`describeTaskDefinition ${arn}`);
        return {
          taskDefinition: {
            taskDefinitionArn: arn,
            containerDefinitions: [
              {
                name: 'prefect',
                logConfiguration: {
                  logDriver: 'awslogs',
                  options: { 'awslogs-group': 'prefect', 'awslogs-stream-prefix': 'p' },
                },
              },
            ],
          },
          tags: [],
        };
      },
      async describeTaskTags() {
        calls.push('describeTaskTags');
        if (options.tags instanceof Error) throw options.tags;
        return 'tags' in options ? options.tags : [];
      },
      async deregisterTaskDefinition(arn) {
        calls.push(`deregisterTaskDefinition ${arn}`);
        if (options.deregister) throw options.deregister;
      },
      async stopTask(_cluster, taskArn) {
        calls.push(`stopTask ${taskArn}`);
        return undefined;
      },
    },
    logs: {
      async readTail(location, limit) {
        calls.push(`readTail ${location.stream} ${limit}`);
        if (options.readTail) throw options.readTail;
        return [{ timestamp: 1_768_471_200_000, message: 'pulling image' }];
      },
    },
    logger: {
      debug: logAt('debug'),
      info: logAt('info'),
      warn: logAt('warn'),
      error: logAt('error'),
    },
    config: { logTailLines: options.logTailLines ?? 200 },
  };
};

const cannotPull = syntheticEvent('stopped-taskfailedtostart-cannotpull');
const TD = cannotPull.detail.taskDefinitionArn;
const ecsError = (retryable: boolean) =>
  new EcsApiError('ECS failed', { operation: 'describeTasks', code: 'X' }, retryable);

describe('syncTaskState', () => {
  it('makes no call at all for a task that is not a flow run’s', async () => {
    // Prepare
    const deps = fakes();
    const foreign: TaskStateChangeEvent = withDetail(cannotPull, {
      startedBy: 'ecs-svc/1',
      overrides: { containerOverrides: [] },
    });
    // Act
    const outcome = await syncTaskState(foreign, deps);
    // Assess
    expect(outcome.action).toBe('foreign-task');
    expect(deps.calls).toEqual([]);
  });

  it('crashes a run that never started, forwards its log tail and checks the deregister tag', async () => {
    // Prepare
    const deps = fakes();
    // Act
    const outcome = await syncTaskState(cannotPull, deps);
    // Assess
    expect(outcome).toMatchObject({ action: 'propose', status: 'ACCEPT', duplicate: false });
    expect(outcome.logTail).toMatchObject({ lines: 1, requests: 1 });
    expect(deps.calls).toEqual([
      `readFlowRun ${FLOW_RUN_ID}`,
      `setFlowRunState ${FLOW_RUN_ID} CRASHED`,
      `describeTaskDefinition ${TD}`,
      'readTail p/prefect/0f1e2d3c4b5a69788796a5b4c3d2e1f0 200',
      'createLogs 2',
      'describeTaskTags',
    ]);
    expect(deps.lines.at(-1)).toMatchObject({
      level: 'info',
      attributes: { flow_run_id: FLOW_RUN_ID, action: 'propose', prefect_status: 'ACCEPT' },
    });
  });

  it('does not forward the tail when the tail is turned off', async () => {
    // Prepare
    const deps = fakes({ logTailLines: 0 });
    // Act
    await syncTaskState(cannotPull, deps);
    // Assess
    expect(deps.calls).not.toContain(`describeTaskDefinition ${TD}`);
  });

  it('recognises its own earlier proposal in a REJECT and forwards no tail again', async () => {
    // Prepare
    const deps = fakes({
      answer: (transitionId) => ({
        status: 'REJECT',
        state: {
          ...(flowRun('CRASHED', 'Crashed').state as NonNullable<FlowRun['state']>),
          state_details: {
            flow_run_id: FLOW_RUN_ID,
            transition_id: transitionId,
            scheduled_time: null,
            deployment_concurrency_lease_id: null,
            pause_key: null,
          },
        },
        details: {
          type: 'reject_details',
          reason: 'This run has already made this state transition.',
        },
        stateWritten: false,
        transitionId,
      }),
    });
    // Act
    const outcome = await syncTaskState(cannotPull, deps);
    // Assess
    expect(outcome).toMatchObject({ status: 'REJECT', duplicate: true });
    expect(deps.calls.filter((c) => c.startsWith('createLogs'))).toEqual([]);
  });

  it('sends the transition id derived from the event id', async () => {
    // Prepare
    const seen: string[] = [];
    const deps = fakes({
      answer: (transitionId) => {
        seen.push(transitionId);
        return {
          status: 'ABORT',
          state: null,
          details: { type: 'abort_details', reason: null },
          stateWritten: false,
          transitionId,
        };
      },
    });
    // Act
    await syncTaskState(cannotPull, deps);
    // Assess
    expect(seen).toEqual([transitionIdFromEventId(cannotPull.id)]);
  });

  it('still reports the crash when the log tail cannot be read', async () => {
    // Prepare
    const deps = fakes({ readTail: new Error('ThrottlingException') });
    // Act
    const outcome = await syncTaskState(cannotPull, deps);
    // Assess
    expect(outcome.status).toBe('ACCEPT');
    expect(outcome.logTail).toBeUndefined();
    expect(deps.lines.some((l) => l.level === 'warn' && /log tail/.test(l.message))).toBe(true);
  });

  it('deregisters a tagged task definition even when the run no longer exists', async () => {
    // Prepare
    const deps = fakes({
      run: new PrefectNotFoundError(call, {
        status: 404,
        statusText: 'Not Found',
        detail: 'Flow run not found',
        retryable: false,
      }),
      tags: [{ key: DEREGISTER_TAG_KEY, value: 'true' }],
    });
    // Act
    const outcome = await syncTaskState(cannotPull, deps);
    // Assess
    expect(outcome).toMatchObject({ action: 'run-not-found', deregister: 'deregistered' });
    expect(deps.calls).toContain(`deregisterTaskDefinition ${TD}`);
  });

  it.each([
    [[{ key: DEREGISTER_TAG_KEY, value: 'false' }], 'not-tagged'],
    [[{ key: 'prefect.io/deregister-task-definition', value: 'true' }], 'not-tagged'],
    [undefined, 'task-gone'],
  ] as const)('does not deregister for tags %j', async (tags, expected) => {
    // Prepare
    const deps = fakes({ tags: tags === undefined ? undefined : [...tags] });
    // Act
    const outcome = await syncTaskState(cannotPull, deps);
    // Assess
    expect(outcome.deregister).toBe(expected);
    expect(deps.calls.some((c) => c.startsWith('deregisterTaskDefinition'))).toBe(false);
  });

  it('logs a permanent ECS failure while deregistering, and throws a retryable one', async () => {
    // Prepare
    const permanent = fakes({
      tags: [{ key: DEREGISTER_TAG_KEY, value: 'true' }],
      deregister: ecsError(false),
    });
    const transient = fakes({ tags: ecsError(true) });
    // Act / Assess
    await expect(syncTaskState(cannotPull, permanent)).resolves.toMatchObject({
      deregister: undefined,
    });
    expect(permanent.lines.some((l) => l.level === 'warn' && /deregister/.test(l.message))).toBe(
      true
    );
    await expect(syncTaskState(cannotPull, transient)).rejects.toThrow('ECS failed');
  });

  it('throws (so the event is retried) when Prefect fails, logging it with the flow run id', async () => {
    // Prepare
    const deps = fakes({
      run: new PrefectApiError(call, {
        status: 503,
        statusText: 'Service Unavailable',
        detail: '',
        retryable: true,
      }),
    });
    // Act / Assess
    await expect(syncTaskState(cannotPull, deps)).rejects.toBeInstanceOf(PrefectApiError);
    expect(deps.lines).toEqual([
      expect.objectContaining({
        level: 'error',
        attributes: expect.objectContaining({ flow_run_id: FLOW_RUN_ID, retryable: true }),
      }),
    ]);
    expect(deps.calls).toEqual([`readFlowRun ${FLOW_RUN_ID}`]);
  });

  it('records a missing infrastructure_pid on an event that proposes nothing', async () => {
    // Prepare
    const deps = fakes({ run: flowRun('PENDING', 'InfrastructurePending') });
    // Act
    await syncTaskState(syntheticEvent('lifecycle-2-pending'), deps);
    // Assess: past its claim, the run's history says which attempt is current (none known here)
    expect(deps.calls).toEqual([
      `readFlowRun ${FLOW_RUN_ID}`,
      `readFlowRunStates ${FLOW_RUN_ID}`,
      `updateFlowRun ${FLOW_RUN_ID} arn:aws:ecs:eu-west-1:123456789012:cluster/prefect::${cannotPull.detail.taskArn}`,
    ]);
  });

  it('reads the run once and writes nothing for a RUNNING task of a running run', async () => {
    // Prepare
    const deps = fakes({
      run: flowRun('RUNNING', 'Running', {
        infrastructure_pid: `prefect::${cannotPull.detail.taskArn}`,
      }),
    });
    // Act
    await syncTaskState(syntheticEvent('lifecycle-3-running'), deps);
    // Assess
    expect(deps.calls).toEqual([`readFlowRun ${FLOW_RUN_ID}`]);
  });

  it('stops a task that starts for a CANCELLED run (a launch that raced the cancel)', async () => {
    // Prepare
    const deps = fakes({ run: flowRun('CANCELLED', 'Cancelled') });
    // Act
    const outcome = await syncTaskState(syntheticEvent('lifecycle-1-provisioning'), deps);
    // Assess
    expect(outcome.action).toBe('stop-task');
    expect(deps.calls).toEqual([
      `readFlowRun ${FLOW_RUN_ID}`,
      `stopTask ${syntheticEvent('lifecycle-1-provisioning').detail.taskArn}`,
    ]);
  });
});
