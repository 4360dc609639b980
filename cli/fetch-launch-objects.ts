/**
 * `render --flow-run <id>`: the run's objects read from Prefect as the launcher reads them (run,
 * deployment, flow, work pool), and lookups that read its template's blocks and variables there.
 */
import { createTemplateLookups } from '../shared/jobs/create-template-lookups.ts';
import type { TemplateLookups } from '../shared/jobs/template-lookups.ts';
import type { LaunchObjects } from '../shared/launch/render-launch-requests.ts';
import { createPrefectClient, type PrefectClient } from '../shared/prefect/client.ts';
import { isNotFound } from '../shared/prefect/prefect-api-error.ts';
import { PrefectError } from '../shared/prefect/prefect-error.ts';
import { CommandError, UsageError } from './cli-command.ts';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** A CLI waits less than a Lambda: a few quick retries, then the error. */
const CLIENT_LIMITS = { maxRetries: 2, maxDelayMs: 2_000, timeoutMs: 15_000, deadlineMs: 30_000 };

const apiUrlOf = (env: Readonly<Record<string, string | undefined>>): string => {
  const apiUrl = env.PREFECT_API_URL?.trim();
  if (!apiUrl) {
    throw new UsageError(
      '--flow-run reads from Prefect: set PREFECT_API_URL (e.g. http://localhost:4200/api, or https://api.prefect.cloud/api/accounts/<account>/workspaces/<workspace> with PREFECT_API_KEY).'
    );
  }
  let url: URL;
  try {
    url = new URL(apiUrl);
  } catch {
    throw new UsageError(`PREFECT_API_URL must be an absolute http(s) URL, got '${apiUrl}'.`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new UsageError(`PREFECT_API_URL must be an absolute http(s) URL, got '${apiUrl}'.`);
  }
  return apiUrl;
};

/** Prefect errors become one actionable line (the client never quotes credentials). */
const reading = async <T>(what: string, read: () => Promise<T>): Promise<T> => {
  try {
    return await read();
  } catch (error) {
    if (error instanceof PrefectError) {
      throw new CommandError(`could not read ${what} from Prefect: ${error.message}`);
    }
    throw error;
  }
};

/** Lookups whose Prefect failures (other than "does not exist") become a {@link CommandError}. */
const commandLookups = (lookups: TemplateLookups): TemplateLookups => ({
  readVariable: (name) => reading(`variable '${name}'`, () => lookups.readVariable(name)),
  readBlockDocument: (id) => reading(`block document ${id}`, () => lookups.readBlockDocument(id)),
  readBlockDocumentByName: (slug, name) =>
    reading(`block '${slug}/${name}'`, () => lookups.readBlockDocumentByName(slug, name)),
});

/** Reads the run's objects; exposed with the client for tests. */
export const readLaunchObjects = async (
  prefect: PrefectClient,
  flowRunId: string,
  apiUrl: string
): Promise<LaunchObjects> => {
  const flowRun = await reading(`flow run ${flowRunId}`, async () => {
    try {
      return await prefect.readFlowRun(flowRunId);
    } catch (error) {
      if (isNotFound(error)) {
        throw new CommandError(`flow run ${flowRunId} was not found at ${apiUrl}.`);
      }
      throw error;
    }
  });
  const poolName = flowRun.work_pool_name;
  if (poolName === null) {
    throw new CommandError(
      `flow run ${flowRunId} has no work pool (work_pool_name is null): the launcher only launches runs of an ECS work pool.`
    );
  }
  const deploymentId = flowRun.deployment_id;
  const [deployment, flow, workPool] = await Promise.all([
    deploymentId === null
      ? null
      : reading(`deployment ${deploymentId}`, async () => {
          try {
            return await prefect.readDeployment(deploymentId);
          } catch (error) {
            if (isNotFound(error)) {
              throw new CommandError(
                `deployment ${deploymentId} of flow run ${flowRunId} no longer exists: the launcher would cancel the run ("Deployment ${deploymentId} no longer exists, cancelled run.").`
              );
            }
            throw error;
          }
        }),
    reading(`flow ${flowRun.flow_id}`, () => prefect.readFlow(flowRun.flow_id)),
    reading(`work pool '${poolName}'`, () => prefect.readWorkPool(poolName)),
  ]);
  return { workPool, deployment, flow, flowRun };
};

/**
 * Reads the run's objects from `PREFECT_API_URL` (`PREFECT_API_AUTH_STRING`, else
 * `PREFECT_API_KEY`), and lookups for its blocks and variables. Throws `UsageError` for a bad id or
 * URL, `CommandError` when Prefect does not have the objects or cannot be read.
 *
 * @example
 * const { objects, lookups } = await fetchLaunchObjects(flowRunId, process.env);
 */
export const fetchLaunchObjects = async (
  flowRunId: string,
  env: Readonly<Record<string, string | undefined>>
): Promise<{ objects: LaunchObjects; lookups: TemplateLookups }> => {
  if (!UUID.test(flowRunId)) {
    throw new UsageError(`--flow-run takes a flow run id (a UUID), got '${flowRunId}'.`);
  }
  const apiUrl = apiUrlOf(env);
  const authString = env.PREFECT_API_AUTH_STRING?.trim();
  const apiKey = env.PREFECT_API_KEY?.trim();
  const prefect = createPrefectClient({
    apiUrl,
    ...(authString ? { authString } : {}),
    ...(apiKey ? { apiKey } : {}),
    ...CLIENT_LIMITS,
  });
  const objects = await readLaunchObjects(prefect, flowRunId, apiUrl);
  return { objects, lookups: commandLookups(createTemplateLookups(prefect)) };
};
