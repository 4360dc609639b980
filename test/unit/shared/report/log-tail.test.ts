import { describe, expect, it } from 'vitest';
import type { LogInput } from '../../../../shared/prefect/log-calls.ts';
import {
  batchLogs,
  MAX_LOG_BATCH_BYTES,
  truncateMessage,
} from '../../../../shared/report/log-batches.ts';
import { logStreamOfContainer } from '../../../../shared/report/log-stream.ts';

const TASK_ARN = 'arn:aws:ecs:eu-west-1:123456789012:task/prefect/0f1e2d3c';

const awslogs = (options: Record<string, string>) => ({
  containerDefinitions: [
    { name: 'prefect', logConfiguration: { logDriver: 'awslogs' as const, options } },
  ],
});

describe('logStreamOfContainer', () => {
  it('is <prefix>/<container>/<task id> in the awslogs group and region', () => {
    // Act
    const lookup = logStreamOfContainer(
      awslogs({
        'awslogs-group': 'prefect',
        'awslogs-region': 'eu-west-1',
        'awslogs-stream-prefix': 'prefect-logs_pool_dep',
      }),
      'prefect',
      TASK_ARN
    );
    // Assess
    expect(lookup).toEqual({
      found: true,
      location: {
        group: 'prefect',
        stream: 'prefect-logs_pool_dep/prefect/0f1e2d3c',
        region: 'eu-west-1',
      },
    });
  });

  it.each([
    [
      'no such container',
      awslogs({ 'awslogs-group': 'g', 'awslogs-stream-prefix': 'p' }),
      'app',
      /no container 'app'/,
    ],
    [
      'no stream prefix (streams are named after container ids)',
      awslogs({ 'awslogs-group': 'g' }),
      'prefect',
      /awslogs-stream-prefix/,
    ],
    [
      'another log driver',
      {
        containerDefinitions: [
          { name: 'prefect', logConfiguration: { logDriver: 'awsfirelens' as const } },
        ],
      },
      'prefect',
      /awsfirelens, not awslogs/,
    ],
    [
      'no log configuration',
      { containerDefinitions: [{ name: 'prefect' }] },
      'prefect',
      /no log driver/,
    ],
  ])('says why there is no stream: %s', (_name, definition, container, reason) => {
    // Act
    const lookup = logStreamOfContainer(definition, container, TASK_ARN);
    // Assess
    expect(lookup.found).toBe(false);
    expect(lookup.found ? '' : lookup.reason).toMatch(reason);
  });
});

const log = (message: string): LogInput => ({
  name: 'prefect.flow_runs.worker',
  level: 20,
  message,
  timestamp: '2026-01-15T10:00:00.000Z',
  flowRunId: '7a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d',
});

describe('batchLogs', () => {
  it('keeps 200 ordinary lines in one request, in order', () => {
    // Prepare
    const logs = Array.from({ length: 200 }, (_, i) => log(`line ${i}`));
    // Act
    const batches = batchLogs(logs);
    // Assess
    expect(batches).toHaveLength(1);
    expect(batches[0]?.map((entry) => entry.message)).toEqual(logs.map((entry) => entry.message));
  });

  it('splits so that no body exceeds the limit', () => {
    // Prepare: 200 lines of 100 kB (CloudWatch allows 256 kB per event)
    const logs = Array.from({ length: 200 }, (_, i) => log(`${i}:${'x'.repeat(100_000)}`));
    // Act
    const batches = batchLogs(logs);
    // Assess
    expect(batches.length).toBeGreaterThan(4);
    for (const batch of batches) {
      expect(Buffer.byteLength(JSON.stringify(batch))).toBeLessThanOrEqual(MAX_LOG_BATCH_BYTES);
    }
    expect(batches.flat().map((entry) => entry.message)).toEqual(
      logs.map((entry) => entry.message)
    );
  });

  it('cuts a message longer than Prefect accepts', () => {
    // Act
    const [[only] = []] = batchLogs([log('é'.repeat(1_000_000))]);
    // Assess
    expect(Buffer.byteLength(only?.message ?? '')).toBeLessThanOrEqual(1_000_000);
    expect(only?.message).toMatch(/é … \[truncated\]$/);
  });

  it('leaves short messages alone', () => {
    // Act / Assess
    expect(truncateMessage('hello')).toBe('hello');
    expect(batchLogs([])).toEqual([]);
  });
});
