/** Helpers shared by the ECS stand-in's tests: real SDK clients aimed at the stand-in. */
import { DescribeSubnetsCommand, EC2Client } from '@aws-sdk/client-ec2';
import {
  CreateClusterCommand,
  ECSClient,
  type ECSClientConfig,
  RegisterTaskDefinitionCommand,
  type RegisterTaskDefinitionCommandInput,
  type RunTaskCommandInput,
} from '@aws-sdk/client-ecs';
import type { AwsStandin } from './types.ts';

export const credentials = { accessKeyId: 'test', secretAccessKey: 'test' };

export const ecsClient = (standin: AwsStandin, config: ECSClientConfig = {}): ECSClient =>
  new ECSClient({ endpoint: standin.url, region: standin.region, credentials, ...config });

export const ec2Client = (standin: AwsStandin): EC2Client =>
  new EC2Client({ endpoint: standin.url, region: standin.region, credentials });

/** The default VPC's subnets, found the way the launcher finds them. */
export const defaultSubnetIds = async (standin: AwsStandin): Promise<string[]> => {
  const ec2 = ec2Client(standin);
  try {
    const { Subnets } = await ec2.send(
      new DescribeSubnetsCommand({ Filters: [{ Name: 'default-for-az', Values: ['true'] }] })
    );
    return (Subnets ?? []).flatMap((subnet) => (subnet.SubnetId ? [subnet.SubnetId] : []));
  } finally {
    ec2.destroy();
  }
};

/** A Fargate task definition like the one Prefect's worker registers (§2.3 of the worker notes). */
export const fargateTaskDefinition = (
  family: string,
  overrides: Partial<RegisterTaskDefinitionCommandInput> = {}
): RegisterTaskDefinitionCommandInput => ({
  family,
  networkMode: 'awsvpc',
  requiresCompatibilities: ['FARGATE'],
  cpu: '1024',
  memory: '2048',
  executionRoleArn: 'arn:aws:iam::123456789012:role/prefect-execution',
  containerDefinitions: [
    {
      name: 'prefect',
      image: 'prefecthq/prefect:3-python3.12',
      essential: true,
      logConfiguration: {
        logDriver: 'awslogs',
        options: {
          'awslogs-group': 'prefect',
          'awslogs-region': 'us-east-1',
          'awslogs-stream-prefix': 'prefect-logs',
        },
      },
    },
  ],
  ...overrides,
});

export interface FargateSetup {
  cluster: string;
  taskDefinitionArn: string;
  subnets: string[];
  runInput: (overrides?: Partial<RunTaskCommandInput>) => RunTaskCommandInput;
}

/** Creates a cluster with the Fargate providers and a task definition; returns a RunTask input maker. */
export const setUpFargate = async (
  standin: AwsStandin,
  ecs: ECSClient,
  family = 'prefect-flow-run',
  cluster = 'prefect'
): Promise<FargateSetup> => {
  await ecs.send(
    new CreateClusterCommand({
      clusterName: cluster,
      capacityProviders: ['FARGATE', 'FARGATE_SPOT'],
    })
  );
  const { taskDefinition } = await ecs.send(
    new RegisterTaskDefinitionCommand(fargateTaskDefinition(family))
  );
  const subnets = await defaultSubnetIds(standin);
  return {
    cluster,
    taskDefinitionArn: taskDefinition?.taskDefinitionArn ?? '',
    subnets,
    runInput: (overrides = {}) => ({
      cluster,
      taskDefinition: taskDefinition?.taskDefinitionArn,
      launchType: 'FARGATE',
      networkConfiguration: {
        awsvpcConfiguration: { subnets: subnets.slice(0, 2), assignPublicIp: 'ENABLED' },
      },
      ...overrides,
    }),
  };
};

/** A SigV4-looking Authorization header (the stand-in checks its scope, not its signature). */
export const authorization = (region: string, service: string): string =>
  `AWS4-HMAC-SHA256 Credential=test/20260115/${region}/${service}/aws4_request, SignedHeaders=host, Signature=0`;

/** POSTs a raw body to the stand-in as the ECS JSON protocol would. */
export const rawEcsRequest = (
  standin: AwsStandin,
  operation: string,
  body: string,
  headers: Record<string, string> = {}
): Promise<Response> =>
  fetch(standin.url, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-amz-json-1.1',
      'x-amz-target': `AmazonEC2ContainerServiceV20141113.${operation}`,
      authorization: authorization(standin.region, 'ecs'),
      ...headers,
    },
    body,
  });

/** Waits until `predicate` holds (polling), for auto-advancing lifecycles. */
export const eventually = async (predicate: () => boolean, timeoutMs = 5_000): Promise<void> => {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
};
