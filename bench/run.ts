/**
 * `npm run bench`: runs every `bench/*.bench.ts` (each exports `run<Name>Benchmark()` returning a flat record of
 * results) and writes BENCHMARKS.md with the command, the machine and the numbers. `npm run bench -- launch` runs
 * only the files whose name contains "launch". Targets live in the bench files, never in timed unit tests.
 */
import { readdir, writeFile } from 'node:fs/promises';
import { arch, cpus, platform, totalmem } from 'node:os';
import { fileURLToPath, pathToFileURL } from 'node:url';

type BenchResult = Record<string, number | string | boolean>;
type BenchFunction = () => Promise<BenchResult>;

const benchDir = fileURLToPath(new URL('.', import.meta.url));
const filter = process.argv[2];

const files = (await readdir(benchDir))
  .filter((name) => name.endsWith('.bench.ts'))
  .filter((name) => !filter || name.includes(filter))
  .sort();

const sections: string[] = [];
for (const file of files) {
  const module = (await import(pathToFileURL(`${benchDir}${file}`).href)) as Record<
    string,
    unknown
  >;
  const runners = Object.entries(module).filter(
    (entry): entry is [string, BenchFunction] =>
      /^run\w*Benchmark$/.test(entry[0]) && typeof entry[1] === 'function'
  );
  for (const [name, run] of runners) {
    console.log(`▶ ${file} ${name}`);
    const started = performance.now();
    const result = await run();
    const seconds = ((performance.now() - started) / 1000).toFixed(1);
    console.table(result);
    const rows = Object.entries(result)
      .map(
        ([key, value]) =>
          `| ${key} | ${typeof value === 'number' ? formatNumber(value) : String(value)} |`
      )
      .join('\n');
    sections.push(
      `## ${file} — ${name} (${seconds} s)\n\n| measure | value |\n| --- | --- |\n${rows}\n`
    );
  }
}

function formatNumber(value: number): string {
  return Number.isInteger(value) ? String(value) : value.toFixed(2);
}

const cpu = cpus()[0]?.model ?? 'unknown CPU';
const header = `# Benchmarks

Produced by \`npm run bench${filter ? ` -- ${filter}` : ''}\` on ${new Date().toISOString().slice(0, 10)}:
Node ${process.version}, ${platform()} ${arch()}, ${cpus().length} × ${cpu}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB.
Everything runs against the local stand-ins (Prefect, ECS, SQS) over real HTTP on loopback, so the numbers measure
our code and the stand-ins, not AWS or Prefect latency. Targets are stated in each benchmark's rows.
`;

if (!filter) {
  await writeFile(
    new URL('../BENCHMARKS.md', import.meta.url),
    `${header}\n${sections.join('\n')}`
  );
  console.log('Wrote BENCHMARKS.md');
} else {
  console.log('(filtered run: BENCHMARKS.md left unchanged)');
}
