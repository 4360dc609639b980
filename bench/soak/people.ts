/**
 * The soak's actors at Prefect besides the Lambdas: the engine in the containers, the user in the
 * UI and the soak's own inspector. Each sends `x-soak-actor: <role>`, so that the faults of the
 * schedule, meant for the Lambdas' calls, never hit them (`isLambdaCall`), and so that the audit
 * can tell who wrote each state.
 */
import type { EndToEndWorld } from '../../test/integration/end-to-end-fixtures.ts';
import {
  type ActorOptions,
  type FlowRun,
  readFlowRun,
  user,
} from '../../test/standins/prefect/actors.ts';
import type { FaultRequest } from '../../test/standins/prefect/server.ts';
import type { Journal } from './journal.ts';

/** The header naming a soak actor. */
export const SOAK_ACTOR_HEADER = 'x-soak-actor';

export type SoakRole = 'engine' | 'user' | 'inspector';

/** Final states, in which the UI offers Retry and no Cancel. */
export const TERMINAL: ReadonlySet<string> = new Set([
  'COMPLETED',
  'FAILED',
  'CRASHED',
  'CANCELLED',
]);

/** The world's credentials plus the role header. */
export const actorOptions = (world: EndToEndWorld, role: SoakRole): ActorOptions => ({
  headers: { ...world.auth.headers, [SOAK_ACTOR_HEADER]: role },
});

/** Whether a request came from a Lambda (no soak actor header): what the schedule's faults hit. */
export const isLambdaCall = (request: FaultRequest): boolean =>
  request.headers[SOAK_ACTOR_HEADER] === undefined;

const describeError = (error: unknown): string =>
  error instanceof Error ? error.message.slice(0, 200) : String(error);

/** The user, who only presses what the UI shows for the run's current state. */
export interface SoakUser {
  /** "Cancel", unless the run is already final or being cancelled. */
  cancel(runId: string): Promise<void>;
  /** "Retry", offered for final runs only. */
  retry(runId: string): Promise<void>;
}

export const createSoakUser = (world: EndToEndWorld, journal: Journal): SoakUser => {
  const options = actorOptions(world, 'user');
  const read = async (runId: string): Promise<FlowRun | undefined> => {
    try {
      return await readFlowRun(world.prefect.apiUrl, runId, options);
    } catch {
      return undefined;
    }
  };
  return {
    async cancel(runId) {
      const run = await read(runId);
      const seen = run?.state_type ?? 'unknown';
      if (!run || TERMINAL.has(seen) || seen === 'CANCELLING') {
        journal.user.push({ at: Date.now(), runId, action: 'cancel', seen, answer: 'not offered' });
        return;
      }
      let answer: string;
      try {
        answer = (await user.cancel(world.prefect.apiUrl, runId, options)).status;
      } catch (error) {
        answer = describeError(error);
      }
      journal.user.push({ at: Date.now(), runId, action: 'cancel', seen, answer });
    },
    async retry(runId) {
      const run = await read(runId);
      const seen = run?.state_type ?? 'unknown';
      if (!run || !TERMINAL.has(seen)) {
        journal.user.push({ at: Date.now(), runId, action: 'retry', seen, answer: 'not offered' });
        return;
      }
      let answer: string;
      try {
        answer = (await user.retry(world.prefect.apiUrl, runId, options)).status;
      } catch (error) {
        answer = describeError(error);
      }
      journal.user.push({ at: Date.now(), runId, action: 'retry', seen, answer });
    },
  };
};

/**
 * The runs' current states, refreshed for the runs in flight in one `POST /flow_runs/filter`
 * every `everyMs` (what the UI's list shows; the engine's cancellation observer reads it too).
 */
export interface RunWatcher {
  state(runId: string): { type: string; name: string } | undefined;
  watch(runId: string): void;
  unwatch(runId: string): void;
  stop(): Promise<void>;
}

export const startRunWatcher = (world: EndToEndWorld, everyMs: number): RunWatcher => {
  const watched = new Set<string>();
  const states = new Map<string, { type: string; name: string }>();
  const headers = {
    ...actorOptions(world, 'inspector').headers,
    'content-type': 'application/json',
    'x-prefect-api-version': '0.8.4',
  };
  let stopped = false;
  const loop = async (): Promise<void> => {
    while (!stopped) {
      const ids = [...watched];
      for (let start = 0; start < ids.length; start += 200) {
        try {
          const response = await fetch(`${world.prefect.apiUrl}/flow_runs/filter`, {
            method: 'POST',
            headers,
            body: JSON.stringify({
              flow_runs: { id: { any_: ids.slice(start, start + 200) } },
              limit: 200,
            }),
          });
          if (!response.ok) continue;
          for (const run of (await response.json()) as FlowRun[]) {
            states.set(run.id, { type: run.state_type ?? '', name: run.state_name ?? '' });
          }
        } catch {
          // the next round tries again
        }
      }
      await new Promise((resolve) => setTimeout(resolve, everyMs));
    }
  };
  const running = loop();
  return {
    state: (runId) => states.get(runId),
    watch: (runId) => {
      watched.add(runId);
    },
    unwatch: (runId) => {
      watched.delete(runId);
    },
    stop: async () => {
      stopped = true;
      await running;
    },
  };
};
