/**
 * EventBridge as it really delivers "ECS Task State Change" events to the reporter: at least once,
 * in no particular order, sometimes late. Each event the ECS stand-in emits that the deployed
 * rule's pattern matches is delivered after a short random delay (so close events overtake each
 * other), sometimes after a long one (`lateMs`: a STOPPED may arrive before the PENDING), and
 * sometimes twice. Deliveries run concurrently, each an asynchronous Lambda invoke: a failed
 * invocation is retried twice (Lambda waits 1 and 2 minutes; here 200 and 400 ms).
 *
 * The plan of each event comes from a seeded stream keyed by the run, the task's attempt and the
 * event's status and version, so the same seed delays and duplicates the same events.
 */

import { ATTEMPT_VARIABLE } from '../../shared/ecs/attempt-marker.ts';
import { flowRunIdFromStartedBy } from '../../shared/ecs/started-by.ts';
import {
  type EndToEndWorld,
  matchesEventPattern,
  type taskStateRulePattern,
} from '../../test/integration/end-to-end-fixtures.ts';
import type { EcsTaskStateChangeEvent } from '../../test/standins/ecs/types.ts';
import { type Journal, noteTask } from './journal.ts';
import { createRandom } from './prng.ts';
import type { FaultProfile } from './profiles.ts';

type EventPattern = Awaited<ReturnType<typeof taskStateRulePattern>>;

export interface ChaoticEventBridge {
  /** Invocations that failed three times (the event is lost to the reporter, as in Lambda). */
  errors: { eventId: string; error: unknown }[];
  /** Resolves when no delivery is scheduled or running. */
  drained(): Promise<void>;
  disconnect(): void;
}

const RETRY_WAITS_MS = [200, 400] as const;

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

const markerOf = (event: EcsTaskStateChangeEvent): string | undefined =>
  event.detail.overrides.containerOverrides
    .flatMap((override) => override.environment ?? [])
    .find((variable) => variable.name === ATTEMPT_VARIABLE)?.value;

/**
 * Connects the reporter to the ECS stand-in through the rule's `pattern`, with the profile's
 * duplicates and delays. `runIndexOf` names the soak run of a flow run id (undefined: not ours,
 * delivered plainly).
 */
export const connectChaoticEventBridge = (
  world: EndToEndWorld,
  pattern: EventPattern,
  journal: Journal,
  options: {
    seed: string | number;
    profile: FaultProfile;
    runIndexOf: (runId: string) => number | undefined;
  }
): ChaoticEventBridge => {
  const { seed, profile } = options;
  const errors: ChaoticEventBridge['errors'] = [];
  const inFlight = new Set<Promise<void>>();

  const deliver = async (
    event: EcsTaskStateChangeEvent,
    runId: string,
    copy: number,
    delayMs: number,
    late: boolean
  ): Promise<void> => {
    await sleep(delayMs);
    const entry = {
      at: Date.now(),
      runId,
      eventId: event.id,
      taskArn: event.detail.taskArn,
      status: event.detail.lastStatus,
      copy,
      late,
      invocations: 0,
    };
    journal.deliveries.push(entry);
    for (let attempt = 0; ; attempt += 1) {
      entry.invocations += 1;
      try {
        await world.reporter(structuredClone(event));
        return;
      } catch (error) {
        const wait = RETRY_WAITS_MS[attempt];
        if (wait === undefined) {
          errors.push({ eventId: event.id, error });
          Object.assign(entry, { error: error instanceof Error ? error.message : String(error) });
          return;
        }
        await sleep(wait);
      }
    }
  };

  const schedule = (work: Promise<void>): void => {
    const tracked: Promise<void> = work.finally(() => {
      inFlight.delete(tracked);
    });
    inFlight.add(tracked);
  };

  const disconnect = world.aws.subscribe((event) => {
    if (!matchesEventPattern(pattern, event)) return;
    const runId = flowRunIdFromStartedBy(event.detail.startedBy) ?? '';
    const runIndex = options.runIndexOf(runId);
    if (runIndex === undefined) {
      schedule(deliver(event, runId, 0, 0, false));
      return;
    }
    const attemptIndex = noteTask(journal, event.detail.taskArn, runId, markerOf(event));
    const random = createRandom(
      seed,
      profile.name,
      'event',
      runIndex,
      attemptIndex,
      event.detail.lastStatus,
      event.detail.desiredStatus,
      event.detail.version
    );
    const copies = random.chance(profile.duplicateEvent) ? 2 : 1;
    for (let copy = 0; copy < copies; copy += 1) {
      const late = random.chance(profile.lateEvent);
      const delay = late ? random.int(...profile.lateMs) : random.int(0, 30);
      schedule(deliver(event, runId, copy, delay, late));
    }
  });

  return {
    errors,
    drained: async () => {
      while (inFlight.size > 0) await Promise.all([...inFlight]);
    },
    disconnect,
  };
};
