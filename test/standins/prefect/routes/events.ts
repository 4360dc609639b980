/**
 * `POST /events`: the body is already validated against the OpenAPI `Event` schema; this adds the
 * server model's own checks (src/prefect/server/events/schemas/events.py: a resource needs a
 * non-empty `prefect.resource.id`, a related resource a non-empty `prefect.resource.role`, at most
 * 500 labels per resource, 100 related resources, 1024 characters of event name) and stores each
 * event once per id, as the server's `write_events` does (`on_conflict_do_nothing`). 204.
 */
import { normaliseDateTime } from '../datetime.ts';
import { requestValidationError } from '../http-errors.ts';
import type { RouteDefinition } from '../router.ts';
import type { EventRecord } from '../store.ts';
import { nowString } from '../store.ts';
import type { ValidationIssue } from '../validation-issues.ts';
import type { Json } from './lookups.ts';

/** The server's defaults (`ServerEventsSettings`). */
const MAXIMUM_LABELS_PER_RESOURCE = 500;
const MAXIMUM_RELATED_RESOURCES = 100;
const MAXIMUM_EVENT_NAME_LENGTH = 1024;

const valueError = (loc: Array<string | number>, msg: string, input: unknown): ValidationIssue => ({
  type: 'value_error',
  loc,
  msg: `Value error, ${msg}`,
  input,
  ctx: { error: {} },
});

const resourceIssues = (
  resource: Record<string, string>,
  loc: Array<string | number>,
  related: boolean
): ValidationIssue[] => {
  if (Object.keys(resource).length > MAXIMUM_LABELS_PER_RESOURCE) {
    return [
      valueError(
        loc,
        `The maximum number of labels per resource is ${MAXIMUM_LABELS_PER_RESOURCE}`,
        resource
      ),
    ];
  }
  if (!Object.hasOwn(resource, 'prefect.resource.id')) {
    return [valueError(loc, 'Resources must include the prefect.resource.id label', resource)];
  }
  if (!resource['prefect.resource.id']) {
    return [valueError(loc, 'The prefect.resource.id label must be non-empty', resource)];
  }
  if (!related) return [];
  if (!Object.hasOwn(resource, 'prefect.resource.role')) {
    return [
      valueError(loc, 'Related Resources must include the prefect.resource.role label', resource),
    ];
  }
  if (!resource['prefect.resource.role']) {
    return [valueError(loc, 'The prefect.resource.role label must be non-empty', resource)];
  }
  return [];
};

const eventIssues = (event: Json, index: number): ValidationIssue[] => {
  const issues: ValidationIssue[] = [];
  const name = String(event.event);
  if (name.length > MAXIMUM_EVENT_NAME_LENGTH) {
    issues.push(
      valueError(
        ['body', index, 'event'],
        `Event name must be at most ${MAXIMUM_EVENT_NAME_LENGTH} characters`,
        name
      )
    );
  }
  issues.push(
    ...resourceIssues(event.resource as Record<string, string>, ['body', index, 'resource'], false)
  );
  const related = (event.related as Record<string, string>[] | undefined) ?? [];
  if (related.length > MAXIMUM_RELATED_RESOURCES) {
    issues.push(
      valueError(
        ['body', index, 'related'],
        `The maximum number of related resources is ${MAXIMUM_RELATED_RESOURCES}`,
        related
      )
    );
  } else {
    related.forEach((resource, at) => {
      issues.push(...resourceIssues(resource, ['body', index, 'related', at], true));
    });
  }
  return issues;
};

const createEvents: RouteDefinition = {
  method: 'POST',
  path: '/events',
  handle: ({ store, body }) => {
    const events = (body as Json[] | undefined) ?? [];
    const issues = events.flatMap(eventIssues);
    if (issues.length > 0) throw requestValidationError(issues, body);
    const received = nowString(store);
    for (const event of events) {
      const id = String(event.id).toLowerCase();
      if (store.events.some((stored) => stored.id === id)) continue;
      const record: EventRecord = {
        id,
        occurred: normaliseDateTime(String(event.occurred)),
        event: String(event.event),
        resource: event.resource as Record<string, string>,
        related: (event.related as Record<string, string>[] | undefined) ?? [],
        payload: (event.payload as Record<string, unknown> | undefined) ?? {},
        follows: (event.follows as string | null | undefined) ?? null,
        received,
      };
      store.events.push(record);
    }
    return { status: 204 };
  },
};

export const eventRoutes: readonly RouteDefinition[] = [createEvents];
