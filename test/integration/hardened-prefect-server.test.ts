/**
 * A hardened self-hosted Prefect server (issue 13): CSRF protection on
 * (`PREFECT_SERVER_CSRF_PROTECTION_ENABLED=true`) and an access proxy in front that wants its
 * header on every request (`PREFECT_CLIENT_CUSTOM_HEADERS`). Runs go through the real handlers,
 * poll → SQS → launch → ECS → EventBridge → report, as in end-to-end.test.ts.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { readFlowRun, seed } from '../standins/prefect/actors.ts';
import type { RecordedRequest } from '../standins/prefect/server.ts';
import {
  type Behaviour,
  connectEventBridge,
  consumeQueue,
  type EndToEndWorld,
  FINAL_STATES,
  inspectQueue,
  playEngine,
  scheduledEvent,
  startEndToEndWorld,
  taskStateRulePattern,
  waitFor,
} from './end-to-end-fixtures.ts';

const PROXY_HEADER = 'CF-Access-Client-Secret';
const PROXY_SECRET = 'cf-access-0123456789abcdef-proxy-secret';

let world: EndToEndWorld | undefined;
afterEach(async () => {
  await world?.close();
  world = undefined;
});

const OUR_AGENT = /^prefect-ecs-serverless\//;
const isOurs = (request: RecordedRequest): boolean =>
  OUR_AGENT.test(String(request.headers['user-agent'] ?? ''));
const isWrite = (request: RecordedRequest): boolean => request.method !== 'GET';
const csrfClientOf = (request: RecordedRequest): string | undefined => {
  const value = request.headers['prefect-csrf-client'];
  return Array.isArray(value) ? value[0] : value;
};

/** Starts a world against a hardened server and plays three runs to their end. */
const playHardenedWorld = async (): Promise<{
  w: EndToEndWorld;
  runs: { complete: string; oom: string; pull: string };
}> => {
  const w = await startEndToEndWorld({
    launchVisibilityTimeout: 30,
    prefectStandin: { csrfProtection: true, requiredHeaders: { [PROXY_HEADER]: PROXY_SECRET } },
    env: { PREFECT_CLIENT_CUSTOM_HEADERS: JSON.stringify({ [PROXY_HEADER]: PROXY_SECRET }) },
  });
  world = w;
  const seedRun = async (name: string, image?: string) =>
    (
      await seed.flowRun(
        w.prefect.apiUrl,
        w.deploymentId,
        { name, scheduledTime: new Date(), ...(image ? { jobVariables: { image } } : {}) },
        w.auth
      )
    ).id;
  const runs = {
    complete: await seedRun('complete'),
    oom: await seedRun('oom'),
    pull: await seedRun('pull', 'prefecthq/prefect:nope'),
  };
  const behaviours = new Map<string, Behaviour>([
    [runs.complete, 'complete'],
    [runs.oom, 'oom'],
    [runs.pull, 'pull'],
  ]);
  const running = { autoAdvance: { delayMs: 100 }, outcome: { kind: 'keepRunning' } } as const;
  for (const id of [runs.complete, runs.oom]) {
    w.aws.ecs.setPlan({ startedBy: `prefect/${id}` }, running);
  }
  w.aws.ecs.setPlan(
    { startedBy: `prefect/${runs.pull}` },
    { outcome: { kind: 'failToStart', stoppedReason: 'CannotPullContainerError: not found' } }
  );
  const eventBridge = connectEventBridge(w, await taskStateRulePattern());
  const launcherEsm = consumeQueue(w, w.launchQueue, 5, w.launcher);

  await w.poller(scheduledEvent());
  const engine = playEngine(w, behaviours);
  launcherEsm.start();
  try {
    await waitFor(
      'every run final and the launch queue empty',
      async () =>
        inspectQueue(w, 'launch').depth === 0 &&
        (
          await Promise.all(
            Object.values(runs).map((id) => readFlowRun(w.prefect.apiUrl, id, w.auth))
          )
        ).every((run) => FINAL_STATES.has(run.state_type ?? '')),
      25_000
    );
  } finally {
    await Promise.all([launcherEsm.stop(), engine.stop()]);
    await w.aws.ecs.settled();
    eventBridge.disconnect();
  }
  expect(engine.errors).toEqual([]);
  expect(eventBridge.errors).toEqual([]);
  return { w, runs };
};

