/**
 * The AWS stand-in's HTTP server: one port for ECS, EC2, Secrets Manager and CloudWatch Logs, reached
 * through the real SDK clients (`endpoint`, or `AWS_ENDPOINT_URL`).
 *
 * - `X-Amz-Target: <targetPrefix>.<Operation>` → the JSON service with that prefix. Answers 200 with
 *   the output, or the error's status with `{"__type": code, "message": ...}` and `x-amzn-errortype`
 *   (the SDK reads `__type` first and maps it to the modelled exception class).
 * - a form-encoded body with `Action=...` → EC2 (query protocol, XML answers, `formatQueryError`).
 *
 * Requests must carry a SigV4 `Authorization` header scoped to the stand-in's region and to the
 * service's signing name (the signature itself is not checked), as AWS refuses anything else.
 * A body that is not JSON is a `SerializationException`; a service that crashes answers 500
 * `InternalFailure` and the server keeps serving. Every request lands in `calls`.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createEc2Service } from '../aws/ec2.ts';
import { createLogsService } from '../aws/logs.ts';
import { answerExtraQuery, isExtraQuery } from '../aws/query-extras.ts';
import { createSecretsManagerService } from '../aws/secrets-manager.ts';
import {
  AwsServiceError,
  formatQueryError,
  type JsonService,
  type QueryService,
} from '../aws/service.ts';
import { createSsmService } from '../aws/ssm.ts';
import { EcsServiceError } from './ecs-errors.ts';
import { createEcsService } from './ecs-service.ts';
import { createEcsThrottling } from './throttling.ts';
import type { AwsServiceName, AwsStandin, AwsStandinOptions, RecordedCall } from './types.ts';

interface JsonRoute {
  name: AwsServiceName;
  signingName: string;
  contentType: string;
  service: JsonService;
}

interface Answer {
  status: number;
  contentType: string;
  body: string;
  headers?: Record<string, string>;
}

const JSON_1_1 = 'application/x-amz-json-1.1';
const XML = 'text/xml;charset=UTF-8';

const readBody = async (request: IncomingMessage): Promise<string> => {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
};

const jsonError = (error: AwsServiceError, contentType: string): Answer => ({
  status: error.status,
  contentType,
  headers: { 'x-amzn-errortype': error.code },
  body: JSON.stringify({
    __type: error.code,
    message: error.message,
    ...(error instanceof EcsServiceError ? error.fields : {}),
  }),
});

const internal = (error: unknown, code: string): AwsServiceError =>
  new AwsServiceError(
    code,
    `The stand-in failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`,
    500
  );

/** `Credential=<key>/<date>/<region>/<service>/aws4_request` → region and service. */
const credentialScope = (
  request: IncomingMessage
): { region: string; service: string } | undefined => {
  const header = request.headers.authorization;
  const match =
    typeof header === 'string' ? /Credential=[^/]+\/\d{8}\/([^/]+)\/([^/]+)\//.exec(header) : null;
  if (!match?.[1] || !match[2]) return undefined;
  return { region: match[1], service: match[2] };
};

/** The SigV4 access key id (`Credential=<key>/…`): which principal signed, as AWS attributes calls. */
const accessKeyOf = (request: IncomingMessage): string | undefined => {
  const header = request.headers.authorization;
  return typeof header === 'string' ? /Credential=([^/]+)\//.exec(header)?.[1] : undefined;
};

const authProblem = (
  request: IncomingMessage,
  region: string,
  signingName: string
): AwsServiceError | undefined => {
  const scope = credentialScope(request);
  if (!scope) {
    return new AwsServiceError(
      'MissingAuthenticationTokenException',
      'Missing Authentication Token',
      403
    );
  }
  if (scope.region !== region) {
    return new AwsServiceError(
      'InvalidSignatureException',
      `Credential should be scoped to a valid region, not '${scope.region}'. This stand-in serves '${region}'.`,
      403
    );
  }
  if (scope.service !== signingName) {
    return new AwsServiceError(
      'InvalidSignatureException',
      `Credential should be scoped to correct service: '${signingName}'.`,
      403
    );
  }
  return undefined;
};

