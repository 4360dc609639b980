/**
 * Bundle size and cold init of each Lambda, as deployed: `osls package` (offline), then for every
 * function
 *
 * - the size of `handler.mjs` (minified, without its source map): target ≤ 500 KB;
 * - cold init: a fresh Node 24 process imports the bundle and builds the function's clients, median
 *   of 25 processes (the VM varies ±15 % run to run): target ≤ 150 ms. "Builds its clients": the launcher, reporter and webhook build
 *   theirs on the first invocation, so the process also invokes the handler once with an input that
 *   needs no I/O (an empty SQS batch, an event that is not an ECS task change, a GET the webhook
 *   refuses); the poller builds its SQS and ECS clients while it is imported. The environment is the
 *   deployed one (NODE_OPTIONS=--enable-source-maps), with the Prefect key given as a plain value so
 *   nothing reads Secrets Manager. Medians without source maps and of the whole process (Node start
 *   included) are reported alongside.
 *
 * Lambda's own Init Duration adds the runtime's start and runs on other CPUs; treat these numbers as
 * relative.
 */
import { execFile } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { packageService } from '../test/deploy/osls-package.ts';
import { readZip } from '../test/deploy/read-zip.ts';

const FUNCTIONS = ['poller', 'launcher', 'reporter', 'webhook'] as const;
type FunctionName = (typeof FUNCTIONS)[number];

/** Targets (issue 6, "Must show"). */
const BUNDLE_LIMIT_KB = 500;
const INIT_LIMIT_MS = 150;
const RUNS = 25;

/** An input per function that makes it build its dependencies and then stop, without I/O. */
const FIRST_INVOCATION: Readonly<Record<FunctionName, unknown>> = {
  poller: null,
  launcher: { Records: [] },
  reporter: { source: 'bench', 'detail-type': 'not an ECS task state change', detail: {} },
  webhook: {
    version: '2.0',
    routeKey: '$default',
    rawPath: '/',
    rawQueryString: '',
    headers: {},
    requestContext: {
      http: { method: 'GET', path: '/', sourceIp: '127.0.0.1', userAgent: 'bench' },
      requestId: 'bench',
    },
    isBase64Encoded: false,
  },
};

/** The deployed variables, with placeholders for what the template fills in at deploy time. */
const environment = (sourceMaps: boolean): NodeJS.ProcessEnv => ({
  PATH: process.env.PATH,
  NODE_OPTIONS: sourceMaps ? '--enable-source-maps' : '',
  AWS_REGION: 'us-east-1',
  AWS_LAMBDA_FUNCTION_NAME: 'bench',
  AWS_ACCESS_KEY_ID: 'bench',
  AWS_SECRET_ACCESS_KEY: 'bench',
  POWERTOOLS_SERVICE_NAME: 'prefect-ecs-serverless-bench',
  POWERTOOLS_METRICS_NAMESPACE: 'PrefectEcsServerless',
  POWERTOOLS_LOG_LEVEL: 'ERROR',
  PREFECT_API_URL: 'https://prefect.invalid/api',
  PREFECT_API_KEY: 'pnu_bench_not_a_key',
  PREFECT_WORK_POOLS: 'bench',
  LAUNCH_QUEUE_URL: 'https://sqs.us-east-1.amazonaws.com/123456789012/launch',
  TICK_QUEUE_URL: 'https://sqs.us-east-1.amazonaws.com/123456789012/tick',
  WEBHOOK_SECRET: '0123456789abcdef0123456789abcdef',
});

/** The child: times the import and the first invocation, prints one marked JSON line. */
const CHILD = `
const started = performance.now();
const module = await import(process.argv[2]);
const imported = performance.now();
const event = JSON.parse(process.argv[3]);
if (event !== null) {
  try { await module.handler(event, { functionName: 'bench', awsRequestId: 'bench', getRemainingTimeInMillis: () => 30000 }); }
  catch (error) { process.stderr.write(String(error?.stack ?? error) + '\\n'); }
}
const built = performance.now();
process.stdout.write('\\n@@bench ' + JSON.stringify({ importMs: imported - started, initMs: built - started }) + '\\n');
`;

