/** Variables (create, read by name) and flow-run logs (create, filter). */
import { normaliseDateTime, toMillis } from '../datetime.ts';
import { httpError } from '../http-errors.ts';
import { page } from '../limits.ts';
import type { RouteDefinition } from '../router.ts';
import { type LogRecord, newId, nowString, type VariableRecord } from '../store.ts';
import { logView, variableView } from '../views.ts';
import { bodyOf, type Json } from './lookups.ts';

const createVariable: RouteDefinition = {
  method: 'POST',
  path: '/variables/',
  handle: ({ store, body }) => {
    const input = bodyOf(body);
    const name = String(input.name);
    if ([...store.variables.values()].some((v) => v.name === name)) {
      throw httpError(409, `A variable with the name '${name}' already exists.`);
    }
    const now = nowString(store);
    const variable: VariableRecord = {
      id: newId(),
      created: now,
      updated: now,
      name,
      value: input.value ?? null,
      tags: (input.tags as string[] | undefined) ?? [],
    };
    store.variables.set(variable.id, variable);
    return { status: 201, body: variableView(variable) };
  },
};

const readVariableByName: RouteDefinition = {
  method: 'GET',
  path: '/variables/name/{name:str}',
  handle: ({ store, params }) => {
    const variable = [...store.variables.values()].find((v) => v.name === params.name);
    if (!variable) throw httpError(404, 'Variable not found.');
    return { status: 200, body: variableView(variable) };
  },
};

const createLogs: RouteDefinition = {
  method: 'POST',
  path: '/logs/',
  handle: ({ store, body }) => {
    const now = nowString(store);
    for (const item of (body as Json[] | undefined) ?? []) {
      const log: LogRecord = {
        id: newId(),
        created: now,
        updated: now,
        name: String(item.name),
        level: Number(item.level),
        message: String(item.message),
        timestamp: normaliseDateTime(String(item.timestamp)),
        flow_run_id: (item.flow_run_id as string | null | undefined) ?? null,
        task_run_id: (item.task_run_id as string | null | undefined) ?? null,
      };
      store.logs.push(log);
    }
    // FastAPI serialises the route's `None` result: a 201 whose body is `null`.
    return { status: 201, body: null };
  },
};

const filterLogs: RouteDefinition = {
  method: 'POST',
  path: '/logs/filter',
  handle: ({ store, body }) => {
    const input = bodyOf(body);
    const filter = (input.logs as Json | null | undefined) ?? {};
    const part = (key: string): Json => (filter[key] as Json | null | undefined) ?? {};
    const level = part('level');
    const timestamp = part('timestamp');
    const flowRunIds = part('flow_run_id').any_ as string[] | null | undefined;
    const taskRun = part('task_run_id');
    const text = part('text').query as string | null | undefined;
    const checks: Array<(log: LogRecord) => boolean> = [];
    if (typeof level.ge_ === 'number') checks.push((l) => l.level >= (level.ge_ as number));
    if (typeof level.le_ === 'number') checks.push((l) => l.level <= (level.le_ as number));
    if (typeof timestamp.before_ === 'string') {
      const before = toMillis(timestamp.before_);
      checks.push((l) => toMillis(l.timestamp) <= before);
    }
    if (typeof timestamp.after_ === 'string') {
      const after = toMillis(timestamp.after_);
      checks.push((l) => toMillis(l.timestamp) >= after);
    }
    if (flowRunIds)
      checks.push((l) => l.flow_run_id !== null && flowRunIds.includes(l.flow_run_id));
    const taskRunIds = taskRun.any_ as string[] | null | undefined;
    if (taskRunIds)
      checks.push((l) => l.task_run_id !== null && taskRunIds.includes(l.task_run_id));
    if (typeof taskRun.is_null_ === 'boolean') {
      const wantNull = taskRun.is_null_;
      checks.push((l) => (l.task_run_id === null) === wantNull);
    }
    if (text) checks.push((l) => l.message.toLowerCase().includes(text.toLowerCase()));
    const combine = filter.operator === 'or_' && checks.length > 0 ? 'some' : 'every';
    const direction = input.sort === 'TIMESTAMP_DESC' ? -1 : 1;
    const logs = store.logs
      .filter((log) => checks[combine]((check) => check(log)))
      .sort((a, b) => direction * (toMillis(a.timestamp) - toMillis(b.timestamp)));
    return { status: 200, body: page(logs, input).map(logView) };
  },
};

export const variableAndLogRoutes: readonly RouteDefinition[] = [
  createVariable,
  readVariableByName,
  createLogs,
  filterLogs,
];
