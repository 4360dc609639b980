/**
 * The four events Prefect's worker emits, built as it builds them (PrefectHQ/prefect ce79dd3d,
 * src/prefect/workers/base.py: `_event_resource`, `_event_related_resources`,
 * `_emit_worker_started_event`, `_emit_worker_stopped_event`, `_emit_flow_run_submitted_event`,
 * `_emit_flow_run_executed_event`, and `BaseJobConfiguration._related_resources`;
 * src/prefect/events/related.py: `object_as_related_resource`, `tags_as_related_resources`;
 * `DeploymentResponse.as_related_resource` in src/prefect/client/schemas/responses.py). The shapes
 * are pinned by test/fixtures/prefect/worker-events.json.
 *
 * - resource: the worker, `prefect.worker.ecs.<name slug>` with its name, Prefect version and type;
 * - related of a flow run's events: deployment, flow, flow-run (in that order, each present one
 *   with its id and name), one `tag` per tag of the three (sorted, once each), then the work pool;
 * - `executed-flow-run` adds `prefect.infrastructure.identifier` (our `infrastructure_pid`) and
 *   `prefect.infrastructure.status-code` to its flow-run resource, and follows the submitted event;
 * - the payload is always empty, as the worker passes none.
 *
 * Pure: ids and times come in. Ids are name-based (`uuidV5`) so an event sent again by a redelivered
 * launch or a retried report is the same event to the server, never a second one.
 */
import type { EventResource, PrefectEvent, RelatedResource } from './prefect-event.ts';
import { uuidV5 } from './uuid-v5.ts';
import { workerNameSlug } from './worker-name-slug.ts';

/** The namespace of every event id this project derives (a constant random UUID). */
export const WORKER_EVENT_NAMESPACE = '41013544-60ed-461e-816a-21b5067d992e';

/** Event names, as Prefect's worker spells them. */
export const WorkerEventName = {
  Started: 'prefect.worker.started',
  Stopped: 'prefect.worker.stopped',
  SubmittedFlowRun: 'prefect.worker.submitted-flow-run',
  ExecutedFlowRun: 'prefect.worker.executed-flow-run',
} as const;
export type WorkerEventName = (typeof WorkerEventName)[keyof typeof WorkerEventName];

/**
 * Prefect's `emit_event` sets `follows` only when the earlier event occurred less than this before
 * (or after) the new one (`TIGHT_TIMING`, src/prefect/events/utilities.py).
 */
export const FOLLOWS_WINDOW_MS = 5 * 60_000;

/** The worker that emits: our stable worker name, and the Prefect release whose worker we follow. */
export interface WorkerIdentity {
  name: string;
  /** `prefect.version`: Prefect's worker writes `prefect.__version__`. */
  prefectVersion: string;
}

/** The objects a flow run's events relate to, as far as they are known. */
export interface FlowRunEventObjects {
  flowRun: { id: string; name: string; tags?: readonly string[] | undefined };
  /** The flow; `name` may be unknown (the reporter reads it from the task's environment). */
  flow: { id: string; name?: string | undefined; tags?: readonly string[] | undefined } | null;
  /** The deployment, `null` for a run without one. Its branch/version fields are passed through. */
  deployment: DeploymentView | null;
  workPool: { id: string; name: string } | null;
}

/** The deployment fields `DeploymentResponse.as_related_resource` reads. */
export interface DeploymentView {
  id: string;
  name?: string | undefined;
  tags?: readonly string[] | undefined;
  branch?: unknown;
  base?: unknown;
  root?: unknown;
  version_id?: unknown;
  version_info?: unknown;
}

/** `_event_resource`: the worker as the event's resource. */
export const workerResource = (worker: WorkerIdentity): EventResource => ({
  'prefect.resource.id': `prefect.worker.ecs.${workerNameSlug(worker.name)}`,
  'prefect.resource.name': worker.name,
  'prefect.version': worker.prefectVersion,
  'prefect.worker-type': 'ecs',
});

