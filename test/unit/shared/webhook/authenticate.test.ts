import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  authenticateRequest,
  SIGNATURE_HEADER,
  signWebhookRequest,
  TIMESTAMP_HEADER,
} from '../../../../shared/webhook/authenticate.ts';
import { createReplayCache } from '../../../../shared/webhook/replay-cache.ts';
import { WebhookUnauthorizedError } from '../../../../shared/webhook/webhook-http-error.ts';

const KEY = 'whsec-0123456789abcdef';
const NOW = new Date('2026-08-21T12:00:00Z');

const reasonOf = (action: () => unknown): string => {
  try {
    action();
  } catch (error) {
    expect(error).toBeInstanceOf(WebhookUnauthorizedError);
    return (error as WebhookUnauthorizedError).reason;
  }
  throw new Error('expected a refusal');
};

const input = (headers: Record<string, string>, body = '{}') => ({
  headers,
  body: Buffer.from(body),
  credentials: { token: KEY, signingKey: KEY },
  now: NOW,
  replayCache: createReplayCache(),
});

describe('signWebhookRequest', () => {
  it('signs "<timestamp>.<raw body>" with HMAC-SHA256, as documented', () => {
    // Prepare
    const body = '{"work_pool":"ecs"}';
    const timestamp = 1_787_313_600;
    const expected = createHmac('sha256', KEY).update(`${timestamp}.${body}`).digest('hex');
    // Act
    const headers = signWebhookRequest(KEY, body, timestamp);
    // Assess
    expect(headers).toEqual({
      [TIMESTAMP_HEADER]: '1787313600',
      [SIGNATURE_HEADER]: `sha256=${expected}`,
    });
    expect(TIMESTAMP_HEADER).toBe('x-prefect-ecs-timestamp');
    expect(SIGNATURE_HEADER).toBe('x-prefect-ecs-signature');
  });
});

describe('authenticateRequest', () => {
  it('finds headers whatever their case', () => {
    // Prepare
    const signed = signWebhookRequest(KEY, '{}', NOW.getTime() / 1000);
    // Act
    const methods = authenticateRequest(
      input({
        Authorization: `Bearer ${KEY}`,
        'X-Prefect-Ecs-Timestamp': signed[TIMESTAMP_HEADER],
        'X-Prefect-Ecs-Signature': signed[SIGNATURE_HEADER],
      })
    );
    // Assess
    expect(methods).toEqual(['bearer', 'signature']);
  });

  it.each<[string, Record<string, string>, string]>([
    ['nothing', {}, 'missing-credentials'],
    ['Basic auth', { authorization: `Basic ${KEY}` }, 'bearer-malformed'],
    ['a bearer with two words', { authorization: `Bearer ${KEY} extra` }, 'bearer-malformed'],
    ['a wrong bearer', { authorization: 'Bearer nope' }, 'bearer-mismatch'],
    [
      'a signature alone',
      { [SIGNATURE_HEADER]: `sha256=${'0'.repeat(64)}` },
      'signature-malformed',
    ],
    [
      'a short signature',
      { [TIMESTAMP_HEADER]: '1787313600', [SIGNATURE_HEADER]: `sha256=${'0'.repeat(63)}` },
      'signature-malformed',
    ],
    [
      'a negative timestamp',
      { [TIMESTAMP_HEADER]: '-1', [SIGNATURE_HEADER]: `sha256=${'0'.repeat(64)}` },
      'signature-malformed',
    ],
    [
      'a zero signature',
      { [TIMESTAMP_HEADER]: '1787313600', [SIGNATURE_HEADER]: `sha256=${'0'.repeat(64)}` },
      'signature-mismatch',
    ],
    [
      'an old timestamp',
      { [TIMESTAMP_HEADER]: '1787313299', [SIGNATURE_HEADER]: `sha256=${'0'.repeat(64)}` },
      'timestamp-out-of-window',
    ],
  ])('refuses %s (%s)', (_name, headers, reason) => {
    // Prepare / Act / Assess
    expect(reasonOf(() => authenticateRequest(input(headers)))).toBe(reason);
  });

  it('refuses methods the credentials do not enable', () => {
    // Prepare
    const signed = signWebhookRequest(KEY, '{}', NOW.getTime() / 1000);
    // Act
    const noToken = reasonOf(() =>
      authenticateRequest({
        ...input({ authorization: `Bearer ${KEY}` }),
        credentials: { signingKey: KEY },
      })
    );
    const noKey = reasonOf(() =>
      authenticateRequest({ ...input(signed), credentials: { token: KEY } })
    );
    // Assess
    expect([noToken, noKey]).toEqual(['bearer-not-configured', 'signature-not-configured']);
  });
});
