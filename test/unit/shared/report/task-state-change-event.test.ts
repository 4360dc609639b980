import { describe, expect, it } from 'vitest';
import {
  flowContainers,
  flowRunIdFromEvent,
} from '../../../../shared/report/flow-run-id-from-event.ts';
import {
  parseTaskStateChange,
  taskIdOf,
} from '../../../../shared/report/task-state-change-event.ts';
import { eventFiles, FLOW_RUN_ID, rawEvent, syntheticEvent, withDetail } from './fixtures.ts';

describe('parseTaskStateChange', () => {
  it.each(eventFiles('synthetic'))('parses synthetic/%s', (file) => {
    // Act
    const parsed = parseTaskStateChange(rawEvent(`synthetic/${file}`));
    // Assess
    expect(parsed.ok).toBe(true);
  });

  it.each([
    'task-running-fargate.awsdocs.json',
    'task-running-ec2-container-stopped-exit0.awsdocs-2019.json',
  ])('parses the complete official event %s', (file) => {
    // Act
    const parsed = parseTaskStateChange(rawEvent(`official/${file}`));
    // Assess
    expect(parsed.ok).toBe(true);
  });

  it.each([
    [
      'fragment-fargate-spot-interruption.awsdocs-current.json',
      '9bcdac79-b31f-4d3d-9410-fbd727c29fab',
    ],
    [
      'fragment-fargate-spot-termination-notice.awsdocs-2023.json',
      '9bcdac79-b31f-4d3d-9410-fbd727c29fab',
    ],
    ['pattern-cluster-filter.awsdocs.json', undefined],
    ['pattern-task-stopped-essential-exited.awsdocs-2021.json', undefined],
  ])('refuses official/%s (a fragment or a pattern), keeping its id', (file, id) => {
    // Act
    const parsed = parseTaskStateChange(rawEvent(`official/${file}`));
    // Assess
    expect(parsed.ok).toBe(false);
    if (parsed.ok) return;
    expect(parsed.eventId).toBe(id);
    expect(parsed.issues.length).toBeGreaterThan(0);
  });

  it('keeps timestamps as the ISO strings events carry and tolerates unknown fields', () => {
    // Prepare
    const raw = rawEvent('synthetic/stopped-oom-exit137.json');
    // Act
    const parsed = parseTaskStateChange(raw);
    // Assess
    expect(parsed.ok && parsed.event.detail.stoppedAt).toBe('2026-01-15T10:05:12.000Z');
    expect(parsed.ok && 'capacityProviderName' in parsed.event.detail).toBe(false);
  });

  it('names the missing fields, never the values', () => {
    // Prepare
    const raw = rawEvent('synthetic/stopped-oom-exit137.json') as {
      detail: Record<string, unknown>;
    };
    delete raw.detail.taskArn;
    raw.detail.version = 'secret-value';
    // Act
    const parsed = parseTaskStateChange(raw);
    // Assess
    expect(parsed.ok).toBe(false);
    if (parsed.ok) return;
    expect(parsed.eventId).toBe('00000000-0000-4000-8000-000000000006');
    expect(parsed.issues.join('\n')).toMatch(/detail\.taskArn/);
    expect(parsed.issues.join('\n')).not.toContain('secret-value');
  });

  it.each([null, 'text', 42, [], { id: 7 }])('refuses %j without throwing', (raw) => {
    // Act
    const parsed = parseTaskStateChange(raw);
    // Assess
    expect(parsed).toMatchObject({ ok: false, eventId: undefined });
  });

  it('reads null exit codes as missing', () => {
    // Prepare
    const raw = rawEvent('synthetic/stopped-oom-exit137.json') as {
      detail: { containers: Record<string, unknown>[] };
    };
    for (const container of raw.detail.containers) container.exitCode = null;
    // Act
    const parsed = parseTaskStateChange(raw);
    // Assess
    expect(parsed.ok && parsed.event.detail.containers[0]?.exitCode).toBeUndefined();
  });
});