/** `object_as_related_resource`: id `prefect.<kind>.<id>`, the role, and the name when known. */
const objectResource = (
  kind: string,
  object: { id: string; name?: string | undefined }
): Record<string, string> => ({
  'prefect.resource.id': `prefect.${kind}.${object.id}`,
  'prefect.resource.role': kind,
  ...(object.name === undefined ? {} : { 'prefect.resource.name': object.name }),
});

const nonEmpty = (value: unknown): value is string | number =>
  (typeof value === 'string' && value !== '') || typeof value === 'number';

/** `DeploymentResponse.as_related_resource`: the branch and version labels when the server has them. */
const deploymentResource = (deployment: DeploymentView): RelatedResource => {
  const labels = objectResource('deployment', deployment);
  if (nonEmpty(deployment.branch)) labels['prefect.deployment.branch'] = String(deployment.branch);
  if (nonEmpty(deployment.base)) {
    labels['prefect.deployment.base'] = `prefect.deployment.${deployment.base}`;
  }
  if (nonEmpty(deployment.root)) {
    labels['prefect.deployment.root'] = `prefect.deployment.${deployment.root}`;
  }
  const info = deployment.version_info as { type?: unknown; version?: unknown } | null | undefined;
  if (nonEmpty(deployment.version_id) && info && typeof info === 'object') {
    labels['prefect.deployment.version-id'] = String(deployment.version_id);
    labels['prefect.deployment.version-type'] = String(info.type);
    labels['prefect.deployment.version'] = String(info.version);
  }
  return labels;
};

/** `tags_as_related_resources`: one `tag` resource per distinct tag, sorted. */
const tagResources = (tags: Iterable<string>): RelatedResource[] =>
  [...new Set(tags)].sort().map((tag) => ({
    'prefect.resource.id': `prefect.tag.${tag}`,
    'prefect.resource.role': 'tag',
  }));

const workPoolResources = (workPool: FlowRunEventObjects['workPool']): RelatedResource[] =>
  workPool ? [objectResource('work-pool', workPool)] : [];

/**
 * `_event_related_resources(configuration)`: the configuration's related objects (deployment, flow,
 * flow-run), the tags of all three, then the work pool.
 */
export const flowRunRelatedResources = (objects: FlowRunEventObjects): RelatedResource[] => {
  const { deployment, flow, flowRun } = objects;
  return [
    ...(deployment ? [deploymentResource(deployment)] : []),
    ...(flow ? [objectResource('flow', flow)] : []),
    objectResource('flow-run', flowRun),
    ...tagResources([...(deployment?.tags ?? []), ...(flow?.tags ?? []), ...(flowRun.tags ?? [])]),
    ...workPoolResources(objects.workPool),
  ];
};

/** The id of a flow run attempt's event: the same for every send of it. */
export const flowRunEventId = (
  event: typeof WorkerEventName.SubmittedFlowRun | typeof WorkerEventName.ExecutedFlowRun,
  flowRunId: string,
  attempt: string
): string => uuidV5(`${event}/${flowRunId}/${attempt}`, WORKER_EVENT_NAMESPACE);

/** What a submitted-flow-run event is made of. */
export interface SubmittedFlowRunInput {
  worker: WorkerIdentity;
  objects: FlowRunEventObjects;
  /** The attempt: its claim's `transition_id`. */
  attempt: string;
  /** When the task was started. */
  occurred: Date;
}

/**
 * `prefect.worker.submitted-flow-run`, emitted once per attempt after RunTask (Prefect's worker
 * emits it just before starting the infrastructure; ours waits for the task to exist).
 */
export const buildSubmittedFlowRunEvent = (input: SubmittedFlowRunInput): PrefectEvent => ({
  occurred: input.occurred.toISOString(),
  event: WorkerEventName.SubmittedFlowRun,
  resource: workerResource(input.worker),
  related: flowRunRelatedResources(input.objects),
  payload: {},
  id: flowRunEventId(WorkerEventName.SubmittedFlowRun, input.objects.flowRun.id, input.attempt),
  follows: null,
});

