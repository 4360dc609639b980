/**
 * CloudWatch Logs stand-in (awsJson 1.1, `X-Amz-Target: Logs_20140328.<Operation>`): GetLogEvents and
 * DescribeLogStreams, for the crash log tail. Events are put through the control API (as the awslogs
 * driver would) and kept in timestamp order (ties in ingestion order).
 *
 * GetLogEvents pages like the service: without a token, `startFromHead=true` reads forward from the
 * first event and `false` (the default) returns the last `limit` events; both answer oldest first.
 * `nextForwardToken`/`nextBackwardToken` (`f/<56 digits>/s`, `b/<56 digits>/s`) name a position
 * between two events, so they stay valid while events are appended; at the end of the stream the
 * forward token comes back unchanged. A page holds at most `limit` (default 10,000) events and 1 MB
 * (message bytes + 26 per event).
 *
 * Input is checked with the botocore model first: type mismatches are `SerializationException`,
 * constraint violations `InvalidParameterException` (`1 validation error detected: ...`), as the
 * service answers.
 */
import { checkOperationInput, loadServiceModel, type ServiceModel } from './model-validator.ts';
import { AwsServiceError, type JsonService } from './service.ts';

export interface LogsServiceOptions {
  readonly region: string;
  readonly accountId: string;
}

export interface LogEventInput {
  readonly timestamp: number;
  readonly message: string;
}

export interface LogsService extends JsonService {
  readonly targetPrefix: 'Logs_20140328';
  /** Creates the group if needed (as `awslogs-create-group: true` does). */
  createLogGroup(group: string): void;
  /** Creates the stream (and its group) if needed. */
  createLogStream(group: string, stream: string): void;
  /** Appends events, creating the group and stream if needed. */
  putLogEvents(group: string, stream: string, events: readonly LogEventInput[]): void;
}

interface StoredEvent {
  readonly timestamp: number;
  readonly message: string;
  readonly ingestionTime: number;
  /** Ingestion sequence number, unique in the service: orders events with equal timestamps. */
  readonly seq: number;
  readonly bytes: number;
}

interface LogStream {
  readonly name: string;
  readonly creationTime: number;
  /** Sorted by (timestamp, seq). */
  readonly events: StoredEvent[];
  lastIngestionTime?: number;
  uploadSequenceToken: bigint;
}

interface LogGroup {
  readonly name: string;
  readonly creationTime: number;
  readonly streams: Map<string, LogStream>;
}

interface GroupSelector {
  logGroupName?: string;
  logGroupIdentifier?: string;
}

interface GetLogEventsInput extends GroupSelector {
  logStreamName: string;
  startTime?: number;
  endTime?: number;
  nextToken?: string;
  limit?: number;
  startFromHead?: boolean;
  unmask?: boolean;
}

interface DescribeLogStreamsInput extends GroupSelector {
  logStreamNamePrefix?: string;
  orderBy?: 'LogStreamName' | 'LastEventTime';
  descending?: boolean;
  nextToken?: string;
  limit?: number;
}

const loadModel = (): ServiceModel =>
  loadServiceModel(new URL('./models/logs.subset.json', import.meta.url));

const GROUP_NOT_FOUND = 'The specified log group does not exist.';
const STREAM_NOT_FOUND = 'The specified log stream does not exist.';
const INVALID_TOKEN = 'The specified nextToken is invalid.';

