/**
 * What a container exit code means, and what to do about it: Prefect's own table
 * (`prefect/_internal/infrastructure_exit_codes.py`, prefect-ecs-worker.md §3.2) with the hints
 * ECS users need.
 */

/** The meaning of an exit code and the next step for a person. */
export interface ExitCodeExplanation {
  meaning: string;
  fix: string;
}

const LOGS = 'Read the container output (the CloudWatch log stream of the task) for the error.';

const KNOWN: ReadonlyMap<number, ExitCodeExplanation> = new Map([
  [
    1,
    {
      meaning: 'a general error: the process failed',
      fix: `${LOGS} Python tracebacks and missing-module errors end up there when the flow code or its imports fail before Prefect can report them.`,
    },
  ],
  [
    2,
    {
      meaning: 'a usage error: the command was called with invalid arguments',
      fix: 'Check the `command` job variable (and the image entrypoint); leave `command` empty to use Prefect’s default `prefect flow-run execute`.',
    },
  ],
  [
    125,
    {
      meaning: 'the container runtime could not run the container',
      fix: 'Check the image’s entrypoint and the task definition’s container settings (user, working directory, mounts).',
    },
  ],
  [
    126,
    {
      meaning: 'the command is not executable',
      fix: 'Check the `command` job variable and the image entrypoint; the file must exist in the image and be executable.',
    },
  ],
  [
    127,
    {
      meaning: 'the command was not found',
      fix: 'The image does not contain the command: install `prefect` in the image (or use a `prefecthq/prefect` base image), or fix the `command` job variable.',
    },
  ],
  [
    137,
    {
      meaning: 'the process was killed with SIGKILL, almost always because it ran out of memory',
      fix: 'Raise `memory` (and `cpu`, which Fargate pairs with it) in the deployment’s job variables or the work pool defaults.',
    },
  ],
  [
    139,
    {
      meaning: 'the process crashed with a segmentation fault (SIGSEGV)',
      fix: `${LOGS} A native library in the image is the usual cause; check the image's architecture matches the task's (runtimePlatform).`,
    },
  ],
  [
    143,
    {
      meaning: 'the process was stopped with SIGTERM',
      fix: 'Something asked the task to stop (StopTask, a scale-in, a Spot interruption): see the stopped reason. Set retries on the flow if runs should survive this.',
    },
  ],
  [
    247,
    {
      meaning: 'the process was killed for using too much memory',
      fix: 'Raise `memory` in the deployment’s job variables or the work pool defaults.',
    },
  ],
]);

/**
 * @example
 * explainExitCode(127).meaning; // 'the command was not found'
 */
export const explainExitCode = (code: number): ExitCodeExplanation =>
  KNOWN.get(code) ?? {
    meaning: 'an unexpected exit code',
    fix: LOGS,
  };