export const startAwsStandin = async (options: AwsStandinOptions = {}): Promise<AwsStandin> => {
  const region = options.region ?? 'us-east-1';
  const accountId = options.accountId ?? '123456789012';
  const now = options.now ?? (() => new Date());

  const ec2 = createEc2Service({ region, accountId });
  const secrets = createSecretsManagerService({ region, accountId });
  const parameters = createSsmService({ region, accountId });
  const logs = createLogsService({ region, accountId });
  const ecs = createEcsService({
    region,
    accountId,
    now,
    ...(options.taskPlan ? { taskPlan: options.taskPlan } : {}),
    network: {
      subnet: (id) => ec2.getSubnet(id),
      securityGroup: (id) => ec2.getSecurityGroup(id),
    },
  });
  const jsonRoutes: JsonRoute[] = [
    { name: 'ecs', signingName: 'ecs', contentType: JSON_1_1, service: ecs },
    {
      name: 'secretsmanager',
      signingName: 'secretsmanager',
      contentType: JSON_1_1,
      service: secrets,
    },
    { name: 'logs', signingName: 'logs', contentType: JSON_1_1, service: logs },
    { name: 'ssm', signingName: 'ssm', contentType: JSON_1_1, service: parameters },
  ];
  const query: { name: AwsServiceName; signingName: string; service: QueryService } = {
    name: 'ec2',
    signingName: 'ec2',
    service: ec2,
  };
  const calls: RecordedCall[] = [];
  const throttling = options.throttling
    ? createEcsThrottling({
        ...(options.throttling === true ? {} : options.throttling),
        nowMs: () => now().getTime(),
      })
    : undefined;

  const record = (
    call: Omit<RecordedCall, 'requestId' | 'at' | 'accessKeyId'>,
    requestId: string,
    request: IncomingMessage
  ): void => {
    const accessKeyId = accessKeyOf(request);
    calls.push({ ...call, requestId, at: now(), ...(accessKeyId ? { accessKeyId } : {}) });
  };

  const answerJson = (
    request: IncomingMessage,
    target: string,
    body: string,
    requestId: string
  ): Answer => {
    const dot = target.lastIndexOf('.');
    const prefix = dot < 0 ? '' : target.slice(0, dot);
    const operation = dot < 0 ? target : target.slice(dot + 1);
    const route = jsonRoutes.find((candidate) => candidate.service.targetPrefix === prefix);
    const contentType = route?.contentType ?? JSON_1_1;
    let input: unknown = body;
    try {
      if (!route) {
        throw new AwsServiceError('UnknownOperationException', `Unknown target ${target}`);
      }
      const denied = authProblem(request, region, route.signingName);
      if (denied) throw denied;
      try {
        input = body.trim() === '' ? {} : JSON.parse(body);
      } catch (error) {
        throw new AwsServiceError(
          'SerializationException',
          `Could not parse the request body as JSON: ${(error as Error).message}`
        );
      }
      if (typeof input !== 'object' || input === null || Array.isArray(input)) {
        throw new AwsServiceError(
          'SerializationException',
          `Start of structure or map expected at the top level of the request body, found ${Array.isArray(input) ? 'START_ARRAY' : typeof input}`
        );
      }
      // ECS's token buckets refuse a request before anything else looks at it (throttling.ts).
      const refused = route.name === 'ecs' ? throttling?.admit(operation, input) : undefined;
      if (refused) throw refused;
      const output = route.service.handle(operation, input) ?? {};
      record({ service: route.name, operation, input, output }, requestId, request);
      return { status: 200, contentType, body: JSON.stringify(output) };
    } catch (caught) {
      const error =
        caught instanceof AwsServiceError ? caught : internal(caught, 'InternalFailure');
      record(
        {
          service: route?.name ?? 'ecs',
          operation,
          input,
          error: { code: error.code, message: error.message },
        },
        requestId,
        request
      );
      return jsonError(error, contentType);
    }
  };

  const answerQuery = (request: IncomingMessage, body: string, requestId: string): Answer => {
    const params = new URLSearchParams(body);
    const action = params.get('Action');
    const input = Object.fromEntries(params);
    try {
      if (action === null || action === '') {
        throw new AwsServiceError('MissingAction', 'The request must contain the parameter Action');
      }
      const denied = authProblem(request, region, query.signingName);
      if (denied) throw new AwsServiceError('AuthFailure', denied.message, 401);
      const output = query.service.handle(action, params);
      record({ service: query.name, operation: action, input, output }, requestId, request);
      return { status: 200, contentType: XML, body: output };
    } catch (caught) {
      const error = caught instanceof AwsServiceError ? caught : internal(caught, 'InternalError');
      record(
        {
          service: query.name,
          operation: action ?? '',
          input,
          error: { code: error.code, message: error.message },
        },
        requestId,
        request
      );
      return { status: error.status, contentType: XML, body: formatQueryError(error, requestId) };
    }
  };

  const answer = async (request: IncomingMessage, requestId: string): Promise<Answer> => {
    const body = await readBody(request);
    const target = request.headers['x-amz-target'];
    const contentType = request.headers['content-type'] ?? '';
    if (isExtraQuery(request, body)) return answerExtraQuery(request, body, requestId, ec2);
    if (request.method === 'POST' && typeof target === 'string') {
      return answerJson(request, target, body, requestId);
    }
    if (request.method === 'POST' && contentType.startsWith('application/x-www-form-urlencoded')) {
      return answerQuery(request, body, requestId);
    }
    return jsonError(
      new AwsServiceError(
        'UnknownOperationException',
        'Expected POST / with an X-Amz-Target header (JSON protocols) or a form-encoded Action (EC2).'
      ),
      JSON_1_1
    );
  };

  const write = (response: ServerResponse, result: Answer, requestId: string): void => {
    response.writeHead(result.status, {
      'content-type': result.contentType,
      'content-length': Buffer.byteLength(result.body),
      'x-amzn-requestid': requestId,
      ...result.headers,
    });
    response.end(result.body);
  };

  const server = createServer((request, response) => {
    const requestId = randomUUID();
    answer(request, requestId).then(
      (result) => write(response, result, requestId),
      (error: unknown) => {
        if (response.headersSent) {
          response.destroy();
          return;
        }
        write(response, jsonError(internal(error, 'InternalFailure'), JSON_1_1), requestId);
      }
    );
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => resolve());
  });
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;

  return {
    url: `http://${host}:${address.port}`,
    region,
    accountId,
    calls,
    callsTo: (operation) => calls.filter((call) => call.operation === operation),
    events: ecs.bus.events,
    subscribe: (listener) => ecs.bus.subscribe(listener),
    ecs: ecs.control,
    throttling,
    ec2,
    secrets,
    parameters,
    logs,
    close: async () => {
      ecs.close();
      server.closeAllConnections();
      await new Promise<void>((resolve, reject) =>
        server.close((error) => (error ? reject(error) : resolve()))
      );
    },
  };
};
