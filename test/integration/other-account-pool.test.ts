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

import { EC2Client } from '@aws-sdk/client-ec2';
import { ECSClient } from '@aws-sdk/client-ecs';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { type Message, ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { SQSEvent } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createLauncherHandler } from '../../functions/launcher/handler.ts';
import { createLauncherDeps } from '../../functions/launcher/launcher-deps.ts';
import { loadConfig } from '../../shared/config.ts';
import { parseLaunchMessage } from '../../shared/launch/launch-message.ts';
import type { AwsTenant } from '../standins/ecs/types.ts';
import { readFlowRun, readFlowRunStates, seed, user } from '../standins/prefect/actors.ts';
import {
  type Behaviour,
  consumeQueue,
  type EndToEndWorld,
  FINAL_STATES,
  inspectQueue,
  POOL,
  scheduledEvent,
  startEndToEndWorld,
  toSqsRecord,
  waitFor,
} from './end-to-end-fixtures.ts';
import {
  EXTERNAL_ID,
  forwardMemberEvents,
  MEMBER_ACCOUNT,
  MEMBER_CLUSTER,
  MEMBER_EXECUTION_ROLE,
  MEMBER_POOL,
  MEMBER_REGION,
  playMemberEngine,
  MEMBER_ROLE as ROLE,
  setUpMemberAccount,
} from './member-account-fixtures.ts';

const UNTRUSTING_ROLE = `arn:aws:iam::${MEMBER_ACCOUNT}:role/does-not-trust-us`;

let world: EndToEndWorld;
let member: AwsTenant;
let blockIds: Record<'profile' | 'notAllowed' | 'untrusting', string>;
let deploymentId: string;

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
    launchVisibilityTimeout: 5,
    awsStandin: { regions: ['us-east-1', MEMBER_REGION] },
    env: {
      PREFECT_WORK_POOLS: `${POOL},${MEMBER_POOL}`,
      ASSUME_ROLE_ARNS: `${ROLE},${UNTRUSTING_ROLE}`,
    },
  });
  // The per-pool clients resolve their endpoint as in Lambda (here: the stand-in's).
  vi.stubEnv('AWS_ENDPOINT_URL', world.aws.url);
  world.aws.sts.addRole({ arn: UNTRUSTING_ROLE, trustedAccounts: ['999999999999'] });
  const account = await setUpMemberAccount(world);
  member = account.tenant;
  deploymentId = account.deploymentId;
  blockIds = {
    profile: await account.createBlock('laptop', {
      profile_name: 'prod',
      region_name: MEMBER_REGION,
    }),
    notAllowed: await account.createBlock('not-allowed', {
      assume_role_arn: `arn:aws:iam::${MEMBER_ACCOUNT}:role/not-in-the-stack-parameter`,
    }),
    untrusting: await account.createBlock('untrusting', { assume_role_arn: UNTRUSTING_ROLE }),
  };
}, 30_000);

afterAll(async () => {
  vi.unstubAllEnvs();
  await world?.close();
});

/** Receives the run's launch message from the queue, as the event source mapping would. */
const receiveLaunchOf = async (runId: string): Promise<Message> => {
  const { Messages = [] } = await world.sqsClient.send(
    new ReceiveMessageCommand({
      QueueUrl: world.launchQueue.url,
      MaxNumberOfMessages: 10,
      WaitTimeSeconds: 1,
      MessageSystemAttributeNames: ['All'],
    })
  );
  const message = Messages.find(
    (received) => parseLaunchMessage(received.Body ?? '').flow_run_id === runId
  );
  if (!message) throw new Error('no launch message for the run');
  return message;
};

/**
 * Plays one member run: its events forwarded to the reporter, the launch queue consumed by
 * `launchers` (default: the world's launcher; two: two containers at once), its engine as
 * `behaviour`, its task advancing to RUNNING; then polls. `stop` ends it all and waits for ECS.
 */
