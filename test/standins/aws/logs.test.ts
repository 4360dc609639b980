import {
  CloudWatchLogsClient,
  DescribeLogStreamsCommand,
  GetLogEventsCommand,
  type GetLogEventsCommandInput,
  InvalidParameterException,
  ResourceNotFoundException,
} from '@aws-sdk/client-cloudwatch-logs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createLogsService, type LogsService } from './logs.ts';
import { type ServedAwsServices, serveAwsServices } from './serve-services.ts';

const REGION = 'us-east-1';
const ACCOUNT = '123456789012';
const GROUP = 'prefect';
const STREAM = 'prefect-logs_pool_flow/prefect/0123456789abcdef0123456789abcdef';
const T0 = 1_760_000_000_000;

let logs: LogsService;
let served: ServedAwsServices;
let client: CloudWatchLogsClient;

beforeEach(async () => {
  logs = createLogsService({ region: REGION, accountId: ACCOUNT });
  served = await serveAwsServices({ json: [logs] });
  client = new CloudWatchLogsClient({
    endpoint: served.url,
    region: REGION,
    credentials: { accessKeyId: 'AKIDTEST', secretAccessKey: 'secret' },
    maxAttempts: 1,
  });
});

afterEach(async () => {
  client.destroy();
  await served.close();
});

/** Puts `count` events `line 0`…, one millisecond apart from `T0`. */
const putLines = (count: number, stream = STREAM, from = 0) =>
  logs.putLogEvents(
    GROUP,
    stream,
    Array.from({ length: count }, (_, i) => ({
      timestamp: T0 + from + i,
      message: `line ${from + i}`,
    }))
  );

const messages = (events: { message?: string }[] | undefined) =>
  (events ?? []).map((e) => e.message);

const getEvents = (input: Partial<GetLogEventsCommandInput>) =>
  client.send(new GetLogEventsCommand({ logGroupName: GROUP, logStreamName: STREAM, ...input }));

