/**
 * `npm run standin -- <prefect|ecs|sqs> [--port N] [--host H] [...]`: runs one local stand-in on its
 * own, for trying the clients by hand or pointing a local worker at it. Ctrl-C stops it.
 */
import { parseArgs } from 'node:util';
import { startAwsStandin } from './ecs/server.ts';
import { startPrefectStandin } from './prefect/server.ts';
import { startSqsStandin } from './sqs/server.ts';

const USAGE = `Usage: npm run standin -- <prefect|ecs|sqs> [options]

  prefect   Prefect API stand-in (API under /api)       default port 4200
            --auth-string user:pass   require Basic auth (PREFECT_API_AUTH_STRING)
            --api-key KEY             require Bearer auth (PREFECT_API_KEY)
  ecs       AWS stand-in: ECS, EC2, Secrets Manager, CloudWatch Logs, SSM, STS, IAM on one port
            default port 4566
            --region R                the home region, default us-east-1
            --regions R1,R2           more regions served (each account has its own services there)
            --role ARN                a role STS AssumeRole may assume (repeatable), trusting the
                                      home account 123456789012; its credentials act in its account
            --task-seconds S          tasks walk PROVISIONING→…→STOPPED (exit 0), S seconds a step (default 2)
            --throttle                ECS's documented request and Fargate launch token buckets
                                      (ThrottlingException "Rate exceeded"; test/standins/ecs/throttling.ts)
  sqs       SQS stand-in (fauxqs behind a strict front) with the launch (+DLQ) and tick queues
            default port 9324; --region R

  --port N  listen on N (0: any free port)     --host H  listen on H (default 127.0.0.1)`;

const DEFAULT_PORTS = { prefect: 4200, ecs: 4566, sqs: 9324 } as const;
type Kind = keyof typeof DEFAULT_PORTS;

const isKind = (value: string | undefined): value is Kind =>
  value === 'prefect' || value === 'ecs' || value === 'sqs';

const fail = (message: string): never => {
  console.error(`${message}\n\n${USAGE}`);
  process.exit(2);
};

const main = async (): Promise<void> => {
  const { positionals, values } = parseArgs({
    allowPositionals: true,
    options: {
      port: { type: 'string' },
      host: { type: 'string', default: '127.0.0.1' },
      region: { type: 'string', default: 'us-east-1' },
      'auth-string': { type: 'string' },
      'api-key': { type: 'string' },
      'task-seconds': { type: 'string', default: '2' },
      throttle: { type: 'boolean', default: false },
      regions: { type: 'string', default: '' },
      role: { type: 'string', multiple: true, default: [] },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return;
  }
  const kind = positionals[0];
  if (!isKind(kind)) {
    fail(kind ? `Unknown stand-in '${kind}'.` : 'Which stand-in? Give prefect, ecs or sqs.');
    return;
  }
  const port = values.port === undefined ? DEFAULT_PORTS[kind] : Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65_535) {
    fail(`--port must be a port number (0-65535), got '${values.port}'.`);
  }
  const host = values.host;
  let close: () => Promise<void>;
  if (kind === 'prefect') {
    const standin = await startPrefectStandin({
      port,
      host,
      ...(values['auth-string'] ? { authString: values['auth-string'] } : {}),
      ...(values['api-key'] ? { apiKey: values['api-key'] } : {}),
    });
    console.log(`Prefect stand-in listening.\n  PREFECT_API_URL=${standin.apiUrl}`);
    close = standin.close;
  } else if (kind === 'ecs') {
    const stepSeconds = Number(values['task-seconds']);
    if (!Number.isFinite(stepSeconds) || stepSeconds < 0) {
      fail(`--task-seconds must be a number of seconds, got '${values['task-seconds']}'.`);
    }
    // Standalone, nothing can advance tasks by hand: walk each lifecycle on a timer.
    const standin = await startAwsStandin({
      port,
      host,
      region: values.region,
      regions: values.regions
        .split(',')
        .map((region) => region.trim())
        .filter((region) => region !== ''),
      taskPlan: { autoAdvance: { delayMs: stepSeconds * 1000 } },
      ...(values.throttle ? { throttling: true } : {}),
    });
    for (const arn of values.role) {
      try {
        standin.sts.addRole({ arn });
      } catch (error) {
        await standin.close();
        fail(`--role: ${(error as Error).message}`);
      }
    }
    console.log(
      `AWS stand-in (ECS, EC2, Secrets Manager, CloudWatch Logs, SSM, STS, IAM) listening.\n  AWS_ENDPOINT_URL=${standin.url}\n  AWS_REGION=${values.region}`
    );
    if (standin.regions.length > 1) console.log(`  regions: ${standin.regions.join(', ')}`);
    for (const role of standin.sts.roles()) console.log(`  role: ${role.arn}`);
    close = standin.close;
  } else {
    const standin = await startSqsStandin({
      port,
      host,
      region: values.region,
      queues: [{ name: 'launch', maxReceiveCount: 5 }, { name: 'tick' }],
    });
    console.log(`SQS stand-in listening.\n  AWS_ENDPOINT_URL_SQS=${standin.url}`);
    for (const queue of Object.values(standin.queues)) {
      console.log(`  ${queue.name}: ${queue.url}${queue.dlq ? ` (DLQ ${queue.dlq.url})` : ''}`);
    }
    close = standin.close;
  }
  const stop = (): void => {
    void close().then(() => process.exit(0));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
};

await main();
