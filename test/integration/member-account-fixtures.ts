/**
 * A member account for tests and benches of pools whose `aws_credentials` assume a role in another
 * account and region: the role (STS stand-in), its cluster, the AWS Credentials block, a pool whose
 * template defaults to the block and a deployment; the flow engine of its tasks; and its "ECS Task
 * State Change" events forwarded to the reporter as the member-account rule does
 * (infra/member-account/forward-task-events.yml has the stack's pattern).
 */
import { CreateClusterCommand, ECSClient } from '@aws-sdk/client-ecs';
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import { createPrefectClient } from '../../shared/prefect/client.ts';
import type { AwsTenant, EcsTaskSnapshot } from '../standins/ecs/types.ts';
import { ECS_BASE_JOB_TEMPLATE, engine, seed } from '../standins/prefect/actors.ts';
import { registerAwsCredentialsBlock } from '../standins/prefect/aws-credentials-block.ts';
import {
  type Behaviour,
  type EndToEndWorld,
  matchesEventPattern,
  sleep,
  taskStateRulePattern,
} from './end-to-end-fixtures.ts';

export const MEMBER_ACCOUNT = '210987654321';
export const MEMBER_REGION = 'eu-west-1';
export const MEMBER_ROLE = `arn:aws:iam::${MEMBER_ACCOUNT}:role/prefect-ecs-serverless-member`;
export const EXTERNAL_ID = 'pool-member-42';
export const MEMBER_POOL = 'ecs-member';
export const MEMBER_CLUSTER = 'prefect-member';
export const MEMBER_EXECUTION_ROLE = `arn:aws:iam::${MEMBER_ACCOUNT}:role/prefect-member-execution`;

/** Prefect's default template, its aws_credentials defaulting to the block. */
export const memberTemplate = (blockId: string) => {
  const template = structuredClone(ECS_BASE_JOB_TEMPLATE) as {
    variables: { properties: Record<string, Record<string, unknown>> };
  };
  template.variables.properties.aws_credentials = {
    ...template.variables.properties.aws_credentials,
    default: { $ref: { block_document_id: blockId } },
  };
  return template;
};

/** The stand-ins a member account lives in (an end-to-end world, or just the two stand-ins). */
export type MemberWorld = Pick<EndToEndWorld, 'aws' | 'prefect' | 'auth'>;

const apiKeyOf = (w: MemberWorld): string | undefined =>
  String(w.auth.headers?.authorization ?? '').replace(/^Bearer /, '') || undefined;

/** An ECS client of the member account (the test's own AssumeRole), for the cluster set-up. */
const memberAdmin = async (w: MemberWorld): Promise<ECSClient> => {
  const sts = new STSClient({
    region: 'us-east-1',
    endpoint: w.aws.url,
    credentials: { accessKeyId: 'AKIDTESTADMIN', secretAccessKey: 'test-admin' },
  });
  const { Credentials } = await sts.send(
    new AssumeRoleCommand({
      RoleArn: MEMBER_ROLE,
      RoleSessionName: 'test-admin',
      ExternalId: EXTERNAL_ID,
    })
  );
  sts.destroy();
  return new ECSClient({
    region: MEMBER_REGION,
    endpoint: w.aws.url,
    credentials: {
      accessKeyId: Credentials?.AccessKeyId ?? '',
      secretAccessKey: Credentials?.SecretAccessKey ?? '',
      sessionToken: Credentials?.SessionToken ?? '',
    },
  });
};

/** The member account set up in a world started with its region and `ASSUME_ROLE_ARNS`. */
export interface MemberAccount {
  tenant: AwsTenant;
  deploymentId: string;
  /** Adds an AWS Credentials block and answers its id. */
  createBlock(name: string, data: Record<string, unknown>): Promise<string>;
}

/**
 * Registers the role (trusting the home account, with {@link EXTERNAL_ID}), creates its cluster, the
 * block, {@link MEMBER_POOL} and a deployment that logs to CloudWatch and deregisters its revisions.
 */
