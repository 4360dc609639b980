/**
 * A minimal HTTP front for the AWS stand-in services, for their own tests. It dispatches the way the
 * shared server (test/standins/ecs/server.ts) does:
 *
 * - `X-Amz-Target: <targetPrefix>.<Operation>` → the JsonService with that prefix; errors answer
 *   `{"__type": code, "message": ...}` with the error's HTTP status and `x-amzn-errortype`;
 * - a form-encoded body with `Action=...` → the QueryService (EC2); errors answer
 *   `formatQueryError` XML.
 *
 * A body that is not JSON, or not a JSON object, is a `SerializationException`; a service that throws
 * something other than an AwsServiceError answers 500 (`InternalFailure` / `InternalError`) and the
 * server keeps running.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  AwsServiceError,
  formatQueryError,
  type JsonService,
  type QueryService,
} from './service.ts';

export interface ServedAwsServices {
  /** `http://127.0.0.1:<port>`: the `endpoint` for the SDK clients. */
  readonly url: string;
  close(): Promise<void>;
}

const readBody = async (request: IncomingMessage): Promise<string> => {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
};

const send = (
  response: ServerResponse,
  status: number,
  contentType: string,
  body: string,
  requestId: string,
  headers: Record<string, string> = {}
): void => {
  response.writeHead(status, {
    'content-type': contentType,
    'content-length': Buffer.byteLength(body),
    'x-amzn-requestid': requestId,
    ...headers,
  });
  response.end(body);
};

const sendJsonError = (
  response: ServerResponse,
  error: AwsServiceError,
  requestId: string,
  contentType: string
): void => {
  send(
    response,
    error.status,
    contentType,
    JSON.stringify({ __type: error.code, message: error.message }),
    requestId,
    { 'x-amzn-errortype': error.code }
  );
};

const handleJson = (
  services: readonly JsonService[],
  target: string,
  body: string,
  contentType: string,
  response: ServerResponse,
  requestId: string
): void => {
  const dot = target.lastIndexOf('.');
  const prefix = dot < 0 ? '' : target.slice(0, dot);
  const operation = dot < 0 ? target : target.slice(dot + 1);
  const service = services.find((candidate) => candidate.targetPrefix === prefix);
  try {
    if (!service) {
      throw new AwsServiceError('UnknownOperationException', `Unknown target ${target}`);
    }
    let input: unknown;
    try {
      input = JSON.parse(body);
    } catch {
      throw new AwsServiceError(
        'SerializationException',
        'Failed to parse the request body as JSON'
      );
    }
    if (typeof input !== 'object' || input === null || Array.isArray(input)) {
      throw new AwsServiceError(
        'SerializationException',
        'Start of structure or map not found at the top level of the request body'
      );
    }
    const output = service.handle(operation, input);
    send(response, 200, contentType, JSON.stringify(output ?? {}), requestId);
  } catch (error) {
    if (error instanceof AwsServiceError) {
      sendJsonError(response, error, requestId, contentType);
      return;
    }
    sendJsonError(
      response,
      new AwsServiceError('InternalFailure', (error as Error).message ?? 'internal error', 500),
      requestId,
      contentType
    );
  }
};

const handleQuery = (
  service: QueryService | undefined,
  params: URLSearchParams,
  response: ServerResponse,
  requestId: string
): void => {
  const xml = 'text/xml;charset=UTF-8';
  try {
    const action = params.get('Action');
    if (!service || action === null) {
      throw new AwsServiceError('MissingAction', 'The request must contain the parameter Action');
    }
    send(response, 200, xml, service.handle(action, params), requestId);
  } catch (error) {
    const serviceError =
      error instanceof AwsServiceError
        ? error
        : new AwsServiceError('InternalError', (error as Error).message ?? 'internal error', 500);
    send(response, serviceError.status, xml, formatQueryError(serviceError, requestId), requestId);
  }
};

/** Serves the services on 127.0.0.1 on a free port until `close()`. */
export const serveAwsServices = async (services: {
  json: readonly JsonService[];
  query?: QueryService;
}): Promise<ServedAwsServices> => {
  const server = createServer((request, response) => {
    const requestId = randomUUID();
    readBody(request)
      .then((body) => {
        const target = request.headers['x-amz-target'];
        const contentType = request.headers['content-type'] ?? '';
        if (typeof target === 'string') {
          const jsonType = contentType.startsWith('application/x-amz-json-1.0')
            ? 'application/x-amz-json-1.0'
            : 'application/x-amz-json-1.1';
          handleJson(services.json, target, body, jsonType, response, requestId);
          return;
        }
        if (
          request.method === 'POST' &&
          contentType.startsWith('application/x-www-form-urlencoded')
        ) {
          handleQuery(services.query, new URLSearchParams(body), response, requestId);
          return;
        }
        sendJsonError(
          response,
          new AwsServiceError('UnknownOperationException', 'Missing X-Amz-Target or Action', 400),
          requestId,
          'application/x-amz-json-1.1'
        );
      })
      .catch((error: unknown) => {
        if (!response.headersSent) {
          send(response, 500, 'text/plain', String(error), requestId);
        } else {
          response.destroy();
        }
      });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
};
