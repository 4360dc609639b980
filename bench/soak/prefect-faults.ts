/**
 * The schedule's faults on the Lambdas' Prefect calls about one run, armed on the Prefect stand-in
 * (`faults.inject`) for that run's paths only and only for calls without the soak actor header
 * (`isLambdaCall`): the engine, the user and the inspector are never hit.
 *
 * | call        | request                                            | made by                                   |
 * |-------------|----------------------------------------------------|-------------------------------------------|
 * | `set-state` | `POST /flow_runs/<id>/set_state`                   | poller (claim, cancel), launcher (CRASHED), reporter |
 * | `pid`       | `PATCH /flow_runs/<id>`                            | launcher (`infrastructure_pid`), reporter |
 * | `read`      | `GET /flow_runs/<id>`                              | launcher, reporter                        |
 * | `labels`    | `PATCH /flow_runs/<id>/labels`                     | poller, launcher, orphan sweep            |
 * | `states`    | `GET /flow_run_states/?flow_run_id=<id>`           | launcher, reporter, cancel sweep          |
 *
 * Failures: `503` / `500` before handling; `503-after` and `drop-after` after handling (the write
 * happened, the answer is lost); `drop` (no answer, nothing written); `slow` (no failure: the
 * request is held `stallMs`, then handled). `stallMs` holds the failing answer (or the slow
 * request) first, so the world moves on before the Lambda sees it and retries.
 */
import type { EndToEndWorld } from '../../test/integration/end-to-end-fixtures.ts';
import type { FaultRule } from '../../test/standins/prefect/server.ts';
import type { Journal } from './journal.ts';
import { isLambdaCall } from './people.ts';
import type { PrefectFaultPlan } from './run-script.ts';

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** The stand-in rule of a planned fault (`onFire` runs as the fault fires, before any stall). */
export const faultRule = (
  runId: string,
  plan: Pick<PrefectFaultPlan, 'call' | 'failure' | 'times' | 'stallMs'>,
  onFire?: () => void | Promise<void>
): FaultRule => {
  const target: Pick<FaultRule, 'method' | 'path'> & { query?: string } = (() => {
    switch (plan.call) {
      case 'set-state':
        return { method: 'POST', path: `/flow_runs/${runId}/set_state` };
      case 'pid':
        return { method: 'PATCH', path: `/flow_runs/${runId}` };
      case 'read':
        return { method: 'GET', path: `/flow_runs/${runId}` };
      case 'labels':
        return { method: 'PATCH', path: `/flow_runs/${runId}/labels` };
      default:
        return { method: 'GET', path: '/flow_run_states/', query: `flow_run_id=${runId}` };
    }
  })();
  const failure = {
    '503': { status: 503 },
    '500': { status: 500 },
    '503-after': { status: 503, afterHandling: true },
    drop: { status: 0, dropConnection: true },
    'drop-after': { status: 0, dropConnection: true, afterHandling: true },
    slow: {},
  }[plan.failure];
  return {
    method: target.method,
    path: target.path,
    ...failure,
    times: plan.times,
    when: (request) =>
      isLambdaCall(request) && (target.query === undefined || request.url.includes(target.query)),
    onFire: async () => {
      await onFire?.();
      if (plan.stallMs > 0) await sleep(plan.stallMs);
    },
  };
};

/** Arms one planned fault for the run and notes it in the journal. */
export const armPrefectFault = (
  world: EndToEndWorld,
  journal: Journal,
  runId: string,
  plan: PrefectFaultPlan
): void => {
  const what = `prefect ${plan.call}:${plan.failure}×${plan.times}${plan.stallMs ? ` stall ${plan.stallMs} ms` : ''}`;
  world.prefect.faults.inject(
    faultRule(runId, plan, () => {
      journal.faults.push({ at: Date.now(), runId, what: `fired: ${what}` });
    })
  );
  journal.faults.push({ at: Date.now(), runId, what: `armed: ${what}` });
};
