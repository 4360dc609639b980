/**
 * `doctor`: checks a configuration against Prefect and AWS and prints a checklist with the fix for
 * each failure (`shared/doctor/`). Only reads: nothing is created, changed or started.
 */
import { parseArgs } from 'node:util';
import { defaultDoctorDeps } from '../shared/doctor/doctor-deps.ts';
import { formatReport, formatReportJson } from '../shared/doctor/format-report.ts';
import { type DoctorDeps, runDoctor } from '../shared/doctor/run-doctor.ts';
import { type CliCommand, type CliIo, EXIT, UsageError } from './cli-command.ts';

const HELP = `Usage:
  prefect-ecs-serverless doctor [--json]

Checks the configuration in the environment (the variables the Lambdas read) and prints a
checklist: ✔ passed, ! passed with a warning (and what to change), ✘ failed (with the fix),
– skipped because an earlier check failed.

  - the configuration parses (every problem listed at once);
  - the Prefect credential secret (PREFECT_API_KEY_SECRET_ARN / PREFECT_API_AUTH_STRING_SECRET_ARN)
    is readable (its value is never shown);
  - Prefect is reachable (/health) and accepts the credential, and its version;
  - each pool of PREFECT_WORK_POOLS exists and is of type ecs;
  - its own aws_credentials (the template's default; deployments may override it) can be used by
    the launcher (not profile_name), and where it sends the launches: the role assumed, the
    region, the endpoint; fields that have no effect here are a warning;
  - its base job template renders for each of its deployments (blocks and variables read from
    Prefect), naming the placeholder or job variable that fails;
  - the AWS identity (account and principal) of the credentials in this shell;
  - each role an aws_credentials assumes: listed in ASSUME_ROLE_ARNS (the stack parameter
    assumeRoleArns; checked when set here), and AssumeRole works (asked as this shell's identity,
    or the block's static keys, with STS in AWS_REGION);
  - the ECS clusters the deployments use exist and are ACTIVE, in the account and region their
    aws_credentials send them to;
  - their execution and task roles exist and trust ecs-tasks.amazonaws.com (in this account);
  - their subnets and security groups belong to vpc_id, or the default VPC exists when the
    network is discovered.

Options:
  --json        Print the checklist as JSON:
                {"ok": …, "checks": [{"name", "ok", "detail", "fix", "skipped", "warning"}]}.
  -h, --help    Show this help.

Environment: PREFECT_API_URL, PREFECT_API_KEY or PREFECT_API_AUTH_STRING (or their *_SECRET_ARN),
PREFECT_WORK_POOLS, AWS_REGION, the AWS credential chain (AWS_PROFILE, …), and the other variables
of the configuration reference. LAUNCH_QUEUE_URL may be left unset.

Exit status: 0 every check passed (warnings included); 1 a check failed; 2 bad usage.
`;

const parse = (args: readonly string[]): { json: boolean } => {
  try {
    const { values } = parseArgs({
      args: [...args],
      options: { json: { type: 'boolean' } },
      strict: true,
      allowPositionals: false,
    });
    return { json: values.json === true };
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : String(error));
  }
};

/**
 * Runs the doctor with `deps` (default: the real Prefect and AWS clients from `io.env`).
 *
 * @example
 * process.exitCode = await runDoctorCommand(['--json'], processIo());
 */
export const runDoctorCommand = async (
  args: readonly string[],
  io: CliIo,
  deps: DoctorDeps = defaultDoctorDeps(io.env)
): Promise<number> => {
  const { json } = parse(args);
  const report = await runDoctor(deps);
  io.stdout(json ? formatReportJson(report) : formatReport(report));
  return report.ok ? EXIT.ok : EXIT.failure;
};

export const doctorCommand: CliCommand = {
  summary:
    'Check the configuration against Prefect and AWS: a checklist with the fix for each failure.',
  help: HELP,
  run: (args, io) => runDoctorCommand(args, io),
};
