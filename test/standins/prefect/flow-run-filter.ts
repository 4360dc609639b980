/**
 * `POST /flow_runs/filter`: the filter objects of `schemas/filters.py` evaluated in memory. Each
 * filter combines its criteria with its `operator` (`and_` by default); leaf criteria support the
 * operators below. A criterion the stand-in does not evaluate answers 501, never a silent match.
 */
import { toMillis } from './datetime.ts';
import { HttpError } from './http-errors.ts';
import type { FlowRunRecord, Store } from './store.ts';
import { poolOfRun } from './views.ts';

type Json = Record<string, unknown>;
type Value = unknown;

/** Field accessors of one filter object: a function for a leaf criterion, an object for a nested filter. */
interface Fields {
  readonly [name: string]: ((run: FlowRunRecord) => Value) | Fields;
}

const notImplemented = (what: string): HttpError =>
  new HttpError(501, { detail: `Prefect stand-in: filter ${what} is not implemented` });

const isObject = (value: unknown): value is Json =>
  value !== null && typeof value === 'object' && !Array.isArray(value);

const asTime = (value: Value): number | null =>
  typeof value === 'string' ? toMillis(value) : null;

const leafOperators: Record<string, (value: Value, operand: Value) => boolean> = {
  any_: (value, operand) =>
    Array.isArray(value)
      ? value.some((v) => (operand as Value[]).includes(v))
      : (operand as Value[]).includes(value),
  not_any_: (value, operand) => value !== null && !(operand as Value[]).includes(value),
  all_: (value, operand) =>
    Array.isArray(value) && (operand as Value[]).every((v) => value.includes(v)),
  is_null_: (value, operand) => {
    const isNull = value === null || (Array.isArray(value) && value.length === 0);
    return operand ? isNull : !isNull;
  },
  like_: (value, operand) =>
    typeof value === 'string' && value.toLowerCase().includes(String(operand).toLowerCase()),
  startswith_: (value, operand) =>
    typeof value === 'string' &&
    (operand as Value[]).some((prefix) =>
      value.toLowerCase().startsWith(String(prefix).toLowerCase())
    ),
  before_: (value, operand) => {
    const time = asTime(value);
    return time !== null && time <= toMillis(String(operand));
  },
  after_: (value, operand) => {
    const time = asTime(value);
    return time !== null && time >= toMillis(String(operand));
  },
  eq_: (value, operand) => value === operand,
  ge_: (value, operand) => typeof value === 'number' && value >= Number(operand),
  le_: (value, operand) => typeof value === 'number' && value <= Number(operand),
};

const combine = (operator: unknown, results: boolean[]): boolean =>
  operator === 'or_' ? results.length === 0 || results.some(Boolean) : results.every(Boolean);

const evaluate = (run: FlowRunRecord, filter: Json, fields: Fields, path: string): boolean => {
  const results: boolean[] = [];
  for (const [key, criterion] of Object.entries(filter)) {
    if (key === 'operator' || criterion === null || criterion === undefined) continue;
    const field = fields[key];
    if (!field) throw notImplemented(`${path}.${key}`);
    if (typeof field !== 'function') {
      results.push(evaluate(run, criterion as Json, field, `${path}.${key}`));
      continue;
    }
    const value = field(run);
    const leaf: boolean[] = [];
    for (const [op, operand] of Object.entries(criterion as Json)) {
      if (op === 'operator' || operand === null || operand === undefined) continue;
      const apply = leafOperators[op];
      if (!apply) throw notImplemented(`${path}.${key}.${op}`);
      leaf.push(apply(value, operand));
    }
    results.push(combine((criterion as Json).operator, leaf));
  }
  return combine(filter.operator, results);
};

/** Throws 501 for any criterion or operator the evaluator does not know, even with no runs. */
const checkSupported = (filter: Json, fields: Fields, path: string): void => {
  for (const [key, criterion] of Object.entries(filter)) {
    if (key === 'operator' || criterion === null || criterion === undefined) continue;
    const field = fields[key];
    if (!field) throw notImplemented(`${path}.${key}`);
    if (typeof field !== 'function') {
      checkSupported(criterion as Json, field, `${path}.${key}`);
      continue;
    }
    for (const [op, operand] of Object.entries(criterion as Json)) {
      if (op === 'operator' || operand === null || operand === undefined) continue;
      if (!leafOperators[op]) throw notImplemented(`${path}.${key}.${op}`);
    }
  }
};

