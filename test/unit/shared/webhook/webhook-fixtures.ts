/** API Gateway HTTP API (payload 2.0) events, a Lambda context and a log spy for webhook tests. */
import { randomUUID } from 'node:crypto';
import { Logger } from '@aws-lambda-powertools/logger';
import type { Context } from 'aws-lambda';
import { vi } from 'vitest';
import type { WebhookEvent } from '../../../../functions/webhook/middlewares.ts';

export interface EventOptions {
  method?: string;
  /** Path after the stage (default `/trigger`). */
  path?: string;
  /** Default `$default` (no prefix); another stage prefixes `rawPath` with `/<stage>`. */
  stage?: string;
  headers?: Record<string, string>;
  body?: string;
  isBase64Encoded?: boolean;
}

/** An event shaped like what API Gateway sends for `POST /trigger` on the `$default` stage. */
export const apiGatewayEvent = (options: EventOptions = {}): WebhookEvent => {
  const method = options.method ?? 'POST';
  const stage = options.stage ?? '$default';
  const path = `${stage === '$default' ? '' : `/${stage}`}${options.path ?? '/trigger'}`;
  const now = new Date('2026-08-21T12:00:00Z');
  return {
    version: '2.0',
    routeKey: '$default',
    rawPath: path,
    rawQueryString: '',
    headers: {
      host: 'abc123.execute-api.us-east-1.amazonaws.com',
      'user-agent': 'python-httpx/0.28.1',
      ...(options.body === undefined ? {} : { 'content-length': String(options.body.length) }),
      ...options.headers,
    },
    requestContext: {
      accountId: '123456789012',
      apiId: 'abc123',
      domainName: 'abc123.execute-api.us-east-1.amazonaws.com',
      domainPrefix: 'abc123',
      http: {
        method,
        path,
        protocol: 'HTTP/1.1',
        sourceIp: '203.0.113.7',
        userAgent: 'python-httpx/0.28.1',
      },
      requestId: randomUUID(),
      routeKey: '$default',
      stage,
      time: '21/Aug/2026:12:00:00 +0000',
      timeEpoch: now.getTime(),
    },
    ...(options.body === undefined ? {} : { body: options.body }),
    isBase64Encoded: options.isBase64Encoded ?? false,
  };
};

/** A Lambda context with 30 s left. */
export const lambdaContext = (): Context => ({
  callbackWaitsForEmptyEventLoop: true,
  functionName: 'prefect-ecs-serverless-dev-webhook',
  functionVersion: '$LATEST',
  invokedFunctionArn:
    'arn:aws:lambda:us-east-1:123456789012:function:prefect-ecs-serverless-dev-webhook',
  memoryLimitInMB: '256',
  awsRequestId: randomUUID(),
  logGroupName: '/aws/lambda/prefect-ecs-serverless-dev-webhook',
  logStreamName: '2026/08/21/[$LATEST]0123456789abcdef',
  getRemainingTimeInMillis: () => 30_000,
  done: () => undefined,
  fail: () => undefined,
  succeed: () => undefined,
});

/** A silent Powertools Logger whose calls are recorded, and the records as one string. */
export const recordingLogger = () => {
  const logger = new Logger({ serviceName: 'webhook', logLevel: 'SILENT' });
  const spies = {
    debug: vi.spyOn(logger, 'debug'),
    info: vi.spyOn(logger, 'info'),
    warn: vi.spyOn(logger, 'warn'),
    error: vi.spyOn(logger, 'error'),
  };
  /** Every logged argument, errors with message, stack and cause. */
  const text = (): string =>
    JSON.stringify(
      Object.entries(spies).map(([level, spy]) => [level, spy.mock.calls]),
      (_key, value: unknown) =>
        value instanceof Error
          ? { name: value.name, message: value.message, stack: value.stack, cause: value.cause }
          : value
    );
  return { logger, spies, text };
};
