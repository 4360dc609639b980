/**
 * The reporter's metrics through the real handler factory, over small Prefect and ECS fakes and
 * the vendored ECS events: an accepted CRASHED is counted by its diagnosis cause, an accepted
 * CANCELLED as RunsCancelled, and a redelivered event (its proposal REJECTed as a duplicate) not
 * again.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createReporterHandler } from '../../../../functions/reporter/handler.ts';
import { EcsApiError } from '../../../../shared/errors/ecs-api-error.ts';
import {
  CRASH_CAUSE_DIMENSION,
  CrashCause,
  createMetrics,
  METRICS_NAMESPACE,
} from '../../../../shared/observability.ts';
import type { SetStateResult } from '../../../../shared/prefect/flow-run-calls.ts';
import { FlowRunSchema } from '../../../../shared/prefect/schemas.ts';
import type { SyncTaskStateDeps } from '../../../../shared/report/sync-task-state.ts';
import { setStateResult } from '../../shared/poll/fixtures.ts';
import { FLOW_RUN_ID, rawEvent } from '../../shared/report/fixtures.ts';
import { captureEmf, metricNames, TEST_ENV, TEST_SERVICE } from '../emf-capture.ts';

/** Reporter deps whose run is in `state`; each proposal is ACCEPTed once, then REJECTed as a duplicate. */
const reporterDeps = (
  state: { type: string; name: string },
  describeTaskTags: SyncTaskStateDeps['ecs']['describeTaskTags'] = async () => []
): SyncTaskStateDeps & { lines: Record<string, unknown>[] } => {
  const applied = new Set<string>();
  const lines: Record<string, unknown>[] = [];
  const record = (message: string, ...attributes: Record<string, unknown>[]) => {
    lines.push(Object.assign({ message }, ...attributes));
  };
  return {
    lines,
    prefect: {
      readFlowRun: async (id) =>
        FlowRunSchema.parse({
          id,
          name: 'tidy-otter',
          flow_id: '22222222-2222-4222-8222-222222222222',
          state: {
            id: '33333333-3333-4333-8333-333333333333',
            ...state,
            timestamp: '2026-01-15T10:00:00Z',
            state_details: {},
          },
        }),
      setFlowRunState: async (_id, proposed): Promise<SetStateResult> => {
        const transitionId = proposed.stateDetails?.transitionId ?? '';
        if (applied.has(transitionId)) {
          return setStateResult('REJECT', { type: proposed.type, transition_id: transitionId });
        }
        applied.add(transitionId);
        return setStateResult('ACCEPT', { type: proposed.type, transition_id: transitionId });
      },
      readFlowRunStates: async () => [],
      updateFlowRun: async () => undefined,
      createLogs: async () => undefined,
    },
    ecs: {
      describeTaskDefinition: async () => undefined,
      describeTaskTags,
      deregisterTaskDefinition: async () => undefined,
      stopTask: async () => undefined,
    },
    logs: { readTail: async () => [] },
    logger: { debug: record, info: record, warn: record, error: record },
    config: { logTailLines: 0 },
    metrics: createMetrics(TEST_ENV),
  };
};

afterEach(() => {
  vi.restoreAllMocks();
});

describe('reporter metrics', () => {
  it('publishes an OOM crash as RunsCrashed 1 with Cause=out-of-memory, once per event', async () => {
    // Prepare
    const event = rawEvent('synthetic/stopped-oom-exit137.json');
    const deps = reporterDeps({ type: 'RUNNING', name: 'Running' });
    const handler = createReporterHandler(deps);
    // Act
    const first = await captureEmf(() => handler(event));
    const redelivered = await captureEmf(() => handler(event));
    // Assess
    expect(first.documents).toHaveLength(1);
    expect(first.documents[0]?._aws.CloudWatchMetrics).toEqual([
      {
        Namespace: METRICS_NAMESPACE,
        Dimensions: [['service', CRASH_CAUSE_DIMENSION]],
        Metrics: [{ Name: 'RunsCrashed', Unit: 'Count' }],
      },
    ]);
    expect(first.documents[0]).toMatchObject({
      service: TEST_SERVICE,
      [CRASH_CAUSE_DIMENSION]: CrashCause.OutOfMemory,
      RunsCrashed: 1,
    });
    expect(redelivered.documents).toEqual([]);
    expect(deps.lines.length).toBeGreaterThan(0);
    expect(deps.lines.filter((line) => line.flow_run_id !== FLOW_RUN_ID)).toEqual([]);
  });

  it('publishes what was counted even when the invocation then fails', async () => {
    // Prepare: ECS throttles the deregistration check after the CANCELLED was accepted, so the
    // invocation fails (and EventBridge retries the event)
    const throttled = new EcsApiError(
      'ECS describeTasks failed: ThrottlingException: Rate exceeded',
      { operation: 'describeTasks', code: 'ThrottlingException' },
      true
    );
    const handler = createReporterHandler(
      reporterDeps({ type: 'CANCELLING', name: 'Cancelling' }, async () => {
        throw throttled;
      })
    );
    const event = rawEvent('synthetic/stopped-user-initiated.json');
    // Act
    const failed = await captureEmf(() => handler(event).catch((error: unknown) => error));
    const retried = await captureEmf(() => handler(event).catch((error: unknown) => error));
    // Assess
    expect(failed.result).toBe(throttled);
    expect(failed.documents.map(metricNames)).toEqual([['RunsCancelled']]);
    expect(retried.result).toBe(throttled);
    expect(retried.documents).toEqual([]);
  });

  it('publishes RunsCancelled when the task of a CANCELLING run stops', async () => {
    // Prepare
    const handler = createReporterHandler(reporterDeps({ type: 'CANCELLING', name: 'Cancelling' }));
    // Act
    const { documents } = await captureEmf(() =>
      handler(rawEvent('synthetic/stopped-user-initiated.json'))
    );
    // Assess
    expect(documents.map(metricNames)).toEqual([['RunsCancelled']]);
    expect(documents[0]).toMatchObject({
      service: TEST_SERVICE,
      RunsCancelled: 1,
      _aws: { CloudWatchMetrics: [{ Namespace: METRICS_NAMESPACE, Dimensions: [['service']] }] },
    });
  });

  it('publishes nothing for an event that changes nothing', async () => {
    // Prepare: the run already ended
    const handler = createReporterHandler(reporterDeps({ type: 'COMPLETED', name: 'Completed' }));
    // Act
    const { documents } = await captureEmf(() =>
      handler(rawEvent('synthetic/stopped-oom-exit137.json'))
    );
    // Assess
    expect(documents).toEqual([]);
  });
});
