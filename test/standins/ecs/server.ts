/**
 * The AWS stand-in's HTTP server: one port for ECS, EC2, Secrets Manager, CloudWatch Logs, SSM, STS
 * and IAM, reached through the real SDK clients (`endpoint`, or `AWS_ENDPOINT_URL[_<SERVICE>]`).
 *
 * - `X-Amz-Target: <targetPrefix>.<Operation>` → the JSON service with that prefix. Answers 200 with
 *   the output, or the error's status with `{"__type": code, "message": ...}` and `x-amzn-errortype`
 *   (the SDK reads `__type` first and maps it to the modelled exception class).
 * - a form-encoded body → STS, IAM or EC2's DescribeSecurityGroups (query-extras.ts), else EC2
 *   (query protocol, XML answers, `formatQueryError`).
 *
 * Accounts and regions (tenants, tenant.ts): every request is attributed to the account of the
 * access key that signed it (SigV4 `Credential=<key>/<date>/<region>/<service>/…`): a key STS issued
 * (AssumeRole) belongs to the role's account, any other key to the home account; and to the region
 * of its credential scope, which must be one the stand-in serves (`regions`). Each (account, region)
 * has its own services, created on first use, as AWS keeps them apart. Issued keys need their
 * session token and are refused once expired (request-caller.ts). An ECS request naming another
 * region's or account's ARN is refused as ECS refuses it (foreign-arns.ts).
 *
 * Requests must carry a SigV4 `Authorization` header scoped to a served region and to the service's
 * signing name (the signature itself is not checked), as AWS refuses anything else. A body that is
 * not JSON is a `SerializationException`; a service that crashes answers 500 `InternalFailure` and
 * the server keeps serving. Every request lands in `allCalls` and in its tenant's `calls` (STS's
 * issued secrets redacted).
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createIamService } from '../aws/iam.ts';
import {
  type AwsQueryExtras,
  answerExtraQuery,
  type ExtraQueryCall,
  extraQueryRegions,
  extraQueryService,
  isExtraQuery,
  registerQueryExtras,
} from '../aws/query-extras.ts';
import { authError, type RequestCaller, requestCaller } from '../aws/request-caller.ts';
import { AwsServiceError, formatQueryError } from '../aws/service.ts';
import { createStsService } from '../aws/sts.ts';
import { EcsServiceError } from './ecs-errors.ts';
import { foreignArnError } from './foreign-arns.ts';
import { createTenant, type Tenant } from './tenant.ts';
import type { AwsStandin, AwsStandinOptions, RecordedCall } from './types.ts';

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

/** STS's answer as recorded: the issued secret key and session token never reach `calls`. */
const redactStsOutput = (xml: string): string =>
  xml
    .replace(
      /<SecretAccessKey>[^<]*<\/SecretAccessKey>/g,
      '<SecretAccessKey>REDACTED</SecretAccessKey>'
    )
    .replace(/<SessionToken>[^<]*<\/SessionToken>/g, '<SessionToken>REDACTED</SessionToken>');

