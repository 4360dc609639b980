/**
 * The body of `POST /trigger`: empty, `{"work_pool": "<name>"}`, or what a Prefect automation's
 * "call webhook" action sends with the README's payload template (`flow_run_id`, `event`,
 * `event_id`, `expected_start_time`, `work_pool`, `work_queue`, `deployment_id`). Unknown keys are
 * ignored. Only `work_pool` changes what happens; the others are kept for the log.
 */
import * as z from 'zod';
import { badRequest } from './webhook-http-error.ts';

/**
 * Jinja renders a missing related object (`{{ work_pool.name }}` when the event has no work pool)
 * as an empty string; treat it, and null, as absent.
 */
const blankToUndefined = (value: unknown): unknown =>
  value === null || (typeof value === 'string' && value.trim() === '') ? undefined : value;

const optionalText = (max: number) =>
  z.preprocess(blankToUndefined, z.string().trim().max(max).optional());

/** The trigger body schema; unknown keys pass through untouched. */
export const TriggerBodySchema = z.looseObject({
  /** Poll this pool only; absent → every configured pool. */
  work_pool: optionalText(255),
  /** From a Prefect automation; logged only. */
  flow_run_id: optionalText(100),
  event: optionalText(255),
  event_id: optionalText(100),
  expected_start_time: optionalText(100),
  work_queue: optionalText(255),
  deployment_id: optionalText(100),
});

/** What the handler needs from a trigger body. */
export interface TriggerRequest {
  /** The pools to poll: one, or undefined for every configured pool. */
  pools: readonly string[] | undefined;
  /** What to log about the caller's reason (automation fields), when present. */
  context: {
    flowRunId?: string;
    event?: string;
    eventId?: string;
    expectedStartTime?: string;
  };
}

const describeIssues = (error: z.ZodError): string =>
  error.issues
    .map((issue) => `${issue.path.map(String).join('.') || '(body)'}: ${issue.message}`)
    .join('; ');

const decoder = new TextDecoder('utf-8', { fatal: true });

/**
 * Parses and checks a raw body against the configured pools. Throws a 400 `WebhookHttpError` for
 * text that is not UTF-8 or not JSON (with the parser's message), a body that is not a trigger
 * body (zod's message) or a pool not in `workPools`. Never quotes more of the body than the JSON
 * parser does.
 *
 * @example
 * parseTriggerBody(Buffer.from('{"work_pool":"ecs"}'), ['ecs', 'gpu']).pools; // ['ecs']
 * parseTriggerBody(new Uint8Array(), ['ecs', 'gpu']).pools; // undefined: every pool
 */
export const parseTriggerBody = (
  body: Uint8Array,
  workPools: readonly string[]
): TriggerRequest => {
  let text: string;
  try {
    text = decoder.decode(body);
  } catch {
    throw badRequest('Invalid request body: not UTF-8 text');
  }
  if (text.trim() === '') return { pools: undefined, context: {} };
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw badRequest(`Invalid JSON body: ${(error as Error).message}`);
  }
  const parsed = TriggerBodySchema.safeParse(json);
  if (!parsed.success) throw badRequest(`Invalid request body: ${describeIssues(parsed.error)}`);
  const data = parsed.data;
  if (data.work_pool !== undefined && !workPools.includes(data.work_pool)) {
    throw badRequest(
      `Invalid request body: work_pool: unknown work pool ${JSON.stringify(data.work_pool)} (this webhook serves ${workPools.map((pool) => JSON.stringify(pool)).join(', ')})`
    );
  }
  return {
    pools: data.work_pool === undefined ? undefined : [data.work_pool],
    context: {
      ...(data.flow_run_id === undefined ? {} : { flowRunId: data.flow_run_id }),
      ...(data.event === undefined ? {} : { event: data.event }),
      ...(data.event_id === undefined ? {} : { eventId: data.event_id }),
      ...(data.expected_start_time === undefined
        ? {}
        : { expectedStartTime: data.expected_start_time }),
    },
  };
};
