/**
 * ECS requests that name a resource of another region or another account by ARN, refused the way
 * ECS refuses them before it looks for the resource:
 *
 * - another region: `InvalidParameterException` "Invalid Region in ARN" (400). A regional endpoint
 *   only knows its own region's resources; this is what `aws ecs run-task --cluster <us-east-1 ARN>`
 *   answers when the client is configured for us-east-2 (aws/aws-cli#3175, amazon-ecs-cli#821).
 * - another account (same region): `AccessDeniedException` (400, as ECS sends it). IAM authorizes the
 *   request against the resource's ARN, and a principal of account A may only act on account B's
 *   resources when B's resource-based policy allows it; ECS resources have no resource-based
 *   policies, so the request is implicitly denied, worded as IAM words a cross-account denial
 *   (https://docs.aws.amazon.com/IAM/latest/UserGuide/troubleshoot_access-denied.html). This is what
 *   a launcher meets when it calls account B's cluster with account A's credentials.
 *
 * The region is checked first: the endpoint rejects an ARN it cannot serve before IAM is asked.
 */
import { AwsServiceError } from '../aws/service.ts';
import { type AccountContext, parseEcsArn } from './ecs-arns.ts';
import { invalidParameter } from './ecs-errors.ts';

/** Request members that name a cluster, task definition, task, container instance or resource. */
const SINGLE = ['cluster', 'taskDefinition', 'task', 'containerInstance', 'resourceArn'] as const;
const LISTS = ['clusters', 'tasks', 'containerInstances'] as const;

const namedArns = (input: Record<string, unknown>): string[] => {
  const arns: string[] = [];
  for (const key of SINGLE) {
    const value = input[key];
    if (typeof value === 'string') arns.push(value);
  }
  for (const key of LISTS) {
    const value = input[key];
    if (Array.isArray(value)) {
      arns.push(...value.filter((item): item is string => typeof item === 'string'));
    }
  }
  return arns;
};

/** The error ECS answers `operation` with when `input` names another region's or account's ARN. */
export const foreignArnError = (
  ctx: AccountContext,
  operation: string,
  input: Record<string, unknown>,
  callerArn: string
): AwsServiceError | undefined => {
  const parsed = namedArns(input).flatMap((arn) => {
    const found = parseEcsArn(arn);
    return found ? [{ arn, ...found }] : [];
  });
  if (parsed.some((arn) => arn.region !== ctx.region)) {
    return invalidParameter('Invalid Region in ARN');
  }
  const foreign = parsed.find((arn) => arn.accountId !== ctx.accountId);
  if (!foreign) return undefined;
  const action = `ecs:${operation}`;
  return new AwsServiceError(
    'AccessDeniedException',
    `User: ${callerArn} is not authorized to perform: ${action} on resource: ${foreign.arn} because no resource-based policy allows the ${action} action`
  );
};