/** What an executed-flow-run event is made of. */
export interface ExecutedFlowRunInput extends SubmittedFlowRunInput {
  /** `prefect.infrastructure.identifier`: the task as `<cluster>::<task ARN>`. */
  infrastructurePid: string;
  /** `prefect.infrastructure.status-code`: the flow container's exit code, -1 when it has none. */
  statusCode: number;
  /** When the attempt's submitted event occurred (about the task's `createdAt`), if known. */
  submittedAt?: Date | undefined;
}

/**
 * `prefect.worker.executed-flow-run`, emitted when the attempt's task stopped, with the infrastructure
 * identifier and status code on the flow-run resource, following the attempt's submitted event when
 * that was less than 5 minutes before (as `emit_event` does).
 */
export const buildExecutedFlowRunEvent = (input: ExecutedFlowRunInput): PrefectEvent => {
  const related = flowRunRelatedResources(input.objects).map((resource) =>
    resource['prefect.resource.role'] === 'flow-run'
      ? {
          ...resource,
          'prefect.infrastructure.identifier': input.infrastructurePid,
          'prefect.infrastructure.status-code': String(input.statusCode),
        }
      : resource
  );
  const flowRunId = input.objects.flowRun.id;
  const close =
    input.submittedAt !== undefined &&
    Math.abs(input.occurred.getTime() - input.submittedAt.getTime()) < FOLLOWS_WINDOW_MS;
  return {
    occurred: input.occurred.toISOString(),
    event: WorkerEventName.ExecutedFlowRun,
    resource: workerResource(input.worker),
    related,
    payload: {},
    id: flowRunEventId(WorkerEventName.ExecutedFlowRun, flowRunId, input.attempt),
    follows: close
      ? flowRunEventId(WorkerEventName.SubmittedFlowRun, flowRunId, input.attempt)
      : null,
  };
};

/** What a worker's started or stopped event is made of. */
export interface WorkerLifecycleInput {
  worker: WorkerIdentity;
  /** The pool the worker serves (Prefect's worker relates its own pool once it has read it). */
  workPool: { id: string; name: string } | null;
  /** Identifies the worker process: the same value gives the same event id. */
  instance: string;
  occurred: Date;
}

/** `prefect.worker.started`: related only to the work pool; empty payload. */
export const buildWorkerStartedEvent = (input: WorkerLifecycleInput): PrefectEvent => ({
  occurred: input.occurred.toISOString(),
  event: WorkerEventName.Started,
  resource: workerResource(input.worker),
  related: workPoolResources(input.workPool),
  payload: {},
  id: uuidV5(
    `${WorkerEventName.Started}/${input.worker.name}/${input.workPool?.id ?? ''}/${input.instance}`,
    WORKER_EVENT_NAMESPACE
  ),
  follows: null,
});

/**
 * `prefect.worker.stopped`, following its started event when that was less than 5 minutes before.
 * Not emitted by this project (a Lambda has no shutdown to report, docs/deploy.md §5): kept so the
 * fixture pins all four shapes.
 */
export const buildWorkerStoppedEvent = (
  input: WorkerLifecycleInput & { started: PrefectEvent }
): PrefectEvent => {
  const close =
    Math.abs(input.occurred.getTime() - Date.parse(input.started.occurred)) < FOLLOWS_WINDOW_MS;
  return {
    occurred: input.occurred.toISOString(),
    event: WorkerEventName.Stopped,
    resource: workerResource(input.worker),
    related: workPoolResources(input.workPool),
    payload: {},
    id: uuidV5(`${WorkerEventName.Stopped}/${input.started.id}`, WORKER_EVENT_NAMESPACE),
    follows: close ? input.started.id : null,
  };
};
