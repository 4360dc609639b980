/**
 * Why a task stopped, from the STOPPED event alone (no AWS call), as a sentence saying what
 * happened and one saying what to do. This is the message a person reads on a Crashed run, so it
 * names the task, the container, the code and the stopped reason, and points at the job variable or
 * IAM permission to change. Stop codes and reason prefixes:
 * https://docs.aws.amazon.com/AmazonECS/latest/developerguide/stopped-task-error-codes.html
 */
import { SIGTERM_BEHAVIOR_VARIABLE } from '../ecs/container-overrides.ts';
import { CrashCause } from '../observability.ts';
import { explainExitCode } from './exit-codes.ts';
import { flowContainers } from './flow-run-id-from-event.ts';
import {
  type TaskContainer,
  type TaskStateChangeDetail,
  taskIdOf,
} from './task-state-change-event.ts';

/**
 * The kinds of stop the reporter tells apart: the reporter's part of {@link CrashCause}, the one
 * list of crash causes (also the `Cause` dimension of the RunsCrashed metric). A new kind is added
 * there.
 */
export type StopCause = Exclude<
  CrashCause,
  typeof CrashCause.LaunchFailed | typeof CrashCause.LaunchNeverCompleted | typeof CrashCause.Other
>;

/** A diagnosis: what happened (`message`) and what to do (`fix`). */
export interface StoppedTaskDiagnosis {
  cause: StopCause;
  message: string;
  fix: string;
}

type Detail = Pick<
  TaskStateChangeDetail,
  'taskArn' | 'containers' | 'overrides' | 'stopCode' | 'stoppedReason' | 'memory'
>;

/** Exit codes of a process ECS itself terminated (SIGKILL, SIGTERM). */
const TERMINATED = new Set([137, 143]);

const NETWORK =
  /i\/o timeout|dial tcp|context deadline exceeded|connection (?:refused|reset)|no such host|timed? ?out/i;
const NETWORK_FIX =
  'The task could not reach AWS or the registry: in a public subnet set `assignPublicIp: ENABLED` in the `network_configuration` job variable; in a private subnet add a NAT gateway or VPC endpoints (ECR api and dkr, S3, Secrets Manager, CloudWatch Logs).';

/** "Reason." with exactly one final period. */
const sentence = (text: string): string => `${text.trim().replace(/[.\s]+$/, '')}.`;

const quote = (name: string): string => `'${name}'`;

const codeOf = (container: TaskContainer): string =>
  container.exitCode === undefined ? 'no exit code' : `exit code ${container.exitCode}`;

const withReason = (container: TaskContainer): string =>
  container.reason ? `${codeOf(container)}, ${container.reason.trim()}` : codeOf(container);

/** `(SpotInterruption: Your Spot Task was interrupted)` */
const stopDetail = (detail: Detail): string => {
  const parts = [detail.stopCode, detail.stoppedReason?.trim()].filter(
    (part): part is string => part !== undefined && part !== ''
  );
  return parts.length > 0 ? ` (${parts.join(': ').replace(/\.$/, '')})` : '';
};

const reasons = (detail: Detail): string[] =>
  [detail.stoppedReason, ...detail.containers.map((container) => container.reason)].filter(
    (reason): reason is string => reason !== undefined && reason !== ''
  );

const firstReasonMatching = (detail: Detail, pattern: RegExp): string | undefined =>
  reasons(detail).find((reason) => pattern.test(reason));

const imagePull = (detail: Detail, task: string, reason: string): StoppedTaskDiagnosis => {
  const failed = detail.containers.filter((c) => /CannotPullContainerError/i.test(c.reason ?? ''));
  const named = (failed.length > 0 ? failed : flowContainers(detail)).map(
    (c) => `${quote(c.name)}${c.image ? ` (${c.image})` : ''}`
  );
  const which = named.length > 0 ? ` of container ${named.join(', ')}` : '';
  let fix: string;
  if (/toomanyrequests|rate limit/i.test(reason)) {
    fix =
      'Docker Hub rate-limited the pull: copy the image to Amazon ECR (or authenticate the pulls with `repositoryCredentials`) and point the `image` job variable at it.';
  } else if (/denied|unauthori[sz]ed|forbidden|403|no basic auth/i.test(reason)) {
    fix =
      'The registry refused the pull. For Amazon ECR, allow the task execution role ecr:GetAuthorizationToken, ecr:BatchGetImage and ecr:GetDownloadUrlForLayer; for a private registry, give the container definition `repositoryCredentials`.';
  } else if (NETWORK.test(reason)) {
    fix = NETWORK_FIX;
  } else {
    fix =
      'Check that the image and tag exist and are spelled right in the `image` job variable of the deployment (or the work pool default).';
  }
  return {
    cause: CrashCause.ImagePull,
    message: `ECS task ${task} could not pull the image${which}: ${sentence(reason)}`,
    fix,
  };
};

