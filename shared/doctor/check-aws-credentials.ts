/**
 * Check: the pool's own `aws_credentials` (the base job template's default, its block read from
 * Prefect and templated as the launcher templates it) can work for a serverless launcher, and where
 * it sends the launches: the role assumed, the region, the endpoint, and the fields that have no
 * effect here (a warning). Deployments may set their own `aws_credentials`; theirs are rendered with
 * their template (check-template.ts) and their AWS side checked in their scope (check-aws-scope.ts).
 *
 * `profile_name` fails: a Lambda has no `~/.aws/config` (`parseAwsCredentials` says what to use).
 */
import {
  type AwsCredentialsSettings,
  describeAwsCredentials,
  parseAwsCredentials,
} from '../aws/aws-credentials-settings.ts';
import { PermanentLaunchError } from '../errors/permanent-launch-error.ts';
import { resolveAwsCredentialsValue } from '../jobs/resolve-job-configuration.ts';
import { TemplateError } from '../jobs/template-error.ts';
import type { TemplateLookups } from '../jobs/template-lookups.ts';
import type { RenderSettings } from '../launch/render-launch-requests.ts';
import { PrefectError } from '../prefect/prefect-error.ts';
import type { WorkPool } from '../prefect/schemas.ts';
import { type CheckResult, describeFailure, fail, pass, warn } from './check-result.ts';

export const awsCredentialsCheckName = (pool: string): string => `AWS credentials of '${pool}'`;

/** What reading the pool's default gave. */
export type AwsCredentialsOutcome =
  | { ok: true; settings: AwsCredentialsSettings | null }
  | { ok: false; error: unknown };

/** The prefix of every `describeAwsCredentials` line about a field with no effect. */
const IGNORED = 'ignored: ';

const OVERRIDE_NOTE =
  "the pool's default; a deployment may set its own with the job variable aws_credentials";

/**
 * The pool's default `aws_credentials`, as the launcher reads it for a run that sets none: the
 * template's `job_configuration.aws_credentials` with the pool's variable defaults, its block
 * references and variables resolved through `lookups`, then `parseAwsCredentials`.
 */
export const probePoolAwsCredentials = async (
  workPool: Pick<WorkPool, 'id' | 'name' | 'base_job_template'>,
  settings: Pick<RenderSettings, 'templateEnvironment' | 'templateEnvAllowlist'>,
  lookups: TemplateLookups
): Promise<AwsCredentialsOutcome> => {
  try {
    const value = await resolveAwsCredentialsValue(
      {
        workPool,
        deployment: null,
        flowRun: { job_variables: {} },
        environment: settings.templateEnvironment,
        allowedEnvironment: settings.templateEnvAllowlist,
      },
      { lookups }
    );
    return { ok: true, settings: parseAwsCredentials(value) };
  } catch (error) {
    return { ok: false, error };
  }
};

const changeDefault = (pool: string): string =>
  `Change the default of the variable aws_credentials in the base job template of '${pool}' (\`prefect work-pool update --base-job-template …\`) or the AWS Credentials block it references.`;

/**
 * The verdict (pure): where the pool's launches call AWS, `homeRegion` being the functions' own.
 *
 * @example
 * decidePoolAwsCredentials('ecs', 'us-east-1', { ok: true, settings: null });
 * // { name: "AWS credentials of 'ecs'", ok: true, detail: "not set: the functions' own role, region us-east-1 (…)" }
 */
export const decidePoolAwsCredentials = (
  pool: string,
  homeRegion: string,
  outcome: AwsCredentialsOutcome
): CheckResult => {
  const name = awsCredentialsCheckName(pool);
  if (!outcome.ok) {
    const { error } = outcome;
    if (error instanceof PermanentLaunchError || error instanceof TemplateError) {
      // The message names the field and says what to use instead (e.g. for profile_name).
      return fail(name, error.message, changeDefault(pool));
    }
    if (error instanceof PrefectError) {
      return fail(
        name,
        describeFailure(error),
        'Reading the AWS Credentials block from Prefect failed; check the Prefect checks above and try again.'
      );
    }
    return fail(name, describeFailure(error), 'Report this as a bug with the message.');
  }
  const lines = describeAwsCredentials(outcome.settings, homeRegion);
  if (outcome.settings === null)
    return pass(name, `not set: ${lines.join('; ')} (${OVERRIDE_NOTE})`);
  const effective = lines.filter((line) => !line.startsWith(IGNORED));
  const ignored = lines.filter((line) => line.startsWith(IGNORED));
  const detail = [`${effective.join('; ')} (${OVERRIDE_NOTE})`, ...ignored].join('\n');
  if (ignored.length === 0) return pass(name, detail);
  const fields = ignored.map((line) => line.slice(IGNORED.length).split(':')[0]);
  return warn(
    name,
    detail,
    `Remove ${fields.join(', ')} from the block (or the pool's aws_credentials): the serverless launcher cannot apply ${fields.length === 1 ? 'it' : 'them'}.`
  );
};
