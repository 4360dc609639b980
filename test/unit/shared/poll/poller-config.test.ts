import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../../../shared/errors/config-error.ts';
import {
  loadPollerConfig,
  loadPollerSettings,
  POLLER_DEFAULTS,
  pollOptionsFromConfig,
} from '../../../../shared/poll/poller-config.ts';

const BASE = {
  PREFECT_API_URL: 'http://localhost:4200/api',
  PREFECT_WORK_POOLS: 'ecs, gpu',
  PREFECT_WORK_QUEUES: 'default',
  LAUNCH_QUEUE_URL: 'https://sqs.us-east-1.amazonaws.com/123456789012/launch',
  TICK_QUEUE_URL: 'https://sqs.us-east-1.amazonaws.com/123456789012/tick',
  AWS_REGION: 'us-east-1',
};

const issuesOf = (run: () => unknown): readonly string[] => {
  try {
    run();
  } catch (error) {
    if (error instanceof ConfigError) return error.issues;
    throw error;
  }
  throw new Error('expected a ConfigError');
};

describe('poller configuration', () => {
  it('applies the defaults', () => {
    expect(loadPollerSettings({})).toEqual(POLLER_DEFAULTS);
    expect(POLLER_DEFAULTS).toEqual({
      pollIntervalSeconds: 20,
      prefetchSeconds: 60,
      leadSeconds: 0,
      limit: 200,
      orphanAfterSeconds: 300,
      maxRequeues: 3,
      cancelLookbackSeconds: 3600,
    });
  });

  it('reads every variable, blanks meaning default', () => {
    const settings = loadPollerSettings({
      POLL_INTERVAL_SECONDS: '15',
      POLL_PREFETCH_SECONDS: '120',
      LAUNCH_LEAD_SECONDS: '30',
      POLL_LIMIT: '50',
      ORPHAN_AFTER_SECONDS: '600',
      ORPHAN_MAX_REQUEUES: ' ',
      CANCEL_LOOKBACK_SECONDS: '7200',
    });
    expect(settings).toEqual({
      pollIntervalSeconds: 15,
      prefetchSeconds: 120,
      leadSeconds: 30,
      limit: 50,
      orphanAfterSeconds: 600,
      maxRequeues: 3,
      cancelLookbackSeconds: 7200,
    });
  });

  it('lists every problem of the shared and the poll variables at once, naming no value', () => {
    const issues = issuesOf(() =>
      loadPollerConfig({
        PREFECT_API_URL: 'http://localhost:4200/api',
        AWS_REGION: 'us-east-1',
        POLL_INTERVAL_SECONDS: '2',
        POLL_LIMIT: '500',
        ORPHAN_MAX_REQUEUES: 'many',
      })
    );
    expect(issues).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^PREFECT_WORK_POOLS: required/),
        expect.stringMatching(/^LAUNCH_QUEUE_URL: required/),
        'POLL_INTERVAL_SECONDS: must be at least 5',
        'POLL_LIMIT: must be at most 200',
        expect.stringMatching(/^ORPHAN_MAX_REQUEUES: must be a whole number/),
      ])
    );
    expect(issues.join('\n')).not.toMatch(/many|500/);
  });

  it.each([
    ['30', 'CANCEL_LOOKBACK_SECONDS: must be at least 60'],
    ['172800', 'CANCEL_LOOKBACK_SECONDS: must be at most 86400'],
    ['1h', 'CANCEL_LOOKBACK_SECONDS: must be a whole number of seconds'],
    ['90.5', 'CANCEL_LOOKBACK_SECONDS: must be a whole number of seconds'],
  ])('refuses CANCEL_LOOKBACK_SECONDS=%s with a clear message', (value, message) => {
    expect(issuesOf(() => loadPollerSettings({ CANCEL_LOOKBACK_SECONDS: value }))).toEqual([
      message,
    ]);
  });

  it('refuses a lead longer than the prefetch window', () => {
    expect(
      issuesOf(() => loadPollerSettings({ POLL_PREFETCH_SECONDS: '10', LAUNCH_LEAD_SECONDS: '30' }))
    ).toEqual([
      expect.stringMatching(/^LAUNCH_LEAD_SECONDS: must not exceed POLL_PREFETCH_SECONDS/),
    ]);
  });

  it("refuses an orphan give-up that comes before the launcher's own retry deadline", () => {
    expect(issuesOf(() => loadPollerConfig({ ...BASE, ORPHAN_MAX_REQUEUES: '0' }))).toEqual([
      expect.stringMatching(
        /^ORPHAN_AFTER_SECONDS: × \(ORPHAN_MAX_REQUEUES \+ 1\) is 300 s, which must exceed LAUNCH_RETRY_DEADLINE_SECONDS \(900 s\)/
      ),
    ]);
    expect(
      loadPollerConfig({ ...BASE, ORPHAN_MAX_REQUEUES: '0', LAUNCH_RETRY_DEADLINE_SECONDS: '240' })
        .poll.maxRequeues
    ).toBe(0);
  });

  it('requires TICK_QUEUE_URL for the poller, not for the webhook', () => {
    const { TICK_QUEUE_URL: _, ...withoutTicks } = BASE;
    expect(issuesOf(() => loadPollerConfig(withoutTicks))).toEqual([
      'TICK_QUEUE_URL: required for the poller',
    ]);
    expect(loadPollerConfig(withoutTicks, { role: 'webhook' }).tickQueueUrl).toBeUndefined();
  });

  it('gives pollPools its options', () => {
    const config = loadPollerConfig({
      ...BASE,
      PREFECT_WORKER_NAME: 'prod-worker',
      POLL_INTERVAL_SECONDS: '30',
      CANCEL_LOOKBACK_SECONDS: '900',
    });
    expect(pollOptionsFromConfig(config)).toEqual({
      workPools: ['ecs', 'gpu'],
      workQueues: ['default'],
      workerName: 'prod-worker',
      launchQueueUrl: BASE.LAUNCH_QUEUE_URL,
      pollIntervalSeconds: 30,
      prefetchSeconds: 60,
      leadSeconds: 0,
      limit: 200,
      orphanAfterSeconds: 300,
      maxRequeues: 3,
      cancelLookbackSeconds: 900,
    });
  });
});