const resourceInitialization = (task: string, reason: string): StoppedTaskDiagnosis => {
  let what: string;
  let fix: string;
  if (/\becr\b/i.test(reason) && NETWORK.test(reason)) {
    what = 'fetch the registry credentials';
    fix = NETWORK_FIX;
  } else if (/secret|asm|ssm|parameter/i.test(reason)) {
    what = 'fetch the secrets the task definition references';
    fix = `Allow the task execution role secretsmanager:GetSecretValue (ssm:GetParameters for Parameter Store, and kms:Decrypt for a customer-managed key) on every secret in the task definition, and check that each ARN exists in this region.${NETWORK.test(reason) ? ` ${NETWORK_FIX}` : ''}`;
  } else if (/log ?group|awslogs|cloudwatch|logs:/i.test(reason)) {
    what = 'set up the CloudWatch log stream';
    fix =
      'Allow the task execution role logs:CreateLogStream and logs:PutLogEvents (and logs:CreateLogGroup when `awslogs-create-group` is set) on the log group, and check the group exists in the `awslogs-region`.';
  } else if (/network interface|\beni\b|subnet|ip address/i.test(reason)) {
    what = 'attach a network interface';
    fix =
      'The subnets may have no free IP addresses, or the account reached its network-interface quota: use subnets with free addresses in the `network_configuration` job variable, or raise the quota.';
  } else if (/efs|volume|mount/i.test(reason)) {
    what = 'mount a volume';
    fix =
      'Check the EFS file system and access point in the task definition, that its security group allows NFS (2049) from the task, and the task role’s elasticfilesystem permissions.';
  } else {
    what = 'prepare the task’s resources';
    fix = `Check the task execution role’s permissions (secrets, logs, registry) and the network route to AWS APIs. ${NETWORK_FIX}`;
  }
  return {
    cause: CrashCause.ResourceInitialization,
    message: `ECS task ${task} failed to start: ECS could not ${what}: ${sentence(reason)}`,
    fix,
  };
};

const failedToStart = (detail: Detail, task: string): StoppedTaskDiagnosis => {
  const reason = detail.stoppedReason?.trim() || 'no reason given';
  const before = detail.containers.length === 0 ? ' before creating its containers' : '';
  let fix: string;
  if (
    /capacity|RESOURCE:|container instance|insufficient|unable to place|placement/i.test(reason)
  ) {
    fix =
      'The cluster had no capacity for the task: scale its capacity provider (GPU and large instance types often run out), choose another capacity provider in the `capacity_provider_strategy` job variable, or lower `cpu`/`memory`.';
  } else if (/CannotStartContainerError/i.test(reason)) {
    fix =
      'The container could not start: check the `command` job variable and the image entrypoint, and that `memory` covers the container.';
  } else if (/volume/i.test(reason)) {
    fix = 'Check the volumes in the task definition and the permissions to create or mount them.';
  } else {
    fix =
      'Look up the stopped reason in the ECS troubleshooting guide (stopped task error codes); if it looks transient (InternalError), run the flow again.';
  }
  return {
    cause: CrashCause.FailedToStart,
    message: `ECS task ${task} failed to start${before}: ${sentence(reason)}`,
    fix,
  };
};

