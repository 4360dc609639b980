import { cloneJson, getOwn, isJsonObject, type JsonObject } from './json-object.ts';
import { TemplateError } from './template-error.ts';

/**
 * Step A of Prefect's `resolve_for_flow_run`: the deployment's job variables, then the flow run's
 * on top. Every key is replaced whole, except `env`, which is merged key by key (the flow run wins)
 * when the deployment's `env` is an object. Dotted keys (`"env.FOO"`) are not special here; they are
 * expanded afterwards (`expandDottedKeys`).
 *
 * A flow-run `env` of `null` merges as `{}` (Python raises `TypeError` there). Inputs are not
 * modified.
 *
 * @example
 * mergeJobVariables(
 *   { image: 'etl:1', env: { A: '1', B: 'x' } },
 *   { env: { B: '2' }, cpu: 1024 }
 * ); // { image: 'etl:1', env: { A: '1', B: '2' }, cpu: 1024 }
 */
export const mergeJobVariables = (
  deploymentVariables: JsonObject,
  flowRunVariables: JsonObject
): JsonObject => {
  const merged = cloneJson(deploymentVariables);
  const flowRun = cloneJson(flowRunVariables);
  const deploymentEnv = getOwn(merged, 'env');
  if (isJsonObject(deploymentEnv) && Object.hasOwn(flowRun, 'env')) {
    const { env: flowRunEnv, ...rest } = flowRun;
    if (flowRunEnv !== null && !isJsonObject(flowRunEnv)) {
      throw new TemplateError(
        `The flow run's job variable "env" must be an object of environment variables, got ${JSON.stringify(flowRunEnv)}. Fix the job variables of the flow run.`,
        { variable: 'env' }
      );
    }
    return { ...merged, env: { ...deploymentEnv, ...(flowRunEnv ?? {}) }, ...rest };
  }
  return { ...merged, ...flowRun };
};
