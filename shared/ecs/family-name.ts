import type { FlowRunContext } from '../jobs/ecs-job-configuration.ts';

/** ECS family names: 1–255 of letters, digits, `_` and `-`. */
const MAX_FAMILY_LENGTH = 255;
const INVALID_RUN = /[^a-zA-Z0-9_-]+/g;

/**
 * Replaces each run of characters ECS refuses in a family name with `-` and cuts it to 255
 * characters. A name that is already valid comes back unchanged (case included), so families
 * prefect-aws registered for validly named pools stay the same families.
 *
 * @example
 * ```ts
 * toValidFamily('prefect_My Pool.v2_5f1c'); // 'prefect_My-Pool-v2_5f1c'
 * ```
 */
export const toValidFamily = (name: string): string =>
  name.replace(INVALID_RUN, '-').slice(0, MAX_FAMILY_LENGTH);

/**
 * The task definition family: the templated `family` when set, else prefect-aws's
 * `prefect_<work pool>_<deployment id, or flow id without a deployment>`, made a valid ECS family.
 * prefect-aws computes the slug of that name but discards it, so a pool named `My Pool.v2` gets
 * "Family contains invalid characters" from ECS; we use the valid name. When the generated name is
 * too long, the pool part is shortened so the id at the end, which keeps families apart, survives.
 *
 * @example
 * ```ts
 * taskDefinitionFamily(undefined, { workPoolName: 'My Pool.v2', deploymentId: 'a1…', flowId: 'f…', flowRunId: 'r…' });
 * // 'prefect_My-Pool-v2_a1…'
 * ```
 */
export const taskDefinitionFamily = (
  templated: unknown,
  context: Pick<FlowRunContext, 'workPoolName' | 'deploymentId' | 'flowId'>
): string => {
  if (typeof templated === 'string' && templated !== '') return toValidFamily(templated);
  const suffix = `_${toValidFamily(context.deploymentId ?? context.flowId)}`;
  const pool = toValidFamily(`prefect_${context.workPoolName}`);
  return `${pool.slice(0, MAX_FAMILY_LENGTH - suffix.length)}${suffix}`;
};
