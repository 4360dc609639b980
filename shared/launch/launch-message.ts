/**
 * The message the poller sends to the launch queue for every run it claimed, and the launcher
 * reads. It carries the claim: the `transition_id` of the PENDING proposal the server accepted,
 * which identifies the *attempt* (a run keeps its id across retries and reschedules; each attempt
 * is claimed anew).
 */
import * as z from 'zod';
import { InvalidMessageError } from '../errors/invalid-message-error.ts';

/** Prefect ids: any 8-4-4-4-12 hex form (as `shared/prefect/schemas.ts` reads them). */
const Id = z.guid();

/** The launch message schema; unknown keys are ignored so newer pollers can add fields. */
export const LaunchMessageSchema = z.object({
  /** The claimed flow run. */
  flow_run_id: Id,
  /** The work pool the run was claimed from. */
  work_pool: z.string().min(1),
  /** `state_details.transition_id` of the accepted PENDING proposal (the claim). */
  transition_id: Id,
  /** The run's scheduled start; the launcher gives up retrying a deadline after it. */
  scheduled_time: z.iso.datetime({ offset: true }),
  /**
   * When the server accepted the claim (the PENDING state's timestamp). The retry deadline counts
   * from here (or the scheduled time, whichever is later), and a task created before it belongs to
   * an older attempt of the run. Absent in messages of the previous release, which also means their
   * launcher used the flow run id as RunTask's clientToken (see `start-task.ts`).
   */
  claimed_at: z.iso.datetime({ offset: true }).optional(),
  /**
   * How often the poller has enqueued this claim (the orphan sweep re-enqueues); 1 = first. Counts
   * deliveries of one attempt, not attempts of the run (those are claims: `transition_id`).
   */
  attempt: z.number().int().min(1).optional(),
});

/** A parsed launch message. */
export type LaunchMessage = z.infer<typeof LaunchMessageSchema>;

/** What the poller knows after a claim. */
export interface LaunchMessageInput {
  flowRunId: string;
  workPool: string;
  transitionId: string;
  scheduledTime: Date | string;
  /** When the claim was accepted. */
  claimedAt?: Date | string | undefined;
  attempt?: number;
}

/**
 * Builds (and validates) the message for a claimed run. Throws `InvalidMessageError` for bad input,
 * so a poller bug surfaces at the sender, not in the launcher's DLQ.
 *
 * @example
 * const body = JSON.stringify(buildLaunchMessage({
 *   flowRunId: run.id, workPool: 'ecs', transitionId: claim.transitionId,
 *   scheduledTime: run.next_scheduled_start_time,
 * }));
 */
export const buildLaunchMessage = (input: LaunchMessageInput): LaunchMessage => {
  const iso = (time: Date | string) => (time instanceof Date ? time.toISOString() : time);
  const result = LaunchMessageSchema.safeParse({
    flow_run_id: input.flowRunId,
    work_pool: input.workPool,
    transition_id: input.transitionId,
    scheduled_time: iso(input.scheduledTime),
    ...(input.claimedAt === undefined ? {} : { claimed_at: iso(input.claimedAt) }),
    ...(input.attempt === undefined ? {} : { attempt: input.attempt }),
  });
  if (!result.success) throw new InvalidMessageError(describeIssues(result.error));
  return result.data;
};

const describeIssues = (error: z.ZodError): string[] =>
  error.issues.map(
    (issue) => `${issue.path.map(String).join('.') || '(message)'}: ${issue.message}`
  );

/**
 * Parses an SQS body. Throws `InvalidMessageError` (never retryable) when it is not JSON or not a
 * launch message; the error lists zod's issues and never quotes the body.
 *
 * @example
 * parseLaunchMessage('{"flow_run_id":"…","work_pool":"ecs",…}');
 */
export const parseLaunchMessage = (body: string): LaunchMessage => {
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    throw new InvalidMessageError([`(body): not JSON (${body.length} characters)`]);
  }
  const result = LaunchMessageSchema.safeParse(json);
  if (!result.success) throw new InvalidMessageError(describeIssues(result.error));
  return result.data;
};

/**
 * When the launcher stops retrying transient failures of this message: `retryDeadlineSeconds`
 * after the later of the scheduled time and the claim, so a run claimed late (pool concurrency, a
 * paused pool, an outage) still gets the whole deadline.
 *
 * @example
 * retryDeadlineMs({ scheduled_time: '2026-01-01T10:00:00Z', claimed_at: '2026-01-01T10:40:00Z', … }, 900);
 * // Date.parse('2026-01-01T10:55:00Z')
 */
export const retryDeadlineMs = (
  message: Pick<LaunchMessage, 'scheduled_time' | 'claimed_at'>,
  retryDeadlineSeconds: number
): number => {
  const scheduled = Date.parse(message.scheduled_time);
  const claimed = message.claimed_at === undefined ? Number.NaN : Date.parse(message.claimed_at);
  const base = Number.isNaN(claimed) ? scheduled : Math.max(scheduled, claimed);
  return base + retryDeadlineSeconds * 1000;
};