const outOfMemory = (
  detail: Detail,
  task: string,
  container: TaskContainer
): StoppedTaskDiagnosis => {
  const memory = Number(detail.memory);
  const had = Number.isFinite(memory) && memory > 0 ? ` The task had ${memory} MiB.` : '';
  const suggestion = had ? `, e.g. memory: ${memory * 2}` : '';
  return {
    cause: CrashCause.OutOfMemory,
    message: `ECS task ${task} ran out of memory: container ${quote(container.name)} was killed (${withReason(container)}).${had}`,
    fix: `Raise \`memory\` in the deployment’s job variables or the work pool defaults${suggestion} (on Fargate, with a \`cpu\` that allows it).`,
  };
};

/** A container other than the flow's whose exit made ECS stop the task. */
const exitedSidecar = (detail: Detail, flow: TaskContainer[]): TaskContainer | undefined => {
  const [main] = flow;
  if (detail.stopCode !== 'EssentialContainerExited' || flow.length !== 1 || !main)
    return undefined;
  if (main.exitCode !== undefined && !TERMINATED.has(main.exitCode)) return undefined;
  return detail.containers.find(
    (container) =>
      container !== main &&
      container.exitCode !== undefined &&
      (!TERMINATED.has(container.exitCode) || /OutOfMemoryError/i.test(container.reason ?? ''))
  );
};

const exits = (containers: TaskContainer[]): string =>
  containers.map((container) => `${quote(container.name)} (${withReason(container)})`).join(', ');

/** Whether the task's overrides told the engine to reschedule the run on SIGTERM. */
const reschedulesOnSigterm = (detail: Detail): boolean =>
  detail.overrides.containerOverrides.some((override) =>
    (override.environment ?? []).some(
      (item) => item.name === SIGTERM_BEHAVIOR_VARIABLE && item.value === 'reschedule'
    )
  );

/**
 * Diagnoses a STOPPED task. Checked in this order: image pull, resource initialisation (secrets,
 * logs, network interface, volumes), other TaskFailedToStart, out of memory (an OutOfMemoryError
 * reason), Spot interruption (`SpotInterruption`, and `TerminationNotice` as the docs named it
 * before), a StopTask call (`UserInitiated`), the service scheduler (`ServiceSchedulerInitiated`),
 * an essential sidecar that exited, exit code 137, another non-zero exit code, no exit code, and
 * finally exit code 0: "the container exited without the flow reporting a final state".
 *
 * @example
 * diagnoseStoppedTask(oomEvent);
 * // { cause: CrashCause.OutOfMemory,
 * //   message: "ECS task 0f1e… ran out of memory: container 'prefect' was killed (exit code 137, OutOfMemoryError: …). The task had 2048 MiB.",
 * //   fix: 'Raise `memory` in the deployment’s job variables or the work pool defaults, e.g. memory: 4096 …' }
 */
