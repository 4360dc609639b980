/** The vendored "ECS Task State Change" events (test/fixtures/aws-events/) and small variations. */
import { readdirSync, readFileSync } from 'node:fs';
import type { FlowRun } from '../../../../shared/prefect/schemas.ts';
import type { RunView } from '../../../../shared/report/decide-report.ts';
import {
  type TaskStateChangeEvent,
  TaskStateChangeEventSchema,
} from '../../../../shared/report/task-state-change-event.ts';

const EVENTS = new URL('../../../fixtures/aws-events/', import.meta.url);

/** The raw JSON of `official/<name>` or `synthetic/<name>`. */
export const rawEvent = (path: string): Record<string, unknown> =>
  JSON.parse(readFileSync(new URL(path, EVENTS), 'utf8')) as Record<string, unknown>;

/** File names in `official/` or `synthetic/`. */
export const eventFiles = (folder: 'official' | 'synthetic'): string[] =>
  readdirSync(new URL(`${folder}/`, EVENTS))
    .filter((name) => name.endsWith('.json'))
    .sort();

/** A synthetic event, parsed. */
export const syntheticEvent = (name: string): TaskStateChangeEvent =>
  TaskStateChangeEventSchema.parse(rawEvent(`synthetic/${name}.json`));

/** The flow run id of every synthetic event. */
export const FLOW_RUN_ID = '7a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d';
/** The task of every synthetic event. */
export const TASK_ARN =
  'arn:aws:ecs:eu-west-1:123456789012:task/prefect/0f1e2d3c4b5a69788796a5b4c3d2e1f0';
export const CLUSTER_ARN = 'arn:aws:ecs:eu-west-1:123456789012:cluster/prefect';

type DetailPatch = Partial<TaskStateChangeEvent['detail']>;

/** A copy of `event` with `detail` fields replaced (and, optionally, a new event id). */
export const withDetail = (
  event: TaskStateChangeEvent,
  patch: DetailPatch,
  id = event.id
): TaskStateChangeEvent => ({
  ...structuredClone(event),
  id,
  detail: { ...structuredClone(event.detail), ...patch },
});

/** The synthetic STOPPED event with the essential container replaced by `container` fields. */
export const stoppedWith = (
  container: Partial<TaskStateChangeEvent['detail']['containers'][number]>,
  patch: DetailPatch = {}
): TaskStateChangeEvent => {
  const base = syntheticEvent('stopped-essential-container-exit1');
  const [prefect] = base.detail.containers;
  if (!prefect) throw new Error('fixture without containers');
  const { exitCode: _exitCode, reason: _reason, ...rest } = prefect;
  return withDetail(base, {
    containers: [{ ...rest, ...container }],
    ...patch,
  });
};

/** A flow run as `decideReport` reads it. */
export const runIn = (
  type: NonNullable<FlowRun['state']>['type'],
  options: {
    name?: string;
    infrastructurePid?: string | null;
    retryType?: 'in_process' | 'reschedule' | null;
  } = {}
): RunView => ({
  state: {
    id: '11111111-1111-4111-8111-111111111111',
    type,
    name: options.name ?? type.charAt(0) + type.slice(1).toLowerCase(),
    message: null,
    timestamp: '2026-01-15T10:00:00.000000Z',
    state_details: {
      flow_run_id: FLOW_RUN_ID,
      transition_id: null,
      scheduled_time: null,
      deployment_concurrency_lease_id: null,
      pause_key: null,
    },
  },
  infrastructure_pid: options.infrastructurePid ?? null,
  empirical_policy: { retry_type: options.retryType ?? null },
});
