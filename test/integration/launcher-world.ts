/**
 * The stand-ins a launcher integration test starts: Prefect (with an API key), AWS (a cluster, the
 * Prefect credential as a Secrets Manager secret), SQS (the launch queue), and the ECS work pool;
 * the launcher's environment as the stack sets it, and its SDK clients aimed at the stand-ins
 * (destroyed by `close`).
 */
import { EC2Client } from '@aws-sdk/client-ec2';
import { CreateClusterCommand, ECSClient } from '@aws-sdk/client-ecs';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SQSClient } from '@aws-sdk/client-sqs';
import type { LauncherClients } from '../../functions/launcher/launcher-deps.ts';
import { startAwsStandin } from '../standins/ecs/server.ts';
import type { AwsStandin } from '../standins/ecs/types.ts';
import { type ActorOptions, seed } from '../standins/prefect/actors.ts';
import { type PrefectStandin, startPrefectStandin } from '../standins/prefect/server.ts';
import { type SqsStandin, startSqsStandin } from '../standins/sqs/server.ts';

/** The stand-ins' fixed test credentials. */
export const TEST_CREDENTIALS = { accessKeyId: 'test', secretAccessKey: 'test' };
/** The stack's task execution role (ECS_EXECUTION_ROLE_ARN). */
export const EXECUTION_ROLE = 'arn:aws:iam::123456789012:role/prefect-execution';

/** What {@link startLauncherWorld} starts. */
export interface LauncherWorld {
  prefect: PrefectStandin;
  aws: AwsStandin;
  sqsStandin: SqsStandin;
  /** The test's own SQS client. */
  sqs: SQSClient;
  queueUrl: string;
  secretArn: string;
  poolId: string;
  /** Headers for the test's Prefect actors (the stand-in requires the API key). */
  auth: ActorOptions;
  /** The launcher's environment as the stack sets it, plus `extra`. */
  environment(extra?: Record<string, string>): Record<string, string>;
  /** New SDK clients for a launcher container (its ECS client with `ecsMaxAttempts`, default 2). */
  launcherClients(options?: { ecsMaxAttempts?: number }): LauncherClients;
  /** An SDK client options object aimed at the AWS stand-in. */
  awsEndpoint(): { region: string; endpoint: string; credentials: typeof TEST_CREDENTIALS };
  close(): Promise<void>;
}

/**
 * @example
 * const world = await startLauncherWorld({ apiKey: 'pnu_test', pool: 'ecs', cluster: 'prefect' });
 */
export const startLauncherWorld = async (options: {
  apiKey: string;
  pool: string;
  cluster: string;
  capacityProviders?: string[];
}): Promise<LauncherWorld> => {
  const prefect = await startPrefectStandin({ apiKey: options.apiKey });
  const aws = await startAwsStandin();
  const sqsStandin = await startSqsStandin({
    queues: [{ name: 'launch', visibilityTimeout: 120, maxReceiveCount: 5 }],
  });
  const queueUrl = sqsStandin.queues.launch?.url ?? '';
  const clients: { destroy(): void }[] = [];
  const sqs = new SQSClient({
    region: 'us-east-1',
    endpoint: sqsStandin.url,
    credentials: TEST_CREDENTIALS,
  });
  clients.push(sqs);
  const secretArn = aws.secrets.putSecret('prefect/api-key', options.apiKey);
  const awsEndpoint = () => ({
    region: aws.region,
    endpoint: aws.url,
    credentials: TEST_CREDENTIALS,
  });
  const admin = new ECSClient(awsEndpoint());
  await admin.send(
    new CreateClusterCommand({
      clusterName: options.cluster,
      ...(options.capacityProviders ? { capacityProviders: options.capacityProviders } : {}),
    })
  );
  admin.destroy();
  const auth: ActorOptions = { headers: { authorization: `Bearer ${options.apiKey}` } };
  const pool = await seed.workPool(prefect.apiUrl, { name: options.pool }, auth);
  return {
    prefect,
    aws,
    sqsStandin,
    sqs,
    queueUrl,
    secretArn,
    poolId: pool.id,
    auth,
    awsEndpoint,
    environment: (extra = {}) => ({
      PREFECT_API_URL: prefect.apiUrl,
      PREFECT_API_KEY_SECRET_ARN: secretArn,
      PREFECT_WORK_POOLS: options.pool,
      LAUNCH_QUEUE_URL: queueUrl,
      AWS_REGION: aws.region,
      ECS_EXECUTION_ROLE_ARN: EXECUTION_ROLE,
      ...extra,
    }),
    launcherClients: ({ ecsMaxAttempts = 2 } = {}) => {
      const made: LauncherClients = {
        ecs: new ECSClient({ ...awsEndpoint(), maxAttempts: ecsMaxAttempts }),
        ec2: new EC2Client(awsEndpoint()),
        secretsManager: new SecretsManagerClient(awsEndpoint()),
        sqs: new SQSClient({
          region: 'us-east-1',
          endpoint: sqsStandin.url,
          credentials: TEST_CREDENTIALS,
        }),
      };
      clients.push(made.ecs, made.ec2, made.secretsManager, made.sqs);
      return made;
    },
    close: async () => {
      for (const client of clients) client.destroy();
      await sqsStandin.close();
      await aws.close();
      await prefect.close();
    },
  };
};
