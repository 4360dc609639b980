/**
 * `npm run soak [-- [runs] [--seed S] [--profile light|heavy] [--per-run] [--explain N]
 * [--trace i,j]]`: N flow runs (default 1,000, seed 1, profile heavy) through the real handlers and
 * the stand-ins with a fault profile injected from the seed (`run-soak.ts`), then the report
 * (`report.ts`) with the timelines of the first N offending runs (default 12) and of the runs
 * traced by index. Exits 1 when duplicates / lost / stuck / wrong is not 0/0/0/0.
 *
 * @example
 * npm run soak -- 300 --seed 7 --profile light
 */
import { parseArgs } from 'node:util';
import { profileNamed } from './profiles.ts';
import { formatReport } from './report.ts';
import { runSoak } from './run-soak.ts';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    seed: { type: 'string', default: '1' },
    profile: { type: 'string', default: 'heavy' },
    runs: { type: 'string' },
    'per-run': { type: 'boolean', default: false },
    explain: { type: 'string', default: '12' },
    trace: { type: 'string', default: '' },
  },
});

const runs = Number(values.runs ?? positionals[0] ?? '1000');
if (!Number.isInteger(runs) || runs < 1) {
  console.error(`runs must be a positive whole number, not '${values.runs ?? positionals[0]}'`);
  process.exit(2);
}
const profile = profileNamed(values.profile);
const explain = Number(values.explain);

console.log(`▶ soak: ${runs} runs, seed ${values.seed}, profile ${profile.name}`);
const result = await runSoak({
  runs,
  seed: values.seed,
  profile,
  explain: Number.isInteger(explain) && explain >= 0 ? explain : 12,
  trace: values.trace
    .split(',')
    .filter(Boolean)
    .map((index) => Number(index)),
  progress: (line) => console.log(line),
});
console.log(formatReport(result, values['per-run'] ? { perRun: true } : {}));
const { duplicates, lost, stuck, wrong } = result.totals;
process.exit(duplicates + lost + stuck + wrong === 0 ? 0 : 1);
