/**
 * The launcher's domain: one claimed attempt of a flow run → exactly one ECS task, or a final
 * state that says why not (DESIGN.md "launcher", prefect-worker-api.md §2.4–2.6, prefect-ecs-worker.md §2.1–2.8).
 *
 * Returns an outcome when the message is settled (SQS deletes it); throws when it should come back
 * later (a transient failure before the retry deadline, or a task whose pid is not recorded yet).
 */
import { buildSubmittedFlowRunEvent } from '../events/worker-events.ts';
import { isNotFound } from '../prefect/prefect-api-error.ts';
import type { FlowRun } from '../prefect/schemas.ts';
import { checkClaim } from './claim.ts';
import { claimOfCurrentState, latestClaim } from './current-claim.ts';
import { depsForRun } from './launch-aws.ts';
import type { LaunchDeps, LaunchOutcome } from './launch-deps.ts';
import type { LaunchMessage } from './launch-message.ts';
import { type PreparedLaunch, prepareLaunch } from './prepare-launch.ts';
import {
  labelAttempt,
  readDeploymentOrCancel,
  recordLaunch,
  settleFailure,
  stopIfRunLeftPending,
} from './settle-launch.ts';
import { startLaunch } from './start-launch.ts';
import { AttemptAlreadyLaunchedError } from './start-task.ts';

/**
 * The time the message's claim was accepted, confirming first, for a run in a PENDING sub-state,
 * that the message's claim is still the run's latest (the sub-state does not carry it).
 */
const confirmClaim = async (
  run: FlowRun,
  message: LaunchMessage,
  via: 'transition_id' | 'sub_state',
  deps: LaunchDeps
): Promise<{ claimedAt: Date | undefined } | { stale: string }> => {
  if (via === 'transition_id') {
    const fromMessage = message.claimed_at ? new Date(message.claimed_at) : undefined;
    return { claimedAt: claimOfCurrentState(run)?.claimedAt ?? fromMessage };
  }
  const claim = latestClaim(await deps.prefect.readFlowRunStates(run.id));
  if (claim === undefined || claim.transitionId !== message.transition_id) {
    return {
      stale: `the run's current attempt was claimed by another proposal (transition ${claim?.transitionId ?? 'none'}, not ${message.transition_id})`,
    };
  }
  return { claimedAt: claim.claimedAt };
};

/**
 * Launches one claimed attempt of a flow run:
 * 1. read the run; go on only if this message still owns its current attempt (`checkClaim`:
 *    PENDING with this claim's transition id, whatever `infrastructure_pid` an earlier attempt
 *    left; or a named PENDING sub-state with no pid, when the history shows this claim is the
 *    latest);
 * 2. read the deployment (404 → CANCELLED, forced: "Deployment <id> no longer exists, cancelled
 *    run."), the flow and the pool (flows and pools from the warm cache);
 * 3. render the job configuration (`resolveJobConfiguration`);
 * 4. make sure the run's labels name this attempt and the worker (`labelAttempt`);
 * 5. build and ensure the task definition (or use `task_definition_arn`), resolve the network;
 * 6. RunTask once per attempt (`startTaskOnce`: clientToken from the run id and the claim, the
 *    attempt marker in the container's environment);
 * 7. read the run again: when it left PENDING meanwhile (cancelled, crashed, rescheduled), stop
 *    the task at once (`stopIfRunLeftPending`);
 * 8. record `infrastructure_pid` = `<cluster>::<taskArn>` and a log line naming the task and
 *    task-definition ARNs;
 * 9. add the attempt's `prefect.worker.submitted-flow-run` to `deps.workerEvents` (sent by the
 *    handler after the batch, best effort).
 *
 * Failures before the task starts: permanent ones (template, cluster, network, role, …) propose
 * CRASHED "Failed to submit flow run to infrastructure: …" at once and settle the message;
 * transient ones throw (the queue retries) until `retryDeadlineSeconds` after the later of the
 * scheduled time and the claim, then CRASHED. After the task started, only recording the pid can
 * fail: transient → throw (the redelivery gets the same task back and records it), otherwise logged.
 *
 * @example
 * const outcome = await launchFlowRun(message, deps);
 * // { status: 'launched', taskArn: 'arn:aws:ecs:…:task/prefect/…', infrastructurePid: 'prefect::arn:…', … }
 */
export const launchFlowRun = async (
  message: LaunchMessage,
  deps: LaunchDeps
): Promise<LaunchOutcome> => {
  const nowMs = (deps.now ?? (() => new Date()))().getTime();
  let run: FlowRun;
  try {
    run = await deps.prefect.readFlowRun(message.flow_run_id);
  } catch (error) {
    if (isNotFound(error)) return { status: 'skipped', reason: 'the flow run no longer exists' };
    throw error;
  }
  const claim = checkClaim(run, message);
  if (!claim.owned) {
    deps.logger.info('Not launching', { reason: claim.reason });
    return { status: 'skipped', reason: claim.reason };
  }
  if (run.work_pool_name !== null && run.work_pool_name !== message.work_pool) {
    const reason = `the flow run belongs to work pool '${run.work_pool_name}', not '${message.work_pool}'`;
    deps.logger.warn('Not launching', { reason });
    return { status: 'skipped', reason };
  }
  const confirmed = await confirmClaim(run, message, claim.via, deps);
  if ('stale' in confirmed) {
    deps.logger.info('Not launching', { reason: confirmed.stale });
    return { status: 'skipped', reason: confirmed.stale };
  }

  let prepared: PreparedLaunch;
  let started: Awaited<ReturnType<typeof startLaunch>>;
  let runDeps: LaunchDeps;
  try {
    const deployment = await readDeploymentOrCancel(run, deps);
    if (deployment !== null && 'cancelled' in deployment) {
      return { status: 'cancelled', reason: deployment.cancelled };
    }
    prepared = await prepareLaunch(run, deployment, message, deps, nowMs);
    runDeps = await depsForRun(prepared, deps);
    await labelAttempt(run, prepared.workPool, message, deps);
    started = await startLaunch(prepared, message, runDeps, confirmed.claimedAt);
  } catch (error) {
    if (error instanceof AttemptAlreadyLaunchedError) {
      deps.logger.warn('Not launching', { reason: error.message });
      return { status: 'skipped', reason: error.message };
    }
    return settleFailure(error, message, deps, nowMs);
  }
  const stopped = await stopIfRunLeftPending(run, prepared, started, runDeps);
  const outcome = await recordLaunch(run, prepared, started, runDeps, stopped);
  // The attempt's task exists (and is now recorded): the worker submitted the run. A repeated
  // delivery that finds its pid recorded ends `skipped` and adds nothing; one that comes back after
  // a launcher died builds the same event again, with the same id (`flowRunEventId`).
  if (deps.workerEvents && (outcome.status === 'launched' || outcome.status === 'stopped')) {
    deps.workerEvents.add(
      buildSubmittedFlowRunEvent({
        worker: deps.workerEvents.worker,
        objects: {
          flowRun: run,
          flow: prepared.flow,
          deployment: prepared.deployment,
          workPool: prepared.workPool,
        },
        attempt: message.transition_id,
        occurred: (deps.now ?? (() => new Date()))(),
      })
    );
  }
  return outcome;
};
