/**
 * `render`: the RegisterTaskDefinition and RunTask inputs the launcher would send for one flow run,
 * and where its AWS calls would go (the pool's `aws_credentials`: role, region, endpoint, ignored
 * fields; never a secret), as JSON on stdout, without starting anything. `--input <file>` calls
 * neither AWS nor Prefect; `--flow-run <id>` reads the run's objects, blocks and variables from
 * Prefect. Both render through the launcher's own code (`renderLaunchRequests`).
 */
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { EcsConfigurationError } from '../shared/ecs/ecs-configuration-error.ts';
import { LaunchError } from '../shared/errors/launch-error.ts';
import { TemplateError } from '../shared/jobs/template-error.ts';
import type { TemplateLookups } from '../shared/jobs/template-lookups.ts';
import {
  type LaunchObjects,
  type RenderedLaunchRequests,
  renderLaunchRequests,
} from '../shared/launch/render-launch-requests.ts';
import { PrefectError } from '../shared/prefect/prefect-error.ts';
import { type CliCommand, type CliIo, CommandError, EXIT, UsageError } from './cli-command.ts';
import { fetchLaunchObjects } from './fetch-launch-objects.ts';
import { launchObjectsOf, lookupsFromInput, parseRenderInput } from './render-input.ts';
import { placeholderNotes, renderSettingsFromEnv } from './render-settings.ts';

const HELP = `Usage:
  prefect-ecs-serverless render --input <run.json>
  prefect-ecs-serverless render --flow-run <flow-run-id>

Prints, as JSON, the requests the launcher would send to ECS for one flow run:
  {"registerTaskDefinition": <input, or null with task_definition_arn>, "runTask": <input>,
   "aws": {"region": <where the task runs>, "account": <the assumed role's account, or null>,
           "credentials": [<how the launcher calls AWS for this run>]},
   "warnings": [what the launcher would log on the run], "notes": [what only AWS knows]}
"aws" follows the job variable aws_credentials (an AWS Credentials block) as the launcher reads it:
the role it assumes (ARN, session name if set), the region, the endpoint, and one "ignored: …" line
per field that has no effect here; without it, the functions' own role and region. A static access
key shows only as "…" and its last 4 characters; secret keys and session tokens never appear. A
block with profile_name cannot launch (exit 1, with what to use instead).
Nothing is registered or started. Values only AWS knows are markers: the task definition's ARN
("<registered at launch (or reused): family …>") and a network discovered from the VPC
("<discovered at launch: …>"). The Prefect API key appears only as the secret's ARN.

Options:
  --input <file>      A JSON file ("-" for stdin) with the API objects as Prefect returns them:
                        {"work_pool": …, "deployment": … | null, "flow": …, "flow_run": …,
                         "variables": {"<name>": <value>},
                         "blocks": {"<block type slug>/<name>" or "<block document id>": <data>}}
                      "variables" and "blocks" are optional and answer the template's
                      {{ prefect.variables.* }}, {{ prefect.blocks.* }} and {"$ref": …} placeholders.
                      Calls neither AWS nor Prefect.
  --flow-run <id>     Reads the run, its deployment, flow and work pool, and the blocks and
                      variables its template uses, from PREFECT_API_URL (authenticated with
                      PREFECT_API_KEY or PREFECT_API_AUTH_STRING). Calls no AWS API.
  -h, --help          Show this help.

Environment, read as the launcher reads it (placeholders when unset): PREFECT_API_URL, AWS_REGION,
ECS_DEFAULT_IMAGE, ECS_EXECUTION_ROLE_ARN, PREFECT_API_KEY_SECRET_ARN,
PREFECT_API_AUTH_STRING_SECRET_ARN, PREFECT_WORKER_NAME, TEMPLATE_ENV_ALLOWLIST.

Exit status: 0 rendered; 1 the run cannot launch (the message names the job variable and the
place in the template) or Prefect could not be read; 2 bad usage or input file.
`;

const parse = (args: readonly string[]): { input?: string; flowRun?: string } => {
  let values: { input?: string | undefined; 'flow-run'?: string | undefined };
  try {
    ({ values } = parseArgs({
      args: [...args],
      options: { input: { type: 'string', short: 'i' }, 'flow-run': { type: 'string' } },
      strict: true,
      allowPositionals: false,
    }));
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : String(error));
  }
  const input = values.input;
  const flowRun = values['flow-run'];
  if ((input === undefined) === (flowRun === undefined)) {
    throw new UsageError('give either --input <file> or --flow-run <flow-run-id>');
  }
  return {
    ...(input === undefined ? {} : { input }),
    ...(flowRun === undefined ? {} : { flowRun }),
  };
};

