import type { PrefectEvent } from '../events/prefect-event.ts';
import type { HttpTransport } from './http.ts';

/** Event calls. */
export interface EventCalls {
  /**
   * `POST /events` (204): records a batch of events (`create_events`, src/prefect/server/api/
   * events.py). An empty list makes no request. The server keeps one event per `id` (a batch sent
   * again adds nothing), so the request may be resent like a read.
   *
   * Prefect Cloud takes the same list at `POST …/workspaces/<id>/events` ("Create Workspace Events"
   * of its REST API), which is this path under a Cloud `PREFECT_API_URL`. Prefect's own client
   * streams events over the `/events/in` websocket instead (`PrefectEventsClient`,
   * src/prefect/events/clients.py), on Cloud and self-hosted alike: a Lambda sends a handful per
   * invocation, for which one POST costs less than opening a socket.
   */
  emitEvents(events: readonly PrefectEvent[]): Promise<void>;
}

/** Binds the event calls to a transport. */
export const createEventCalls = (http: HttpTransport): EventCalls => ({
  async emitEvents(events) {
    if (events.length === 0) return;
    await http.send({ operation: 'emitEvents', method: 'POST', path: '/events', body: events });
  },
});
