/**
 * Events as AWS delivers them to the functions: the EventBridge schedule's "Scheduled Event", an
 * SQS event source mapping's batch (built from messages received from the queue) and an API
 * Gateway HTTP API (payload format 2.0) request. Plain data, usable from tests and benches.
 */
import { randomUUID } from 'node:crypto';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';

const ACCOUNT = '123456789012';

/** An EventBridge "Scheduled Event" (the poll schedule's target input is the event itself). */
export const scheduledEvent = (region: string, ruleName: string) => ({
  version: '0',
  id: randomUUID(),
  'detail-type': 'Scheduled Event',
  source: 'aws.events',
  account: ACCOUNT,
  time: `${new Date().toISOString().slice(0, 19)}Z`,
  region,
  resources: [`arn:aws:events:${region}:${ACCOUNT}:rule/${ruleName}`],
  detail: {},
});

/** The SQS event source mapping's records and batches (one home: test/standins/sqs/esm-record.ts). */
export { sqsEvent, sqsRecord } from '../standins/sqs/esm-record.ts';

/**
 * `POST <path>` on the HTTP API's `$default` stage, as API Gateway hands it to the integration
 * (https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-develop-integrations-lambda.html,
 * payload format 2.0): header names lower-cased, the body as text.
 */
export const httpApiEvent = (options: {
  path: string;
  body: string;
  headers: Record<string, string>;
  region: string;
}): APIGatewayProxyEventV2 => {
  const now = new Date();
  const domain = `abc123.execute-api.${options.region}.amazonaws.com`;
  return {
    version: '2.0',
    routeKey: `POST ${options.path}`,
    rawPath: options.path,
    rawQueryString: '',
    headers: {
      host: domain,
      'content-type': 'application/json',
      'content-length': String(Buffer.byteLength(options.body)),
      'user-agent': 'prefect-automation/3',
      'x-forwarded-proto': 'https',
      ...Object.fromEntries(
        Object.entries(options.headers).map(([name, value]) => [name.toLowerCase(), value])
      ),
    },
    requestContext: {
      accountId: ACCOUNT,
      apiId: 'abc123',
      domainName: domain,
      domainPrefix: 'abc123',
      http: {
        method: 'POST',
        path: options.path,
        protocol: 'HTTP/1.1',
        sourceIp: '203.0.113.7',
        userAgent: 'prefect-automation/3',
      },
      requestId: randomUUID(),
      routeKey: `POST ${options.path}`,
      stage: '$default',
      time: now.toUTCString(),
      timeEpoch: now.getTime(),
    },
    body: options.body,
    isBase64Encoded: false,
  };
};
