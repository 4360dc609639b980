import { AwsServiceError } from '../aws/service.ts';

/** An ECS error whose body carries members beyond `message` (ConflictException's `resourceIds`). */
export class EcsServiceError extends AwsServiceError {
  readonly fields: Record<string, unknown>;

  constructor(code: string, message: string, fields: Record<string, unknown>, status = 400) {
    super(code, message, status);
    this.fields = fields;
  }
}

export const clientException = (message: string): AwsServiceError =>
  new AwsServiceError('ClientException', message);

export const invalidParameter = (message: string): AwsServiceError =>
  new AwsServiceError('InvalidParameterException', message);

export const clusterNotFound = (): AwsServiceError =>
  new AwsServiceError('ClusterNotFoundException', 'Cluster not found.');

export const throttled = (): AwsServiceError =>
  new AwsServiceError('ThrottlingException', 'Rate exceeded');

export const resourceNotFound = (message: string): AwsServiceError =>
  new AwsServiceError('ResourceNotFoundException', message);

export const conflict = (message: string, resourceIds: string[]): EcsServiceError =>
  new EcsServiceError('ConflictException', message, { resourceIds });