export const setUpMemberAccount = async (w: MemberWorld): Promise<MemberAccount> => {
  w.aws.sts.addRole({ arn: MEMBER_ROLE, externalId: EXTERNAL_ID });
  const tenant = w.aws.tenant(MEMBER_ACCOUNT, MEMBER_REGION);
  const admin = await memberAdmin(w);
  await admin.send(
    new CreateClusterCommand({ clusterName: MEMBER_CLUSTER, capacityProviders: ['FARGATE'] })
  );
  admin.destroy();
  const apiKey = apiKeyOf(w);
  const blocks = await registerAwsCredentialsBlock(
    createPrefectClient({ apiUrl: w.prefect.apiUrl, ...(apiKey ? { apiKey } : {}) })
  );
  const blockId = await blocks.create('member', {
    assume_role_arn: MEMBER_ROLE,
    region_name: MEMBER_REGION,
    assume_role_kwargs: { ExternalId: EXTERNAL_ID, RoleSessionName: null },
  });
  await seed.workPool(
    w.prefect.apiUrl,
    { name: MEMBER_POOL, base_job_template: memberTemplate(blockId) },
    w.auth
  );
  const memberSecret = tenant.secrets.putSecret('prefect/api-key', apiKey ?? 'no-key');
  const deployment = await seed.deployment(
    w.prefect.apiUrl,
    {
      name: 'member-etl',
      workPoolName: MEMBER_POOL,
      jobVariables: {
        cluster: MEMBER_CLUSTER,
        image: `${MEMBER_ACCOUNT}.dkr.ecr.${MEMBER_REGION}.amazonaws.com/etl:1`,
        configure_cloudwatch_logs: true,
        execution_role_arn: MEMBER_EXECUTION_ROLE,
        prefect_api_key_secret_arn: memberSecret,
        auto_deregister_task_definition: true,
      },
    },
    w.auth
  );
  return { tenant, deploymentId: deployment.id, createBlock: blocks.create };
};

/**
 * Plays the flow engine of the member account's tasks (as `playEngine` does for the home one):
 * `complete` runs the engine to COMPLETED and exits 0; any other behaviour never reaches the engine.
 */
export const playMemberEngine = (
  w: MemberWorld,
  member: AwsTenant,
  behaviours: ReadonlyMap<string, Behaviour>
) => {
  const errors: unknown[] = [];
  const handled = new Set<string>();
  const acting: Promise<void>[] = [];
  let stopped = false;
  const act = async (task: EcsTaskSnapshot, runId: string) => {
    if (behaviours.get(runId) !== 'complete') return;
    for (;;) {
      const answer = await engine.start(w.prefect.apiUrl, runId, w.auth);
      if (answer.status === 'ACCEPT') break;
      await sleep(100);
    }
    await engine.complete(w.prefect.apiUrl, runId, w.auth);
    await member.ecs.runToCompletion(task.taskArn, { exitCode: 0 });
  };
  const loop = async () => {
    while (!stopped) {
      for (const task of member.ecs.tasks()) {
        const runId = task.startedBy?.replace(/^prefect\//, '');
        if (!runId || !behaviours.has(runId) || handled.has(task.taskArn)) continue;
        if (task.lastStatus !== 'RUNNING') continue;
        handled.add(task.taskArn);
        acting.push(
          act(task, runId).catch((error: unknown) => {
            errors.push(error);
          })
        );
      }
      await sleep(25);
    }
  };
  const running = loop();
  return {
    errors,
    stop: async () => {
      stopped = true;
      await running;
      await Promise.all(acting);
    },
  };
};

/**
 * The member account's "ECS Task State Change" events, forwarded by its rule to the stack's bus,
 * where the stack's rule delivers them to the reporter (asynchronous invoke: two retries).
 */
export const forwardMemberEvents = async (w: EndToEndWorld, member: AwsTenant) => {
  const pattern = await taskStateRulePattern();
  const delivered: { account: string; region: string }[] = [];
  const errors: unknown[] = [];
  const disconnect = member.subscribe(async (event) => {
    if (!matchesEventPattern(pattern, event)) return;
    delivered.push({ account: event.account, region: event.region });
    for (let attempt = 1; ; attempt += 1) {
      try {
        await w.reporter(event);
        return;
      } catch (error) {
        if (attempt >= 3) {
          errors.push(error);
          return;
        }
        await sleep(100);
      }
    }
  });
  return { delivered, errors, disconnect };
};