export const diagnoseStoppedTask = (event: { detail: Detail }): StoppedTaskDiagnosis => {
  const { detail } = event;
  const task = taskIdOf(detail.taskArn);
  const flow = flowContainers(detail);

  const pull = firstReasonMatching(detail, /CannotPullContainerError/i);
  if (pull) return imagePull(detail, task, pull);
  const init =
    firstReasonMatching(detail, /ResourceInitializationError/i) ??
    firstReasonMatching(detail, /network interface provisioning/i);
  if (init) return resourceInitialization(task, init);
  if (detail.stopCode === 'TaskFailedToStart') return failedToStart(detail, task);

  const oom = flow.find((container) => /OutOfMemoryError/i.test(container.reason ?? ''));
  if (oom) return outOfMemory(detail, task, oom);

  const stopped = stopDetail(detail);
  switch (detail.stopCode) {
    case 'SpotInterruption':
    case 'TerminationNotice':
      return {
        cause: CrashCause.SpotInterruption,
        message: `ECS task ${task} was stopped because AWS reclaimed its Spot capacity${stopped}.`,
        fix: reschedulesOnSigterm(detail)
          ? 'The task ran with PREFECT_FLOW_RUN_EXECUTE_SIGTERM_BEHAVIOR=reschedule (the launcher sets it on Spot), so a flow interrupted while running reschedules itself and is launched again; this one did not (its flow had not started yet, or did not report within the two-minute warning). Retry it from the UI; set retries on the flow; or run it on FARGATE rather than FARGATE_SPOT (the `capacity_provider_strategy` job variable) if it must not be interrupted.'
          : 'Set PREFECT_FLOW_RUN_EXECUTE_SIGTERM_BEHAVIOR=reschedule in the `env` job variable (the task ran with another value) so interrupted runs are rescheduled and launched again; set retries on the flow; or run it on FARGATE rather than FARGATE_SPOT (the `capacity_provider_strategy` job variable) if it must not be interrupted.',
      };
    case 'UserInitiated':
      return {
        cause: CrashCause.StoppedByUser,
        message: `ECS task ${task} was stopped by a StopTask call${stopped}.`,
        fix: 'To stop a flow run, cancel it in Prefect instead: it then ends Cancelled, not Crashed. CloudTrail’s StopTask events show who or what stopped this task.',
      };
    case 'ServiceSchedulerInitiated':
      return {
        cause: CrashCause.StoppedByScheduler,
        message: `ECS task ${task} was stopped by the ECS scheduler${stopped}.`,
        fix: 'Flow-run tasks should be started by RunTask only, never by an ECS service or scaling policy. If a container health check failed, fix or remove the health check in the task definition.',
      };
    default:
      break;
  }

  const sidecar = exitedSidecar(detail, flow);
  const [main] = flow;
  if (sidecar && main) {
    return {
      cause: CrashCause.EssentialSidecarExited,
      message: `ECS task ${task} stopped because its essential container ${quote(sidecar.name)} exited (${withReason(sidecar)}), and ECS then stopped the flow container ${quote(main.name)} (${codeOf(main)}).`,
      fix: `Read the ${quote(sidecar.name)} container’s output for why it exited. A sidecar that may stop on its own should be \`essential: false\` in the task definition.`,
    };
  }

  const killed = flow.find((container) => container.exitCode === 137);
  if (killed) return outOfMemory(detail, task, killed);

  const failed = flow.filter(
    (container) => container.exitCode !== undefined && container.exitCode !== 0
  );
  const [onlyFailed] = failed;
  if (failed.length === 1 && onlyFailed?.exitCode !== undefined) {
    const explanation = explainExitCode(onlyFailed.exitCode);
    return {
      cause: CrashCause.NonZeroExit,
      message: `ECS task ${task}: the flow container ${quote(onlyFailed.name)} exited with code ${onlyFailed.exitCode}, ${explanation.meaning}${onlyFailed.reason ? ` (${onlyFailed.reason.trim()})` : ''}${stopped}.`,
      fix: explanation.fix,
    };
  }
  if (failed.length > 1) {
    return {
      cause: CrashCause.NonZeroExit,
      message: `ECS task ${task}: the containers ${exits(failed)} exited with non-zero codes${stopped}.`,
      fix: 'Read the containers’ output (the CloudWatch log streams of the task) for the errors.',
    };
  }

  const silent = flow.filter((container) => container.exitCode === undefined);
  if (flow.length === 0 || silent.length > 0) {
    const which =
      silent.length > 0
        ? `for ${silent.map((container) => quote(container.name)).join(', ')}`
        : 'and without containers';
    return {
      cause: CrashCause.NoExitCode,
      message: `ECS task ${task} stopped without an exit code ${which}${stopped}: ECS or its host ended it.`,
      fix: 'The host was terminated or lost (an instance scale-in, an EC2 Spot interruption, an agent disconnect): check the stopped reason and CloudTrail, and set retries on the flow if runs should survive it.',
    };
  }

  return {
    cause: CrashCause.ExitedWithoutFinalState,
    message: `ECS task ${task}: the container exited without the flow reporting a final state (exit code 0${main ? ` from ${quote(main.name)}` : ''}).`,
    fix: 'The flow process ended without telling Prefect: check that the `command` job variable runs `prefect flow-run execute` (or leave it empty), and that the task reaches the Prefect API (PREFECT_API_URL, a network route, the API key); the container output in CloudWatch shows which.',
  };
};

/**
 * The state message of a Crashed run: what happened, then what to do.
 *
 * @example
 * crashMessage(diagnosis); // "ECS task 0f1e… ran out of memory: … Raise `memory` …"
 */
export const crashMessage = (diagnosis: StoppedTaskDiagnosis): string =>
  `${diagnosis.message} ${diagnosis.fix}`;