interface Sample {
  importMs: number;
  initMs: number;
  processMs: number;
}

const runChild = (runner: string, bundle: string, event: unknown, env: NodeJS.ProcessEnv) =>
  new Promise<Sample>((resolve, reject) => {
    const started = performance.now();
    execFile(
      process.execPath,
      [runner, pathToFileURL(bundle).href, JSON.stringify(event)],
      { env, maxBuffer: 16 * 1024 * 1024 },
      (error, stdout, stderr) => {
        const processMs = performance.now() - started;
        const line = stdout.split('\n').find((text) => text.startsWith('@@bench '));
        if (error || line === undefined) {
          reject(new Error(`bench child failed for ${bundle}: ${error?.message ?? ''}\n${stderr}`));
          return;
        }
        resolve({
          ...(JSON.parse(line.slice('@@bench '.length)) as Omit<Sample, 'processMs'>),
          processMs,
        });
      }
    );
  });

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? (sorted[middle] as number)
    : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
};

const round = (value: number, digits = 1) => Number(value.toFixed(digits));

/**
 * Runs the benchmark; returns one flat record of results (see the module comment).
 *
 * @example
 * console.table(await runBundleBenchmark());
 */
export const runBundleBenchmark = async (): Promise<Record<string, number | string | boolean>> => {
  const packaged = await packageService();
  const result: Record<string, number | string | boolean> = {
    'target: bundle (KB, each)': `≤ ${BUNDLE_LIMIT_KB}`,
    'target: cold init median (ms, each)': `≤ ${INIT_LIMIT_MS}`,
  };
  let withinTargets = true;
  try {
    const workDir = join(packaged.outDir, 'bench');
    const runner = join(workDir, 'run-child.mjs');
    await mkdir(workDir, { recursive: true });
    await writeFile(runner, CHILD);
    for (const name of FUNCTIONS) {
      const entries = await readZip(join(packaged.outDir, `${name}.zip`));
      for (const [entry, content] of entries) {
        await mkdir(dirname(join(workDir, entry)), { recursive: true });
        await writeFile(join(workDir, entry), content);
      }
      const bundle = join(workDir, `functions/${name}/handler.mjs`);
      const bundleKB = (entries.get(`functions/${name}/handler.mjs`)?.length ?? 0) / 1024;
      const zipKB = [...entries.values()].reduce((sum, content) => sum + content.length, 0) / 1024;

      const deployed: Sample[] = [];
      const plain: Sample[] = [];
      for (let run = 0; run < RUNS; run += 1) {
        deployed.push(await runChild(runner, bundle, FIRST_INVOCATION[name], environment(true)));
        plain.push(await runChild(runner, bundle, FIRST_INVOCATION[name], environment(false)));
      }
      const initMedian = median(deployed.map((sample) => sample.initMs));
      withinTargets &&= bundleKB <= BUNDLE_LIMIT_KB && initMedian <= INIT_LIMIT_MS;
      Object.assign(result, {
        [`${name}: bundle (KB)`]: round(bundleKB),
        [`${name}: bundle + source map, unzipped (KB)`]: round(zipKB),
        [`${name}: cold init median (ms, import + clients, source maps on)`]: round(initMedian),
        [`${name}: import median (ms, source maps on)`]: round(
          median(deployed.map((sample) => sample.importMs))
        ),
        [`${name}: cold init median (ms, source maps off)`]: round(
          median(plain.map((sample) => sample.initMs))
        ),
        [`${name}: whole process median (ms, Node start included)`]: round(
          median(deployed.map((sample) => sample.processMs))
        ),
      });
    }
  } finally {
    await packaged.dispose();
  }
  result['all within targets'] = withinTargets;
  return result;
};
