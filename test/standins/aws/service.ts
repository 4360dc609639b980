/**
 * Contract between the AWS stand-in's HTTP server (test/standins/ecs/server.ts) and the services it
 * serves on one port. JSON-protocol services (ECS, Secrets Manager, CloudWatch Logs) are dispatched on
 * the `X-Amz-Target` prefix; EC2 (query protocol) on the form-encoded `Action` parameter.
 */

/** An error the stand-in answers the way the real service does: `__type` (JSON) or `<Code>` (XML). */
export class AwsServiceError extends Error {
  override readonly name = 'AwsServiceError';
  /** The AWS error code, e.g. `ClientException`, `InvalidParameterException`, `ResourceNotFoundException`. */
  readonly code: string;
  /** HTTP status the service answers with (400 for client errors). */
  readonly status: number;

  constructor(code: string, message: string, status = 400) {
    super(message);
    this.code = code;
    this.status = status;
  }
}

/** A service speaking awsJson1_0 / awsJson1_1: `X-Amz-Target: <targetPrefix>.<Operation>`. */
export interface JsonService {
  /** e.g. `secretsmanager` or `Logs_20140328`. */
  readonly targetPrefix: string;
  /** Validates `input` against the service model, performs the operation, returns the output shape. */
  handle(operation: string, input: unknown): unknown;
}

/** A service speaking the EC2 query protocol: form-encoded `Action=...&Version=...`, XML answers. */
export interface QueryService {
  /** Validates the parameters against the service model, performs the action, returns the XML body. */
  handle(action: string, params: URLSearchParams): string;
}

const escapeXml = (text: string): string =>
  text.replace(/[<>&'"]/g, (c) => `&#${c.charCodeAt(0)};`);

/** The XML error body EC2 answers with. */
export const formatQueryError = (error: AwsServiceError, requestId: string): string =>
  `<?xml version="1.0" encoding="UTF-8"?>\n<Response><Errors><Error><Code>${escapeXml(error.code)}</Code><Message>${escapeXml(error.message)}</Message></Error></Errors><RequestID>${requestId}</RequestID></Response>`;
