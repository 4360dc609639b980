/**
 * `npm run bench`: runs every `bench/*.bench.ts` (each exports `run<Name>Benchmark()` returning a flat record of
 * results) and writes BENCHMARKS.md with the command, the machine and the numbers. `npm run bench -- launch` runs
 * only the files whose name contains "launch" and replaces only their sections in BENCHMARKS.md (every section
 * names the command and the day that produced it). Targets live in the bench files, never in timed unit tests.
 */
import { readdir, readFile, writeFile } from 'node:fs/promises';
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
const command = `npm run bench${filter ? ` -- ${filter}` : ''}`;
const producedBy = `Produced by \`${command}\` on ${new Date().toISOString().slice(0, 10)}.`;
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
      `## ${file} — ${name} (${seconds} s)\n\n${producedBy}\n\n| measure | value |\n| --- | --- |\n${rows}\n`
    );
  }
}

function formatNumber(value: number): string {
  return Number.isInteger(value) ? String(value) : value.toFixed(2);
}

const cpu = cpus()[0]?.model ?? 'unknown CPU';
const header = `# Benchmarks

Produced by \`npm run bench\` (all sections) or \`npm run bench -- <name>\` (the sections of the files whose name
contains <name>; each section names its command and day), on Node ${process.version}, ${platform()} ${arch()},
${cpus().length} × ${cpu}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB.
Everything runs against the local stand-ins (Prefect, ECS, SQS) over real HTTP on loopback, so the numbers measure
our code and the stand-ins, not AWS or Prefect latency. Targets are stated in each benchmark's rows.
`;

/** `## <file> — <runner> (…)` → the section's key; the sections of BENCHMARKS.md in order. */
const sectionKey = (section: string): string => /^## (\S+ — \w+)/.exec(section)?.[1] ?? section;
const splitSections = (markdown: string): string[] =>
  markdown
    .split(/^(?=## )/m)
    .slice(1)
    .map((section) => `${section.trimEnd()}\n`);

const benchmarksFile = new URL('../BENCHMARKS.md', import.meta.url);
let kept: string[] = [];
if (filter) {
  const previous = await readFile(benchmarksFile, 'utf8').catch(() => '');
  const replaced = new Set(sections.map(sectionKey));
  kept = splitSections(previous).filter((section) => !replaced.has(sectionKey(section)));
}
const merged = [...kept, ...sections].sort((a, b) => sectionKey(a).localeCompare(sectionKey(b)));
await writeFile(benchmarksFile, `${header}\n${merged.join('\n')}`);
console.log(
  filter
    ? `Wrote BENCHMARKS.md: ${sections.length} section(s) replaced, ${kept.length} kept from earlier runs`
    : 'Wrote BENCHMARKS.md'
);
