/**
 * Check: each pool of `PREFECT_WORK_POOLS` exists and is of type `ecs` (the launcher only runs ECS
 * pools, whose base job template it renders).
 */
import { isNotFound } from '../prefect/prefect-api-error.ts';
import type { WorkPool } from '../prefect/schemas.ts';
import type { WorkPoolCalls } from '../prefect/work-pool-calls.ts';
import { type CheckResult, describeFailure, fail, pass } from './check-result.ts';

export const workPoolCheckName = (pool: string): string => `Work pool '${pool}'`;

/** What reading the pool gave. */
export type WorkPoolOutcome =
  | { ok: true; pool: WorkPool }
  | { ok: false; missing: true }
  | { ok: false; missing: false; error: unknown };

/** Reads the pool. */
export const readPool = async (
  prefect: Pick<WorkPoolCalls, 'readWorkPool'>,
  name: string
): Promise<WorkPoolOutcome> => {
  try {
    return { ok: true, pool: await prefect.readWorkPool(name) };
  } catch (error) {
    if (isNotFound(error)) return { ok: false, missing: true };
    return { ok: false, missing: false, error };
  }
};

const createCommand = (name: string): string =>
  `prefect work-pool create --type ecs ${/^[\w.-]+$/.test(name) ? name : `'${name.replaceAll("'", "'\\''")}'`}`;

/** The verdict (pure). */
export const decideWorkPool = (name: string, outcome: WorkPoolOutcome): CheckResult => {
  const check = workPoolCheckName(name);
  if (outcome.ok) {
    const { pool } = outcome;
    if (pool.type !== 'ecs') {
      return fail(
        check,
        `is of type '${pool.type}', not 'ecs'`,
        `Remove '${name}' from PREFECT_WORK_POOLS, or serve an ECS pool under another name: \`prefect work-pool create --type ecs <name>\`, put <name> in PREFECT_WORK_POOLS and move the deployments to it.`
      );
    }
    return pass(
      check,
      `type ecs${pool.is_paused ? ' (paused: no runs are claimed until it is resumed)' : ''}`
    );
  }
  if (outcome.missing) {
    return fail(
      check,
      'does not exist',
      `\`${createCommand(name)}\`, or correct PREFECT_WORK_POOLS.`
    );
  }
  return fail(check, describeFailure(outcome.error), 'Check that the Prefect API is reachable.');
};
