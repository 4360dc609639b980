/**
 * Pools in other accounts and regions (issue 13): what per-pool `aws_credentials` cost, measured
 * through the real poller, launcher and reporter against the stand-ins (the AWS stand-in attributes
 * every call to the account of its credentials and the region of its signature).
 *
 * - **Phase 1, end to end**: RUNS runs of a pool whose block assumes a role in another account and
 *   region, and RUNS runs of a home pool, due at once: poll → launch queue → launcher → RunTask →
 *   events (the member's forwarded as its rule does) → reporter → COMPLETED. Counted: AssumeRole
 *   calls (goal: one per function container and credential lifetime, not one per run or per call),
 *   where each RunTask went, and the Prefect reads the credentials added (block documents: the
 *   launcher reads the run's block as it renders, as Prefect's worker does; the reporter reads pool,
 *   deployment and block once per deployment per minute).
 * - **Phase 2, a warm reporter**: every member task's STOPPED event delivered again (EventBridge
 *   delivers at least once), then the home ones: Prefect calls per event (goal: the same as a home
 *   event, ≤ 2) and AssumeRole calls (goal: 0, the session is cached).
 *
 * Run: `npm run bench -- member-account`, or `npx tsx bench/member-account.bench.ts` (prints JSON).
 */
import { pathToFileURL } from 'node:url';
import {
  type Behaviour,
  connectEventBridge,
  consumeQueue,
  FINAL_STATES,
  inspectQueue,
  POOL,
  playEngine,
  scheduledEvent,
  startEndToEndWorld,
  taskStateRulePattern,
  waitFor,
} from '../test/integration/end-to-end-fixtures.ts';
import {
  forwardMemberEvents,
  MEMBER_POOL,
  MEMBER_REGION,
  MEMBER_ROLE,
  playMemberEngine,
  setUpMemberAccount,
} from '../test/integration/member-account-fixtures.ts';
import { readFlowRun, seed } from '../test/standins/prefect/actors.ts';

const RUNS = 30;

export const runMemberAccountBenchmark = async (): Promise<
  Record<string, number | string | boolean>
