/**
 * The query-protocol services the AWS stand-in serves besides its EC2 model subset: STS
 * (GetCallerIdentity), IAM (GetRole) and EC2 DescribeSecurityGroups, on the same port
 * (`test/standins/ecs/server.ts` hands them every request {@link isExtraQuery} claims).
 *
 * A request is routed by the service of its SigV4 credential scope (`sts`, `iam`), else by its
 * `Action`. As AWS does, the scope must name the right service and region: the stand-in's region
 * for STS and EC2. IAM is global: the SDK signs for `us-east-1` on its default endpoint, but for the
 * client's configured region when given an endpoint (`endpoint`, `AWS_ENDPOINT_URL[_IAM]`), which is
 * how every caller reaches the stand-in; so IAM accepts either, and refuses any other region. STS
 * and IAM errors answer the `<ErrorResponse>` XML, EC2's the `<Response><Errors>` XML.
 *
 * Their state hangs off the stand-in's EC2 service (one set per stand-in):
 *
 * @example
 * const aws = await startAwsStandin();
 * const { iam, sts } = awsQueryExtras(aws.ec2);
 * const roleArn = iam.addRole({ roleName: 'prefect-execution' });
 */
import type { IncomingMessage } from 'node:http';
import type { Ec2Service } from './ec2.ts';
import { describeSecurityGroups } from './ec2-security-groups.ts';
import { createIamService, IAM_SIGNING_REGION, IAM_XML_NAMESPACE, type IamService } from './iam.ts';
import { formatQueryErrorResponse } from './query-protocol.ts';
import { AwsServiceError, formatQueryError } from './service.ts';
import { createStsService, STS_XML_NAMESPACE, type StsService } from './sts.ts';

/** One request these services answered, in arrival order. */
export interface ExtraQueryCall {
  service: 'sts' | 'iam' | 'ec2';
  action: string;
  params: Record<string, string>;
  error?: { code: string; message: string };
}

export interface AwsQueryExtras {
  readonly sts: StsService;
  readonly iam: IamService;
  readonly calls: ExtraQueryCall[];
}

/** What the server writes back. */
export interface ExtraQueryAnswer {
  status: number;
  contentType: string;
  body: string;
}

const XML = 'text/xml;charset=UTF-8';
const ACTIONS: Readonly<Record<string, ExtraQueryCall['service']>> = {
  GetCallerIdentity: 'sts',
  GetRole: 'iam',
  DescribeSecurityGroups: 'ec2',
};

const registry = new WeakMap<Ec2Service, AwsQueryExtras>();

/** The STS and IAM state of the stand-in whose EC2 service is `ec2`. */
export const awsQueryExtras = (ec2: Ec2Service): AwsQueryExtras => {
  let extras = registry.get(ec2);
  if (!extras) {
    extras = {
      sts: createStsService({ accountId: ec2.accountId }),
      iam: createIamService({ accountId: ec2.accountId }),
      calls: [],
    };
    registry.set(ec2, extras);
  }
  return extras;
};

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

const isForm = (request: IncomingMessage): boolean =>
  request.method === 'POST' &&
  request.headers['x-amz-target'] === undefined &&
  (request.headers['content-type'] ?? '').startsWith('application/x-www-form-urlencoded');

const serviceOf = (
  request: IncomingMessage,
  params: URLSearchParams
): ExtraQueryCall['service'] | undefined => {
  const scoped = credentialScope(request)?.service;
  if (scoped === 'sts' || scoped === 'iam') return scoped;
  return ACTIONS[params.get('Action') ?? ''];
};

/** Whether the request is one of these services' (the rest goes to the EC2 model subset). */
export const isExtraQuery = (request: IncomingMessage, body: string): boolean =>
  isForm(request) && serviceOf(request, new URLSearchParams(body)) !== undefined;

const authProblem = (
  request: IncomingMessage,
  regions: readonly string[],
  service: string
): AwsServiceError | undefined => {
  const scope = credentialScope(request);
  if (!scope) {
    return new AwsServiceError(
      'MissingAuthenticationToken',
      'Request is missing Authentication Token',
      403
    );
  }
  if (!regions.includes(scope.region)) {
    return new AwsServiceError(
      'SignatureDoesNotMatch',
      `Credential should be scoped to a valid region, not '${scope.region}'. This stand-in serves ${regions.map((r) => `'${r}'`).join(' or ')}.`,
      403
    );
  }
  if (scope.service !== service) {
    return new AwsServiceError(
      'SignatureDoesNotMatch',
      `Credential should be scoped to correct service: '${service}'.`,
      403
    );
  }
  return undefined;
};

const internal = (error: unknown): AwsServiceError =>
  new AwsServiceError(
    'InternalFailure',
    `The stand-in failed: ${error instanceof Error ? error.message : String(error)}`,
    500
  );

/** Answers a request {@link isExtraQuery} claimed. */
export const answerExtraQuery = (
  request: IncomingMessage,
  body: string,
  requestId: string,
  ec2: Ec2Service
): ExtraQueryAnswer => {
  const extras = awsQueryExtras(ec2);
  const params = new URLSearchParams(body);
  const action = params.get('Action') ?? '';
  const service = serviceOf(request, params) ?? 'ec2';
  const call: ExtraQueryCall = { service, action, params: Object.fromEntries(params) };
  extras.calls.push(call);
  try {
    if (action === '') {
      throw new AwsServiceError('MissingAction', 'The request must contain the parameter Action');
    }
    const regions = service === 'iam' ? [IAM_SIGNING_REGION, ec2.region] : [ec2.region];
    const denied = authProblem(request, regions, service);
    if (denied) {
      throw service === 'ec2' ? new AwsServiceError('AuthFailure', denied.message, 401) : denied;
    }
    const output =
      service === 'sts'
        ? extras.sts.handle(action, params)
        : service === 'iam'
          ? extras.iam.handle(action, params)
          : describeSecurityGroups(params, (id) => ec2.getSecurityGroup(id), ec2.region);
    return { status: 200, contentType: XML, body: output };
  } catch (caught) {
    const error = caught instanceof AwsServiceError ? caught : internal(caught);
    call.error = { code: error.code, message: error.message };
    const xml =
      service === 'ec2'
        ? formatQueryError(error, requestId)
        : formatQueryErrorResponse(
            error,
            service === 'iam' ? IAM_XML_NAMESPACE : STS_XML_NAMESPACE,
            requestId
          );
    return { status: error.status, contentType: XML, body: xml };
  }
};
