/**
 * The types and small helpers shared by the launch steps (`launch-flow-run.ts` and the modules it
 * calls): the ports, the settings, the outcome, and posting lines to a flow run's Prefect logs.
 */
import type { Ec2Api } from '../ecs/ec2-api.ts';
import type { EcsApi, EcsTaskControl } from '../ecs/ecs-api.ts';
import type { WorkerEventBatch } from '../events/worker-event-publisher.ts';
import type { TemplateLookups } from '../jobs/template-lookups.ts';
import type { PrefectClient } from '../prefect/client.ts';
import { describeError } from './classify-error.ts';
import type { LaunchAwsScopes } from './launch-aws.ts';
import type { LaunchCaches } from './launch-caches.ts';
import type { LaunchLogger } from './launch-logger.ts';
import type { LaunchedTask } from './start-task.ts';

/** The Prefect calls a launch makes. */
export type LaunchPrefectApi = Pick<
  PrefectClient,
  | 'readFlowRun'
  | 'readFlowRunStates'
  | 'readDeployment'
  | 'readFlow'
  | 'readWorkPool'
  | 'setFlowRunState'
  | 'updateFlowRun'
  | 'updateFlowRunLabels'
  | 'createLogs'
>;

/** What the launcher knows from its configuration. */
export interface LaunchSettings {
  /** `PREFECT_API_URL`: the launcher's, and the flow-run containers'. */
  prefectApiUrl: string;
  workerName: string;
  /** The ECS region (for `awslogs-region`). */
  region: string;
  /** Image of the flow-run container when the pool and deployment name none. */
  defaultImage: string;
  /** Execution role for definitions that need one (secrets, awslogs) and name none. */
  executionRoleArn?: string | undefined;
  /** Secrets Manager ARNs the containers get the Prefect credential from. */
  apiKeySecretArn?: string | undefined;
  authStringSecretArn?: string | undefined;
  /**
   * Transient failures are retried until this long after the later of the scheduled time and the
   * claim, then CRASHED.
   */
  retryDeadlineSeconds: number;
  /** Values `{{ $NAME }}` may read, and the names allowed. */
  templateEnvironment: Readonly<Record<string, string>>;
  templateEnvAllowlist: readonly string[];
  /**
   * The Prefect settings the containers inherit, as Prefect's worker passes its own
   * (`Config.prefectSettings`; never the credentials). `PREFECT_API_URL` is `prefectApiUrl`
   * whatever this says. None: only `PREFECT_API_URL`.
   */
  prefectSettings?: Readonly<Record<string, string>> | undefined;
}

/** I/O of `launchFlowRun`. */
export interface LaunchDeps {
  prefect: LaunchPrefectApi;
  /** RunTask and friends; StopTask for a task whose run left PENDING while it was started. */
  ecs: EcsApi & Pick<EcsTaskControl, 'stopTask'>;
  ec2: Ec2Api;
  /** Prefect variables and blocks for templates (`createTemplateLookups(prefect)`). */
  templateLookups: TemplateLookups;
  caches: LaunchCaches;
  /**
   * The clients of each work pool's `aws_credentials` (`launch-aws.ts`); `ecs`, `ec2` and the AWS
   * caches above are its home scope. None: every run uses those (a run whose pool sets
   * `aws_credentials` is then CRASHED, never launched in the wrong account).
   */
  aws?: LaunchAwsScopes | undefined;
  settings: LaunchSettings;
  logger: LaunchLogger;
  now?: () => Date;
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
  /**
   * Where the attempt's `prefect.worker.submitted-flow-run` goes once its task started (the
   * invocation's batch, sent in one `POST /events` after the batch, `launcher/handler.ts`). None:
   * no worker events.
   */
  workerEvents?: Pick<WorkerEventBatch, 'worker' | 'add'> | undefined;
}

/** How a message was settled. */
export type LaunchOutcome =
  | {
      status: 'launched';
      taskArn: string;
      taskDefinitionArn: string;
      infrastructurePid: string;
      /** A new task-definition revision was registered for this run. */
      registered: boolean;
      /** How the task was obtained (see `startTaskOnce`). */
      via: LaunchedTask['via'];
      /** `false` when the run was deleted (or refused the update) before the pid was recorded. */
      pidRecorded: boolean;
    }
  /** Nothing to do: the run is not (or no longer) ours to launch. */
  | { status: 'skipped'; reason: string }
  /**
   * The run left PENDING (cancelled, crashed, rescheduled) while its task was being started: the
   * task was stopped at once and recorded.
   */
  | { status: 'stopped'; reason: string; taskArn: string; infrastructurePid: string }
  /** The deployment is gone: the run was CANCELLED, as Prefect's worker does. */
  | { status: 'cancelled'; reason: string }
  /** The launch cannot succeed (or gave up at the deadline): the run was proposed CRASHED. */
  | { status: 'crashed'; reason: string; retryable: boolean };

/** Logger name of Prefect's worker, so our lines read like its lines in the UI. */
export const PREFECT_LOGGER_NAME = 'prefect.flow_runs.worker';
/** Python logging levels Prefect stores. */
export const LOG_LEVEL = { INFO: 20, WARNING: 30, ERROR: 40 } as const;

/** The prefix Prefect's worker gives Crashed messages for submission failures. */
export const SUBMISSION_FAILURE_PREFIX = 'Failed to submit flow run to infrastructure: ';

/** Posts lines to the flow run's logs in Prefect, as Prefect's worker logger. */
export const postFlowRunLogs = (
  deps: LaunchDeps,
  flowRunId: string,
  lines: readonly { level: number; message: string }[]
): Promise<void> => {
  const timestamp = (deps.now ?? (() => new Date()))();
  return deps.prefect.createLogs(
    lines.map((line) => ({
      name: PREFECT_LOGGER_NAME,
      level: line.level,
      message: line.message,
      timestamp,
      flowRunId,
    }))
  );
};

/** Best effort: a failure is logged, never fails the launch. */
export const bestEffort = async (what: string, deps: LaunchDeps, call: () => Promise<unknown>) => {
  try {
    await call();
  } catch (error) {
    deps.logger.warn(`Could not ${what}`, { error: describeError(error) });
  }
};
