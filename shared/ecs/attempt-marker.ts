/**
 * Which attempt of a flow run an ECS task was started for, carried by the task itself: the claim's
 * `transition_id` in one environment variable of the flow-run container. The run carries its
 * current attempt in a label (`ATTEMPT_LABEL`), written by the poller with its claim labels and
 * made sure of by the launcher *before* RunTask, so whenever a task of an attempt exists the label
 * names that attempt or a later one. ECS repeats a task's
 * overrides in every "ECS Task State Change" event and in DescribeTasks, so the reporter, the
 * launcher and the orphan sweep can tell the current attempt's task from an older attempt's by
 * comparing ids, with no clock involved (a run keeps its id and `infrastructure_pid` across
 * attempts, and a self-hosted Prefect server's clock need not agree with AWS's).
 *
 * Tasks started by the previous release carry no marker; callers fall back to comparing the
 * task's `createdAt` with the claim's time.
 */

/** The variable: visible to the flow as any other environment variable, never secret. */
export const ATTEMPT_VARIABLE = 'PREFECT_ECS_SERVERLESS_ATTEMPT';

/** The flow-run label naming the run's current attempt (Prefect 3.2+ labels). */
export const ATTEMPT_LABEL = 'prefect-ecs-serverless.attempt';

/**
 * The attempt a run's labels name, if any.
 *
 * @example
 * attemptOfRun(run.labels); // '3b1f9c0a-…' or undefined
 */
export const attemptOfRun = (labels: Readonly<Record<string, unknown>>): string | undefined => {
  const value = labels[ATTEMPT_LABEL];
  return typeof value === 'string' && value !== '' ? value : undefined;
};

/** `overrides` as RunTask takes them and events and DescribeTasks repeat them. */
export interface OverridesView {
  containerOverrides?:
    | readonly {
        environment?:
          | readonly { name?: string | undefined; value?: string | undefined }[]
          | undefined;
      }[]
    | undefined;
}

/**
 * The attempt (claim transition id) a task was started for, or `undefined` for a task without
 * the marker.
 *
 * @example
 * attemptOfTask(event.detail.overrides); // '3b1f9c0a-…' or undefined
 */
export const attemptOfTask = (overrides: OverridesView | undefined): string | undefined => {
  for (const override of overrides?.containerOverrides ?? []) {
    for (const item of override.environment ?? []) {
      if (item.name === ATTEMPT_VARIABLE && item.value) return item.value;
    }
  }
  return undefined;
};
