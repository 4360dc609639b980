/**
 * Fault profiles of the soak: how often each fault of issue 11 is injected, and how hard the
 * system is driven. Probabilities are per run (launch faults, Prefect faults, the user's cancel),
 * per ECS event (duplicates, late deliveries) or per poll (throttled sweeps); every draw comes
 * from the seeded streams of `prng.ts`.
 *
 * Time is compressed about 20×: the launch queue's visibility timeout is 1–2 s instead of 360 s
 * (the launcher's backoff is capped to it), the Lambdas' Prefect and AWS SDK clients wait 1/20 of
 * their real backoff between retries, ECS takes 0.04–1.2 s to start a task (30–60 s on Fargate),
 * flows run for 0.05–0.6 s and polls come every 250–300 ms (20 s).
 */

/** The names `npm run soak -- --profile` accepts. */
export type ProfileName = 'light' | 'heavy';

export interface FaultProfile {
  name: ProfileName;
  /** One line for the report. */
  description: string;
  /** Flow runs in flight at once (new ones are created as others settle). */
  concurrency: number;
  /** Launcher containers consuming the launch queue at once (separate caches and clients). */
  launchers: number;
  /** Records per launcher invocation (serverless.yml: 5). */
  batchSize: number;
  /** Seconds; also caps the launcher's redelivery delays. */
  launchVisibilityTimeout: number;
  /** Milliseconds between polls (the schedule and its ticks, compressed). */
  pollEveryMs: number;
  /** Chance that a poll runs while another one still does (schedule, tick and webhook overlap). */
  overlappingPoll: number;
  /** Chance that a poll finds ECS throttling one of the sweeps' calls. */
  throttledSweep: number;
  /**
   * Factor applied to the waits between the Lambdas' retries: their Prefect clients' (2 s, 4 s)
   * and their AWS SDK clients' (100 ms × 2^n, or 500 ms × 2^n when throttled).
   */
  retryScale: number;

  // Per run
  /** The launch message is sent again, 1–2 extra copies (SQS duplicate delivery). */
  duplicateLaunch: number;
  /** A launcher container is killed while launching the run (and its batch comes back). */
  killLauncher: number;
  /** RunTask is throttled 1–6 times around the run's launch (4+ outlasts the SDK's retries). */
  throttleRunTask: number;
  /** RunTask answers RESOURCE:MEMORY 1–2 times around the run's launch. */
  capacityFailure: number;
  /** Each of up to `maxPrefectFaults` faults on the Lambdas' Prefect calls for the run. */
  prefectFault: number;
  maxPrefectFaults: number;
  /** Slow answers, and half of the failing ones, are held this long first (a slow server). */
  stallMs: readonly [number, number];
  /** The user cancels the run at a random moment. */
  cancel: number;

  // Per ECS event
  /** EventBridge delivers the event twice. */
  duplicateEvent: number;
  /** EventBridge delivers the event late (`lateMs`), so later events overtake it. */
  lateEvent: number;
  lateMs: readonly [number, number];
}

export const PROFILES: Readonly<Record<ProfileName, FaultProfile>> = {
  light: {
    name: 'light',
    description:
      'occasional faults: ~10 % of runs see a duplicate launch, throttling or a Prefect fault, 3 % a killed launcher, 10 % a cancel; 10 % of events duplicated, 5 % late',
    concurrency: 40,
    launchers: 2,
    batchSize: 5,
    launchVisibilityTimeout: 2,
    pollEveryMs: 300,
    overlappingPoll: 0,
    throttledSweep: 0.02,
    retryScale: 0.05,
    duplicateLaunch: 0.1,
    killLauncher: 0.03,
    throttleRunTask: 0.1,
    capacityFailure: 0.05,
    prefectFault: 0.1,
    maxPrefectFaults: 1,
    stallMs: [20, 300],
    cancel: 0.1,
    duplicateEvent: 0.1,
    lateEvent: 0.05,
    lateMs: [300, 1500],
  },
  heavy: {
    name: 'heavy',
    description:
      'faults everywhere: ~40 % of runs see duplicate launches, 30 % throttling, 15 % a killed launcher, up to 3 Prefect faults at 40 % each, 25 % a cancel; 40 % of events duplicated, 25 % late; overlapping polls',
    concurrency: 60,
    launchers: 4,
    batchSize: 5,
    launchVisibilityTimeout: 1,
    pollEveryMs: 250,
    overlappingPoll: 0.15,
    throttledSweep: 0.1,
    retryScale: 0.05,
    duplicateLaunch: 0.4,
    killLauncher: 0.15,
    throttleRunTask: 0.3,
    capacityFailure: 0.2,
    prefectFault: 0.4,
    maxPrefectFaults: 3,
    stallMs: [20, 1200],
    cancel: 0.25,
    duplicateEvent: 0.4,
    lateEvent: 0.25,
    lateMs: [300, 2500],
  },
};

/**
 * @example
 * profileNamed('heavy').launchers; // 4
 */
export const profileNamed = (name: string): FaultProfile => {
  const profile = (PROFILES as Record<string, FaultProfile | undefined>)[name];
  if (!profile) {
    throw new Error(`Unknown fault profile '${name}' (known: ${Object.keys(PROFILES).join(', ')})`);
  }
  return profile;
};
