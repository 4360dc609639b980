/**
 * The query-protocol services the AWS stand-in serves besides its EC2 model subset: STS
 * (GetCallerIdentity, AssumeRole), IAM (GetRole) and EC2 DescribeSecurityGroups, on the same port
 * (`test/standins/ecs/server.ts` hands them every request {@link isExtraQuery} claims, after it has
 * attributed the request to a caller and checked its credentials and scope).
 *
 * A request is routed by the service of its SigV4 credential scope (`sts`, `iam`), else by its
 * `Action`. As AWS does, the scope must name the right service and a region the stand-in serves. IAM
 * is global: the SDK signs for `us-east-1` on its default endpoint, but for the client's configured
 * region when given an endpoint (`endpoint`, `AWS_ENDPOINT_URL[_IAM]`), which is how every caller
 * reaches the stand-in; so IAM accepts either ({@link extraQueryRegions}). STS and IAM errors answer
 * the `<ErrorResponse>` XML, EC2's the `<Response><Errors>` XML.
 *
 * One STS serves the whole stand-in; IAM is per account; both hang off the EC2 service of each
 * tenant, so a test reaches the home account's with:
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
import { sigV4Scope } from './request-caller.ts';
import { AwsServiceError, formatQueryError } from './service.ts';
import { createStsService, STS_XML_NAMESPACE, type StsCaller, type StsService } from './sts.ts';

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
  /** Set when the answer is an error. */
  error?: { code: string; message: string };
}

const XML = 'text/xml;charset=UTF-8';
const ACTIONS: Readonly<Record<string, ExtraQueryCall['service']>> = {
  GetCallerIdentity: 'sts',
  AssumeRole: 'sts',
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

const isForm = (request: IncomingMessage): boolean =>
  request.method === 'POST' &&
  request.headers['x-amz-target'] === undefined &&
  (request.headers['content-type'] ?? '').startsWith('application/x-www-form-urlencoded');

/** The service a form-encoded request is for: its scope's `sts`/`iam`, else by `Action`. */
export const extraQueryService = (
  request: IncomingMessage,
  params: URLSearchParams
): ExtraQueryCall['service'] | undefined => {
  const scoped = sigV4Scope(request)?.service;
  if (scoped === 'sts' || scoped === 'iam') return scoped;
  return ACTIONS[params.get('Action') ?? ''];
};

/** Whether the request is one of these services' (the rest goes to the EC2 model subset). */
export const isExtraQuery = (request: IncomingMessage, body: string): boolean =>
  isForm(request) && extraQueryService(request, new URLSearchParams(body)) !== undefined;

/** Gives the stand-in whose EC2 service is `ec2` these STS and IAM services (the server's own). */
export const registerQueryExtras = (ec2: Ec2Service, extras: AwsQueryExtras): void => {
  registry.set(ec2, extras);
};

/** The regions a service's credential scope may name: IAM also accepts its signing region. */
export const extraQueryRegions = (
  service: ExtraQueryCall['service'],
  regions: readonly string[]
): readonly string[] => (service === 'iam' ? [IAM_SIGNING_REGION, ...regions] : regions);

const internal = (error: unknown): AwsServiceError =>
  new AwsServiceError(
    'InternalFailure',
    `The stand-in failed: ${error instanceof Error ? error.message : String(error)}`,
    500
  );

export interface ExtraQueryRequest {
  service: ExtraQueryCall['service'];
  params: URLSearchParams;
  requestId: string;
  /** The STS and IAM of the caller's account. */
  extras: AwsQueryExtras;
  /** The EC2 service of the caller's account and region (DescribeSecurityGroups). */
  ec2: Ec2Service;
  caller: StsCaller;
  /** Why the server refuses the request's credentials, if it does (answered in this service's XML). */
  refused?: AwsServiceError | undefined;
}

/** Answers a request {@link isExtraQuery} claimed, the server having attributed it to a caller. */
export const answerExtraQuery = (request: ExtraQueryRequest): ExtraQueryAnswer => {
  const { service, params, requestId, extras, ec2 } = request;
  const action = params.get('Action') ?? '';
  const call: ExtraQueryCall = { service, action, params: Object.fromEntries(params) };
  extras.calls.push(call);
  try {
    if (action === '') {
      throw new AwsServiceError('MissingAction', 'The request must contain the parameter Action');
    }
    if (request.refused) throw request.refused;
    const output =
      service === 'sts'
        ? extras.sts.handleAs(request.caller, action, params, requestId)
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
    return { status: error.status, contentType: XML, body: xml, error: call.error };
  }
};
