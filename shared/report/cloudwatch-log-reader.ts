/**
 * The `@aws-sdk/client-cloudwatch-logs` adapter of the {@link LogReader} port. GetLogEvents has a
 * low, fixed account quota (the throttling of prefect-aws's old log streaming, PrefectHQ/prefect
 * #17780), so a tail costs one call in the common case: the newest `limit` events
 * (`startFromHead: false`), and more pages backwards only when the 1 MB page limit cut the first.
 */
import {
  type CloudWatchLogsClient,
  GetLogEventsCommand,
  type GetLogEventsCommandOutput,
} from '@aws-sdk/client-cloudwatch-logs';
import type { LogLine, LogReader } from './log-reader.ts';

/** GetLogEvents answers at most 10,000 events per page. */
export const MAX_EVENTS_PER_PAGE = 10_000;
/** Pages read at most per tail. */
const MAX_PAGES = 5;
/** A page below this many bytes was not cut by the 1 MB page limit. */
const UNCUT_PAGE_BYTES = 900_000;
/** CloudWatch counts 26 bytes per event on top of the message. */
const EVENT_OVERHEAD_BYTES = 26;

const isNotFound = (error: unknown): boolean =>
  error instanceof Error && error.name === 'ResourceNotFoundException';

/**
 * Creates the reader. `clientFor(region)` gives the client of the stream's `awslogs-region`
 * (undefined: the Lambda's own region); one client per region is kept.
 *
 * @example
 * const logs = createCloudWatchLogReader((region) => new CloudWatchLogsClient(region ? { region } : {}));
 * await logs.readTail({ group: 'prefect', stream: 'prefect-logs/prefect/0f1e2d3c', region: undefined }, 200);
 */
export const createCloudWatchLogReader = (
  clientFor: (region: string | undefined) => CloudWatchLogsClient
): LogReader => {
  const clients = new Map<string, CloudWatchLogsClient>();
  const client = (region: string | undefined): CloudWatchLogsClient => {
    const key = region ?? '';
    let existing = clients.get(key);
    if (!existing) {
      existing = clientFor(region);
      clients.set(key, existing);
    }
    return existing;
  };

  return {
    async readTail(location, limit) {
      const wanted = Math.min(Math.max(0, Math.floor(limit)), MAX_EVENTS_PER_PAGE * MAX_PAGES);
      const lines: LogLine[] = [];
      let token: string | undefined;
      for (let page = 0; page < MAX_PAGES && lines.length < wanted; page += 1) {
        const asked = Math.min(wanted - lines.length, MAX_EVENTS_PER_PAGE);
        let output: GetLogEventsCommandOutput;
        try {
          output = await client(location.region).send(
            new GetLogEventsCommand({
              logGroupName: location.group,
              logStreamName: location.stream,
              startFromHead: false,
              limit: asked,
              ...(token === undefined ? {} : { nextToken: token }),
            })
          );
        } catch (error) {
          if (isNotFound(error)) return [];
          throw error;
        }
        const events = (output.events ?? []).flatMap((event) =>
          event.timestamp === undefined || event.message === undefined
            ? []
            : [{ timestamp: event.timestamp, message: event.message }]
        );
        lines.unshift(...events);
        const bytes = events.reduce(
          (sum, event) => sum + Buffer.byteLength(event.message, 'utf8') + EVENT_OVERHEAD_BYTES,
          0
        );
        const next = output.nextBackwardToken;
        const exhausted = events.length < asked && bytes < UNCUT_PAGE_BYTES;
        if (exhausted || next === undefined || next === token) break;
        token = next;
      }
      return lines.slice(-wanted);
    },
  };
};