/** POSTs a raw awsJson 1.1 request. */
const postJson = async (target: string, body: string) => {
  const response = await fetch(served.url, {
    method: 'POST',
    headers: { 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': target },
    body,
  });
  return {
    status: response.status,
    errorType: response.headers.get('x-amzn-errortype'),
    json: (await response.json()) as Record<string, unknown>,
  };
};

describe('CloudWatch Logs stand-in: GetLogEvents', () => {
  it('reads from the head, oldest first, with ingestion times', async () => {
    // prepare
    putLines(3);
    // act
    const { events } = await getEvents({ startFromHead: true });
    // assess
    expect(messages(events)).toEqual(['line 0', 'line 1', 'line 2']);
    expect(events?.[0]).toMatchObject({ timestamp: T0, message: 'line 0' });
    expect(events?.[0]?.ingestionTime).toEqual(expect.any(Number));
  });

  it('returns the last `limit` events, oldest first, when startFromHead is false (the crash tail)', async () => {
    // prepare
    putLines(700);
    // act
    const { events } = await getEvents({ startFromHead: false, limit: 500 });
    // assess
    expect(events).toHaveLength(500);
    expect(events?.[0]?.message).toBe('line 200');
    expect(events?.at(-1)?.message).toBe('line 699');
  });

  it('defaults to startFromHead=false', async () => {
    // prepare
    putLines(5);
    // act
    const { events } = await getEvents({ limit: 2 });
    // assess
    expect(messages(events)).toEqual(['line 3', 'line 4']);
  });

  it('answers tokens in the f/<56 digits>/s and b/<56 digits>/s format', async () => {
    // prepare
    putLines(2);
    // act
    const { nextForwardToken, nextBackwardToken } = await getEvents({ startFromHead: true });
    // assess
    expect(nextForwardToken).toMatch(/^f\/\d{56}\/s$/);
    expect(nextBackwardToken).toMatch(/^b\/\d{56}\/s$/);
  });

  it('pages forward until the forward token comes back unchanged, seeing each event once', async () => {
    // prepare
    putLines(25);
    // act
    const seen: (string | undefined)[] = [];
    let token: string | undefined;
    let pages = 0;
    for (;;) {
      const page = await getEvents(
        token === undefined ? { startFromHead: true, limit: 10 } : { nextToken: token, limit: 10 }
      );
      pages++;
      seen.push(...messages(page.events));
      if (page.nextForwardToken === token) break;
      token = page.nextForwardToken;
    }
    // assess
    expect(seen).toEqual(Array.from({ length: 25 }, (_, i) => `line ${i}`));
    expect(pages).toBe(4);
  });

  it('pages backward from the tail with nextBackwardToken', async () => {
    // prepare
    putLines(7);
    const tail = await getEvents({ limit: 3 });
    // act
    const before = await getEvents({ nextToken: tail.nextBackwardToken, limit: 3 });
    const start = await getEvents({ nextToken: before.nextBackwardToken, limit: 3 });
    const past = await getEvents({ nextToken: start.nextBackwardToken, limit: 3 });
    // assess
    expect(messages(tail.events)).toEqual(['line 4', 'line 5', 'line 6']);
    expect(messages(before.events)).toEqual(['line 1', 'line 2', 'line 3']);
    expect(messages(start.events)).toEqual(['line 0']);
    expect(past.events).toEqual([]);
    expect(past.nextBackwardToken).toBe(start.nextBackwardToken);
  });

  it('keeps a forward token valid while events are appended (following a stream)', async () => {
    // prepare
    putLines(3);
    const first = await getEvents({ startFromHead: true });
    putLines(2, STREAM, 3);
    // act
    const next = await getEvents({ nextToken: first.nextForwardToken });
    // assess
    expect(messages(next.events)).toEqual(['line 3', 'line 4']);
  });

  it('orders events by timestamp whatever order they were put in', async () => {
    // prepare
    logs.putLogEvents(GROUP, STREAM, [
      { timestamp: T0 + 2, message: 'third' },
      { timestamp: T0, message: 'first' },
    ]);
    logs.putLogEvents(GROUP, STREAM, [{ timestamp: T0 + 1, message: 'second' }]);
    // act
    const { events } = await getEvents({ startFromHead: true });
    // assess
    expect(messages(events)).toEqual(['first', 'second', 'third']);
  });

  it('includes startTime and excludes endTime', async () => {
    // prepare
    putLines(10);
    // act
    const { events } = await getEvents({ startFromHead: true, startTime: T0 + 2, endTime: T0 + 5 });
    // assess
    expect(messages(events)).toEqual(['line 2', 'line 3', 'line 4']);
  });

  it('caps a page at 1 MB (message bytes + 26 per event)', async () => {
    // prepare
    const big = 'x'.repeat(400_000);
    logs.putLogEvents(
      GROUP,
      STREAM,
      [0, 1, 2].map((i) => ({ timestamp: T0 + i, message: `${i}${big}` }))
    );
    // act
    const first = await getEvents({ startFromHead: true });
    const second = await getEvents({ nextToken: first.nextForwardToken });
    // assess
    expect(first.events?.map((e) => e.message?.charAt(0))).toEqual(['0', '1']);
    expect(second.events?.map((e) => e.message?.charAt(0))).toEqual(['2']);
  });

  it('finds the group by logGroupIdentifier, as a name or an ARN', async () => {
    // prepare
    putLines(1);
    const arn = `arn:aws:logs:${REGION}:${ACCOUNT}:log-group:${GROUP}`;
    // act
    const byName = await client.send(
      new GetLogEventsCommand({ logGroupIdentifier: GROUP, logStreamName: STREAM })
    );
    const byArn = await client.send(
      new GetLogEventsCommand({ logGroupIdentifier: arn, logStreamName: STREAM })
    );
    // assess
    expect(messages(byName.events)).toEqual(['line 0']);
    expect(messages(byArn.events)).toEqual(['line 0']);
  });

  it('answers a missing group and a missing stream with ResourceNotFoundException', async () => {
    // prepare
    logs.createLogStream(GROUP, 'other');
    // act
    const noGroup = client.send(
      new GetLogEventsCommand({ logGroupName: 'missing', logStreamName: STREAM })
    );
    const noStream = getEvents({});
    const otherAccount = client.send(
      new GetLogEventsCommand({
        logGroupIdentifier: `arn:aws:logs:${REGION}:210987654321:log-group:${GROUP}`,
        logStreamName: 'other',
      })
    );
    // assess
    await expect(noGroup).rejects.toBeInstanceOf(ResourceNotFoundException);
    await expect(noGroup).rejects.toMatchObject({
      message: 'The specified log group does not exist.',
      $metadata: { httpStatusCode: 400 },
    });
    await expect(noStream).rejects.toMatchObject({
      name: 'ResourceNotFoundException',
      message: 'The specified log stream does not exist.',
    });
    await expect(otherAccount).rejects.toBeInstanceOf(ResourceNotFoundException);
  });

  it('wants exactly one of logGroupName and logGroupIdentifier', async () => {
    // prepare
    putLines(1);
    // act
    const both = getEvents({ logGroupIdentifier: GROUP });
    const neither = client.send(new GetLogEventsCommand({ logStreamName: STREAM }));
    // assess
    await expect(both).rejects.toBeInstanceOf(InvalidParameterException);
    await expect(neither).rejects.toBeInstanceOf(InvalidParameterException);
  });

  it.each([[0], [10_001]])('rejects limit %d with the AWS validation message', async (limit) => {
    // prepare
    putLines(1);
    // act
    const request = getEvents({ limit });
    // assess
    await expect(request).rejects.toBeInstanceOf(InvalidParameterException);
    await expect(request).rejects.toMatchObject({
      message: expect.stringMatching(
        new RegExp(
          `^1 validation error detected: Value '${limit}' at 'limit' failed to satisfy constraint: Member must have value (greater|less) than or equal to (1|10000)$`
        )
      ),
    });
  });

  it.each([['f/123/s'], ['x/00000000000000000000000000000000000000000000000000000000/s'], ['abc']])(
    'rejects the made-up token %s',
    async (nextToken) => {
      // prepare
      putLines(1);
      // act
      const request = getEvents({ nextToken });
      // assess
      await expect(request).rejects.toMatchObject({
        name: 'InvalidParameterException',
        message: 'The specified nextToken is invalid.',
      });
    }
  );

  it('rejects a log group ARN ending in :* (the pattern has no *)', async () => {
    // prepare
    putLines(1);
    // act
    const request = client.send(
      new GetLogEventsCommand({
        logGroupIdentifier: `arn:aws:logs:${REGION}:${ACCOUNT}:log-group:${GROUP}:*`,
        logStreamName: STREAM,
      })
    );
    // assess
    await expect(request).rejects.toMatchObject({
      name: 'InvalidParameterException',
      message: expect.stringContaining("at 'logGroupIdentifier' failed to satisfy constraint"),
    });
  });
});

describe('CloudWatch Logs stand-in: DescribeLogStreams', () => {
  it('lists streams by name, with arn, event times and storedBytes 0', async () => {
    // prepare
    putLines(2, 'b-stream');
    logs.createLogStream(GROUP, 'a-stream');
    // act
    const { logStreams, nextToken } = await client.send(
      new DescribeLogStreamsCommand({ logGroupName: GROUP })
    );
    // assess
    expect(logStreams?.map((s) => s.logStreamName)).toEqual(['a-stream', 'b-stream']);
    expect(nextToken).toBeUndefined();
    expect(logStreams?.[0]?.firstEventTimestamp).toBeUndefined();
    expect(logStreams?.[1]).toMatchObject({
      arn: `arn:aws:logs:${REGION}:${ACCOUNT}:log-group:${GROUP}:log-stream:b-stream`,
      firstEventTimestamp: T0,
      lastEventTimestamp: T0 + 1,
      storedBytes: 0,
      creationTime: expect.any(Number),
      lastIngestionTime: expect.any(Number),
    });
  });

  it('filters by prefix and orders descending', async () => {
    // prepare
    for (const name of ['prefect/a', 'prefect/b', 'other/c']) logs.createLogStream(GROUP, name);
    // act
    const { logStreams } = await client.send(
      new DescribeLogStreamsCommand({
        logGroupName: GROUP,
        logStreamNamePrefix: 'prefect/',
        descending: true,
      })
    );
    // assess
    expect(logStreams?.map((s) => s.logStreamName)).toEqual(['prefect/b', 'prefect/a']);
  });

  it('orders by LastEventTime, newest first when descending', async () => {
    // prepare
    logs.putLogEvents(GROUP, 'old', [{ timestamp: T0, message: 'x' }]);
    logs.putLogEvents(GROUP, 'new', [{ timestamp: T0 + 10, message: 'x' }]);
    logs.putLogEvents(GROUP, 'mid', [{ timestamp: T0 + 5, message: 'x' }]);
    // act
    const { logStreams } = await client.send(
      new DescribeLogStreamsCommand({
        logGroupName: GROUP,
        orderBy: 'LastEventTime',
        descending: true,
      })
    );
    // assess
    expect(logStreams?.map((s) => s.logStreamName)).toEqual(['new', 'mid', 'old']);
  });

  it('pages with limit and nextToken', async () => {
    // prepare
    for (let i = 0; i < 5; i++) logs.createLogStream(GROUP, `s${i}`);
    // act
    const first = await client.send(
      new DescribeLogStreamsCommand({ logGroupName: GROUP, limit: 2 })
    );
    const second = await client.send(
      new DescribeLogStreamsCommand({ logGroupName: GROUP, limit: 2, nextToken: first.nextToken })
    );
    const third = await client.send(
      new DescribeLogStreamsCommand({ logGroupName: GROUP, limit: 2, nextToken: second.nextToken })
    );
    // assess
    expect(first.logStreams?.map((s) => s.logStreamName)).toEqual(['s0', 's1']);
    expect(second.logStreams?.map((s) => s.logStreamName)).toEqual(['s2', 's3']);
    expect(third.logStreams?.map((s) => s.logStreamName)).toEqual(['s4']);
    expect(third.nextToken).toBeUndefined();
  });

  it('rejects LastEventTime with a prefix, limit 51 and a missing group', async () => {
    // prepare
    logs.createLogGroup(GROUP);
    // act
    const orderWithPrefix = client.send(
      new DescribeLogStreamsCommand({
        logGroupName: GROUP,
        orderBy: 'LastEventTime',
        logStreamNamePrefix: 'p',
      })
    );
    const tooMany = client.send(new DescribeLogStreamsCommand({ logGroupName: GROUP, limit: 51 }));
    const missing = client.send(new DescribeLogStreamsCommand({ logGroupName: 'nope' }));
    // assess
    await expect(orderWithPrefix).rejects.toMatchObject({
      name: 'InvalidParameterException',
      message: 'Cannot order by LastEventTime with a logStreamNamePrefix.',
    });
    await expect(tooMany).rejects.toMatchObject({
      name: 'InvalidParameterException',
      message: expect.stringContaining("Value '51' at 'limit'"),
    });
    await expect(missing).rejects.toMatchObject({
      name: 'ResourceNotFoundException',
      message: 'The specified log group does not exist.',
    });
  });

  it('rejects an orderBy outside the enum', async () => {
    // prepare
    logs.createLogGroup(GROUP);
    // act
    const { status, errorType, json } = await postJson(
      'Logs_20140328.DescribeLogStreams',
      JSON.stringify({ logGroupName: GROUP, orderBy: 'CreationTime' })
    );
    // assess
    expect(status).toBe(400);
    expect(errorType).toBe('InvalidParameterException');
    expect(json.message).toContain('Member must satisfy enum value set');
  });
});

describe('CloudWatch Logs stand-in: control API', () => {
  it('refuses invalid names, empty messages and negative timestamps', () => {
    // act / assess
    expect(() => logs.createLogGroup('bad group')).toThrow(/Invalid log group name/);
    expect(() => logs.createLogStream(GROUP, 'a:b')).toThrow(/Invalid log stream name/);
    expect(() => logs.putLogEvents(GROUP, STREAM, [{ timestamp: T0, message: '' }])).toThrow(
      /must not be empty/
    );
    expect(() => logs.putLogEvents(GROUP, STREAM, [{ timestamp: -1, message: 'x' }])).toThrow(
      /timestamp/
    );
  });
});

describe('CloudWatch Logs stand-in: raw requests', () => {
  it('answers malformed JSON with SerializationException (400), and keeps serving', async () => {
    // prepare
    putLines(1);
    // act
    const malformed = await postJson('Logs_20140328.GetLogEvents', '{"logStreamName":');
    const after = await getEvents({});
    // assess
    expect(malformed).toMatchObject({
      status: 400,
      errorType: 'SerializationException',
      json: { __type: 'SerializationException' },
    });
    expect(messages(after.events)).toEqual(['line 0']);
  });

  it.each([
    ['{"logGroupName": "prefect", "logStreamName": 5}', 'SerializationException'],
    ['{"logGroupName": "prefect", "logStreamName": "s", "limit": "5"}', 'SerializationException'],
    [
      '{"logGroupName": "prefect", "logStreamName": "s", "startFromHead": "yes"}',
      'SerializationException',
    ],
    ['{"logGroupName": "prefect", "logStreamName": "s", "limit": 1.5}', 'SerializationException'],
    ['{"logGroupName": "prefect"}', 'InvalidParameterException'],
    ['{"logGroupName": "bad group", "logStreamName": "s"}', 'InvalidParameterException'],
    [
      '{"logGroupName": "prefect", "logStreamName": "s", "startTime": -1}',
      'InvalidParameterException',
    ],
  ])('answers the GetLogEvents body %s with %s', async (body, code) => {
    // prepare
    putLines(1, 's');
    // act
    const { status, errorType, json } = await postJson('Logs_20140328.GetLogEvents', body);
    // assess
    expect(status).toBe(400);
    expect(errorType).toBe(code);
    expect(json).toMatchObject({ __type: code, message: expect.any(String) });
  });

  it('answers an operation it does not serve with UnknownOperationException', async () => {
    // act
    const { status, json } = await postJson('Logs_20140328.PutLogEvents', '{}');
    // assess
    expect(status).toBe(400);
    expect(json.__type).toBe('UnknownOperationException');
  });
});
