/**
 * The input file of `render --input`: the Prefect API objects of one flow run as the API returns
 * them, plus the variables and blocks its template's placeholders read. Parsed with the Prefect
 * client's own response schemas, so a file made from real API answers always parses.
 */
import * as z from 'zod';
import type { BlockData, TemplateLookups } from '../shared/jobs/template-lookups.ts';
import type { LaunchObjects } from '../shared/launch/render-launch-requests.ts';
import {
  DeploymentSchema,
  FlowRunSchema,
  FlowSchema,
  WorkPoolSchema,
} from '../shared/prefect/schemas.ts';
import { UsageError } from './cli-command.ts';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const SLUG_AND_NAME = /^[^/]+\/.+$/;

/** Where each object comes from, for messages about a missing one. */
const SOURCES: Readonly<Record<string, string>> = {
  work_pool: 'the work pool as GET /api/work_pools/{name} returns it',
  deployment:
    'the deployment as GET /api/deployments/{id} returns it, or null for a run without one',
  flow: 'the flow as GET /api/flows/{id} returns it',
  flow_run: 'the flow run as GET /api/flow_runs/{id} returns it',
};

const BlocksSchema = z.record(
  z
    .string()
    .refine(
      (key) => SLUG_AND_NAME.test(key) || UUID.test(key),
      'keys are "<block type slug>/<block document name>" (e.g. "secret/registry") or a block document id'
    ),
  z.record(z.string(), z.unknown(), {
    error: "must be the block document's data object (with its secret values)",
  })
);

/** The file's schema; unknown top-level keys are refused (a typo would silently drop a map). */
export const RenderInputSchema = z.strictObject({
  work_pool: WorkPoolSchema,
  deployment: DeploymentSchema.nullable(),
  flow: FlowSchema,
  flow_run: FlowRunSchema,
  /** `{{ prefect.variables.<name> }}`: name → value (any JSON). */
  variables: z.record(z.string(), z.unknown()).optional(),
  /** `{{ prefect.blocks.<slug>.<name> }}` by `"<slug>/<name>"`, `{"$ref": …}` by document id. */
  blocks: BlocksSchema.optional(),
});

/** A parsed input file. */
export type RenderInput = z.infer<typeof RenderInputSchema>;

/** The shape, for messages. */
export const INPUT_SHAPE =
  '{"work_pool": …, "deployment": … | null, "flow": …, "flow_run": …, "variables"?: {name: value}, "blocks"?: {"<slug>/<name>" or id: data}}';

const describeIssue = (issue: z.core.$ZodIssue, json: unknown): string => {
  const path = issue.path.map(String).join('.');
  const top = String(issue.path[0] ?? '');
  const missing =
    issue.path.length === 1 &&
    issue.code === 'invalid_type' &&
    typeof json === 'object' &&
    json !== null &&
    !Object.hasOwn(json, top);
  if (missing && SOURCES[top]) return `${path}: required: ${SOURCES[top]}`;
  if (issue.code === 'unrecognized_keys') {
    const where = path === '' ? 'the top level' : path;
    return `${where}: unknown key(s) ${issue.keys.map((key) => `"${key}"`).join(', ')}`;
  }
  return `${path || '(file)'}: ${issue.message}`;
};

/** Checks that the objects belong together, as the launcher reads them from the run. */
const crossCheck = (input: RenderInput): string[] => {
  const problems: string[] = [];
  const run = input.flow_run;
  if (run.flow_id !== input.flow.id) {
    problems.push(`flow.id is ${input.flow.id}, but flow_run.flow_id is ${run.flow_id}`);
  }
  if (run.deployment_id !== null && input.deployment === null) {
    problems.push(
      `deployment is null, but flow_run.deployment_id is ${run.deployment_id}: give that deployment`
    );
  } else if (input.deployment !== null && input.deployment.id !== run.deployment_id) {
    problems.push(
      `deployment.id is ${input.deployment.id}, but flow_run.deployment_id is ${run.deployment_id ?? 'null'}`
    );
  }
  if (run.work_pool_name !== null && run.work_pool_name !== input.work_pool.name) {
    problems.push(
      `work_pool.name is '${input.work_pool.name}', but flow_run.work_pool_name is '${run.work_pool_name}'`
    );
  }
  return problems;
};

/**
 * Parses the text of an input file. Throws a {@link UsageError} listing every problem (JSON syntax,
 * missing or invalid objects, objects of different runs), each with what to put there.
 *
 * @example
 * const input = parseRenderInput(await readFile('run.json', 'utf8'), 'run.json');
 */
export const parseRenderInput = (text: string, source: string): RenderInput => {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new UsageError(
      `${source} is not JSON (${error instanceof Error ? error.message : String(error)}). Expected ${INPUT_SHAPE}.`
    );
  }
  const parsed = RenderInputSchema.safeParse(json);
  const problems = parsed.success
    ? crossCheck(parsed.data)
    : parsed.error.issues.map((issue) => describeIssue(issue, json));
  if (!parsed.success || problems.length > 0) {
    throw new UsageError(
      `${source} is not a render input:\n${problems.map((problem) => `  - ${problem}`).join('\n')}\nExpected ${INPUT_SHAPE}.`
    );
  }
  return parsed.data;
};

/** The objects of a parsed input, as the launch code names them. */
export const launchObjectsOf = (input: RenderInput): LaunchObjects => ({
  workPool: input.work_pool,
  deployment: input.deployment,
  flow: input.flow,
  flowRun: input.flow_run,
});

/**
 * Template lookups answered from the input's `variables` and `blocks` maps; anything not in them
 * does not exist (a missing block is then a template error, a missing variable renders as `""`).
 *
 * @example
 * const lookups = lookupsFromInput(input);
 * await lookups.readBlockDocumentByName('secret', 'registry'); // { data: { value: '…' } }
 */
export const lookupsFromInput = (input: RenderInput): TemplateLookups => {
  const variables = input.variables ?? {};
  const blocks = input.blocks ?? {};
  const block = (key: string): BlockData | undefined => {
    const data = Object.hasOwn(blocks, key) ? blocks[key] : undefined;
    return data === undefined ? undefined : { data };
  };
  return {
    readVariable: async (name) =>
      Object.hasOwn(variables, name) ? { value: variables[name] } : undefined,
    readBlockDocument: async (id) => block(id) ?? block(id.toLowerCase()),
    readBlockDocumentByName: async (slug, name) => block(`${slug}/${name}`),
  };
};
