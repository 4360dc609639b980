/**
 * Where a run's AWS calls go: its job configuration's `aws_credentials` read into settings, the
 * region they name (else the functions'), and the account of the role they assume, if any. The
 * launcher renders, registers and runs there; the reporter and the sweeps follow the run's tasks
 * there with the same credentials.
 */
import type { TaskDefinitionOptions } from '../ecs/task-definition.ts';
import type { EcsJobConfiguration } from '../jobs/ecs-job-configuration.ts';
import { placeOfArn } from './arn-place.ts';
import {
  type AwsCredentialsSettings,
  assumedAccountOf,
  parseAwsCredentials,
} from './aws-credentials-settings.ts';

/** The AWS side of one run. */
export interface RunAwsTarget {
  /** null: the functions' own credentials. */
  settings: AwsCredentialsSettings | null;
  region: string;
  /** The assumed role's account; undefined when not assuming (the functions' or the keys' own). */
  account: string | undefined;
}

/**
 * Throws `PermanentLaunchError` for a block that cannot work here (`profile_name`, half a key
 * pair, not a role ARN, …), naming the field and the fix.
 *
 * @example
 * awsTargetOf(configuration, 'us-east-1'); // { settings: null, region: 'us-east-1', account: undefined }
 */
export const awsTargetOf = (
  configuration: Pick<EcsJobConfiguration, 'extra'>,
  homeRegion: string
): RunAwsTarget => {
  const settings = parseAwsCredentials(configuration.extra.aws_credentials);
  return {
    settings,
    region: settings?.region ?? homeRegion,
    account: assumedAccountOf(settings),
  };
};

/**
 * The task-definition builder's defaults for a run in `target`: its region for `awslogs-region`;
 * the stack's execution role only if it lives in the target's account (a role of account A cannot
 * be an ECS execution role in account B), with a warning when it had to be dropped or when the
 * Prefect credential's secret lives in another account than the tasks.
 */
export const taskDefinitionOptionsFor = (
  defaults: TaskDefinitionOptions,
  target: RunAwsTarget,
  configuration: Pick<
    EcsJobConfiguration,
    | 'prefect_api_key_secret_arn'
    | 'prefect_api_auth_string_secret_arn'
    | 'execution_role_arn'
    | 'task_definition'
  >
): { options: TaskDefinitionOptions; warnings: string[] } => {
  const options: TaskDefinitionOptions = { ...defaults, region: target.region };
  const warnings: string[] = [];
  const account = target.account;
  if (account === undefined) return { options, warnings };
  const roleAccount = placeOfArn(defaults.executionRoleArn)?.account;
  const ownRole =
    configuration.execution_role_arn || configuration.task_definition.executionRoleArn;
  if (roleAccount !== undefined && roleAccount !== account) {
    options.executionRoleArn = undefined;
    // The run names its own role: the stack's was never going to be used.
    if (!ownRole)
      warnings.push(
        `The stack's task execution role ${defaults.executionRoleArn} is in account ${roleAccount}; this pool's tasks run in account ${account} (aws_credentials assumes ${target.settings?.assumeRole?.RoleArn}), where it cannot be used. Set execution_role_arn in the work pool to a role of account ${account} if the task definition needs one (secrets, awslogs).`
      );
  }
  const secrets = [
    ['PREFECT_API_KEY', configuration.prefect_api_key_secret_arn || defaults.apiKeySecretArn],
    [
      'PREFECT_API_AUTH_STRING',
      configuration.prefect_api_auth_string_secret_arn || defaults.authStringSecretArn,
    ],
  ] as const;
  for (const [variable, arn] of secrets) {
    const secretAccount = placeOfArn(arn)?.account;
    if (secretAccount === undefined || secretAccount === account) continue;
    warnings.push(
      `The flow-run container reads ${variable} from ${arn} in account ${secretAccount}, but runs in account ${account}: its execution role must be allowed to read that secret across accounts (a Secrets Manager resource policy and a KMS key policy; SSM parameters cannot be read across accounts unless shared). Simpler: store the credential in account ${account} and set ${variable === 'PREFECT_API_KEY' ? 'prefect_api_key_secret_arn' : 'prefect_api_auth_string_secret_arn'} in the work pool to its ARN.`
    );
  }
  return { options, warnings };
};