const playMemberRun = async (
  runId: string,
  behaviour: Behaviour,
  launchers: readonly ((event: SQSEvent) => Promise<unknown>)[] = [world.launcher]
) => {
  const events = await forwardMemberEvents(world, member);
  const consumers = launchers.map((launcher) =>
    consumeQueue(world, world.launchQueue, 5, launcher)
  );
  const memberEngine = playMemberEngine(world, member, new Map([[runId, behaviour]]));
  member.ecs.setPlan(
    { startedBy: `prefect/${runId}` },
    { autoAdvance: { delayMs: 50 }, outcome: { kind: 'keepRunning' } }
  );
  await world.poller(scheduledEvent());
  for (const consumer of consumers) consumer.start();
  return {
    events,
    memberEngine,
    stop: async () => {
      await Promise.all([...consumers.map((consumer) => consumer.stop()), memberEngine.stop()]);
      await member.ecs.settled();
      events.disconnect();
    },
  };
};

const untilFinal = (runId: string) =>
  waitFor(
    'the member run final',
    async () => FINAL_STATES.has((await stateOf(runId))?.type ?? ''),
    30_000
  );

describe('a pool whose aws_credentials assume a role in another account and region', () => {
  it('launches there, is reported from the forwarded events, and is deregistered there', async () => {
    // Prepare
    const runId = await seedRun('member-complete');

    // Act
    const play = await playMemberRun(runId, 'complete');
    try {
      await untilFinal(runId);
    } finally {
      await play.stop();
    }
    const { events, memberEngine } = play;

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

  it('two launcher containers given the same launch message at once start one task in the member account', async () => {
    // Prepare: the run claimed; SQS delivers its message to two fresh containers (each assumes the
    // role with its own cache)
    const runId = await seedRun('member-twice');
    member.ecs.setPlan(
      { startedBy: `prefect/${runId}` },
      { autoAdvance: { delayMs: 50 }, outcome: { kind: 'keepRunning' } }
    );
    await world.poller(scheduledEvent());
    const message = await receiveLaunchOf(runId);
    const [first, second] = await Promise.all([
      world.startLauncherContainer(),
      world.startLauncherContainer(),
    ]);
    const event = { Records: [toSqsRecord(message, world.launchQueue)] };

    // Act
    const answers = await Promise.all([first?.handler(event), second?.handler(event)]);
    await member.ecs.settled();

    // Assess: one task, the pid names it, both containers assumed the role and neither failed
    const tasks = member.ecs.tasks().filter((task) => task.startedBy === `prefect/${runId}`);
    expect(tasks).toHaveLength(1);
    expect(answers.map((answer) => answer?.batchItemFailures)).toEqual([[], []]);
    const run = await readFlowRun(world.prefect.apiUrl, runId, world.auth);
    expect(run.infrastructure_pid).toBe(`${MEMBER_CLUSTER}::${tasks[0]?.taskArn}`);
    expect(world.aws.callsTo('RunTask')).toEqual([]);
    await member.ecs.runToCompletion(tasks[0]?.taskArn ?? '', { exitCode: 0 });
    first?.destroy();
    second?.destroy();
  }, 30_000);

  it('a run cancelled while its launch waits at RunTask: the launcher stops the task it then starts, in the member account', async () => {
    // Prepare: a launcher whose member-account RunTask waits at a gate (wrapEcs wraps every
    // scope's ECS port); the run is claimed and its message delivered
    const runId = await seedRun('member-cancel-mid-launch');
    member.ecs.setPlan(
      { startedBy: `prefect/${runId}` },
      { autoAdvance: { delayMs: 50 }, outcome: { kind: 'keepRunning' } }
    );
    await world.poller(scheduledEvent());
    const message = await receiveLaunchOf(runId);
    let open: () => void = () => {};
    const gate = new Promise<void>((resolve) => {
      open = resolve;
    });
    let reached: () => void = () => {};
    const atGate = new Promise<void>((resolve) => {
      reached = resolve;
    });
    const endpoint = {
      region: 'us-east-1',
      endpoint: world.aws.url,
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    };
    const clients = {
      ecs: new ECSClient(endpoint),
      ec2: new EC2Client(endpoint),
      secretsManager: new SecretsManagerClient(endpoint),
      sqs: new SQSClient({ ...endpoint, endpoint: world.sqs.url }),
    };
    const deps = await createLauncherDeps(loadConfig(world.env), {
      logger: { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} },
      clients,
      prefectDeps: { sleep: async () => {} },
      wrapEcs: (ecs) => ({
        ...ecs,
        runTask: async (input) => {
          reached();
          await gate;
          return ecs.runTask(input);
        },
      }),
    });
    const launcher = createLauncherHandler(deps);
    const launching = launcher({ Records: [toSqsRecord(message, world.launchQueue)] });
    await atGate;
    await user.cancel(world.prefect.apiUrl, runId, world.auth);
    await world.poller(scheduledEvent());
    expect((await stateOf(runId))?.type).toBe('CANCELLED');

    // Act: the launch goes on
    open();
    const answer = await launching;
    await member.ecs.settled();
    for (const client of Object.values(clients)) client.destroy();

    // Assess: its task was stopped at once, there, as the role; the run stays CANCELLED
    expect(answer.batchItemFailures).toEqual([]);
    const tasks = member.ecs.tasks().filter((task) => task.startedBy === `prefect/${runId}`);
    expect(tasks).toHaveLength(1);
    expect(tasks[0]?.desiredStatus).toBe('STOPPED');
    const stops = member
      .callsTo('StopTask')
      .filter((call) => (call.input as { task?: string }).task === tasks[0]?.taskArn);
    expect(stops.length).toBeGreaterThan(0);
    expect(stops.every((call) => signedAs(call.accessKeyId, ROLE))).toBe(true);
    expect(world.aws.callsTo('StopTask')).toEqual([]);
    expect((await stateOf(runId))?.type).toBe('CANCELLED');
  }, 30_000);

  it("the poller's cancel sweep stops the task of a run cancelled before its engine started, in the member account", async () => {
    // Prepare
    const runId = await seedRun('member-cancel');
    const play = await playMemberRun(runId, 'hold');
    const { events } = play;
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
      await play.stop();
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

  it('a session AWS stops honouring (expired early, revoked) is assumed again: the launch is retried and the reporter follows, nothing crashes', async () => {
    // Prepare: every session of the member role ends now (the launcher's and the reporter's)
    const runId = await seedRun('member-after-expiry');
    for (const session of world.aws.sts.sessions()) {
      if (session.roleArn === ROLE) world.aws.sts.expire(session.accessKeyId);
    }
    const assumedBefore = world.aws.allCalls.filter((c) => c.operation === 'AssumeRole').length;

    // Act
    const play = await playMemberRun(runId, 'complete');
    try {
      await untilFinal(runId);
    } finally {
      await play.stop();
    }
    const { events } = play;

    // Assess: the launcher met the expired session, assumed the role again, and launched once
    const refused = world.aws.allCalls.filter(
      (call) => call.error?.code === 'ExpiredTokenException'
    );
    expect(refused.length).toBeGreaterThan(0);
    expect(world.aws.allCalls.filter((c) => c.operation === 'AssumeRole').length).toBeGreaterThan(
      assumedBefore
    );
    expect(await stateOf(runId)).toMatchObject({ type: 'COMPLETED' });
    const history = (await readFlowRunStates(world.prefect.apiUrl, runId, world.auth)).map(
      (state) => state.type
    );
    expect(history).not.toContain('CRASHED');
    expect(
      member
        .callsTo('RunTask')
        .filter(
          (call) =>
            call.error === undefined &&
            (call.input as { startedBy?: string }).startedBy === `prefect/${runId}`
        )
    ).toHaveLength(1);
    expect(events.errors).toEqual([]);
  }, 60_000);

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
