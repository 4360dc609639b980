/**
 * What invoked the poller, parsed with zod from the raw Lambda event:
 * - the EventBridge schedule (`detail-type: "Scheduled Event"`) → poll, and enqueue the ticks;
 * - SQS records from the tick queue → one poll for the whole batch (ticks never fan out);
 * - a direct invoke, `{}` or `{"work_pool": "<name>"}` → poll (one pool or all), no ticks.
 * Anything else is an `InvalidPollerEventError` listing zod's issues.
 */
import * as z from 'zod';
import { TickMessageSchema } from './tick-plan.ts';

const ScheduledEventSchema = z.looseObject({
  'detail-type': z.literal('Scheduled Event'),
  source: z.string(),
  time: z.iso.datetime({ offset: true }).optional(),
});

const SqsRecordSchema = z.looseObject({
  eventSource: z.literal('aws:sqs'),
  messageId: z.string(),
  body: z.string(),
});

const SqsEventSchema = z.looseObject({ Records: z.array(SqsRecordSchema).min(1) });

const DirectInvokeSchema = z.strictObject({
  /** Poll this configured pool only. */
  work_pool: z.string().trim().min(1).max(255).optional(),
});

/** The parsed trigger. */
export type PollerTrigger =
  | { kind: 'schedule' }
  | {
      kind: 'tick';
      /** Records that were tick messages. */
      ticks: number;
      /** Message ids of records that were not (logged, then dropped: never retried). */
      ignored: string[];
    }
  | { kind: 'direct'; pools: string[] | undefined };

/** The event is none of the shapes the poller accepts. */
export class InvalidPollerEventError extends Error {
  override readonly name: string = 'InvalidPollerEventError';
  readonly retryable = false;
}

const isTick = (body: string): boolean => {
  try {
    return TickMessageSchema.safeParse(JSON.parse(body)).success;
  } catch {
    return false;
  }
};

/**
 * @example
 * parsePollerEvent({ 'detail-type': 'Scheduled Event', source: 'aws.events' }); // { kind: 'schedule' }
 * parsePollerEvent({ work_pool: 'ecs' }); // { kind: 'direct', pools: ['ecs'] }
 */
export const parsePollerEvent = (event: unknown): PollerTrigger => {
  const scheduled = ScheduledEventSchema.safeParse(event);
  if (scheduled.success) return { kind: 'schedule' };
  const sqs = SqsEventSchema.safeParse(event);
  if (sqs.success) {
    const ignored = sqs.data.Records.filter((record) => !isTick(record.body)).map(
      (record) => record.messageId
    );
    return { kind: 'tick', ticks: sqs.data.Records.length - ignored.length, ignored };
  }
  const direct = DirectInvokeSchema.safeParse(event);
  if (direct.success) {
    return { kind: 'direct', pools: direct.data.work_pool ? [direct.data.work_pool] : undefined };
  }
  throw new InvalidPollerEventError(
    `Not a poller event (an EventBridge "Scheduled Event", SQS tick records, or {"work_pool"?: string}): ${z.prettifyError(direct.error).replaceAll('\n', '; ')}`
  );
};
