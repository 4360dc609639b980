/**
 * Check: the pool's base job template renders, with each of its deployments' job variables, into a
 * launch the launcher would attempt, blocks and variables read from Prefect. A failure names the
 * placeholder or job variable at fault; a `{{ prefect.variables.<name> }}` that does not exist fails
 * too (Prefect would silently render it as `""`).
 */
import { EcsConfigurationError } from '../ecs/ecs-configuration-error.ts';
import { PermanentLaunchError } from '../errors/permanent-launch-error.ts';
import { TemplateError } from '../jobs/template-error.ts';
import { PrefectError } from '../prefect/prefect-error.ts';
import type { Deployment, Flow } from '../prefect/schemas.ts';
import { type CheckResult, describeFailure, fail, pass } from './check-result.ts';
import type { LaunchNeeds } from './launch-needs.ts';
import type { RenderOutcome } from './render-deployment.ts';

/** Which deployment a check is about: `flow/deployment`, or the pool alone. */
export interface TemplateSubject {
  pool: string;
  deployment: Deployment | null;
  flow: Flow | null;
}

/** `flow-name/deployment-name`, as Prefect's CLI names deployments. */
export const deploymentLabel = (subject: TemplateSubject): string =>
  subject.deployment === null
    ? `pool '${subject.pool}' alone`
    : `'${subject.flow?.name ?? subject.deployment.flow_id}/${subject.deployment.name}'`;

export const templateCheckName = (subject: TemplateSubject): string =>
  subject.deployment === null
    ? `Template of '${subject.pool}' (no deployments)`
    : `Template of '${subject.pool}' for ${deploymentLabel(subject)}`;

/** Job variables of the deployment whose value mentions `text` (pure). */
export const jobVariablesMentioning = (deployment: Deployment | null, text: string): string[] =>
  Object.entries(deployment?.job_variables ?? {})
    .filter(([, value]) => JSON.stringify(value ?? null).includes(text))
    .map(([key]) => key);

const whereVariable = (subject: TemplateSubject, name: string): string => {
  const keys = jobVariablesMentioning(subject.deployment, `prefect.variables.${name}`);
  return keys.length > 0
    ? `job variable${keys.length === 1 ? '' : 's'} ${keys.map((key) => `"${key}"`).join(', ')} of the deployment`
    : `the base job template of '${subject.pool}'`;
};

const whereToChange = (subject: TemplateSubject, variable: string | undefined): string => {
  const what = variable ? `job variable "${variable}"` : 'the placeholder';
  return subject.deployment === null
    ? `Change ${what} in the base job template of '${subject.pool}' (\`prefect work-pool update --base-job-template …\`)`
    : `Change ${what} in the job variables of ${deploymentLabel(subject)} (prefect.yaml \`job_variables\`, then \`prefect deploy\`) or in the base job template of '${subject.pool}'`;
};

const networkSummary = (needs: LaunchNeeds): string => {
  const network = needs.network;
  if (network === undefined) return 'no awsvpc network';
  if (network.kind === 'template') return "the template's own networkConfiguration";
  if (network.kind === 'discover') {
    return network.vpcId ? `the subnets of ${network.vpcId}` : 'the default VPC';
  }
  return `${network.subnets.length > 0 ? network.subnets.join(', ') : 'the subnets'} of ${network.vpcId}`;
};

/** The verdict (pure). `needs` is what the successful render needs from AWS. */
export const decideTemplate = (
  subject: TemplateSubject,
  outcome: RenderOutcome,
  needs: LaunchNeeds | undefined
): CheckResult => {
  const name = templateCheckName(subject);
  if (!outcome.ok) {
    const { error } = outcome;
    if (error instanceof TemplateError || error instanceof EcsConfigurationError) {
      return fail(name, error.message, `${whereToChange(subject, error.variable)}.`);
    }
    if (error instanceof PermanentLaunchError) return fail(name, error.message, 'See the message.');
    if (error instanceof PrefectError) {
      return fail(
        name,
        describeFailure(error),
        'Reading a block or variable from Prefect failed; check the Prefect checks above and try again.'
      );
    }
    return fail(name, describeFailure(error), 'Report this as a bug with the message.');
  }
  if (outcome.missingVariables.length > 0) {
    const lines = outcome.missingVariables.map(
      (variable) =>
        `{{ prefect.variables.${variable} }} (in ${whereVariable(subject, variable)}): Prefect variable "${variable}" does not exist, so it renders as ""`
    );
    return fail(
      name,
      lines.join('\n'),
      outcome.missingVariables
        .map((variable) => `\`prefect variable set ${variable} <value>\``)
        .join(', ')
        .concat(', or change the placeholder.')
    );
  }
  const warnings = outcome.requests.warnings;
  const parts = [
    `renders; cluster ${needs?.cluster ?? 'default'}`,
    needs ? networkSummary(needs) : undefined,
    warnings.length > 0 ? `warnings: ${warnings.join('; ')}` : undefined,
  ];
  return pass(name, parts.filter((part) => part !== undefined).join('; '));
};