export const startAwsStandin = async (options: AwsStandinOptions = {}): Promise<AwsStandin> => {
  const region = options.region ?? 'us-east-1';
  const accountId = options.accountId ?? '123456789012';
  const now = options.now ?? (() => new Date());
  const regions = [...new Set([region, ...(options.regions ?? [])])];

  const sts = createStsService({ accountId, now });
  const extrasByAccount = new Map<string, AwsQueryExtras>();
  const extraCalls: ExtraQueryCall[] = [];
  const extrasOf = (account: string): AwsQueryExtras => {
    let extras = extrasByAccount.get(account);
    if (!extras) {
      extras = { sts, iam: createIamService({ accountId: account }), calls: extraCalls };
      extrasByAccount.set(account, extras);
    }
    return extras;
  };

  const tenants = new Map<string, Tenant>();
  const tenantFor = (account: string, tenantRegion: string): Tenant => {
    const key = `${account}/${tenantRegion}`;
    let tenant = tenants.get(key);
    if (!tenant) {
      tenant = createTenant({
        accountId: account,
        region: tenantRegion,
        now,
        ...(options.taskPlan ? { taskPlan: options.taskPlan } : {}),
        ...(options.throttling ? { throttling: options.throttling } : {}),
      });
      registerQueryExtras(tenant.ec2, extrasOf(account));
      tenants.set(key, tenant);
    }
    return tenant;
  };
  const home = tenantFor(accountId, region);
  const allCalls: RecordedCall[] = [];

  /** The account a request is attributed to: its issued key's role account, else the home one. */
  const accountOf = (who: RequestCaller): string => who.caller.session?.accountId ?? accountId;

  /** Where a request's call is recorded: its tenant, or the home one when its region is not served. */
  const tenantOf = (who: RequestCaller): Tenant =>
    who.scope && regions.includes(who.scope.region)
      ? tenantFor(accountOf(who), who.scope.region)
      : home;

  const record = (
    tenant: Tenant,
    who: RequestCaller,
    call: Pick<RecordedCall, 'service' | 'operation' | 'input' | 'output' | 'error'>,
    requestId: string
  ): void => {
    const recorded: RecordedCall = {
      ...call,
      requestId,
      at: now(),
      ...(who.scope ? { accessKeyId: who.scope.accessKeyId } : {}),
      accountId: accountOf(who),
      region: who.scope?.region ?? region,
    };
    tenant.calls.push(recorded);
    allCalls.push(recorded);
  };

  const answerJson = (
    request: IncomingMessage,
    target: string,
    body: string,
    requestId: string
  ): Answer => {
    const who = requestCaller(request, sts, now);
    const tenant = tenantOf(who);
    const dot = target.lastIndexOf('.');
    const prefix = dot < 0 ? '' : target.slice(0, dot);
    const operation = dot < 0 ? target : target.slice(dot + 1);
    const route = tenant.jsonRoutes.find((candidate) => candidate.service.targetPrefix === prefix);
    const contentType = route?.contentType ?? JSON_1_1;
    let input: unknown = body;
    try {
      if (!route) {
        throw new AwsServiceError('UnknownOperationException', `Unknown target ${target}`);
      }
      const denied = authError(who, regions, route.signingName, 'json');
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
      if (route.name === 'ecs') {
        const foreign = foreignArnError(
          tenant.controls,
          operation,
          input as Record<string, unknown>,
          who.caller.identity.arn
        );
        if (foreign) throw foreign;
        // ECS's token buckets refuse a request before anything else looks at it (throttling.ts).
        const refused = tenant.throttling?.admit(operation, input);
        if (refused) throw refused;
      }
      const output = route.service.handle(operation, input) ?? {};
      record(tenant, who, { service: route.name, operation, input, output }, requestId);
      return { status: 200, contentType, body: JSON.stringify(output) };
    } catch (caught) {
      const error =
        caught instanceof AwsServiceError ? caught : internal(caught, 'InternalFailure');
      record(
        tenant,
        who,
        {
          service: route?.name ?? 'ecs',
          operation,
          input,
          error: { code: error.code, message: error.message },
        },
        requestId
      );
      return jsonError(error, contentType);
    }
  };

  const answerQuery = (request: IncomingMessage, body: string, requestId: string): Answer => {
    const who = requestCaller(request, sts, now);
    const tenant = tenantOf(who);
    const params = new URLSearchParams(body);
    const action = params.get('Action');
    const input = Object.fromEntries(params);
    try {
      if (action === null || action === '') {
        throw new AwsServiceError('MissingAction', 'The request must contain the parameter Action');
      }
      const denied = authError(who, regions, 'ec2', 'ec2');
      if (denied) throw denied;
      const output = tenant.ec2.handle(action, params);
      record(tenant, who, { service: 'ec2', operation: action, input, output }, requestId);
      return { status: 200, contentType: XML, body: output };
    } catch (caught) {
      const error = caught instanceof AwsServiceError ? caught : internal(caught, 'InternalError');
      record(
        tenant,
        who,
        {
          service: 'ec2',
          operation: action ?? '',
          input,
          error: { code: error.code, message: error.message },
        },
        requestId
      );
      return { status: error.status, contentType: XML, body: formatQueryError(error, requestId) };
    }
  };

  /** STS, IAM and DescribeSecurityGroups (query-extras.ts); STS calls are recorded in `calls`. */
  const answerExtra = (request: IncomingMessage, body: string, requestId: string): Answer => {
    const who = requestCaller(request, sts, now);
    const tenant = tenantOf(who);
    const params = new URLSearchParams(body);
    const service = extraQueryService(request, params) ?? 'ec2';
    const answer = answerExtraQuery({
      service,
      params,
      requestId,
      extras: extrasOf(accountOf(who)),
      ec2: tenant.ec2,
      caller: who.caller,
      refused: authError(
        who,
        extraQueryRegions(service, regions),
        service,
        service === 'ec2' ? 'ec2' : 'query'
      ),
    });
    if (service === 'sts') {
      record(
        tenant,
        who,
        {
          service: 'sts',
          operation: params.get('Action') ?? '',
          input: Object.fromEntries(params),
          ...(answer.error ? { error: answer.error } : { output: redactStsOutput(answer.body) }),
        },
        requestId
      );
    }
    return answer;
  };

  const answer = async (request: IncomingMessage, requestId: string): Promise<Answer> => {
    const body = await readBody(request);
    const target = request.headers['x-amz-target'];
    const contentType = request.headers['content-type'] ?? '';
    if (isExtraQuery(request, body)) return answerExtra(request, body, requestId);
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
    ...home.controls,
    url: `http://${host}:${address.port}`,
    regions,
    allCalls,
    sts,
    tenant(tenantAccount, tenantRegion = region) {
      if (!regions.includes(tenantRegion)) {
        throw new Error(
          `The AWS stand-in does not serve ${tenantRegion} (regions: ${regions.join(', ')}); pass it in options.regions.`
        );
      }
      if (!sts.accounts().includes(tenantAccount)) {
        throw new Error(
          `Account ${tenantAccount} is neither the home account (${accountId}) nor that of a role registered with sts.addRole.`
        );
      }
      return tenantFor(tenantAccount, tenantRegion).controls;
    },
    tenants: () => [...tenants.values()].map((tenant) => tenant.controls),
    close: async () => {
      for (const tenant of tenants.values()) tenant.close();
      server.closeAllConnections();
      await new Promise<void>((resolve, reject) =>
        server.close((error) => (error ? reject(error) : resolve()))
      );
    },
  };
};