const flowRunFields: Fields = {
  id: (run) => run.id,
  name: (run) => run.name,
  tags: (run) => run.tags,
  deployment_id: (run) => run.deployment_id,
  work_queue_name: (run) => run.work_queue_name,
  state: { type: (run) => run.state_type, name: (run) => run.state_name },
  flow_version: (run) => run.flow_version,
  start_time: (run) => run.start_time,
  end_time: (run) => run.end_time,
  expected_start_time: (run) => run.expected_start_time,
  next_scheduled_start_time: (run) => run.next_scheduled_start_time,
  parent_task_run_id: (run) => run.parent_task_run_id,
  idempotency_key: (run) => run.idempotency_key,
};

const relatedFilters = (
  store: Store
): Record<string, { fields: Fields; exists: (run: FlowRunRecord) => boolean }> => ({
  flow_runs: { fields: flowRunFields, exists: () => true },
  flows: {
    fields: {
      id: (run) => run.flow_id,
      name: (run) => store.flows.get(run.flow_id)?.name ?? null,
      tags: (run) => store.flows.get(run.flow_id)?.tags ?? [],
    },
    exists: (run) => store.flows.has(run.flow_id),
  },
  deployments: {
    fields: {
      id: (run) => run.deployment_id,
      name: (run) =>
        (run.deployment_id ? store.deployments.get(run.deployment_id)?.name : null) ?? null,
      tags: (run) =>
        (run.deployment_id ? store.deployments.get(run.deployment_id)?.tags : []) ?? [],
    },
    exists: (run) => run.deployment_id !== null && store.deployments.has(run.deployment_id),
  },
  work_pools: {
    fields: {
      id: (run) => poolOfRun(store, run)?.id ?? null,
      name: (run) => poolOfRun(store, run)?.name ?? null,
      type: (run) => poolOfRun(store, run)?.type ?? null,
    },
    exists: (run) => poolOfRun(store, run) !== undefined,
  },
  work_pool_queues: {
    fields: {
      id: (run) => run.work_queue_id,
      name: (run) =>
        (run.work_queue_id ? store.workQueues.get(run.work_queue_id)?.name : null) ?? null,
    },
    exists: (run) => run.work_queue_id !== null && store.workQueues.has(run.work_queue_id),
  },
});

type Sorter = (a: FlowRunRecord, b: FlowRunRecord) => number;

const byTime =
  (get: (run: FlowRunRecord) => string | null, direction: 1 | -1): Sorter =>
  (a, b) => {
    const x = get(a);
    const y = get(b);
    if (x === null || y === null) return x === y ? 0 : x === null ? 1 : -1;
    return direction * (toMillis(x) - toMillis(y));
  };

const startOrExpected = (run: FlowRunRecord) => run.start_time ?? run.expected_start_time;

const SORTS: Record<string, Sorter> = {
  ID_DESC: (a, b) => (a.id < b.id ? 1 : a.id > b.id ? -1 : 0),
  START_TIME_ASC: byTime(startOrExpected, 1),
  START_TIME_DESC: byTime(startOrExpected, -1),
  EXPECTED_START_TIME_ASC: byTime((run) => run.expected_start_time, 1),
  EXPECTED_START_TIME_DESC: byTime((run) => run.expected_start_time, -1),
  NAME_ASC: (a, b) => a.name.localeCompare(b.name),
  NAME_DESC: (a, b) => b.name.localeCompare(a.name),
  NEXT_SCHEDULED_START_TIME_ASC: byTime((run) => run.next_scheduled_start_time, 1),
  END_TIME_DESC: byTime((run) => run.end_time, -1),
};

/** The runs matching a validated `Body_read_flow_runs_flow_runs_filter_post`, sorted, not paged. */
export const filterFlowRuns = (store: Store, body: Json): FlowRunRecord[] => {
  if (body.task_runs !== null && body.task_runs !== undefined) {
    throw notImplemented('task_runs');
  }
  const related = relatedFilters(store);
  for (const [key, { fields }] of Object.entries(related)) {
    const filter = body[key];
    if (isObject(filter)) checkSupported(filter, fields, key);
  }
  const matches = [...store.flowRuns.values()].filter((run) =>
    Object.entries(related).every(([key, { fields, exists }]) => {
      const filter = body[key];
      if (!isObject(filter)) return true;
      return exists(run) && evaluate(run, filter, fields, key);
    })
  );
  const sort = SORTS[typeof body.sort === 'string' ? body.sort : 'ID_DESC'];
  return sort ? matches.sort(sort) : matches;
};
