/**
 * Forwards the last lines a task wrote to CloudWatch into the flow run's Prefect logs, for runs that
 * crashed before the flow started (the engine had no chance to send its own logs): the stream comes
 * from the task definition's awslogs configuration (one DescribeTaskDefinition), the lines from one
 * GetLogEvents, and they reach Prefect as `POST /logs/` batches. prefect-aws's observer does the same
 * (prefect-ecs-worker.md §3.1).
 */
import type { EcsApi } from '../ecs/ecs-api.ts';
import type { PrefectClient } from '../prefect/client.ts';
import type { LogInput } from '../prefect/log-calls.ts';
import { flowContainers } from './flow-run-id-from-event.ts';
import { batchLogs } from './log-batches.ts';
import type { LogReader } from './log-reader.ts';
import { logStreamOfContainer } from './log-stream.ts';
import { type TaskStateChangeEvent, taskIdOf } from './task-state-change-event.ts';

/** The logger name the lines carry in Prefect (the one Prefect's workers log run messages under). */
export const FORWARDED_LOG_NAME = 'prefect.flow_runs.worker';

const INFO = 20;
const WARNING = 30;

/** I/O of {@link forwardLogTail}. */
export interface LogTailDeps {
  ecs: Pick<EcsApi, 'describeTaskDefinition'>;
  logs: LogReader;
  prefect: Pick<PrefectClient, 'createLogs'>;
}

/** What was forwarded. */
export interface LogTailResult {
  /** Log lines posted (the header lines not counted). */
  lines: number;
  /** `POST /logs/` requests made. */
  requests: number;
  /** `<group>:<stream>` of every stream read. */
  streams: string[];
  /** Why a container's stream was not read. */
  skipped: string[];
}

/**
 * Reads the last `limit` lines of each flow container's awslogs stream and posts them, after a
 * header naming the stream, as logs of `flowRunId`. Nothing is posted for empty or missing streams.
 * Throws when ECS, CloudWatch or Prefect fail; the caller decides whether that matters.
 *
 * @example
 * await forwardLogTail(event, flowRunId, { ecs, logs, prefect }, 200);
 * // { lines: 37, requests: 1, streams: ['prefect:prefect-logs/prefect/0f1e…'], skipped: [] }
 */
export const forwardLogTail = async (
  event: TaskStateChangeEvent,
  flowRunId: string,
  deps: LogTailDeps,
  limit: number
): Promise<LogTailResult> => {
  const result: LogTailResult = { lines: 0, requests: 0, streams: [], skipped: [] };
  const { detail } = event;
  const names = flowContainers(detail).map((container) => container.name);
  if (names.length === 0) {
    result.skipped.push('ECS reported no containers for the task');
    return result;
  }
  const described = await deps.ecs.describeTaskDefinition(detail.taskDefinitionArn);
  if (!described) {
    result.skipped.push(`task definition ${detail.taskDefinitionArn} not found`);
    return result;
  }
  const logs: LogInput[] = [];
  for (const name of names) {
    const lookup = logStreamOfContainer(described.taskDefinition, name, detail.taskArn);
    if (!lookup.found) {
      result.skipped.push(lookup.reason);
      continue;
    }
    const { group, stream } = lookup.location;
    result.streams.push(`${group}:${stream}`);
    const lines = await deps.logs.readTail(lookup.location, limit);
    const [first] = lines;
    if (!first) continue;
    logs.push({
      name: FORWARDED_LOG_NAME,
      level: WARNING,
      message: `ECS task ${taskIdOf(detail.taskArn)} stopped before the flow started. The last ${lines.length} line(s) container '${name}' wrote to CloudWatch Logs (group ${group}, stream ${stream}) follow.`,
      timestamp: new Date(first.timestamp - 1),
      flowRunId,
    });
    for (const line of lines) {
      logs.push({
        name: FORWARDED_LOG_NAME,
        level: INFO,
        message: line.message,
        timestamp: new Date(line.timestamp),
        flowRunId,
      });
    }
    result.lines += lines.length;
  }
  for (const batch of batchLogs(logs)) {
    await deps.prefect.createLogs(batch);
    result.requests += 1;
  }
  return result;
};
