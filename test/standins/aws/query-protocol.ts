/**
 * Helpers for the AWS query-protocol services of the stand-in that have no botocore model here (STS,
 * IAM, EC2's DescribeSecurityGroups): strict parameter reading (every parameter must be known, as the
 * EC2 stand-in insists), the `ErrorResponse` XML that STS and IAM answer with, and XML escaping.
 */
import { AwsServiceError } from './service.ts';

/** XML text content, escaped as AWS does (numeric character references). */
export const escapeXml = (text: string): string =>
  text.replace(/[<>&'"]/g, (c) => `&#${c.charCodeAt(0)};`);

/**
 * The error body of STS and IAM (`awsQuery` protocol):
 * `<ErrorResponse><Error><Type>Sender</Type><Code>…</Code><Message>…</Message></Error><RequestId>…`.
 */
export const formatQueryErrorResponse = (
  error: AwsServiceError,
  xmlNamespace: string,
  requestId: string
): string =>
  `<?xml version="1.0" encoding="UTF-8"?>\n<ErrorResponse xmlns="${xmlNamespace}"><Error><Type>${error.status >= 500 ? 'Receiver' : 'Sender'}</Type><Code>${escapeXml(error.code)}</Code><Message>${escapeXml(error.message)}</Message></Error><RequestId>${requestId}</RequestId></ErrorResponse>`;

/** `Version` must be the service's API version (query services refuse any other). */
export const checkVersion = (params: URLSearchParams, action: string, version: string): void => {
  const given = params.get('Version');
  if (given === null) {
    throw new AwsServiceError('MissingParameter', 'The request must contain the parameter Version');
  }
  if (given !== version) {
    throw new AwsServiceError(
      'InvalidAction',
      `Could not find operation ${action} for version ${given}`
    );
  }
};

/** Refuses any parameter besides `Action`, `Version` and those `known` accepts. */
export const refuseUnknownParameters = (
  params: URLSearchParams,
  known: (key: string) => boolean
): void => {
  for (const key of new Set(params.keys())) {
    if (key === 'Action' || key === 'Version' || known(key)) continue;
    throw new AwsServiceError('UnknownParameter', `The parameter ${key} is not recognized`);
  }
};
