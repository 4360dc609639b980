/**
 * The launcher's metrics through the real handler factory over the launch fakes: what each settled
 * launch publishes (EMF under our namespace with the `service` dimension), once per invocation.
 */
import type { SQSEvent } from 'aws-lambda';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createLauncherHandler } from '../../../../functions/launcher/handler.ts';
import { EcsApiError } from '../../../../shared/errors/ecs-api-error.ts';
import {
  CRASH_CAUSE_DIMENSION,
  CrashCause,
  createMetrics,
  METRICS_NAMESPACE,
} from '../../../../shared/observability.ts';
import { launchDeps, message, notFound, RUN_ID } from '../../shared/launch/fakes.ts';
import { captureEmf, metricNames, TEST_ENV, TEST_SERVICE } from '../emf-capture.ts';

const event = (...bodies: string[]): SQSEvent => ({
  Records: bodies.map((body, i) => ({
    messageId: `m-${i}`,
    receiptHandle: `rh-${i}`,
    body,
    attributes: {
      ApproximateReceiveCount: '1',
      SentTimestamp: '0',
      SenderId: 'AIDA',
      ApproximateFirstReceiveTimestamp: '0',
    },
    messageAttributes: {},
    md5OfBody: '',
    eventSource: 'aws:sqs',
    eventSourceARN: 'arn:aws:sqs:us-east-1:123456789012:launch',
    awsRegion: 'us-east-1',
  })),
});

afterEach(() => {
  vi.restoreAllMocks();
});

describe('launcher metrics', () => {
  it('publishes RunsLaunched and the latency from the scheduled time, once per invocation', async () => {
    // Prepare: the fakes' clock is 5 s after the message's scheduled time
    const { deps, lines } = launchDeps({ now: '2026-08-21T12:00:05Z' });
    const handler = createLauncherHandler({ ...deps, metrics: createMetrics(TEST_ENV) });
    // Act
    const { result, documents } = await captureEmf(() => handler(event(JSON.stringify(message))));
    // Assess
    expect(result).toEqual({ batchItemFailures: [] });
    expect(documents).toHaveLength(1);
    const [document] = documents;
    expect(document?._aws.CloudWatchMetrics).toEqual([
      {
        Namespace: METRICS_NAMESPACE,
        Dimensions: [['service']],
        Metrics: [
          { Name: 'RunsLaunched', Unit: 'Count' },
          { Name: 'LaunchLatency', Unit: 'Milliseconds' },
        ],
      },
    ]);
    expect(document).toMatchObject({ service: TEST_SERVICE, RunsLaunched: 1, LaunchLatency: 5000 });
    expect(lines.length).toBeGreaterThan(0);
    expect(lines.filter((line) => line.attributes.flow_run_id !== RUN_ID)).toEqual([]);
  });

  it('publishes RunsCrashed with Cause=launch-failed when the launch crashes the run', async () => {
    // Prepare
    const { deps, ecs, lines } = launchDeps();
    ecs.script(
      new EcsApiError(
        'ECS runTask failed: ClusterNotFoundException: Cluster not found.',
        { operation: 'runTask', code: 'ClusterNotFoundException' },
        false
      )
    );
    const handler = createLauncherHandler({ ...deps, metrics: createMetrics(TEST_ENV) });
    // Act
    const { documents } = await captureEmf(() => handler(event(JSON.stringify(message))));
    // Assess
    expect(documents).toHaveLength(1);
    expect(documents[0]?._aws.CloudWatchMetrics[0]).toMatchObject({
      Namespace: METRICS_NAMESPACE,
      Dimensions: [['service', CRASH_CAUSE_DIMENSION]],
      Metrics: [{ Name: 'RunsCrashed', Unit: 'Count' }],
    });
    expect(documents[0]).toMatchObject({
      service: TEST_SERVICE,
      [CRASH_CAUSE_DIMENSION]: CrashCause.LaunchFailed,
      RunsCrashed: 1,
    });
    expect(lines.filter((line) => line.attributes.flow_run_id !== RUN_ID)).toEqual([]);
  });

  it('publishes RunsCancelled when the deployment is gone', async () => {
    // Prepare
    const { deps, prefect } = launchDeps();
    prefect.failOn('readDeployment', notFound('/deployments/x'));
    const handler = createLauncherHandler({ ...deps, metrics: createMetrics(TEST_ENV) });
    // Act
    const { documents } = await captureEmf(() => handler(event(JSON.stringify(message))));
    // Assess
    expect(documents.map(metricNames)).toEqual([['RunsCancelled']]);
    expect(documents[0]).toMatchObject({ service: TEST_SERVICE, RunsCancelled: 1 });
  });

  it('publishes nothing (and warns about nothing) for a batch that launched nothing', async () => {
    // Prepare: a message of another claim is skipped; a malformed one fails
    const { deps } = launchDeps();
    const handler = createLauncherHandler({ ...deps, metrics: createMetrics(TEST_ENV) });
    const warn = vi.spyOn(process.stderr, 'write');
    const otherClaim = { ...message, transition_id: '9e8d7c6b-1111-4222-8333-444455556666' };
    // Act
    const { result, documents } = await captureEmf(() =>
      handler(event(JSON.stringify(otherClaim), 'not json'))
    );
    // Assess
    expect(result).toEqual({ batchItemFailures: [{ itemIdentifier: 'm-1' }] });
    expect(documents).toEqual([]);
    const warnings = warn.mock.calls.map(([chunk]) => String(chunk));
    expect(warnings.filter((text) => text.includes('No application metrics'))).toEqual([]);
  });
});

describe('launcher logs', () => {
  it('puts the flow run id on the line about a malformed message that names one', async () => {
    // Prepare
    const { deps, lines } = launchDeps();
    const handler = createLauncherHandler(deps);
    const { transition_id: _missing, ...incomplete } = message;
    // Act
    await handler(event(JSON.stringify(incomplete)));
    // Assess
    expect(lines).toEqual([
      expect.objectContaining({
        level: 'error',
        attributes: expect.objectContaining({ flow_run_id: RUN_ID, message_id: 'm-0' }),
      }),
    ]);
  });
});
