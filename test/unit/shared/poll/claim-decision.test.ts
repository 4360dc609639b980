import { describe, expect, it } from 'vitest';
import { interpretClaim } from '../../../../shared/poll/claim-decision.ts';
import { iso, setStateResult } from './fixtures.ts';

const OURS = '3b1f9c0a-0000-8000-8000-000000000001';

describe('interpretClaim', () => {
  it.each([
    {
      name: 'ACCEPT with PENDING → ours',
      result: setStateResult('ACCEPT', { type: 'PENDING', name: 'Pending', transition_id: OURS }),
      claimed: true,
    },
    {
      name: 'REJECT with our own PENDING (a retried request) → ours',
      result: setStateResult(
        'REJECT',
        { type: 'PENDING', name: 'Pending', transition_id: OURS },
        {
          type: 'reject_details',
          reason: 'This run has already made this state transition.',
        }
      ),
      claimed: true,
    },
    {
      name: "REJECT with another claim's PENDING → not ours",
      result: setStateResult('REJECT', {
        type: 'PENDING',
        transition_id: '11111111-1111-4111-8111-111111111111',
      }),
      claimed: false,
    },
    {
      name: 'ABORT (another worker won) → not ours',
      result: setStateResult(
        'ABORT',
        { type: 'PENDING', transition_id: OURS },
        {
          type: 'abort_details',
          reason: 'This run is in a PENDING state and cannot transition to a PENDING state.',
        }
      ),
      claimed: false,
    },
    {
      name: 'REJECT to AwaitingConcurrencySlot → not ours',
      result: setStateResult(
        'REJECT',
        { type: 'SCHEDULED', name: 'AwaitingConcurrencySlot' },
        {
          type: 'reject_details',
          reason: 'Deployment concurrency limit reached.',
        }
      ),
      claimed: false,
    },
    {
      name: 'WAIT → not ours',
      result: setStateResult(
        'WAIT',
        { type: 'SCHEDULED' },
        {
          type: 'wait_details',
          delay_seconds: 5,
          reason: null,
        }
      ),
      claimed: false,
    },
    { name: 'no state → not ours', result: setStateResult('ABORT', null), claimed: false },
  ])('$name', ({ result, claimed }) => {
    expect(interpretClaim(result, OURS).claimed).toBe(claimed);
  });

  it('keeps the scheduled time the server copied into the PENDING state, and when it claimed', () => {
    const result = setStateResult('ACCEPT', { type: 'PENDING', transition_id: OURS });
    const verdict = interpretClaim(result, OURS);
    expect(verdict).toEqual({
      claimed: true,
      scheduledTime: iso(30),
      claimedAt: result.state?.timestamp,
    });
    expect(verdict.claimed && verdict.claimedAt).toMatch(/^2026-/);
  });

  it('says why a run was not claimed', () => {
    const verdict = interpretClaim(
      setStateResult(
        'REJECT',
        { type: 'SCHEDULED', name: 'AwaitingConcurrencySlot' },
        {
          type: 'reject_details',
          reason: 'Deployment concurrency limit reached.',
        }
      ),
      OURS
    );
    expect(verdict).toEqual({
      claimed: false,
      reason: 'REJECT → SCHEDULED (AwaitingConcurrencySlot): Deployment concurrency limit reached.',
    });
  });
});
