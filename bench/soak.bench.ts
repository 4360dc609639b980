/**
 * Soak benchmark (issue 11): the soak of `bench/soak/` (N flow runs through the real poller,
 * launcher and reporter handlers and the stand-ins, with a fault profile injected from a seed:
 * duplicate and redelivered launch messages, killed launcher containers, ECS throttling and
 * capacity failures, Prefect 503s, 500s and dropped connections before and after handling, ECS
 * events duplicated, late and out of order, users cancelling and retrying, flows that complete,
 * fail, crash, fail to start or are interrupted on Spot) for 3 seeds × 2 profiles, with fewer runs
 * than `npm run soak` (1,000) so that `npm run bench` stays reasonable.
 *
 * Each soak reports duplicates / lost / stuck / wrong (defined in `bench/soak/audit.ts`); the goal
 * is 0/0/0/0 for every one.
 *
 * Run: `npx tsx bench/soak.bench.ts` (prints JSON); `npm run bench` calls `runSoakBenchmark`.
 */
import { pathToFileURL } from 'node:url';
import { type ProfileName, profileNamed } from './soak/profiles.ts';
import { runSoak } from './soak/run-soak.ts';

/** Runs per soak here (`npm run soak` runs 1,000). */
const RUNS = 150;
const SEEDS = [1, 2, 3] as const;
const PROFILES: readonly ProfileName[] = ['light', 'heavy'];

export const runSoakBenchmark = async (): Promise<Record<string, number | string | boolean>> => {
  const result: Record<string, number | string | boolean> = { runs_per_soak: RUNS };
  let met = true;
  for (const name of PROFILES) {
    for (const seed of SEEDS) {
      const soak = await runSoak({ runs: RUNS, seed, profile: profileNamed(name), explain: 0 });
      const { duplicates, lost, stuck, wrong } = soak.totals;
      met &&= duplicates + lost + stuck + wrong === 0;
      const key = `${name} seed ${seed}`;
      result[`${key}: duplicates/lost/stuck/wrong`] = `${duplicates}/${lost}/${stuck}/${wrong}`;
      result[`${key}: seconds`] = Number(soak.seconds.toFixed(1));
      const seen = soak.stats;
      result[
        `${key}: faults (Prefect fired / launchers killed / duplicate launches / duplicated or late events)`
      ] =
        `${seen.prefect_faults_fired} / ${seen.launchers_killed} / ${seen.duplicate_launch_messages} / ${(seen.duplicate_event_deliveries ?? 0) + (seen.late_event_deliveries ?? 0)}`;
    }
  }
  result['goal: duplicates/lost/stuck/wrong'] = '0/0/0/0';
  result['goal met by every soak'] = met;
  return result;
};

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  console.log(JSON.stringify(await runSoakBenchmark(), null, 2));
}
