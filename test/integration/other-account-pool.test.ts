/**
 * A work pool whose `aws_credentials` block assumes a role in another account and region, end to end
 * through the real handlers: the poller claims, the launcher assumes the role (STS stand-in) and
 * registers and runs in that account's region, the task's events are forwarded (the member-account
 * rule has the main rule's pattern) to the reporter, which reports them and deregisters there with
 * the same credentials; the poller's cancel sweep stops a cancelled run's task there. The AWS
 * stand-in attributes every request to the account of the credentials that signed it and to the
 * region of its signature, so a call made with the wrong credentials or region finds nothing.
 * Blocks that cannot work (profile_name, a role the stack may not assume, a role that does not trust
 * us) CRASH their runs with the fix.
 */
import { CreateClusterCommand, ECSClient } from '@aws-sdk/client-ecs';
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createPrefectClient } from '../../shared/prefect/client.ts';
import type { AwsTenant, EcsTaskSnapshot } from '../standins/ecs/types.ts';
import {
  ECS_BASE_JOB_TEMPLATE,
  engine,
  readFlowRun,
  seed,
  user,
} from '../standins/prefect/actors.ts';
import { registerAwsCredentialsBlock } from '../standins/prefect/aws-credentials-block.ts';
import {
  type Behaviour,
  consumeQueue,
  type EndToEndWorld,
  FINAL_STATES,
  inspectQueue,
  matchesEventPattern,
  POOL,
  scheduledEvent,
  sleep,
  startEndToEndWorld,
  taskStateRulePattern,
  waitFor,
} from './end-to-end-fixtures.ts';

const MEMBER_ACCOUNT = '210987654321';
const MEMBER_REGION = 'eu-west-1';
const ROLE = `arn:aws:iam::${MEMBER_ACCOUNT}:role/prefect-ecs-serverless-member`;
const UNTRUSTING_ROLE = `arn:aws:iam::${MEMBER_ACCOUNT}:role/does-not-trust-us`;
const EXTERNAL_ID = 'pool-member-42';
const MEMBER_POOL = 'ecs-member';
const MEMBER_CLUSTER = 'prefect-member';
const MEMBER_EXECUTION_ROLE = `arn:aws:iam::${MEMBER_ACCOUNT}:role/prefect-member-execution`;

let world: EndToEndWorld;
let member: AwsTenant;
let blockIds: Record<'member' | 'profile' | 'notAllowed' | 'untrusting', string>;
let deploymentId: string;

/** The member pool: Prefect's default template, its aws_credentials defaulting to the member block. */
const memberTemplate = (blockId: string) => {
  const template = structuredClone(ECS_BASE_JOB_TEMPLATE) as {
    variables: { properties: Record<string, Record<string, unknown>> };
  };
  template.variables.properties.aws_credentials = {
    ...template.variables.properties.aws_credentials,
    default: { $ref: { block_document_id: blockId } },
  };
  return template;
};

/** Creates the AWS Credentials block type and the blocks, as `prefect block register -m prefect_aws` and the UI would. */
const seedBlocks = async (w: EndToEndWorld) => {
  const admin = createPrefectClient({ apiUrl: w.prefect.apiUrl, apiKey: apiKeyOf(w) });
  const awsCredentials = await registerAwsCredentialsBlock(admin);
  const block = (name: string, data: Record<string, unknown>) => awsCredentials.create(name, data);
  return {
    member: await block('member', {
      assume_role_arn: ROLE,
      region_name: MEMBER_REGION,
      assume_role_kwargs: { ExternalId: EXTERNAL_ID, RoleSessionName: null },
    }),
    profile: await block('laptop', { profile_name: 'prod', region_name: MEMBER_REGION }),
    notAllowed: await block('not-allowed', {
      assume_role_arn: `arn:aws:iam::${MEMBER_ACCOUNT}:role/not-in-the-stack-parameter`,
    }),
    untrusting: await block('untrusting', { assume_role_arn: UNTRUSTING_ROLE }),
  };
};

const apiKeyOf = (w: EndToEndWorld): string =>
  String(w.auth.headers?.authorization ?? '').replace(/^Bearer /, '');