describe('flowRunIdFromEvent', () => {
  const event = syntheticEvent('lifecycle-1-provisioning');

  it.each([
    [`prefect/${FLOW_RUN_ID}`, FLOW_RUN_ID],
    [`prefect:${FLOW_RUN_ID}`, FLOW_RUN_ID],
    [`prefect/${FLOW_RUN_ID.toUpperCase()}`, FLOW_RUN_ID],
  ])('reads startedBy %s', (startedBy, expected) => {
    // Act / Assess
    expect(flowRunIdFromEvent(withDetail(event, { startedBy }))).toBe(expected);
  });

  it('falls back to PREFECT__FLOW_RUN_ID in the container overrides', () => {
    // Act / Assess
    expect(flowRunIdFromEvent(withDetail(event, { startedBy: undefined }))).toBe(FLOW_RUN_ID);
  });

  it.each([
    ['another starter, no override', 'ecs-svc/9223370556150183303', []],
    ['no startedBy, an override without the variable', undefined, [{ name: 'app' }]],
    [
      'no startedBy, a variable that is not a UUID',
      undefined,
      [{ name: 'app', environment: [{ name: 'PREFECT__FLOW_RUN_ID', value: 'nope' }] }],
    ],
    ['a prefect/ startedBy that is not a UUID', 'prefect/not-a-uuid', []],
  ])('is undefined for a task that is not ours: %s', (_name, startedBy, containerOverrides) => {
    // Act / Assess
    expect(
      flowRunIdFromEvent(withDetail(event, { startedBy, overrides: { containerOverrides } }))
    ).toBeUndefined();
  });

  it('ignores the official samples (started by a service or by no one)', () => {
    // Prepare
    const samples = [
      'task-running-fargate.awsdocs.json',
      'task-running-ec2-container-stopped-exit0.awsdocs-2019.json',
    ].map((file) => parseTaskStateChange(rawEvent(`official/${file}`)));
    // Act / Assess
    for (const parsed of samples) {
      expect(parsed.ok && flowRunIdFromEvent(parsed.event)).toBeUndefined();
    }
  });
});

describe('flowContainers', () => {
  const base = syntheticEvent('stopped-oom-exit137');
  const [prefect] = base.detail.containers;
  if (!prefect) throw new Error('fixture without containers');
  const app = { ...prefect, name: 'app' };
  const sidecar = { ...prefect, name: 'sidecar' };

  it('is the container the overrides give PREFECT__FLOW_RUN_ID', () => {
    // Prepare
    const event = withDetail(base, {
      containers: [sidecar, app],
      overrides: {
        containerOverrides: [
          { name: 'app', environment: [{ name: 'PREFECT__FLOW_RUN_ID', value: FLOW_RUN_ID }] },
        ],
      },
    });
    // Act / Assess
    expect(flowContainers(event.detail).map((c) => c.name)).toEqual(['app']);
  });

  it("is the container named 'prefect' otherwise", () => {
    // Prepare
    const event = withDetail(base, {
      containers: [sidecar, prefect],
      overrides: { containerOverrides: [] },
    });
    // Act / Assess
    expect(flowContainers(event.detail).map((c) => c.name)).toEqual(['prefect']);
  });

  it('is every container when it cannot tell', () => {
    // Prepare
    const event = withDetail(base, {
      containers: [sidecar, app],
      overrides: { containerOverrides: [] },
    });
    // Act / Assess
    expect(flowContainers(event.detail).map((c) => c.name)).toEqual(['sidecar', 'app']);
  });
});

describe('taskIdOf', () => {
  it.each([
    ['arn:aws:ecs:eu-west-1:123456789012:task/prefect/0f1e2d3c', '0f1e2d3c'],
    [
      'arn:aws:ecs:us-east-1:111122223333:task/b99d40b3-5176-4f71-9a52-9dbd6f1cebef',
      'b99d40b3-5176-4f71-9a52-9dbd6f1cebef',
    ],
  ])('%s → %s', (arn, id) => {
    // Act / Assess
    expect(taskIdOf(arn)).toBe(id);
  });
});
