/**
 * The worker events against the fixture derived from Prefect's worker source
 * (test/fixtures/prefect/worker-events.json): names, the resource, the related resources with their
 * roles and labels in Prefect's order, the payload, `follows`, and ids that stay the same when an
 * event is built again.
 */
import { describe, expect, it } from 'vitest';
import type { PrefectEvent } from '../../../../shared/events/prefect-event.ts';
import {
  buildExecutedFlowRunEvent,
  buildSubmittedFlowRunEvent,
  buildWorkerStartedEvent,
  buildWorkerStoppedEvent,
  type FlowRunEventObjects,
  FOLLOWS_WINDOW_MS,
  WorkerEventName,
} from '../../../../shared/events/worker-events.ts';
import fixture from '../../../fixtures/prefect/worker-events.json' with { type: 'json' };

const { input } = fixture.example;
const worker = { name: input.worker_name, prefectVersion: input.prefect_version };
const objects: FlowRunEventObjects = {
  flowRun: input.flow_run,
  flow: input.flow,
  deployment: input.deployment,
  workPool: input.work_pool,
};
const occurred = new Date('2026-08-21T12:00:00.000Z');
const attempt = '7c9e6679-7425-40de-944b-e07fc1f90ae7';

type Spec = (typeof fixture.events)[keyof typeof fixture.events];

/** The event's related roles, with consecutive tags folded into `tag*` as the fixture lists them. */
const rolesOf = (event: PrefectEvent): string[] =>
  event.related
    .map((resource) => resource['prefect.resource.role'] ?? '(none)')
    .map((role) => (role === 'tag' ? 'tag*' : role))
    .filter((role, index, roles) => role !== 'tag*' || roles[index - 1] !== 'tag*');

