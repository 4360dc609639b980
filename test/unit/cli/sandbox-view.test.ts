/**
 * The sandbox's view of attempts: a run's history cut into attempts, and a run that ended in the
 * right state but after another number of attempts (or with another number of tasks than claims)
 * counted as not ended as expected.
 */
import { describe, expect, it } from 'vitest';
import {
  attemptsCell,
  attemptsInHistory,
  endedAsExpected,
  type RunRow,
  renderSummary,
} from '../../../cli/sandbox-view.ts';
import type { State } from '../../../shared/prefect/schemas.ts';

const state = (type: State['type'], name: string | null): Pick<State, 'type' | 'name'> => ({
  type,
  name,
});

const row = (overrides: Partial<RunRow> = {}): RunRow => ({
  name: 'spot',
  does: 'is interrupted on Fargate Spot',
  expected: 'COMPLETED',
  expectedAttempts: 2,
  scheduledTime: new Date('2026-01-01T00:00:00Z'),
  launchedAt: new Date('2026-01-01T00:00:00.400Z'),
  state: { type: 'COMPLETED', name: 'Completed', message: null },
  tasks: 2,
  ...overrides,
});

describe('attemptsInHistory', () => {
  it('starts an attempt at each claim and leaves out what came before the first', () => {
    // Prepare
    const history = [
      state('SCHEDULED', 'Scheduled'),
      state('PENDING', 'Pending'),
      state('PENDING', 'InfrastructurePending'),
      state('RUNNING', 'Running'),
      state('SCHEDULED', 'AwaitingRetry'),
      state('PENDING', null),
      state('RUNNING', null),
      state('COMPLETED', 'Completed'),
    ];
    // Act
    const attempts = attemptsInHistory(history);
    // Assess: a PENDING without a name is a claim too; a state without a name shows its type
    expect(attempts).toEqual([
      ['Pending', 'InfrastructurePending', 'Running', 'AwaitingRetry'],
      ['PENDING', 'RUNNING', 'Completed'],
    ]);
  });

  it('is empty for a run never claimed', () => {
    expect(attemptsInHistory([state('SCHEDULED', 'Scheduled')])).toEqual([]);
  });
});

describe('a run’s expected attempts', () => {
  it('ended as expected only after the expected number of attempts', () => {
    expect(endedAsExpected(row())).toBe(true);
    expect(endedAsExpected(row({ tasks: 1 }))).toBe(false);
    expect(endedAsExpected(row({ tasks: 3 }))).toBe(false);
  });

  it('not as expected when Prefect shows another number of claims than ECS tasks', () => {
    // Prepare: two tasks for one claim (a duplicate launch)
    const duplicate = row({ expectedAttempts: 1, tasks: 2, attempts: [['Pending', 'Completed']] });
    // Act
    const summary = renderSummary([duplicate], 1_000);
    // Assess
    expect(attemptsCell(duplicate)).toBe('1 claim, 2 tasks');
    expect(endedAsExpected(duplicate)).toBe(false);
    expect(summary.ok).toBe(false);
    expect(summary.lines[1]).toContain('✗ spot  COMPLETED  1 claim, 2 tasks');
    expect(summary.lines[1]).toContain('(expected COMPLETED after 1 attempt)');
  });

  it('shows each attempt’s states under a run that took more than one', () => {
    // Prepare
    const retried = row({
      attempts: [
        ['Pending', 'Running', 'Crashed', 'AwaitingRetry'],
        ['Pending', 'Running', 'Completed'],
      ],
    });
    // Act
    const { lines, ok } = renderSummary([retried], 1_000);
    // Assess
    expect(ok).toBe(true);
    expect(lines).toEqual([
      'Summary: all 1 runs ended as expected, in 1.0 s.',
      '  ✓ spot  COMPLETED  2 attempts  launched +0.4 s vs scheduled',
      '      Completed',
      '      attempt 1: Pending → Running → Crashed → AwaitingRetry',
      '      attempt 2: Pending → Running → Completed',
    ]);
  });
});