const GROUP_NAME = /^[.\-_/#A-Za-z0-9]{1,512}$/;
const STREAM_NAME = /^[^:*]{1,512}$/;

const MAX_PAGE_BYTES = 1_048_576;
const EVENT_OVERHEAD_BYTES = 26;
const DEFAULT_EVENTS_LIMIT = 10_000;
const DEFAULT_DESCRIBE_LIMIT = 50;

// ---------------------------------------------------------------------------------------------------
// GetLogEvents positions: the gap just before the event keyed (timestamp, seq).

interface Position {
  readonly timestamp: number;
  readonly seq: number;
}

const START: Position = { timestamp: 0, seq: 0 };
const END: Position = { timestamp: Number.MAX_SAFE_INTEGER, seq: 0 };

const compare = (event: Position, position: Position): number =>
  event.timestamp - position.timestamp || event.seq - position.seq;

const formatToken = (direction: 'f' | 'b', position: Position): string =>
  `${direction}/${String(position.timestamp).padStart(20, '0')}${String(position.seq).padStart(36, '0')}/s`;

const parseToken = (token: string): { direction: 'f' | 'b'; position: Position } => {
  const match = /^([fb])\/(\d{20})(\d{36})\/s$/.exec(token);
  const timestamp = Number(match?.[2]);
  const seq = Number(match?.[3]);
  if (
    !match ||
    !Number.isSafeInteger(timestamp) ||
    timestamp > END.timestamp ||
    !Number.isSafeInteger(seq)
  ) {
    throw new AwsServiceError('InvalidParameterException', INVALID_TOKEN);
  }
  return { direction: match[1] === 'f' ? 'f' : 'b', position: { timestamp, seq } };
};

// ---------------------------------------------------------------------------------------------------

export const createLogsService = (options: LogsServiceOptions): LogsService => {
  const { region, accountId } = options;
  const groups = new Map<string, LogGroup>();
  let nextSeq = 1;

  const groupArnPrefix = `arn:aws:logs:${region}:${accountId}:log-group:`;

  const resolveGroup = (input: GroupSelector): LogGroup => {
    const { logGroupName, logGroupIdentifier } = input;
    if (logGroupName !== undefined && logGroupIdentifier !== undefined) {
      throw new AwsServiceError(
        'InvalidParameterException',
        'LogGroup name and LogGroup ARN are mutually exclusive parameters.'
      );
    }
    let name: string | undefined = logGroupName;
    if (logGroupIdentifier !== undefined) {
      if (logGroupIdentifier.startsWith('arn:')) {
        if (!logGroupIdentifier.startsWith(groupArnPrefix)) {
          throw new AwsServiceError('ResourceNotFoundException', GROUP_NOT_FOUND);
        }
        name = logGroupIdentifier.slice(groupArnPrefix.length);
      } else {
        name = logGroupIdentifier;
      }
    }
    if (name === undefined) {
      throw new AwsServiceError(
        'InvalidParameterException',
        'Either logGroupName or logGroupIdentifier must be specified.'
      );
    }
    const group = groups.get(name);
    if (!group) throw new AwsServiceError('ResourceNotFoundException', GROUP_NOT_FOUND);
    return group;
  };

  const getLogEvents = (input: GetLogEventsInput) => {
    const group = resolveGroup(input);
    const stream = group.streams.get(input.logStreamName);
    if (!stream) throw new AwsServiceError('ResourceNotFoundException', STREAM_NOT_FOUND);

    const { direction, position } =
      input.nextToken !== undefined
        ? parseToken(input.nextToken)
        : input.startFromHead === true
          ? { direction: 'f' as const, position: START }
          : { direction: 'b' as const, position: END };
    const inWindow = (event: StoredEvent): boolean =>
      (input.startTime === undefined || event.timestamp >= input.startTime) &&
      (input.endTime === undefined || event.timestamp < input.endTime);
    const limit = input.limit ?? DEFAULT_EVENTS_LIMIT;

    const page: StoredEvent[] = [];
    let bytes = 0;
    const fits = (event: StoredEvent): boolean =>
      page.length < limit && (page.length === 0 || bytes + event.bytes <= MAX_PAGE_BYTES);
    if (direction === 'f') {
      for (const event of stream.events) {
        if (compare(event, position) < 0 || !inWindow(event)) continue;
        if (!fits(event)) break;
        page.push(event);
        bytes += event.bytes;
      }
    } else {
      for (let i = stream.events.length - 1; i >= 0; i--) {
        const event = stream.events[i] as StoredEvent;
        if (compare(event, position) >= 0 || !inWindow(event)) continue;
        if (!fits(event)) break;
        page.unshift(event);
        bytes += event.bytes;
      }
    }

    const first = page[0];
    const last = page.at(-1);
    const after = last ? { timestamp: last.timestamp, seq: last.seq + 1 } : position;
    const before = first ? { timestamp: first.timestamp, seq: first.seq } : position;
    return {
      events: page.map((event) => ({
        timestamp: event.timestamp,
        message: event.message,
        ingestionTime: event.ingestionTime,
      })),
      nextForwardToken: formatToken('f', after),
      nextBackwardToken: formatToken('b', before),
    };
  };

  const describeLogStreams = (input: DescribeLogStreamsInput) => {
    const group = resolveGroup(input);
    const orderBy = input.orderBy ?? 'LogStreamName';
    const prefix = input.logStreamNamePrefix;
    if (orderBy === 'LastEventTime' && prefix !== undefined) {
      throw new AwsServiceError(
        'InvalidParameterException',
        'Cannot order by LastEventTime with a logStreamNamePrefix.'
      );
    }
    const lastEventTime = (stream: LogStream): number => stream.events.at(-1)?.timestamp ?? 0;
    const streams = [...group.streams.values()]
      .filter((stream) => prefix === undefined || stream.name.startsWith(prefix))
      .sort((a, b) =>
        orderBy === 'LastEventTime'
          ? lastEventTime(a) - lastEventTime(b) || (a.name < b.name ? -1 : 1)
          : a.name < b.name
            ? -1
            : a.name > b.name
              ? 1
              : 0
      );
    if (input.descending === true) streams.reverse();

    const query = JSON.stringify([group.name, orderBy, prefix ?? null, input.descending === true]);
    let offset = 0;
    if (input.nextToken !== undefined) {
      let token: unknown;
      try {
        token = JSON.parse(Buffer.from(input.nextToken, 'base64url').toString('utf8'));
      } catch {
        token = undefined;
      }
      const parsed = token as { o?: unknown; q?: unknown } | undefined;
      if (
        typeof parsed !== 'object' ||
        parsed === null ||
        typeof parsed.o !== 'number' ||
        !Number.isInteger(parsed.o) ||
        parsed.o < 0 ||
        parsed.q !== query
      ) {
        throw new AwsServiceError('InvalidParameterException', INVALID_TOKEN);
      }
      offset = parsed.o;
    }
    const end = offset + (input.limit ?? DEFAULT_DESCRIBE_LIMIT);
    const page = streams.slice(offset, end);
    return {
      logStreams: page.map((stream) => {
        const first = stream.events[0];
        const last = stream.events.at(-1);
        return {
          logStreamName: stream.name,
          creationTime: stream.creationTime,
          ...(first && last
            ? {
                firstEventTimestamp: first.timestamp,
                lastEventTimestamp: last.timestamp,
                lastIngestionTime: stream.lastIngestionTime,
                uploadSequenceToken: stream.uploadSequenceToken.toString(),
              }
            : {}),
          arn: `${groupArnPrefix}${group.name}:log-stream:${stream.name}`,
          storedBytes: 0,
        };
      }),
      ...(end < streams.length
        ? { nextToken: Buffer.from(JSON.stringify({ o: end, q: query })).toString('base64url') }
        : {}),
    };
  };

  const ensureGroup = (name: string): LogGroup => {
    if (!GROUP_NAME.test(name)) throw new Error(`Invalid log group name ${JSON.stringify(name)}`);
    let group = groups.get(name);
    if (!group) {
      group = { name, creationTime: Date.now(), streams: new Map() };
      groups.set(name, group);
    }
    return group;
  };

  const ensureStream = (groupName: string, name: string): LogStream => {
    const group = ensureGroup(groupName);
    if (!STREAM_NAME.test(name)) throw new Error(`Invalid log stream name ${JSON.stringify(name)}`);
    let stream = group.streams.get(name);
    if (!stream) {
      stream = {
        name,
        creationTime: Date.now(),
        events: [],
        uploadSequenceToken: 49_039_859_000_000_000_000_000_000_000_000_000_000_000_000n,
      };
      group.streams.set(name, stream);
    }
    return stream;
  };

  return {
    targetPrefix: 'Logs_20140328',
    handle: (operation, input) => {
      const model = loadModel();
      if (!Object.hasOwn(model.operations, operation)) {
        throw new AwsServiceError(
          'UnknownOperationException',
          `The operation ${operation} is not supported by this CloudWatch Logs stand-in.`
        );
      }
      const problem = checkOperationInput(model, operation, input);
      if (problem) {
        throw new AwsServiceError(
          problem.kind === 'serialization' ? 'SerializationException' : 'InvalidParameterException',
          problem.message
        );
      }
      switch (operation) {
        case 'GetLogEvents':
          return getLogEvents(input as GetLogEventsInput);
        case 'DescribeLogStreams':
          return describeLogStreams(input as DescribeLogStreamsInput);
        default:
          throw new AwsServiceError(
            'UnknownOperationException',
            `The operation ${operation} is not supported by this CloudWatch Logs stand-in.`
          );
      }
    },
    createLogGroup: (group) => {
      ensureGroup(group);
    },
    createLogStream: (group, stream) => {
      ensureStream(group, stream);
    },
    putLogEvents: (group, streamName, events) => {
      const stream = ensureStream(group, streamName);
      for (const event of events) {
        if (!Number.isSafeInteger(event.timestamp) || event.timestamp < 0) {
          throw new Error(`Invalid log event timestamp ${event.timestamp}`);
        }
        if (event.message.length === 0) throw new Error('A log event message must not be empty');
      }
      if (events.length === 0) return;
      const ingestionTime = Date.now();
      for (const event of events) {
        const stored: StoredEvent = {
          timestamp: event.timestamp,
          message: event.message,
          ingestionTime,
          seq: nextSeq++,
          bytes: Buffer.byteLength(event.message, 'utf8') + EVENT_OVERHEAD_BYTES,
        };
        // Insert after every event with timestamp <= this one (stable for equal timestamps).
        let index = stream.events.length;
        while (
          index > 0 &&
          (stream.events[index - 1] as StoredEvent).timestamp > stored.timestamp
        ) {
          index--;
        }
        stream.events.splice(index, 0, stored);
      }
      stream.lastIngestionTime = ingestionTime;
      stream.uploadSequenceToken += 1n;
    },
  };
};
