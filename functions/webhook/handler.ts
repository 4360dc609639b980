/**
 * The webhook Lambda (API Gateway HTTP API, payload format 2.0): `POST /trigger` runs one poll now,
 * for the pool named in the body or for every configured pool, so an ad-hoc run starts in about a
 * second instead of at the next tick. Thin: route → body bytes → authenticate → parse → one poll →
 * 202 `{claimed, enqueued}`. Prefect is called only after authentication succeeded.
 */
import type { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import type { Metrics } from '@aws-lambda-powertools/metrics';
import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import { createLogger, createMetrics, flushMetrics } from '../../shared/observability.ts';
import { createReplayCache, type ReplayCache } from '../../shared/webhook/replay-cache.ts';
import { parseTriggerBody } from '../../shared/webhook/trigger-body.ts';
import { loadWebhookConfig } from '../../shared/webhook/webhook-config.ts';
import { MAX_BODY_BYTES, TRIGGER_PATH } from '../../shared/webhook/webhook-limits.ts';
import type { WebhookCredentials } from '../../shared/webhook/webhook-secret.ts';
import {
  httpAuthentication,
  httpErrorHandler,
  httpRawBody,
  httpRoute,
  INTERNAL_ERROR_BODY,
  jsonResponse,
  type WebhookEvent,
  type WebhookResult,
} from './middlewares.ts';
import { createWebhookDeps } from './webhook-deps.ts';

/** Totals of one poll. */
export interface WebhookPollResult {
  claimed: number;
  enqueued: number;
}

/** Polls the given pools (undefined: every configured pool) once. */
export type WebhookPoll = (pools: readonly string[] | undefined) => Promise<WebhookPollResult>;

/** What the webhook handler needs; tests pass fakes. */
export interface WebhookDeps {
  /** The pools this stack serves (`PREFECT_WORK_POOLS`); a body naming another one is a 400. */
  workPools: readonly string[];
  /** The expected credentials; read the secret once per cold start (memoize inside). */
  credentials: () => Promise<WebhookCredentials>;
  poll: WebhookPoll;
  /** Default: the system clock. */
  now?: () => Date;
  /** Default: a fresh in-memory cache (one per handler, i.e. per container). */
  replayCache?: ReplayCache;
  /** Default: `createLogger('webhook')`. */
  logger?: Logger;
  /**
   * What `poll` records (RunsClaimed), published at the end of each request that reached the poll.
   * None: nothing published.
   */
  metrics?: Metrics;
}

/** The Lambda handler type. */
export type WebhookHandler = (event: WebhookEvent, context: Context) => Promise<WebhookResult>;

/**
 * Builds the handler around its dependencies.
 *
 * @example
 * const handler = createWebhookHandler({
 *   workPools: ['ecs'],
 *   credentials: async () => ({ token: 'a-long-shared-token' }),
 *   poll: async (pools) => ({ claimed: 0, enqueued: 0 }),
 * });
 */
export const createWebhookHandler = (deps: WebhookDeps): WebhookHandler => {
  const logger = deps.logger ?? createLogger('webhook');
  const now = deps.now ?? (() => new Date());
  // `logEvent: false`: never the event, whatever POWERTOOLS_LOGGER_LOG_EVENT says (its headers
  // carry the webhook credential).
  return middy<WebhookEvent, WebhookResult>()
    .use(injectLambdaContext(logger, { resetKeys: true, logEvent: false }))
    .use(httpErrorHandler({ logger }))
    .use(httpRoute({ method: 'POST', path: TRIGGER_PATH }))
    .use(httpRawBody({ maxBytes: MAX_BODY_BYTES }))
    .use(
      httpAuthentication({
        credentials: deps.credentials,
        replayCache: deps.replayCache ?? createReplayCache(),
        now,
      })
    )
    .handler(async (event) => {
      const trigger = parseTriggerBody(event.bodyBytes ?? new Uint8Array(), deps.workPools);
      let result: WebhookPollResult;
      try {
        result = await deps.poll(trigger.pools);
      } finally {
        if (deps.metrics) flushMetrics(deps.metrics);
      }
      const { claimed, enqueued } = result;
      logger.info('Poll triggered', {
        pools: trigger.pools ?? deps.workPools,
        claimed,
        enqueued,
        authenticatedBy: event.authenticatedBy,
        ...trigger.context,
      });
      return jsonResponse(202, { claimed, enqueued });
    });
};

/** The webhook's logger (`POWERTOOLS_LOG_LEVEL`, `POWERTOOLS_SERVICE_NAME` apply). */
export const logger = createLogger('webhook');

/** The webhook's metrics (namespace and `service` dimension from shared/observability.ts). */
export const metrics = createMetrics();

let fromEnvironment: WebhookHandler | undefined;

/**
 * The Lambda entry point: configuration from the environment on the first invocation (a bad one
 * is logged, listing every problem, and answered with a generic 500 until it is fixed).
 */
export const handler: WebhookHandler = async (event, context) => {
  if (fromEnvironment === undefined) {
    try {
      fromEnvironment = createWebhookHandler(
        createWebhookDeps(loadWebhookConfig(process.env), { logger, metrics })
      );
    } catch (error) {
      logger.error('Webhook cannot start', { error });
      return jsonResponse(500, INTERNAL_ERROR_BODY);
    }
  }
  return fromEnvironment(event, context);
};
