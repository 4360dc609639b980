/**
 * The containers of the soak's tasks: what ECS and `prefect flow-run execute` do once RunTask
 * created a task. Each task the ECS stand-in creates for a soak run (seen on its first event) gets
 * a script from its run's {@link RunScript}, picked by the task's attempt (its attempt marker, in
 * the order the run's attempts got tasks):
 *
 * 1. PROVISIONING → PENDING → (the image cannot be pulled: TaskFailedToStart) → RUNNING, with the
 *    script's delays; a task that ECS was asked to stop meanwhile stops instead;
 * 2. the engine proposes RUNNING (waiting on WAIT); any other answer: it exits 0 without running;
 * 3. the flow runs; the runner's cancellation observer watches the run: CANCELLING → it proposes
 *    CANCELLED (forced, as `Runner._mark_flow_run_as_cancelled` does) and exits 0; StopTask →
 *    SIGTERM: on Spot-enabled runs the engine reschedules (AwaitingRetry), then the task stops;
 * 4. the fate: COMPLETED and exit 0, FAILED and exit 1, OOM (137), exit 1, or a Spot interruption
 *    (AwaitingRetry, then exit 0 with `SpotInterruption`).
 *
 * Everything the engine does goes to the journal (`engine`), with Prefect's answers.
 */
import { ATTEMPT_VARIABLE } from '../../shared/ecs/attempt-marker.ts';
import { flowRunIdFromStartedBy } from '../../shared/ecs/started-by.ts';
import {
  type EndToEndWorld,
  OOM_REASON,
  PULL_REASON,
  writeContainerLogs,
} from '../../test/integration/end-to-end-fixtures.ts';
import type { EcsTaskStateChangeEvent } from '../../test/standins/ecs/types.ts';
import {
  engine,
  type OrchestrationResult,
  proposeState,
} from '../../test/standins/prefect/actors.ts';
import { type EngineEntry, type Journal, noteTask } from './journal.ts';
import { actorOptions } from './people.ts';
import type { FaultPhase, RunScript } from './run-script.ts';
import { fateOf } from './run-script.ts';

/** What the containers need from the soak's director. */
export interface ContainerDirector {
  scriptOf(runId: string): RunScript | undefined;
  /** Arms the run's faults of `phase` (once per phase). */
  arm(runId: string, phase: FaultPhase): void;
  cancel(runId: string): Promise<void>;
  /** The run's state type as last watched. */
  stateOf(runId: string): string | undefined;
}

