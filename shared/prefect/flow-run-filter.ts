import type { StateType } from './schemas.ts';
import { checkLimit, compact, toIsoDateTime } from './wire.ts';

/** Sort orders of `POST /flow_runs/filter`. */
export type FlowRunSort =
  | 'ID_DESC'
  | 'START_TIME_ASC'
  | 'START_TIME_DESC'
  | 'EXPECTED_START_TIME_ASC'
  | 'EXPECTED_START_TIME_DESC'
  | 'NAME_ASC'
  | 'NAME_DESC'
  | 'NEXT_SCHEDULED_START_TIME_ASC'
  | 'END_TIME_DESC';

/**
 * A flow-run query. All criteria are ANDed; an omitted criterion does not filter. Each maps to one
 * field of Prefect's filter body (prefect-worker-api.md §3.2).
 */
export interface FlowRunFilterInput {
  /** `flow_runs.id.any_` */
  ids?: readonly string[];
  /** `flow_runs.id.not_any_`, e.g. runs already being handled. */
  excludeIds?: readonly string[];
  /** `flow_runs.state.type.any_`, e.g. `['CANCELLING']`. */
  stateTypes?: readonly StateType[];
  /** `flow_runs.state.name.any_`, e.g. the legacy `['Cancelling']`. */
  stateNames?: readonly string[];
  /** `flow_runs.start_time.is_null_`: `true` for runs the engine never started. */
  startTimeIsNull?: boolean;
  /** `flow_runs.end_time.after_`: runs that ended (reached a final state) at or after this time. */
  endTimeAfter?: Date;
  /** `flow_runs.deployment_id.any_` */
  deploymentIds?: readonly string[];
  /** `work_pools.name.any_` */
  workPoolNames?: readonly string[];
  /** `work_pool_queues.name.any_` */
  workQueueNames?: readonly string[];
  /** Default `ID_DESC` (server side). */
  sort?: FlowRunSort;
  /** 1–200 (server default 200). */
  limit?: number;
  offset?: number;
}

const nonEmpty = <T extends Record<string, unknown>>(object: T): T | undefined =>
  Object.keys(object).length > 0 ? object : undefined;

const anyOf = (values: readonly string[] | undefined) =>
  values === undefined ? undefined : { any_: values };

/**
 * Builds the body of `POST /flow_runs/filter`, leaving out every empty filter object.
 *
 * @example
 * toFlowRunFilterBody({ stateTypes: ['CANCELLING'], workPoolNames: ['ecs'] });
 * // { flow_runs: { state: { type: { any_: ['CANCELLING'] } } },
 * //   work_pools: { name: { any_: ['ecs'] } } }
 */
export const toFlowRunFilterBody = (filter: FlowRunFilterInput): Record<string, unknown> => {
  if (filter.offset !== undefined && (!Number.isInteger(filter.offset) || filter.offset < 0)) {
    throw new RangeError(`Prefect offset must be a non-negative integer, got ${filter.offset}`);
  }
  const id = nonEmpty(compact({ any_: filter.ids, not_any_: filter.excludeIds }));
  const state = nonEmpty(
    compact({ type: anyOf(filter.stateTypes), name: anyOf(filter.stateNames) })
  );
  const startTime =
    filter.startTimeIsNull === undefined ? undefined : { is_null_: filter.startTimeIsNull };
  const endTime =
    filter.endTimeAfter === undefined ? undefined : { after_: toIsoDateTime(filter.endTimeAfter) };
  const flowRuns = nonEmpty(
    compact({
      id,
      state,
      start_time: startTime,
      end_time: endTime,
      deployment_id: anyOf(filter.deploymentIds),
    })
  );
  const workPools = filter.workPoolNames && { name: anyOf(filter.workPoolNames) };
  const workPoolQueues = filter.workQueueNames && { name: anyOf(filter.workQueueNames) };
  return compact({
    flow_runs: flowRuns,
    work_pools: workPools,
    work_pool_queues: workPoolQueues,
    sort: filter.sort,
    limit: checkLimit(filter.limit),
    offset: filter.offset,
  });
};
