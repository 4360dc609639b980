import type { HttpTransport } from './http.ts';
import type { Redactor } from './redact.ts';
import { compact, type DateTimeInput, toIsoDateTime } from './wire.ts';

/** One log line for a flow run (`LogCreate`). */
export interface LogInput {
  /** Logger name, e.g. `prefect.flow_runs.worker`. */
  name: string;
  /** Python logging level: 10 DEBUG, 20 INFO, 30 WARNING, 40 ERROR, 50 CRITICAL. */
  level: number;
  message: string;
  timestamp: DateTimeInput;
  flowRunId?: string | null;
  taskRunId?: string | null;
}

/** Log calls. */
export interface LogCalls {
  /**
   * `POST /logs/` (201). Sends only `LogCreate` fields: never `worker_id`, which OSS servers
   * reject with 422. An empty list makes no request. The client's own credentials are replaced
   * with `[REDACTED]` in every message (a forwarded container log line may print them).
   */
  createLogs(logs: readonly LogInput[]): Promise<void>;
}

/** Binds the log calls to a transport; `redact` scrubs the client's credentials from messages. */
export const createLogCalls = (
  http: HttpTransport,
  redact: Redactor = (text) => text
): LogCalls => ({
  async createLogs(logs) {
    if (logs.length === 0) return;
    await http.send({
      operation: 'createLogs',
      method: 'POST',
      path: '/logs/',
      body: logs.map((log) =>
        compact({
          name: log.name,
          level: log.level,
          message: redact(log.message),
          timestamp: toIsoDateTime(log.timestamp),
          flow_run_id: log.flowRunId,
          task_run_id: log.taskRunId,
        })
      ),
    });
  },
});
