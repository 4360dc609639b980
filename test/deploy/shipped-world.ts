/**
 * The shipped Lambdas against the stand-ins: `osls package` once, the four zips unpacked as Lambda
 * unpacks them (`LAMBDA_TASK_ROOT`), and containers started on Node 24 with only
 *
 * - the environment the packaged template gives each function (queue `Ref`s resolved to the SQS
 *   stand-in's queues; everything else must already be a plain value),
 * - what the Lambda runtime sets itself (region, function name, memory, log group, handler, task
 *   root, the role's credentials as AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN,
 *   TZ, LANG, PATH: https://docs.aws.amazon.com/lambda/latest/dg/configuration-envvars.html#configuration-envvars-runtime),
 * - and the SDK's endpoint overrides (`AWS_ENDPOINT_URL_<SERVICE>`) that stand in for AWS.
 *
 * No Prefect key, webhook token or HOME is in any environment: the bundles read both secrets from
 * the Secrets Manager stand-in by the ARNs the template names, with the credentials above.
 *
 * Every AWS request the bundles make goes through a recording proxy, so tests can check which
 * credentials signed it. The stand-ins are started before packaging: the Prefect URL and the
 * secret ARNs are stack parameters, named explicitly (never the defaults, which may change).
 */
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { createServer, request as httpRequest, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';
import { CreateClusterCommand, ECSClient } from '@aws-sdk/client-ecs';
import { startAwsStandin } from '../standins/ecs/server.ts';
import type { AwsStandin } from '../standins/ecs/types.ts';
import { type ActorOptions, seed } from '../standins/prefect/actors.ts';
import { type PrefectStandin, startPrefectStandin } from '../standins/prefect/server.ts';
import { type SqsQueue, type SqsStandin, startSqsStandin } from '../standins/sqs/server.ts';
import type { CfnTemplate } from './cfn-template.ts';
import { type LambdaContainer, startLambdaContainer } from './lambda-container.ts';
import { type PackagedService, packageService } from './osls-package.ts';
import { readZip } from './read-zip.ts';

export const REGION = 'us-east-1';
export const STAGE = 'shipped';
export const POOL = 'ecs-shipped';
export const CLUSTER = 'prefect-shipped';
export const PREFECT_API_KEY = 'pnu_shipped-bundles-secret-key';
export const WEBHOOK_TOKEN = 'whtok-shipped-0123456789abcdef01234567';
export const EXECUTION_ROLE = 'arn:aws:iam::123456789012:role/prefect-shipped-execution';

/** The function role's credentials, as Lambda puts them in the environment (distinctive values). */
export const ROLE_CREDENTIALS = {
  AWS_ACCESS_KEY_ID: 'ASIASHIPPEDBUNDLE001',
  AWS_SECRET_ACCESS_KEY: 'shipped-bundle-secret-access-key',
  AWS_SESSION_TOKEN: 'shipped-bundle-session-token',
} as const;

/** The four functions: name in serverless.yml → its template resource. */
export const FUNCTIONS = {
  poller: 'PollerLambdaFunction',
  launcher: 'LauncherLambdaFunction',
  reporter: 'ReporterLambdaFunction',
  webhook: 'WebhookLambdaFunction',
} as const;
export type FunctionName = keyof typeof FUNCTIONS;

/** One request through the recording proxy. */
export interface ProxiedRequest {
  target: 'aws' | 'sqs';
  /** The access key id of the SigV4 `Credential=` scope. */
  accessKeyId: string | undefined;
  securityToken: string | undefined;
  /** `X-Amz-Target` (JSON protocols) or the query `Action` (EC2). */
  operation: string;
  /** When it arrived (`Date.now()`). */
  at: number;
}

interface LambdaFunctionProperties {
  FunctionName: string;
  Handler: string;
  MemorySize?: number;
  Timeout?: number;
  Environment?: { Variables?: Record<string, unknown> };
}

export interface ShippedWorld {
  prefect: PrefectStandin;
  aws: AwsStandin;
  sqs: SqsStandin;
  launchQueue: SqsQueue;
  tickQueue: SqsQueue;
  template: CfnTemplate;
  /** The Prefect stand-in's auth for actors (engine, user, seeding). */
  auth: ActorOptions;
  deploymentId: string;
  prefectSecretArn: string;
  webhookSecretArn: string;
  /** Every AWS request a bundle made. */
  proxied: ProxiedRequest[];
  /** The complete environment of a function's container. */
  environment(name: FunctionName): Record<string, string>;
  /** The function's Timeout in ms. */
  timeoutMs(name: FunctionName): number;
  /** Size of each unpacked bundle (`.mjs`), bytes. */
  bundleBytes: Record<FunctionName, number>;
  /** A cold container of the function (stopped by `close` if not before). */
  startContainer(name: FunctionName): Promise<LambdaContainer>;
  close(): Promise<void>;
}

const readBody = async (stream: IncomingMessage): Promise<Buffer> => {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
};

/** A forwarding proxy on loopback that records each request's credentials and operation. */
const startRecordingProxy = async (
  target: ProxiedRequest['target'],
  upstream: string,
  record: ProxiedRequest[]
): Promise<{ url: string; close(): Promise<void> }> => {
  const { hostname, port } = new URL(upstream);
  const server = createServer((req, res) => {
    void (async () => {
      const at = Date.now();
      const body = await readBody(req);
      const authorization = String(req.headers.authorization ?? '');
      const action = /(?:^|&)Action=([^&]+)/.exec(body.toString('utf8'))?.[1];
      record.push({
        target,
        accessKeyId: /Credential=([^/]+)\//.exec(authorization)?.[1],
        securityToken: req.headers['x-amz-security-token'] as string | undefined,
        operation: String(req.headers['x-amz-target'] ?? action ?? ''),
        at,
      });
      const forwarded = httpRequest(
        { host: hostname, port, method: req.method, path: req.url, headers: req.headers },
        (answer) => {
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(res);
        }
      );
      forwarded.on('error', (error) => {
        res.writeHead(502);
        res.end(String(error));
      });
      forwarded.end(body);
    })();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
};

/** Unpacks every function zip of the package into `<outDir>/task/<function>`. */
const unpackFunctions = async (
  packaged: PackagedService
): Promise<{ roots: Record<FunctionName, string>; bundleBytes: Record<FunctionName, number> }> => {
  const zips = (await readdir(packaged.outDir)).filter((file) => file.endsWith('.zip'));
  const roots = {} as Record<FunctionName, string>;
  const bundleBytes = {} as Record<FunctionName, number>;
  for (const name of Object.keys(FUNCTIONS) as FunctionName[]) {
    if (!zips.includes(`${name}.zip`)) throw new Error(`No ${name}.zip in ${zips.join(', ')}`);
    const root = join(packaged.outDir, 'task', name);
    bundleBytes[name] = 0;
    for (const [entry, content] of await readZip(join(packaged.outDir, `${name}.zip`))) {
      await mkdir(dirname(join(root, entry)), { recursive: true });
      await writeFile(join(root, entry), content);
      if (entry.endsWith('.mjs')) bundleBytes[name] += content.length;
    }
    roots[name] = root;
  }
  return { roots, bundleBytes };
};

const queueSpec = (template: CfnTemplate, id: string) => {
  const properties = template.Resources[id]?.Properties as
    | { VisibilityTimeout?: number; RedrivePolicy?: { maxReceiveCount?: number } }
    | undefined;
  if (!properties) throw new Error(`No ${id} in the template`);
  return {
    ...(properties.VisibilityTimeout === undefined
      ? {}
      : { visibilityTimeout: Number(properties.VisibilityTimeout) }),
    ...(properties.RedrivePolicy?.maxReceiveCount === undefined
      ? {}
      : { maxReceiveCount: Number(properties.RedrivePolicy.maxReceiveCount) }),
  };
};

/**
 * Starts the stand-ins, packages the service with explicit parameters that name them, and seeds
 * the pool, a cluster and one deployment (no network configuration: the launcher discovers the
 * default VPC through EC2, as prefect-aws does).
 */
export const startShippedWorld = async (
  options: {
    params?: Record<string, string>;
    /** Regions the AWS stand-in serves besides REGION (pools in other regions). */
    regions?: readonly string[];
  } = {}
): Promise<ShippedWorld> => {
  const closers: (() => Promise<void>)[] = [];
  const containers = new Set<LambdaContainer>();
  const close = async () => {
    for (const container of containers) await container.stop();
    for (const closer of closers.reverse()) await closer();
  };
  try {
    const prefect = await startPrefectStandin({ apiKey: PREFECT_API_KEY });
    closers.push(() => prefect.close());
    const aws = await startAwsStandin({
      region: REGION,
      regions: [REGION, ...(options.regions ?? [])],
    });
    closers.push(() => aws.close());
    const prefectSecretArn = aws.secrets.putSecret('shipped/prefect-api-key', PREFECT_API_KEY);
    const webhookSecretArn = aws.secrets.putSecret('shipped/webhook', WEBHOOK_TOKEN);

    const packaged = await packageService({
      region: REGION,
      stage: STAGE,
      params: {
        prefectApiUrl: prefect.apiUrl,
        prefectAuth: 'apiKey',
        prefectApiSecretArn: prefectSecretArn,
        webhookSecretArn,
        workPools: POOL,
        ecsClusters: CLUSTER,
        ecsExecutionRoleArn: EXECUTION_ROLE,
        ec2NetworkDiscovery: 'true',
        pollIntervalSeconds: '5',
        pollPrefetchSeconds: '60',
        launchLeadSeconds: '0',
        ...options.params,
      },
    });
    closers.push(() => packaged.dispose());
    const { template } = packaged;
    const { roots, bundleBytes } = await unpackFunctions(packaged);

    // The queues as the template defines them (visibility timeout, redrive)
    const sqs = await startSqsStandin({
      region: REGION,
      queues: [
        { name: 'launch', ...queueSpec(template, 'LaunchQueue') },
        { name: 'tick', ...queueSpec(template, 'TickQueue') },
      ],
    });
    closers.push(() => sqs.close());
    const proxied: ProxiedRequest[] = [];
    const awsProxy = await startRecordingProxy('aws', aws.url, proxied);
    closers.push(() => awsProxy.close());
    const sqsProxy = await startRecordingProxy('sqs', sqs.url, proxied);
    closers.push(() => sqsProxy.close());
    const launchQueue = sqs.queues.launch as SqsQueue;
    const tickQueue = sqs.queues.tick as SqsQueue;
    /** The SDK sends queue calls to the QueueUrl's host: the queues are reached through the proxy. */
    const viaProxy = (queue: SqsQueue) => queue.url.replace(sqs.url, sqsProxy.url);
    const queueUrls: Record<string, string> = {
      LaunchQueue: viaProxy(launchQueue),
      TickQueue: viaProxy(tickQueue),
    };

    const admin = new ECSClient({
      region: REGION,
      endpoint: aws.url,
      credentials: { accessKeyId: 'admin', secretAccessKey: 'admin' },
    });
    await admin.send(
      new CreateClusterCommand({
        clusterName: CLUSTER,
        capacityProviders: ['FARGATE', 'FARGATE_SPOT'],
      })
    );
    admin.destroy();
    const auth: ActorOptions = { headers: { authorization: `Bearer ${PREFECT_API_KEY}` } };
    await seed.workPool(prefect.apiUrl, { name: POOL }, auth);
    const deployment = await seed.deployment(
      prefect.apiUrl,
      {
        name: 'etl',
        workPoolName: POOL,
        jobVariables: {
          cluster: CLUSTER,
          image: 'acct.dkr.ecr.us-east-1.amazonaws.com/etl:1',
          configure_cloudwatch_logs: true,
          execution_role_arn: EXECUTION_ROLE,
        },
      },
      auth
    );

    const properties = (name: FunctionName): LambdaFunctionProperties => {
      const resource = template.Resources[FUNCTIONS[name]];
      if (!resource) throw new Error(`No ${FUNCTIONS[name]} in the template`);
      return resource.Properties as unknown as LambdaFunctionProperties;
    };
    const templateValue = (name: FunctionName, variable: string, value: unknown): string => {
      if (typeof value === 'string' || typeof value === 'number') return String(value);
      const ref = (value as { Ref?: string }).Ref;
      // The pseudo parameter: the account the stand-in serves as home.
      if (ref === 'AWS::AccountId') return aws.accountId;
      const url = ref === undefined ? undefined : queueUrls[ref];
      if (url === undefined) {
        throw new Error(`${name}: ${variable} is ${JSON.stringify(value)}: no stand-in value`);
      }
      return url;
    };
    const environment = (name: FunctionName): Record<string, string> => {
      const fn = properties(name);
      const variables = fn.Environment?.Variables ?? {};
      return {
        // The template's variables
        ...Object.fromEntries(
          Object.entries(variables).map(([variable, value]) => [
            variable,
            templateValue(name, variable, value),
          ])
        ),
        // What the Lambda runtime sets
        AWS_REGION: REGION,
        AWS_DEFAULT_REGION: REGION,
        AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs24.x',
        AWS_LAMBDA_FUNCTION_NAME: fn.FunctionName,
        AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(fn.MemorySize ?? 1024),
        AWS_LAMBDA_FUNCTION_VERSION: '$LATEST',
        AWS_LAMBDA_INITIALIZATION_TYPE: 'on-demand',
        AWS_LAMBDA_LOG_GROUP_NAME: `/aws/lambda/${fn.FunctionName}`,
        AWS_LAMBDA_LOG_STREAM_NAME: '2026/12/06/[$LATEST]0123456789abcdef0123456789abcdef',
        _HANDLER: fn.Handler,
        LAMBDA_TASK_ROOT: roots[name],
        LAMBDA_RUNTIME_DIR: '/var/runtime',
        TZ: ':UTC',
        LANG: 'en_US.UTF-8',
        PATH: '/var/lang/bin:/usr/local/bin:/usr/bin/:/bin:/opt/bin',
        ...ROLE_CREDENTIALS,
        // The stand-ins in place of AWS
        AWS_ENDPOINT_URL_ECS: awsProxy.url,
        AWS_ENDPOINT_URL_EC2: awsProxy.url,
        AWS_ENDPOINT_URL_SECRETS_MANAGER: awsProxy.url,
        AWS_ENDPOINT_URL_CLOUDWATCH_LOGS: awsProxy.url,
        AWS_ENDPOINT_URL_SSM: awsProxy.url,
        AWS_ENDPOINT_URL_STS: awsProxy.url,
        AWS_ENDPOINT_URL_SQS: sqsProxy.url,
      };
    };
    const timeoutMs = (name: FunctionName) => (properties(name).Timeout ?? 6) * 1000;

    return {
      prefect,
      aws,
      sqs,
      launchQueue,
      tickQueue,
      template,
      auth,
      deploymentId: deployment.id,
      prefectSecretArn,
      webhookSecretArn,
      proxied,
      environment,
      timeoutMs,
      bundleBytes,
      startContainer: async (name) => {
        const container = await startLambdaContainer({
          taskRoot: roots[name],
          env: environment(name),
          timeoutMs: timeoutMs(name),
        });
        containers.add(container);
        const stop = container.stop;
        container.stop = async () => {
          containers.delete(container);
          await stop();
        };
        return container;
      },
      close,
    };
  } catch (error) {
    await close();
    throw error;
  }
};
