/** Flows: create (or return the existing flow of that name), read by id or name. */
import { notFound } from '../http-errors.ts';
import type { RouteDefinition } from '../router.ts';
import { type FlowRecord, newId, nowString } from '../store.ts';
import { flowView } from '../views.ts';
import { bodyOf, canonicalId } from './lookups.ts';

const create: RouteDefinition = {
  method: 'POST',
  path: '/flows/',
  handle: ({ store, body }) => {
    const input = bodyOf(body);
    const name = String(input.name);
    const existing = [...store.flows.values()].find((flow) => flow.name === name);
    if (existing) return { status: 200, body: flowView(existing) };
    const now = nowString(store);
    const flow: FlowRecord = {
      id: newId(),
      created: now,
      updated: now,
      name,
      tags: (input.tags as string[] | undefined) ?? [],
      labels: (input.labels as Record<string, unknown> | null | undefined) ?? {},
    };
    store.flows.set(flow.id, flow);
    return { status: 201, body: flowView(flow) };
  },
};

const read: RouteDefinition = {
  method: 'GET',
  path: '/flows/{id:uuid}',
  handle: ({ store, params }) => {
    const flow = store.flows.get(canonicalId(params.id ?? ''));
    if (!flow) throw notFound('Flow not found');
    return { status: 200, body: flowView(flow) };
  },
};

const readByName: RouteDefinition = {
  method: 'GET',
  path: '/flows/name/{name}',
  handle: ({ store, params }) => {
    const flow = [...store.flows.values()].find((f) => f.name === params.name);
    if (!flow) throw notFound('Flow not found');
    return { status: 200, body: flowView(flow) };
  },
};

export const flowRoutes: readonly RouteDefinition[] = [create, read, readByName];
