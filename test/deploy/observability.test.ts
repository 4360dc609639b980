/**
 * shared/observability.ts publishes the metrics the alarms and the dashboard read (infra/alarms.yml,
 * infra/dashboard.cjs): namespace, `service` dimension, names, units, and the `Cause` dimension on
 * RunsCrashed only.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  CRASH_CAUSE_DIMENSION,
  CrashCause,
  createLogger,
  createMetrics,
  METRICS_NAMESPACE,
  MetricName,
  recordCount,
  recordLaunchLatency,
  recordPollDuration,
  recordRunCrashed,
  SERVICE_NAME,
} from '../../shared/observability.ts';

interface EmfDocument {
  _aws: {
    CloudWatchMetrics: {
      Namespace: string;
      Dimensions: string[][];
      Metrics: { Name: string; Unit: string }[];
    }[];
  };
  [key: string]: unknown;
}

const ENV = { POWERTOOLS_SERVICE_NAME: 'prefect-ecs-serverless-test' };

/** The EMF lines written to stdout while `act` runs. */
const captureEmf = (act: () => void): EmfDocument[] => {
  const lines: string[] = [];
  const spy = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    lines.push(String(chunk));
    return true;
  });
  try {
    act();
  } finally {
    spy.mockRestore();
  }
  return lines
    .flatMap((chunk) => chunk.split('\n'))
    .filter((line) => line.includes('"_aws"'))
    .map((line) => JSON.parse(line) as EmfDocument);
};

afterEach(() => {
  vi.restoreAllMocks();
});

describe('metrics', () => {
  it('publishes the counters, latency and poll duration under our namespace and service', () => {
    // Arrange
    const metrics = createMetrics(ENV);
    const scheduled = new Date('2026-01-01T00:00:00.000Z');
    // Act
    recordCount(metrics, MetricName.RunsClaimed, 3);
    recordCount(metrics, MetricName.RunsLaunched);
    recordCount(metrics, MetricName.RunsCancelled, 0);
    recordLaunchLatency(metrics, scheduled, new Date('2026-01-01T00:00:01.250Z'));
    recordPollDuration(metrics, 412);
    const [document] = captureEmf(() => metrics.publishStoredMetrics());
    // Assess
    expect(document?._aws.CloudWatchMetrics).toEqual([
      {
        Namespace: METRICS_NAMESPACE,
        Dimensions: [['service']],
        Metrics: [
          { Name: 'RunsClaimed', Unit: 'Count' },
          { Name: 'RunsLaunched', Unit: 'Count' },
          { Name: 'LaunchLatency', Unit: 'Milliseconds' },
          { Name: 'PollDuration', Unit: 'Milliseconds' },
        ],
      },
    ]);
    expect(document).toMatchObject({
      service: 'prefect-ecs-serverless-test',
      RunsClaimed: 3,
      RunsLaunched: 1,
      LaunchLatency: 1250,
      PollDuration: 412,
    });
  });

  it('counts a launch ahead of its scheduled time as 0 ms late (percentiles need values ≥ 0)', () => {
    // Arrange
    const metrics = createMetrics(ENV);
    // Act
    recordLaunchLatency(metrics, '2026-01-01T00:00:05Z', new Date('2026-01-01T00:00:00Z'));
    recordLaunchLatency(metrics, 'not a date', new Date());
    const [document] = captureEmf(() => metrics.publishStoredMetrics());
    // Assess
    expect(document?.LaunchLatency).toBe(0);
  });

  it('publishes each crash at once with its cause, apart from the other metrics', () => {
    // Arrange
    const metrics = createMetrics(ENV);
    recordCount(metrics, MetricName.RunsLaunched);
    // Act
    const crashes = captureEmf(() => {
      recordRunCrashed(metrics, CrashCause.LaunchFailed);
      recordRunCrashed(metrics, '  out of memory  ');
    });
    const [stored] = captureEmf(() => metrics.publishStoredMetrics());
    // Assess
    expect(crashes.map((document) => document[CRASH_CAUSE_DIMENSION])).toEqual([
      'launch-failed',
      'out_of_memory',
    ]);
    expect(crashes[0]?._aws.CloudWatchMetrics[0]).toMatchObject({
      Namespace: METRICS_NAMESPACE,
      Dimensions: [['service', CRASH_CAUSE_DIMENSION]],
      Metrics: [{ Name: 'RunsCrashed', Unit: 'Count' }],
    });
    expect(stored).not.toHaveProperty(CRASH_CAUSE_DIMENSION);
    expect(stored).toHaveProperty('RunsLaunched', 1);
  });

  it('falls back to the project name when POWERTOOLS_SERVICE_NAME is not set', () => {
    // Arrange
    const metrics = createMetrics({});
    recordPollDuration(metrics, 1);
    // Act
    const [document] = captureEmf(() => metrics.publishStoredMetrics());
    // Assess
    expect(document?.service).toBe(SERVICE_NAME);
  });
});

describe('logger', () => {
  it('writes JSON lines with the service, the component and the flow run id', () => {
    // Arrange
    const logger = createLogger('launcher', ENV);
    const lines: string[] = [];
    const spy = vi
      .spyOn(process.stdout, 'write')
      .mockImplementation((chunk: string | Uint8Array) => {
        lines.push(String(chunk));
        return true;
      });
    // Act
    logger.appendKeys({ flow_run_id: '0b6c0e4e-8c4f-4f53-9d0e-7f6f3c1d2a10' });
    logger.info('Task started');
    spy.mockRestore();
    // Assess
    const entry = JSON.parse(lines.join('').trim().split('\n').at(-1) ?? '{}') as Record<
      string,
      unknown
    >;
    expect(entry).toMatchObject({
      level: 'INFO',
      message: 'Task started',
      service: 'prefect-ecs-serverless-test',
      component: 'launcher',
      flow_run_id: '0b6c0e4e-8c4f-4f53-9d0e-7f6f3c1d2a10',
    });
  });
});
