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
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { AwsTenant } from '../standins/ecs/types.ts';
import { readFlowRun, readFlowRunStates, seed, user } from '../standins/prefect/actors.ts';
import {
  consumeQueue,
  type EndToEndWorld,
  FINAL_STATES,
  inspectQueue,
  POOL,
  scheduledEvent,
  startEndToEndWorld,
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

describe('a pool whose aws_credentials assume a role in another account and region', () => {
  it('launches there, is reported from the forwarded events, and is deregistered there', async () => {
    // Prepare
    const runId = await seedRun('member-complete');
    const events = await forwardMemberEvents(world, member);
    const launcherEsm = consumeQueue(world, world.launchQueue, 5, world.launcher);
    const memberEngine = playMemberEngine(world, member, new Map([[runId, 'complete']]));
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
    const events = await forwardMemberEvents(world, member);
    const launcherEsm = consumeQueue(world, world.launchQueue, 5, world.launcher);
    const memberEngine = playMemberEngine(world, member, new Map([[runId, 'hold']]));
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

  it('a session AWS stops honouring (expired early, revoked) is assumed again: the launch is retried and the reporter follows, nothing crashes', async () => {
    // Prepare: every session of the member role ends now (the launcher's and the reporter's)
    const runId = await seedRun('member-after-expiry');
    for (const session of world.aws.sts.sessions()) {
      if (session.roleArn === ROLE) world.aws.sts.expire(session.accessKeyId);
    }
    const assumedBefore = world.aws.allCalls.filter((c) => c.operation === 'AssumeRole').length;
    const events = await forwardMemberEvents(world, member);
    const launcherEsm = consumeQueue(world, world.launchQueue, 5, world.launcher);
    const memberEngine = playMemberEngine(world, member, new Map([[runId, 'complete']]));
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
        30_000
      );
    } finally {
      await Promise.all([launcherEsm.stop(), memberEngine.stop()]);
      await member.ecs.settled();
      events.disconnect();
    }

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
