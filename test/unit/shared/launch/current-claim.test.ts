import { describe, expect, it } from 'vitest';
import {
  claimOfCurrentState,
  engineStartedInCurrentAttempt,
  latestClaim,
} from '../../../../shared/launch/current-claim.ts';
import { type State, StateSchema } from '../../../../shared/prefect/schemas.ts';

let sequence = 0;
const state = (type: string, name: string, at: string, transitionId: string | null = null): State =>
  StateSchema.parse({
    id: `00000000-0000-4000-8000-${String(++sequence).padStart(12, '0')}`,
    type,
    name,
    timestamp: at,
    state_details: { transition_id: transitionId },
  });

/** A run launched, crashed, retried from the UI and claimed again. */
const retried = [
  state('SCHEDULED', 'Scheduled', '2026-01-15T10:00:00Z'),
  state('PENDING', 'Pending', '2026-01-15T10:00:01Z', 'claim-1'),
  state('PENDING', 'InfrastructurePending', '2026-01-15T10:00:05Z', 'event'),
  state('RUNNING', 'Running', '2026-01-15T10:00:40Z'),
  state('CRASHED', 'Crashed', '2026-01-15T10:02:00Z'),
  state('SCHEDULED', 'AwaitingRetry', '2026-01-15T10:05:00Z'),
  state('PENDING', 'Pending', '2026-01-15T10:05:10Z', 'claim-2'),
];

describe('current claim', () => {
  it('finds the latest claim in the history, not a sub-state', () => {
    // Prepare / Act
    const claim = latestClaim(retried);
    // Assess
    expect(claim).toEqual({ transitionId: 'claim-2', claimedAt: new Date('2026-01-15T10:05:10Z') });
    expect(latestClaim(retried.slice(0, 4))?.transitionId).toBe('claim-1');
    expect(latestClaim([])).toBeUndefined();
  });

  it('reads the claim from the current state only when it is one', () => {
    // Prepare / Act / Assess
    expect(claimOfCurrentState({ state: retried[6] ?? null })?.transitionId).toBe('claim-2');
    expect(claimOfCurrentState({ state: retried[2] ?? null })).toBeUndefined();
    expect(claimOfCurrentState({ state: null })).toBeUndefined();
  });

  it('says whether the engine started in the current attempt, whatever start_time says', () => {
    // Prepare
    const runningAgain = [...retried, state('RUNNING', 'Running', '2026-01-15T10:06:00Z')];
    // Act / Assess
    expect(engineStartedInCurrentAttempt(retried)).toBe(false);
    expect(engineStartedInCurrentAttempt(runningAgain)).toBe(true);
    expect(engineStartedInCurrentAttempt(retried.slice(0, 4))).toBe(true);
  });
});
