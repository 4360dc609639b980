/**
 * The `prefect.worker.executed-flow-run` of a stopped ECS task, from what the reporter has at hand:
 * the "ECS Task State Change" event and the run it has just read. No extra Prefect read: the flow's
 * and deployment's names come from the task's own environment (`PREFECT__FLOW_NAME`,
 * `PREFECT__DEPLOYMENT_NAME`, set by the launcher as Prefect's worker sets them, and repeated by ECS
 * in the event's overrides); the tags are the run's (Prefect gives a deployment's runs its tags).
 * A flow's own tags (rare) are not known here, unlike at submission.
 *
 * Status code as prefect-aws's worker reported it before 0.6.0 (when it still waited for the task:
 * `_watch_task_and_get_exit_code`, `status_code if status_code is not None else -1`): the flow
 * container's exit code, -1 when it has none (the task never started it). Since prefect-aws 0.6.0
 * (#18804) the worker returns right after RunTask and reports 0 there; ours waits for STOPPED, which
 * is what the event says happened.
 */
import { ATTEMPT_VARIABLE, attemptOfTask } from '../ecs/attempt-marker.ts';
import { parseInfrastructurePid } from '../ecs/infrastructure-pid.ts';
import type { FlowRun } from '../prefect/schemas.ts';
import { type TaskStateChangeEvent, taskIdOf } from '../report/task-state-change-event.ts';
import type { PrefectEvent } from './prefect-event.ts';
import { buildExecutedFlowRunEvent, type WorkerIdentity } from './worker-events.ts';

type Detail = TaskStateChangeEvent['detail'];

/** The flow-run container's override: the one carrying the attempt marker or the run id. */
const flowRunOverride = (detail: Detail) =>
  detail.overrides.containerOverrides.find((override) =>
    override.environment?.some(
      (item) => item.name === ATTEMPT_VARIABLE || item.name === 'PREFECT__FLOW_RUN_ID'
    )
  );

const variable = (
  override: ReturnType<typeof flowRunOverride>,
  name: string
): string | undefined => {
  const value = override?.environment?.find((item) => item.name === name)?.value;
  return value === undefined || value === '' ? undefined : value;
};

/** The run's `infrastructure_pid` when it names this task, else `<cluster ARN>::<task ARN>`. */
const identifierOf = (run: Pick<FlowRun, 'infrastructure_pid'>, detail: Detail): string => {
  const recorded = run.infrastructure_pid
    ? parseInfrastructurePid(run.infrastructure_pid)
    : undefined;
  return recorded && taskIdOf(recorded.taskArn) === taskIdOf(detail.taskArn)
    ? (run.infrastructure_pid as string)
    : `${detail.clusterArn}::${detail.taskArn}`;
};

/** The first of these that is a valid time (ECS times are ISO-8601), else now. */
const firstValidDate = (...values: (string | undefined)[]): Date => {
  for (const value of values) {
    const date = value === undefined ? undefined : new Date(value);
    if (date && !Number.isNaN(date.getTime())) return date;
  }
  return new Date();
};

/**
 * @example
 * const event = executedFlowRunOfTask(stoppedEvent, run, { name: 'prefect-ecs-serverless', prefectVersion: '3.8.3' });
 * event.related.find((r) => r['prefect.resource.role'] === 'flow-run')?.['prefect.infrastructure.status-code']; // '0'
 */
export const executedFlowRunOfTask = (
  event: TaskStateChangeEvent,
  run: FlowRun,
  worker: WorkerIdentity
): PrefectEvent => {
  const { detail } = event;
  const override = flowRunOverride(detail);
  const marker = attemptOfTask(detail.overrides);
  const exitCode = detail.containers.find(
    (container) => container.name === override?.name
  )?.exitCode;
  return buildExecutedFlowRunEvent({
    worker,
    objects: {
      flowRun: { id: run.id, name: run.name, tags: run.tags },
      flow: { id: run.flow_id, name: variable(override, 'PREFECT__FLOW_NAME') },
      deployment: run.deployment_id
        ? { id: run.deployment_id, name: variable(override, 'PREFECT__DEPLOYMENT_NAME') }
        : null,
      workPool:
        run.work_pool_id && run.work_pool_name
          ? { id: run.work_pool_id, name: run.work_pool_name }
          : null,
    },
    // A task of the previous release has no marker (and had no submitted event): its own id.
    attempt: marker ?? `task/${taskIdOf(detail.taskArn)}`,
    infrastructurePid: identifierOf(run, detail),
    statusCode: exitCode ?? -1,
    occurred: firstValidDate(detail.stoppedAt, detail.updatedAt, event.time),
    // The submitted event occurred when RunTask answered, i.e. about when the task was created.
    submittedAt: marker === undefined ? undefined : firstValidDate(detail.createdAt),
  });
};
