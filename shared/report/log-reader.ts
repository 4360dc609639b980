/**
 * Reads the end of a CloudWatch Logs stream, as a port: the reporter forwards the last lines a task
 * wrote when its run crashed before the flow started. The adapter is `createCloudWatchLogReader`;
 * tests use the AWS stand-in's CloudWatch Logs or a small fake.
 */

/** One log event. */
export interface LogLine {
  /** Epoch milliseconds, as CloudWatch stores it. */
  timestamp: number;
  message: string;
}

/** Where a container's awslogs output goes. */
export interface LogStreamLocation {
  group: string;
  stream: string;
  /** `awslogs-region`; undefined means the reporter's own region. */
  region: string | undefined;
}

/** The port. */
export interface LogReader {
  /**
   * The last `limit` events of the stream, oldest first; `[]` when the group or the stream does
   * not exist (a container that never started writes none). Other failures throw.
   */
  readTail(location: LogStreamLocation, limit: number): Promise<LogLine[]>;
}
