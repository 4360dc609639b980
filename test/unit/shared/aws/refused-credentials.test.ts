import { describe, expect, it } from 'vitest';
import {
  isSessionRefusal,
  recoverRefusedCredentials,
  refusalCodeOf,
} from '../../../../shared/aws/refused-credentials.ts';
import { EcsApiError } from '../../../../shared/errors/ecs-api-error.ts';

const ecsError = (code: string) =>
  new EcsApiError(`ECS said ${code}`, { operation: 'runTask', code }, false);

describe('refusalCodeOf', () => {
  it.each([
    [ecsError('ExpiredTokenException'), 'ExpiredTokenException', true],
    [ecsError('AccessDeniedException'), 'AccessDeniedException', false],
    [Object.assign(new Error('EC2'), { name: 'AuthFailure' }), 'AuthFailure', true],
    [
      Object.assign(new Error('EC2'), { name: 'UnauthorizedOperation' }),
      'UnauthorizedOperation',
      false,
    ],
  ])('%s → %s (session refusal: %s)', (error, code, session) => {
    // Act / Assess
    expect(refusalCodeOf(error)).toBe(code);
    expect(isSessionRefusal(code)).toBe(session);
  });

  it.each([ecsError('ClusterNotFoundException'), new Error('boom'), 'text'])(
    'is undefined for %s',
    (error) => {
      // Act / Assess
      expect(refusalCodeOf(error)).toBeUndefined();
    }
  );
});

describe('recoverRefusedCredentials', () => {
  it('throws what onRefused answers for a refusal, and passes everything else through', async () => {
    // Prepare
    const seen: string[] = [];
    const port = {
      refused: async () => {
        throw ecsError('ExpiredTokenException');
      },
      missing: async () => {
        throw ecsError('ClusterNotFoundException');
      },
      fine: async (value: number) => value * 2,
    };
    const wrapped = recoverRefusedCredentials(port, (_, code) => {
      seen.push(code);
      return new Error(`retry after ${code}`);
    });
    // Act / Assess
    await expect(wrapped.refused()).rejects.toThrow('retry after ExpiredTokenException');
    await expect(wrapped.missing()).rejects.toMatchObject({ code: 'ClusterNotFoundException' });
    expect(await wrapped.fine(21)).toBe(42);
    expect(seen).toEqual(['ExpiredTokenException']);
  });

  it('rethrows the refusal itself when onRefused answers nothing', async () => {
    // Prepare
    const refusal = ecsError('AccessDeniedException');
    const wrapped = recoverRefusedCredentials(
      {
        call: async () => {
          throw refusal;
        },
      },
      () => undefined
    );
    // Act / Assess
    await expect(wrapped.call()).rejects.toBe(refusal);
  });
});
