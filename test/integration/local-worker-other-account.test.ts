/**
 * The local worker (`npm start`) with a pool whose `aws_credentials` assume a role in another
 * account and region: its launcher runs the task there, and its follower describes the task there
 * with the same credentials (there is no EventBridge locally: the follower builds the events), so
 * the run ends as it does with the deployed stack. A worker started later adopts the task of a run
 * launched before it, there too.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { loadLocalWorkerConfig } from '../../shared/local/local-config.ts';
import { createLocalWorker, type LocalWorker } from '../../shared/local/local-worker.ts';
import { createTextLogger } from '../../shared/local/text-logger.ts';
import { startAwsStandin } from '../standins/ecs/server.ts';
import type { AwsStandin, AwsTenant } from '../standins/ecs/types.ts';
import { readFlowRun, seed } from '../standins/prefect/actors.ts';
import { type PrefectStandin, startPrefectStandin } from '../standins/prefect/server.ts';
import {
  MEMBER_POOL,
  MEMBER_REGION,
  MEMBER_ROLE,
  type MemberAccount,
  playMemberEngine,
  setUpMemberAccount,
} from './member-account-fixtures.ts';

const credentials = { accessKeyId: 'test', secretAccessKey: 'test' };

let prefect: PrefectStandin;
let aws: AwsStandin;
let account: MemberAccount;
let member: AwsTenant;
const workers: LocalWorker[] = [];

beforeAll(async () => {
  prefect = await startPrefectStandin();
  aws = await startAwsStandin({ regions: ['us-east-1', MEMBER_REGION] });
  // The pool's clients resolve their endpoint from the environment (the SDK's own rule).
  vi.stubEnv('AWS_ENDPOINT_URL', aws.url);
  account = await setUpMemberAccount({ aws, prefect, auth: {} });
  member = account.tenant;
});

afterAll(async () => {
  for (const worker of workers) await worker.stop();
  vi.unstubAllEnvs();
  await aws?.close();
  await prefect?.close();
});

const startWorker = async () => {
  const config = loadLocalWorkerConfig({
    PREFECT_API_URL: prefect.apiUrl,
    PREFECT_WORK_POOLS: MEMBER_POOL,
    AWS_REGION: aws.region,
    POLL_INTERVAL_SECONDS: '5',
    TASK_FOLLOW_INTERVAL_SECONDS: '1',
  });
  const worker = await createLocalWorker({
    config,
    logger: createTextLogger({ write: () => {}, level: 'error' }),
    aws: { endpoint: aws.url, credentials },
    prefectDeps: { sleep: async () => {} },
    reporterRetryDelaysMs: [200, 200],
  });
  workers.push(worker);
  await worker.start();
  return worker;
};

const waitFor = async (predicate: () => Promise<boolean>, timeoutMs: number): Promise<void> => {
  const deadline = Date.now() + timeoutMs;
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
};

const stateOf = async (id: string) => (await readFlowRun(prefect.apiUrl, id)).state?.type;

/** The calls of `operation` in the member account, signed with a session of the member role. */
const memberCallsAsRole = (operation: string) =>
  member
    .callsTo(operation)
    .filter((call) => aws.sts.session(call.accessKeyId ?? '')?.roleArn === MEMBER_ROLE);

describe('local worker with a pool in another account and region', () => {
  it('launches there and follows the task there until the run completes', async () => {
    // Prepare
    const run = await seed.flowRun(prefect.apiUrl, account.deploymentId, {
      name: 'local-member',
      scheduledTime: new Date(),
    });
    member.ecs.setPlan(
      { startedBy: `prefect/${run.id}` },
      { autoAdvance: { delayMs: 100 }, outcome: { kind: 'keepRunning' } }
    );
    const engine = playMemberEngine(
      { aws, prefect, auth: {} },
      member,
      new Map([[run.id, 'complete']])
    );

    // Act
    const worker = await startWorker();
    try {
      await waitFor(async () => (await stateOf(run.id)) === 'COMPLETED' && worker.idle(), 20_000);
    } finally {
      await engine.stop();
      await worker.stop();
    }

    // Assess
    expect(engine.errors).toEqual([]);
    expect(memberCallsAsRole('RunTask')).toHaveLength(1);
    // The follower's DescribeTasks (no `include`) went to the member account, as the role
    const followed = memberCallsAsRole('DescribeTasks').filter(
      (call) => (call.input as { include?: string[] }).include === undefined
    );
    expect(followed.length).toBeGreaterThan(0);
    expect(aws.callsTo('DescribeTasks')).toEqual([]);
    expect(aws.callsTo('RunTask')).toEqual([]);
    // ... and the reporter deregistered the run's revision there
    expect(memberCallsAsRole('DeregisterTaskDefinition')).toHaveLength(1);
  }, 30_000);

  it('a worker started later follows, there, the task of a run launched before it', async () => {
    // Prepare: a run launched by a first worker, which stops while its task runs
    const run = await seed.flowRun(prefect.apiUrl, account.deploymentId, {
      name: 'local-member-adopted',
      scheduledTime: new Date(),
    });
    member.ecs.setPlan(
      { startedBy: `prefect/${run.id}` },
      { autoAdvance: { delayMs: 100 }, outcome: { kind: 'keepRunning' } }
    );
    const first = await startWorker();
    const taskOfRun = () => member.ecs.tasks().find((t) => t.startedBy === `prefect/${run.id}`);
    await waitFor(
      async () =>
        (await readFlowRun(prefect.apiUrl, run.id)).infrastructure_pid !== null &&
        taskOfRun()?.lastStatus === 'RUNNING',
      20_000
    );
    await first.stop();
    const task = taskOfRun();
    if (!task) throw new Error('no member task');

    // Act: the container dies of memory while no worker runs; a new worker starts
    await member.ecs.runToCompletion(task.taskArn, {
      exitCode: 137,
      containerReason: 'OutOfMemoryError: Container killed due to memory usage',
    });
    const second = await startWorker();
    try {
      await waitFor(async () => (await stateOf(run.id)) === 'CRASHED', 20_000);
    } finally {
      await second.stop();
    }

    // Assess
    const state = (await readFlowRun(prefect.apiUrl, run.id)).state;
    expect(state?.message).toMatch(/ran out of memory/);
    expect(aws.callsTo('DescribeTasks')).toEqual([]);
  }, 40_000);
});
