/**
 * An event as Prefect's `POST /events` takes it (the `Event` schema of the server's OpenAPI
 * document; `src/prefect/events/schemas/events.py`). Resources are flat string-to-string label maps.
 */

/** A resource: `prefect.resource.id` and other labels, every value a string. */
export type EventResource = Readonly<Record<string, string>>;

/** A resource in a role (`prefect.resource.role`), e.g. the event's flow run. */
export type RelatedResource = EventResource;

/** One event, serialised as Prefect's client sends it (`Event.model_dump(mode="json")`). */
export interface PrefectEvent {
  /** When it happened, ISO-8601 with an offset. */
  occurred: string;
  /** The name, e.g. `prefect.worker.submitted-flow-run`. */
  event: string;
  resource: EventResource;
  related: RelatedResource[];
  payload: Record<string, unknown>;
  /** A UUID chosen by the sender; the server keeps one event per id. */
  id: string;
  /** The id of an event known to have happened just before (within 5 minutes), or `null`. */
  follows: string | null;
}