> => {
  const world = await startEndToEndWorld({
    launchVisibilityTimeout: 30,
    awsStandin: { regions: ['us-east-1', MEMBER_REGION] },
    env: { PREFECT_WORK_POOLS: `${POOL},${MEMBER_POOL}`, ASSUME_ROLE_ARNS: MEMBER_ROLE },
  });
  const endpointBefore = process.env.AWS_ENDPOINT_URL;
  // The per-pool clients resolve their endpoint from the environment, as in Lambda.
  process.env.AWS_ENDPOINT_URL = world.aws.url;
  try {
    const account = await setUpMemberAccount(world);
    const member = account.tenant;
    const seedRuns = async (deploymentId: string, prefix: string) =>
      Promise.all(
        Array.from(
          { length: RUNS },
          async (_, index) =>
            (
              await seed.flowRun(
                world.prefect.apiUrl,
                deploymentId,
                { name: `${prefix}-${index}`, scheduledTime: new Date() },
                world.auth
              )
            ).id
        )
      );
    const memberRuns = await seedRuns(account.deploymentId, 'member');
    const homeRuns = await seedRuns(world.deploymentId, 'home');
    const running = { autoAdvance: { delayMs: 50 }, outcome: { kind: 'keepRunning' } } as const;
    for (const id of memberRuns) member.ecs.setPlan({ startedBy: `prefect/${id}` }, running);
    for (const id of homeRuns) world.aws.ecs.setPlan({ startedBy: `prefect/${id}` }, running);
    const complete = (ids: string[]) =>
      new Map<string, Behaviour>(ids.map((id) => [id, 'complete']));
    const assumeRolesBefore = world.aws.allCalls.filter((c) => c.operation === 'AssumeRole').length;
    const requestsBefore = world.prefect.requests.length;

    // Phase 1
    const homeEvents = connectEventBridge(world, await taskStateRulePattern());
    const memberEvents = await forwardMemberEvents(world, member);
    const homeEngine = playEngine(world, complete(homeRuns));
    const memberEngine = playMemberEngine(world, member, complete(memberRuns));
    const launcherEsm = consumeQueue(world, world.launchQueue, 5, world.launcher);
    const started = performance.now();
    await world.poller(scheduledEvent());
    launcherEsm.start();
    try {
      await waitFor(
        'every run final',
        async () =>
          inspectQueue(world, 'launch').depth === 0 &&
          (
            await Promise.all(
              [...memberRuns, ...homeRuns].map((id) =>
                readFlowRun(world.prefect.apiUrl, id, world.auth)
              )
            )
          ).every((run) => FINAL_STATES.has(run.state_type ?? '')),
        120_000
      );
    } finally {
      await Promise.all([launcherEsm.stop(), homeEngine.stop(), memberEngine.stop()]);
      await Promise.all([member.ecs.settled(), world.aws.ecs.settled()]);
    }
    const phaseSeconds = (performance.now() - started) / 1000;
    const states = async (ids: string[]) =>
      (await Promise.all(ids.map((id) => readFlowRun(world.prefect.apiUrl, id, world.auth)))).map(
        (run) => run.state_type
      );
    const memberCompleted = (await states(memberRuns)).filter((s) => s === 'COMPLETED').length;
    const homeCompleted = (await states(homeRuns)).filter((s) => s === 'COMPLETED').length;
    const assumeRoles = world.aws.allCalls.filter((c) => c.operation === 'AssumeRole');
    const phase1AssumeRoles = assumeRoles.length - assumeRolesBefore;
    // Accepted RunTask calls. The member deployment deregisters its revisions
    // (auto_deregister_task_definition): a run that reused a revision another run's end
    // deregistered meanwhile gets "TaskDefinition is inactive" and registers again (not counted).
    const runTasksOf = (
      calls: { operation: string; input: unknown; error?: unknown }[],
      ids: string[]
    ) =>
      calls.filter(
        (c) =>
          c.operation === 'RunTask' &&
          c.error === undefined &&
          ids.some((id) => (c.input as { startedBy?: string }).startedBy === `prefect/${id}`)
      ).length;
    const phase1Requests = world.prefect.requests.slice(requestsBefore);
    const blockReads = phase1Requests.filter((r) => r.path.startsWith('/block_documents/')).length;
    const memberPoolReads = phase1Requests.filter(
      (r) => r.method === 'GET' && r.path === `/work_pools/${MEMBER_POOL}`
    ).length;

    // Phase 2: a warm reporter, every STOPPED event again
    const stoppedOf = (events: typeof member.events) =>
      events.filter(
        (e) =>
          e.detail.lastStatus === 'STOPPED' &&
          [...memberRuns, ...homeRuns].some((id) => e.detail.startedBy === `prefect/${id}`)
      );
    const replay = async (events: typeof member.events) => {
      const before = world.prefect.requests.length;
      const assumedBefore = world.aws.allCalls.filter((c) => c.operation === 'AssumeRole').length;
      const startedAt = performance.now();
      for (const event of events) await world.reporter(event);
      return {
        perEvent: (world.prefect.requests.length - before) / Math.max(1, events.length),
        ms: (performance.now() - startedAt) / Math.max(1, events.length),
        assumeRoles:
          world.aws.allCalls.filter((c) => c.operation === 'AssumeRole').length - assumedBefore,
      };
    };
    const memberReplay = await replay(stoppedOf(member.events));
    const homeReplay = await replay(stoppedOf(world.aws.events));
    homeEvents.disconnect();
    memberEvents.disconnect();

    const errors =
      homeEvents.errors.length +
      memberEvents.errors.length +
      homeEngine.errors.length +
      memberEngine.errors.length;
    return {
      runs_per_pool: RUNS,
      phase1_seconds: Number(phaseSeconds.toFixed(1)),
      member_runs_completed: memberCompleted,
      home_runs_completed: homeCompleted,
      member_runtask_in_member_account: runTasksOf(member.calls, memberRuns),
      member_runtask_in_home_account: runTasksOf(world.aws.calls, memberRuns),
      home_runtask_in_home_account: runTasksOf(world.aws.calls, homeRuns),
      errors,
      assume_role_calls_phase1: phase1AssumeRoles,
      'target: assume_role_calls_phase1 (one per function container: launcher, reporter)': '≤ 2',
      block_document_reads_phase1: blockReads,
      member_pool_reads_phase1: memberPoolReads,
      reporter_prefect_calls_per_member_event_warm: Number(memberReplay.perEvent.toFixed(2)),
      reporter_prefect_calls_per_home_event_warm: Number(homeReplay.perEvent.toFixed(2)),
      'target: reporter_prefect_calls_per_event (member as home)': '≤ 2',
      reporter_ms_per_member_event_warm: Number(memberReplay.ms.toFixed(1)),
      reporter_ms_per_home_event_warm: Number(homeReplay.ms.toFixed(1)),
      assume_role_calls_phase2: memberReplay.assumeRoles + homeReplay.assumeRoles,
      met:
        memberCompleted === RUNS &&
        homeCompleted === RUNS &&
        runTasksOf(member.calls, memberRuns) === RUNS &&
        runTasksOf(world.aws.calls, memberRuns) === 0 &&
        errors === 0 &&
        phase1AssumeRoles <= 2 &&
        memberReplay.assumeRoles + homeReplay.assumeRoles === 0 &&
        memberReplay.perEvent <= 2,
    };
  } finally {
    if (endpointBefore === undefined) delete process.env.AWS_ENDPOINT_URL;
    else process.env.AWS_ENDPOINT_URL = endpointBefore;
    await world.close();
  }
};

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  console.log(JSON.stringify(await runMemberAccountBenchmark(), null, 2));
}