/** Checks an event against its fixture entry: name, resource labels, roles, labels, payload. */
const expectShape = (event: PrefectEvent, name: keyof typeof fixture.events) => {
  const spec: Spec = fixture.events[name];
  expect(event.event).toBe(name);
  expect(Object.keys(event.resource).sort()).toEqual([...fixture.resource.labels].sort());
  expect(rolesOf(event)).toEqual(spec.related_roles);
  for (const resource of event.related) {
    const role = resource['prefect.resource.role'] as keyof typeof fixture.related_resource_labels;
    const extra =
      'flow_run_extra_labels' in spec && role === 'flow-run' ? spec.flow_run_extra_labels : [];
    expect(Object.keys(resource).sort()).toEqual(
      [...(fixture.related_resource_labels[role] as string[]), ...extra].sort()
    );
  }
  expect(Object.keys(event.payload)).toEqual(spec.payload_keys);
  expect(event.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
};

describe('worker events: the shapes of Prefect’s worker (fixture)', () => {
  it('builds prefect.worker.submitted-flow-run as the worker does', () => {
    // Act
    const event = buildSubmittedFlowRunEvent({ worker, objects, attempt, occurred });
    // Assess
    expectShape(event, WorkerEventName.SubmittedFlowRun);
    expect(event.resource).toEqual(fixture.example.resource);
    expect(event.related).toEqual(fixture.example.submitted_related);
    expect(event.occurred).toBe('2026-08-21T12:00:00.000Z');
    expect(event.follows).toBeNull();
  });

  it('builds prefect.worker.executed-flow-run with the infrastructure on the flow-run resource, following the submitted event', () => {
    // Prepare
    const submitted = buildSubmittedFlowRunEvent({ worker, objects, attempt, occurred });
    // Act
    const event = buildExecutedFlowRunEvent({
      worker,
      objects,
      attempt,
      occurred: new Date(occurred.getTime() + 60_000),
      submittedAt: occurred,
      infrastructurePid: input.infrastructure_pid,
      statusCode: input.status_code,
    });
    // Assess
    expectShape(event, WorkerEventName.ExecutedFlowRun);
    expect(event.resource).toEqual(fixture.example.resource);
    expect(event.related).toEqual(
      fixture.example.submitted_related.map((resource) =>
        resource['prefect.resource.role'] === 'flow-run'
          ? fixture.example.executed_flow_run_resource
          : resource
      )
    );
    expect(event.follows).toBe(submitted.id);
    expect(event.id).not.toBe(submitted.id);
  });

  it('sets follows only within 5 minutes of the submitted event, as emit_event does', () => {
    // Prepare
    const base = { worker, objects, attempt, infrastructurePid: 'c::t', statusCode: 1 };
    // Act
    const late = buildExecutedFlowRunEvent({
      ...base,
      occurred: new Date(occurred.getTime() + FOLLOWS_WINDOW_MS),
      submittedAt: occurred,
    });
    const unknown = buildExecutedFlowRunEvent({ ...base, occurred });
    // Assess
    expect(late.follows).toBeNull();
    expect(unknown.follows).toBeNull();
    expect(
      late.related.find((r) => r['prefect.resource.role'] === 'flow-run')?.[
        'prefect.infrastructure.status-code'
      ]
    ).toBe('1');
  });

  it('builds prefect.worker.started and stopped related to the work pool only', () => {
    // Act
    const started = buildWorkerStartedEvent({
      worker,
      workPool: input.work_pool,
      instance: 'container-1',
      occurred,
    });
    const stopped = buildWorkerStoppedEvent({
      worker,
      workPool: input.work_pool,
      instance: 'container-1',
      occurred: new Date(occurred.getTime() + 1000),
      started,
    });
    // Assess
    expectShape(started, WorkerEventName.Started);
    expectShape(stopped, WorkerEventName.Stopped);
    expect(started.related).toEqual(fixture.example.started_related);
    expect(stopped.related).toEqual(fixture.example.started_related);
    expect(started.follows).toBeNull();
    expect(stopped.follows).toBe(started.id);
  });

  it('leaves out the deployment of a run without one, and unknown names', () => {
    // Act
    const event = buildSubmittedFlowRunEvent({
      worker,
      objects: {
        flowRun: { id: input.flow_run.id, name: 'r', tags: [] },
        flow: { id: input.flow.id },
        deployment: null,
        workPool: null,
      },
      attempt,
      occurred,
    });
    // Assess
    expect(event.related).toEqual([
      { 'prefect.resource.id': `prefect.flow.${input.flow.id}`, 'prefect.resource.role': 'flow' },
      {
        'prefect.resource.id': `prefect.flow-run.${input.flow_run.id}`,
        'prefect.resource.role': 'flow-run',
        'prefect.resource.name': 'r',
      },
    ]);
  });

  it('adds the deployment’s branch and version labels when the server has them', () => {
    // Act
    const event = buildSubmittedFlowRunEvent({
      worker,
      objects: {
        ...objects,
        deployment: {
          ...input.deployment,
          branch: 'main',
          version_id: 'v-1',
          version_info: { type: 'vcs:git', version: 'abc123' },
        },
      },
      attempt,
      occurred,
    });
    // Assess
    expect(event.related[0]).toEqual({
      ...fixture.example.submitted_related[0],
      'prefect.deployment.branch': 'main',
      'prefect.deployment.version-id': 'v-1',
      'prefect.deployment.version-type': 'vcs:git',
      'prefect.deployment.version': 'abc123',
    });
  });
});

describe('worker events: ids', () => {
  it('gives an attempt’s event the same id every time it is built, and another attempt another id', () => {
    // Act
    const first = buildSubmittedFlowRunEvent({ worker, objects, attempt, occurred });
    const again = buildSubmittedFlowRunEvent({
      worker,
      objects,
      attempt,
      occurred: new Date(occurred.getTime() + 5000),
    });
    const next = buildSubmittedFlowRunEvent({
      worker,
      objects,
      attempt: 'a1e0c0de-0000-4000-8000-000000000000',
      occurred,
    });
    // Assess
    expect(again.id).toBe(first.id);
    expect(next.id).not.toBe(first.id);
  });
});
