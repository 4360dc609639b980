import type { SQSEvent } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { createLauncherHandler } from '../../../../functions/launcher/handler.ts';
import { loadConfig } from '../../../../shared/config.ts';
import { ConfigError } from '../../../../shared/errors/config-error.ts';
import { launchDeps, message } from '../../shared/launch/fakes.ts';

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

describe('createLauncherHandler', () => {
  it('acknowledges good records and reports bad ones', async () => {
    // Prepare
    const { deps } = launchDeps();
    const handler = createLauncherHandler(deps);
    // Act
    const response = await handler(event(JSON.stringify(message), 'not json'));
    // Assess
    expect(response).toEqual({ batchItemFailures: [{ itemIdentifier: 'm-1' }] });
  });

  it('fails the invocation loudly on a bad configuration, and tries again on the next one', async () => {
    // Prepare
    let builds = 0;
    const { deps } = launchDeps();
    const handler = createLauncherHandler(async () => {
      builds += 1;
      if (builds === 1) return loadConfig({}) as never;
      return deps;
    });
    // Act
    const first = handler(event(JSON.stringify(message)));
    // Assess
    await expect(first).rejects.toBeInstanceOf(ConfigError);
    expect(await handler(event(JSON.stringify(message)))).toEqual({ batchItemFailures: [] });
    expect(builds).toBe(2);
  });
});