/** An ECS client of the member account (the test's own AssumeRole), for the cluster set-up. */
const memberAdmin = async (w: EndToEndWorld): Promise<ECSClient> => {
  const sts = new STSClient({
    region: 'us-east-1',
    endpoint: w.aws.url,
    credentials: { accessKeyId: 'AKIDTESTADMIN', secretAccessKey: 'test-admin' },
  });
  const { Credentials } = await sts.send(
    new AssumeRoleCommand({ RoleArn: ROLE, RoleSessionName: 'test-admin', ExternalId: EXTERNAL_ID })
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

/** Plays the flow engine of the member account's tasks (as `playEngine` does for the home one). */
const playMemberEngine = (behaviours: ReadonlyMap<string, Behaviour>) => {
  const errors: unknown[] = [];
  const handled = new Set<string>();
  const acting: Promise<void>[] = [];
  let stopped = false;
  const act = async (task: EcsTaskSnapshot, runId: string) => {
    // `hold`: the container never gets as far as the engine (the run stays PENDING).
    if (behaviours.get(runId) !== 'complete') return;
    for (;;) {
      const answer = await engine.start(world.prefect.apiUrl, runId, world.auth);
      if (answer.status === 'ACCEPT') break;
      await sleep(100);
    }
    await engine.complete(world.prefect.apiUrl, runId, world.auth);
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
 * The member account's "ECS Task State Change" events, forwarded by its rule (the same pattern as
 * the stack's rule, infra/member-account) to the stack's bus, where the stack's rule delivers them
 * to the reporter.
 */
const forwardMemberEvents = async () => {
  const pattern = await taskStateRulePattern();
  const delivered: { account: string; region: string }[] = [];
  const errors: unknown[] = [];
  const disconnect = member.subscribe(async (event) => {
    if (!matchesEventPattern(pattern, event)) return;
    delivered.push({ account: event.account, region: event.region });
    for (let attempt = 1; ; attempt += 1) {
      try {
        await world.reporter(event);
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

const seedRun = async (name: string, jobVariables?: Record<string, unknown>) =>
  (
    await seed.flowRun(
      world.prefect.apiUrl,
      deploymentId,
      { name, scheduledTime: new Date(), ...(jobVariables ? { jobVariables } : {}) },
      world.auth
    )
  ).id;

const stateOf = async (id: string) =>
  (await readFlowRun(world.prefect.apiUrl, id, world.auth)).state;

/** Whether the access key that signed a call is a session of `roleArn` the stand-in's STS issued. */
const signedAs = (accessKeyId: string | undefined, roleArn: string): boolean =>
  accessKeyId !== undefined && world.aws.sts.session(accessKeyId)?.roleArn === roleArn;

beforeAll(async () => {
  world = await startEndToEndWorld({
    launchVisibilityTimeout: 30,
    awsStandin: { regions: ['us-east-1', MEMBER_REGION] },
    env: {
      PREFECT_WORK_POOLS: `${POOL},${MEMBER_POOL}`,
      ASSUME_ROLE_ARNS: `${ROLE},${UNTRUSTING_ROLE}`,
    },
  });
  // The per-pool clients resolve their endpoint as in Lambda (here: the stand-in's).
  vi.stubEnv('AWS_ENDPOINT_URL', world.aws.url);
  world.aws.sts.addRole({ arn: ROLE, externalId: EXTERNAL_ID });
  world.aws.sts.addRole({ arn: UNTRUSTING_ROLE, trustedAccounts: ['999999999999'] });
  member = world.aws.tenant(MEMBER_ACCOUNT, MEMBER_REGION);
  const admin = await memberAdmin(world);
  await admin.send(
    new CreateClusterCommand({ clusterName: MEMBER_CLUSTER, capacityProviders: ['FARGATE'] })
  );
  admin.destroy();
  blockIds = await seedBlocks(world);
  await seed.workPool(
    world.prefect.apiUrl,
    { name: MEMBER_POOL, base_job_template: memberTemplate(blockIds.member) },
    world.auth
  );
  const memberSecret = member.secrets.putSecret('prefect/api-key', apiKeyOf(world));
  deploymentId = (
    await seed.deployment(
      world.prefect.apiUrl,
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
      world.auth
    )
  ).id;
}, 30_000);

afterAll(async () => {
  vi.unstubAllEnvs();
  await world?.close();
});

describe('a pool whose aws_credentials assume a role in another account and region', () => {
  it('launches there, is reported from the forwarded events, and is deregistered there', async () => {
    // Prepare
    const runId = await seedRun('member-complete');
    const events = await forwardMemberEvents();
    const launcherEsm = consumeQueue(world, world.launchQueue, 5, world.launcher);
    const memberEngine = playMemberEngine(new Map([[runId, 'complete']]));
    member.ecs.setPlan(
      { startedBy: `prefect/${runId}` },
      { autoAdvance: { delayMs: 50 }, outcome: { kind: 'keepRunning' } }
    );

    // Act
    await world.poller(scheduledEvent());
    launcherEsm.start();
    try {
      await waitFor(
        'the member run final',
        async () => FINAL_STATES.has((await stateOf(runId))?.type ?? ''),
        20_000
      );
    } finally {
      await Promise.all([launcherEsm.stop(), memberEngine.stop()]);
      await member.ecs.settled();
      events.disconnect();
    }

    // Assess: the run completed through the forwarded events
    expect(memberEngine.errors).toEqual([]);
    expect(events.errors).toEqual([]);
    expect(await stateOf(runId)).toMatchObject({ type: 'COMPLETED' });
    expect(events.delivered.length).toBeGreaterThan(0);
    expect(events.delivered.every((e) => e.account === MEMBER_ACCOUNT)).toBe(true);
    expect(events.delivered.every((e) => e.region === MEMBER_REGION)).toBe(true);

    // Assess: registered and run in the member account's region, with the assumed role's credentials
    const runTasks = member.callsTo('RunTask');
    expect(runTasks).toHaveLength(1);
    expect(runTasks.every((call) => signedAs(call.accessKeyId, ROLE))).toBe(true);
    const registered = member.callsTo('RegisterTaskDefinition')[0]?.input as {
      executionRoleArn: string;
      containerDefinitions: { logConfiguration: { options: Record<string, string> } }[];
    };
    expect(registered.executionRoleArn).toBe(MEMBER_EXECUTION_ROLE);
    expect(registered.containerDefinitions[0]?.logConfiguration.options['awslogs-region']).toBe(
      MEMBER_REGION
    );
    expect(
      world.aws.callsTo('RunTask').filter((call) => JSON.stringify(call.input).includes(runId))
    ).toEqual([]);
    const run = await readFlowRun(world.prefect.apiUrl, runId, world.auth);
    expect(run.infrastructure_pid).toMatch(
      new RegExp(
        `^${MEMBER_CLUSTER}::arn:aws:ecs:${MEMBER_REGION}:${MEMBER_ACCOUNT}:task/${MEMBER_CLUSTER}/`
      )
    );

    // Assess: the reporter deregistered the run's revision there, with the same role
    const deregistered = member.callsTo('DeregisterTaskDefinition');
    expect(deregistered).toHaveLength(1);
    expect(signedAs(deregistered[0]?.accessKeyId, ROLE)).toBe(true);

    // Assess: AssumeRole with the block's ExternalId, once per function container
    const assumed = world.aws.allCalls.filter(
      (call) => call.operation === 'AssumeRole' && call.error === undefined
    );
    expect(assumed.map((call) => (call.input as Record<string, string>).ExternalId)).toEqual(
      assumed.map(() => EXTERNAL_ID)
    );
    expect(assumed.length).toBeLessThanOrEqual(3); // the test's own + launcher + reporter
    expect(inspectQueue(world, 'launch').depth).toBe(0);
  }, 30_000);

  it("the poller's cancel sweep stops the task of a run cancelled before its engine started, in the member account", async () => {
    // Prepare
    const runId = await seedRun('member-cancel');
    const events = await forwardMemberEvents();
    const launcherEsm = consumeQueue(world, world.launchQueue, 5, world.launcher);
    const memberEngine = playMemberEngine(new Map([[runId, 'hold']]));
    member.ecs.setPlan(
      { startedBy: `prefect/${runId}` },
      { autoAdvance: { delayMs: 50 }, outcome: { kind: 'keepRunning' } }
    );
    await world.poller(scheduledEvent());
    launcherEsm.start();
    try {
      await waitFor(
        'the member task RUNNING, its pid recorded',
        async () =>
          member.ecs
            .tasks()
            .some((t) => t.startedBy === `prefect/${runId}` && t.lastStatus === 'RUNNING') &&
          (await readFlowRun(world.prefect.apiUrl, runId, world.auth)).infrastructure_pid !== null,
        20_000
      );
      await user.cancel(world.prefect.apiUrl, runId, world.auth);

      // Act
      await world.poller(scheduledEvent());
      await waitFor(
        'the member run CANCELLED',
        async () => (await stateOf(runId))?.type === 'CANCELLED',
        20_000
      );
    } finally {
      await Promise.all([launcherEsm.stop(), memberEngine.stop()]);
      await member.ecs.settled();
      events.disconnect();
    }

    // Assess
    const stops = member.callsTo('StopTask');
    expect(
      stops.some((call) =>
        String((call.input as { reason?: string }).reason).includes(
          `Prefect flow run ${runId} was cancelled before it started`
        )
      )
    ).toBe(true);
    expect(stops.length).toBeGreaterThan(0);
    expect(stops.every((call) => signedAs(call.accessKeyId, ROLE))).toBe(true);
    const task = member.ecs.tasks().find((t) => t.startedBy === `prefect/${runId}`);
    expect(task?.lastStatus).toBe('STOPPED');
    expect(world.aws.callsTo('StopTask')).toEqual([]);
    expect(events.errors).toEqual([]);
  }, 40_000);

  it.each([
    ['profile', /profile_name "prod" cannot be used by a serverless worker.*assume_role_arn/s],
    ['notAllowed', /not-in-the-stack-parameter: the stack may not assume it.*assumeRoleArns/s],
    ['untrusting', /does-not-trust-us: AccessDenied.*trust policy/s],
  ] as const)(
    'crashes a run whose block is %s, saying what to fix',
    async (which, message) => {
      // Prepare
      const runId = await seedRun(`member-${which}`, {
        aws_credentials: { $ref: { block_document_id: blockIds[which] } },
      });
      const launcherEsm = consumeQueue(world, world.launchQueue, 5, world.launcher);
      const runTasksBefore = member.callsTo('RunTask').length + world.aws.callsTo('RunTask').length;

      // Act
      await world.poller(scheduledEvent());
      launcherEsm.start();
      try {
        await waitFor(
          'the run CRASHED',
          async () => (await stateOf(runId))?.type === 'CRASHED',
          20_000
        );
      } finally {
        await launcherEsm.stop();
      }

      // Assess
      const state = await stateOf(runId);
      expect(state?.message).toMatch(message);
      expect(member.callsTo('RunTask').length + world.aws.callsTo('RunTask').length).toBe(
        runTasksBefore
      );
    },
    30_000
  );
});