export interface ContainerPlayer {
  /** Resolves when every container script has ended. */
  drained(): Promise<void>;
  disconnect(): void;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

const FLOW_STEP_MS = 50;

const markerOf = (event: EcsTaskStateChangeEvent): string | undefined => {
  for (const override of event.detail.overrides.containerOverrides) {
    for (const variable of override.environment ?? []) {
      if (variable.name === ATTEMPT_VARIABLE && variable.value) return variable.value;
    }
  }
  return undefined;
};

const answerOf = (result: OrchestrationResult): Pick<EngineEntry, 'answer' | 'state'> => ({
  answer: result.status,
  ...(result.state ? { state: `${result.state.type}:${result.state.name}` } : {}),
});

/** Plays every soak task's container as it appears. */
export const playContainers = (
  world: EndToEndWorld,
  journal: Journal,
  director: ContainerDirector
): ContainerPlayer => {
  const options = actorOptions(world, 'engine');
  const apiUrl = world.prefect.apiUrl;
  const ecs = world.aws.ecs;
  const playing = new Set<Promise<void>>();

  const play = async (
    taskArn: string,
    runId: string,
    attempt: string | undefined,
    script: RunScript,
    attemptIndex: number
  ): Promise<void> => {
    const fate = fateOf(script, attemptIndex);
    const log = (action: string, extra: Partial<EngineEntry> = {}): void => {
      journal.engine.push({ at: Date.now(), runId, taskArn, attempt, action, ...extra });
    };
    const alive = (): boolean => {
      const task = ecs.task(taskArn);
      return (
        task !== undefined && task.lastStatus !== 'STOPPED' && task.desiredStatus !== 'STOPPED'
      );
    };
    const propose = async (
      action: string,
      call: () => Promise<OrchestrationResult>
    ): Promise<OrchestrationResult | undefined> => {
      try {
        const result = await call();
        log(action, answerOf(result));
        return result;
      } catch (error) {
        log(action, { answer: error instanceof Error ? error.message.slice(0, 160) : 'error' });
        return undefined;
      }
    };
    const exit = async (
      exitCode: number,
      extra: { stopCode?: string; stoppedReason?: string; containerReason?: string } = {}
    ) => {
      try {
        await ecs.runToCompletion(taskArn, { exitCode, ...extra });
        log('exit', { detail: `${exitCode}${extra.stopCode ? ` ${extra.stopCode}` : ''}` });
      } catch (error) {
        log('exit', { detail: `not possible: ${error instanceof Error ? error.message : error}` });
      }
    };
    /** SIGTERM from StopTask: a Spot-enabled engine reschedules; the task then stops on its own. */
    const terminated = async (where: string): Promise<void> => {
      log('killed', { detail: where });
      if (where === 'while running' && script.spot) {
        await propose('reschedule', () => engine.reschedule(apiUrl, runId, options));
      }
    };

    await sleep(script.timing.provisionMs);
    if (!alive()) return terminated('before PENDING');
    try {
      await ecs.advance(taskArn, 'PENDING');
    } catch {
      return terminated('before PENDING');
    }
    director.arm(runId, 'pending');
    if (attemptIndex === 0 && script.cancel?.moment === 'while-pending') {
      await director.cancel(runId);
    }
    await sleep(script.timing.pendingMs);
    if (!alive()) return terminated('while PENDING');
    if (fate === 'pull') {
      const snapshot = ecs.task(taskArn);
      if (snapshot) writeContainerLogs(world, snapshot);
      try {
        await ecs.failToStart(taskArn, { stoppedReason: PULL_REASON });
        log('failed-to-start');
      } catch {
        await terminated('while PENDING');
      }
      return;
    }
    try {
      await ecs.advance(taskArn, 'RUNNING');
    } catch {
      return terminated('before RUNNING');
    }
    if (!alive()) return terminated('before RUNNING');

    // prefect flow-run execute: RUNNING, waiting as long as Prefect says
    let started: OrchestrationResult | undefined;
    for (let round = 0; round < 20; round += 1) {
      started = await propose('start', () => engine.start(apiUrl, runId, options));
      if (started?.status !== 'WAIT') break;
      await sleep(Math.min(500, Math.max(50, (started.details.delay_seconds ?? 0) * 1000)));
    }
    if (started?.status !== 'ACCEPT') return exit(0);
    director.arm(runId, 'running');

    // The flow runs; the runner watches for a cancel
    const steps = Math.max(1, Math.ceil(script.timing.flowMs / FLOW_STEP_MS));
    const cancelAt = Math.floor(steps / 2);
    for (let step = 0; step < steps; step += 1) {
      await sleep(FLOW_STEP_MS);
      if (!alive()) return terminated('while running');
      if (attemptIndex === 0 && step === cancelAt && script.cancel?.moment === 'while-running') {
        await director.cancel(runId);
      }
      if (director.stateOf(runId) === 'CANCELLING') {
        await propose('cancelled', () =>
          proposeState(
            apiUrl,
            runId,
            { type: 'CANCELLED', name: 'Cancelled', message: 'Flow run was cancelled.' },
            true,
            options
          )
        );
        return exit(0);
      }
    }

    director.arm(runId, 'exit');
    switch (fate) {
      case 'complete':
        await propose('complete', () => engine.complete(apiUrl, runId, options));
        return exit(0);
      case 'fail':
        await propose('fail', () => engine.fail(apiUrl, runId, options));
        return exit(1);
      case 'oom':
        return exit(137, { containerReason: OOM_REASON });
      case 'exit1':
        return exit(1);
      case 'spot':
        await propose('reschedule', () => engine.reschedule(apiUrl, runId, options));
        return exit(0, {
          stopCode: 'SpotInterruption',
          stoppedReason: 'Your Spot Task was interrupted.',
        });
      default:
        return exit(0);
    }
  };

  const onEvent = (event: EcsTaskStateChangeEvent): void => {
    const taskArn = event.detail.taskArn;
    if (journal.tasks.has(taskArn)) return;
    const runId = flowRunIdFromStartedBy(event.detail.startedBy);
    const script = runId === undefined ? undefined : director.scriptOf(runId);
    if (!runId || !script) return;
    const attempt = markerOf(event);
    const attemptIndex = noteTask(journal, taskArn, runId, attempt);
    const running: Promise<void> = play(taskArn, runId, attempt, script, attemptIndex)
      .catch((error: unknown) => {
        journal.engine.push({
          at: Date.now(),
          runId,
          taskArn,
          attempt,
          action: 'error',
          detail: error instanceof Error ? error.message : String(error),
        });
      })
      .finally(() => {
        playing.delete(running);
      });
    playing.add(running);
  };

  const disconnect = world.aws.subscribe(onEvent);
  return {
    drained: async () => {
      while (playing.size > 0) await Promise.all([...playing]);
    },
    disconnect,
  };
};