const readInputText = async (file: string, io: CliIo): Promise<string> => {
  if (file === '-') return io.readStdin();
  try {
    return await readFile(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new UsageError(
      `cannot read ${file}${code === 'ENOENT' ? ': no such file' : `: ${error instanceof Error ? error.message : String(error)}`}`
    );
  }
};

/** Records the placeholders' lookups that found nothing, for the notes. */
const noticingMisses = (
  lookups: TemplateLookups,
  where: string
): { lookups: TemplateLookups; notes: string[] } => {
  const notes: string[] = [];
  return {
    notes,
    lookups: {
      readVariable: async (name) => {
        const found = await lookups.readVariable(name);
        if (found === undefined) {
          notes.push(
            `{{ prefect.variables.${name} }}: no such variable ${where}; rendered as "" (as Prefect renders a variable that does not exist).`
          );
        }
        return found;
      },
      readBlockDocument: (id) => lookups.readBlockDocument(id),
      readBlockDocumentByName: (slug, name) => lookups.readBlockDocumentByName(slug, name),
    },
  };
};

/** What the launcher would crash the run with, as a message naming what to change. */
const describeLaunchFailure = (error: unknown): CommandError | undefined => {
  if (error instanceof TemplateError) {
    const details = [
      error.variable ? `  job variable: ${error.variable}` : '',
      error.templatePath ? `  template path: ${error.templatePath}` : '',
      error.placeholder ? `  placeholder: ${error.placeholder}` : '',
    ].filter((line) => line !== '');
    return new CommandError(
      `the launcher would crash this flow run: ${error.message}${details.length > 0 ? `\n${details.join('\n')}` : ''}`,
      { cause: error }
    );
  }
  if (error instanceof EcsConfigurationError) {
    return new CommandError(
      `the launcher would crash this flow run: ${error.message}${error.variable ? `\n  job variable: ${error.variable}` : ''}`
    );
  }
  if (error instanceof LaunchError && !error.retryable) {
    return new CommandError(`the launcher would crash this flow run: ${error.message}`);
  }
  return undefined;
};

/** Where `render` read the objects, for its messages. */
interface Source {
  /** E.g. `in the input's "variables"`. */
  variables: string;
  /** What to do about a block that does not exist there. */
  blockHint?: string;
}

const withBlockHint = (error: unknown, source: Source): unknown => {
  if (
    !(error instanceof CommandError) ||
    !(error.cause instanceof TemplateError) ||
    source.blockHint === undefined ||
    !/prefect\.blocks\.|\$ref|block_document/.test(error.cause.placeholder ?? '')
  ) {
    return error;
  }
  return new CommandError(`${error.message}\n${source.blockHint}`, { cause: error.cause });
};

const render = async (
  objects: LaunchObjects,
  lookups: TemplateLookups,
  source: Source,
  io: CliIo
): Promise<number> => {
  const settings = renderSettingsFromEnv(io.env);
  const noticing = noticingMisses(lookups, source.variables);
  let rendered: RenderedLaunchRequests;
  try {
    rendered = await renderLaunchRequests(objects, settings, noticing.lookups);
  } catch (error) {
    if (error instanceof PrefectError) {
      throw new CommandError(`could not read from Prefect: ${error.message}`);
    }
    throw withBlockHint(describeLaunchFailure(error) ?? error, source);
  }
  const body = {
    registerTaskDefinition: rendered.registerTaskDefinition,
    runTask: rendered.runTask,
    // Where the launch's AWS calls go: describe lines only, which never hold a secret.
    aws: {
      region: rendered.aws.region,
      account: rendered.aws.account ?? null,
      credentials: rendered.aws.credentials,
    },
    warnings: rendered.warnings,
    notes: [...rendered.notes, ...new Set(noticing.notes)],
  };
  body.notes.push(...placeholderNotes(JSON.stringify(body)));
  io.stdout(`${JSON.stringify(body, null, 2)}\n`);
  return EXIT.ok;
};

/** The `render` subcommand. */
export const renderCommand: CliCommand = {
  summary: 'Print the ECS requests the launcher would make for a flow run (a dry run).',
  help: HELP,
  async run(args, io) {
    const options = parse(args);
    if (options.input !== undefined) {
      const source = options.input === '-' ? 'standard input' : options.input;
      const input = parseRenderInput(await readInputText(options.input, io), source);
      return render(
        launchObjectsOf(input),
        lookupsFromInput(input),
        {
          variables: `in the input's "variables"`,
          blockHint: `  (render --input reads blocks from the input: add the block's data to "blocks" as "<block type slug>/<block name>", or by block document id for a {"$ref": …}.)`,
        },
        io
      );
    }
    const fetched = await fetchLaunchObjects(options.flowRun ?? '', io.env);
    return render(fetched.objects, fetched.lookups, { variables: 'in Prefect' }, io);
  },
};