describe('a CSRF-protected Prefect server behind an access proxy', () => {
  it('accepts every write of poll → launch → report, each client asking for one token', async () => {
    // Prepare / Act
    const { w, runs } = await playHardenedWorld();

    // Assess: the runs ended as they do against an open server
    const final = async (id: string) => (await readFlowRun(w.prefect.apiUrl, id, w.auth)).state;
    expect(await final(runs.complete)).toMatchObject({ type: 'COMPLETED' });
    expect(await final(runs.oom)).toMatchObject({ type: 'CRASHED' });
    expect(await final(runs.pull)).toMatchObject({ type: 'CRASHED' });
    expect(w.prefect.logs.some((line) => line.flow_run_id === runs.pull)).toBe(true);

    // Assess: the Lambdas wrote through CSRF: claims, heartbeats, infrastructure, crashes, logs
    const ours = w.prefect.requests.filter(isOurs);
    const writes = ours.filter(isWrite);
    const accepted = writes.filter((request) => request.status < 400);
    const paths = new Set(accepted.map((request) => request.path.replace(/[0-9a-f-]{36}/g, ':id')));
    for (const path of [
      '/flow_runs/:id/set_state',
      '/work_pools/ecs-e2e/workers/heartbeat',
      '/logs/',
    ]) {
      expect(paths.has(path), `an accepted write to ${path}`).toBe(true);
    }
    // Every accepted write carried a token the server issued to the client id it named
    const issued = w.prefect.csrf?.issued ?? [];
    for (const request of accepted) {
      const token = request.headers['prefect-csrf-token'];
      expect(issued.some((t) => t.token === token && t.client === csrfClientOf(request))).toBe(
        true
      );
    }
    // The only refusals are the first writes of each client (before it had a token), each resent
    const refused = writes.filter((request) => request.status >= 400);
    expect(refused.map((request) => request.status)).toEqual(refused.map(() => 403));
    expect(refused.every((request) => request.headers['prefect-csrf-token'] === undefined)).toBe(
      true
    );
    for (const request of refused) {
      const resent = writes.find(
        (later) =>
          later.at >= request.at &&
          later !== request &&
          later.method === request.method &&
          later.path === request.path &&
          JSON.stringify(later.body) === JSON.stringify(request.body) &&
          later.status < 400
      );
      expect(resent, `${request.method} ${request.path} resent with a token`).toBeDefined();
    }
    // One token per Lambda client (poller, launcher, reporter), kept for every later write
    const lambdaClients = new Set(issued.map((t) => t.client).filter((c) => c !== 'test-actors'));
    expect(lambdaClients.size).toBe(3);
    expect(issued.filter((t) => t.client !== 'test-actors')).toHaveLength(3);
    expect(refused.length).toBeGreaterThanOrEqual(3);
    expect(ours.filter((request) => request.path === '/csrf-token')).toHaveLength(3);
  });

  it('sends the custom header on every request and never logs it or a token', async () => {
    // Prepare / Act
    const { w } = await playHardenedWorld();

    // Assess: every request of the Lambdas carried the proxy's header; the proxy refused none
    const ours = w.prefect.requests.filter(isOurs);
    expect(ours.length).toBeGreaterThan(10);
    for (const request of ours) {
      expect(request.headers[PROXY_HEADER.toLowerCase()], `${request.method} ${request.path}`).toBe(
        PROXY_SECRET
      );
    }
    expect(w.prefect.requests.filter((request) => request.status === 401)).toEqual([]);

    // Assess: neither the header value nor any token appears in a log line or a Prefect log
    const tokens = (w.prefect.csrf?.issued ?? []).map((t) => t.token);
    expect(tokens.length).toBeGreaterThanOrEqual(4);
    const logged = JSON.stringify(w.lines) + JSON.stringify(w.prefect.logs);
    expect(logged).not.toContain(PROXY_SECRET);
    for (const token of tokens) expect(logged).not.toContain(token);
  });

  it('without the custom header, the proxy turns the poller away', async () => {
    // Prepare
    const w = await startEndToEndWorld({
      launchVisibilityTimeout: 30,
      prefectStandin: { csrfProtection: true, requiredHeaders: { [PROXY_HEADER]: PROXY_SECRET } },
    });
    world = w;
    // Act
    const outcome = await w.poller(scheduledEvent()).then(
      (value) => ({ value }),
      (error: unknown) => ({ error })
    );
    // Assess: whatever the poller answers, every one of its requests met the proxy's 401
    const ours = w.prefect.requests.filter(isOurs);
    expect(ours.length).toBeGreaterThan(0);
    expect(ours.every((request) => request.status === 401)).toBe(true);
    expect(outcome).toBeDefined();
  });
});
