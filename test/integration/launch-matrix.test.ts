/**
 * The launch matrix (issue 3, "Must show" 1): both default ECS templates × the launch shapes a Prefect
 * user asks for through pool, deployment and flow-run job variables, each launched through the real
 * path (launcher handler → shared → real SDK clients and Prefect client → the Prefect and AWS
 * stand-ins; the SQS event as Lambda builds it). Every case asserts, field by field, the RegisterTaskDefinition and RunTask inputs the
 * ECS stand-in received, and the `infrastructure_pid` recorded in Prefect.
 *
 * One stand-in set, pool and launcher per template; a fresh deployment (so a fresh family) per case.
 * The pool is edited as an admin would: defaults for `cluster`, `execution_role_arn` and `env`.
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { EC2Client } from '@aws-sdk/client-ec2';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SQSClient } from '@aws-sdk/client-sqs';
import type { SQSEvent } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLauncherHandler, type LauncherHandler } from '../../functions/launcher/handler.ts';
import { createLauncherDeps } from '../../functions/launcher/launcher-deps.ts';
import { loadConfig } from '../../shared/config.ts';
import { ATTEMPT_VARIABLE } from '../../shared/ecs/attempt-marker.ts';
import { claimClientToken } from '../../shared/ecs/client-token.ts';
import { buildLaunchMessage } from '../../shared/launch/launch-message.ts';
import { credentials, ecsClient, setUpFargate } from '../standins/ecs/fixtures.ts';
import { startAwsStandin } from '../standins/ecs/server.ts';
import type { AwsStandin } from '../standins/ecs/types.ts';
import {
  type Deployment,
  type FlowRun,
  proposeState,
  readFlowRun,
  seed,
} from '../standins/prefect/actors.ts';
import { type PrefectStandin, startPrefectStandin } from '../standins/prefect/server.ts';

type Json = Record<string, unknown>;
type Pair = { name: string; value: string };
type Tag = { key: string; value: string };

const API_KEY = 'pnu_launch-matrix-key';
const CLUSTER = 'prefect';
const IMAGE = 'acct.dkr.ecr.us-east-1.amazonaws.com/etl:2026.1';
const POOL_ROLE = 'arn:aws:iam::123456789012:role/pool-execution';
const LAUNCHER_ROLE = 'arn:aws:iam::123456789012:role/launcher-default-execution';
const TASK_ROLE = 'arn:aws:iam::123456789012:role/etl-task';
const WORKER = 'prefect-ecs-serverless';
const COMMAND = ['prefect', 'flow-run', 'execute'];
const SIGTERM = 'PREFECT_FLOW_RUN_EXECUTE_SIGTERM_BEHAVIOR';
const auth = { headers: { authorization: `Bearer ${API_KEY}` } };

const TEMPLATES = ['current', 'v0.4'] as const;
type TemplateName = (typeof TEMPLATES)[number];

/** The default template as `prefect work-pool create --type ecs` gives it, with the admin's defaults. */
const poolTemplate = (name: TemplateName): Json => {
  const url = new URL(`../fixtures/prefect/ecs-base-job-template.${name}.json`, import.meta.url);
  const template = JSON.parse(readFileSync(url, 'utf8')) as { variables: { properties: Json } };
  const properties = template.variables.properties as Record<string, Json>;
  Object.assign(properties.cluster ?? {}, { default: CLUSTER });
  Object.assign(properties.execution_role_arn ?? {}, { default: POOL_ROLE });
  Object.assign(properties.env ?? {}, { default: { POOL_DEFAULT: 'from-pool' } });
  return template;
};

/** What a case's variables and expectations may depend on. */
interface Ctx {
  template: TemplateName;
  pool: string;
  run: FlowRun;
  deployment: Deployment;
  family: string;
  launcherSecret: string;
  runSecret: string;
  givenArn: string;
  defaultSubnets: string[];
  vpc: { id: string; subnets: string[]; securityGroup: string };
  /** The claim the run was launched for (its attempt). */
  transitionId: string;
}

/** One row: job variables per layer, and how the expected inputs differ from the Fargate default. */
interface Case {
  name: string;
  deployment?: (c: Ctx) => Json;
  flowRun?: (c: Ctx) => Json;
  /** Top-level RegisterTaskDefinition fields (`undefined`: absent); `null`: nothing registered. */
  taskDefinition?: ((c: Ctx) => Json) | null;
  container?: (c: Ctx) => Json;
  /** The `valueFrom` of the container's PREFECT_API_KEY secret; default the launcher's. */
  keySecret?: (c: Ctx) => string;
  runTask?: (c: Ctx) => Json;
  overrides?: Json;
  containerOverride?: Json;
  /** Extra container-override environment; `null`: must be absent. */
  env?: Record<string, string | null>;
  /** Extra tags (the slugged user labels). */
  tags?: Record<string, string>;
  /** A warning the launcher must post to the flow run's Prefect logs. */
  warns?: RegExp;
}

/** EC2 / EXTERNAL: no task-level size, compatibilities or network mode (bridge); container ints. */
const notOnFargate = (launchType: string, name: string): Case => ({
  name,
  deployment: () => ({ launch_type: launchType }),
  taskDefinition: () => ({
    cpu: undefined,
    memory: undefined,
    requiresCompatibilities: undefined,
    networkMode: undefined,
  }),
  container: () => ({ cpu: 1024, memory: 2048 }),
  runTask: () => ({ launchType, networkConfiguration: undefined }),
});
const awslogs = (c: Ctx, options: Json = {}) => ({
  logConfiguration: {
    logDriver: 'awslogs',
    options: {
      'awslogs-create-group': 'true',
      'awslogs-group': 'prefect',
      'awslogs-region': 'us-east-1',
      'awslogs-stream-prefix': `prefect-logs_${c.pool}_${c.deployment.id}`,
      ...options,
    },
  },
});
const awsvpc = (subnets: string[], assignPublicIp = 'ENABLED', securityGroups: string[] = []) => ({
  networkConfiguration: { awsvpcConfiguration: { subnets, securityGroups, assignPublicIp } },
});

const STRATEGY = [
  { capacityProvider: 'FARGATE', weight: 1, base: 1 },
  { capacityProvider: 'FARGATE_SPOT', weight: 3, base: 0 },
];
const LOG_OPTIONS = {
  'awslogs-group': 'etl',
  'awslogs-stream-prefix': 'etl-runs',
  mode: 'non-blocking',
};

const CASES: Case[] = [
  {
    name: 'FARGATE (the default), default VPC discovered; a valid family from the dotted pool name (Prefect discards its slug)',
  },
  {
    name: 'FARGATE_SPOT → capacity provider strategy, SIGTERM reschedules; cpu/memory/task role on the run',
    deployment: () => ({ launch_type: 'FARGATE_SPOT' }),
    flowRun: () => ({ cpu: 512, memory: 1024, task_role_arn: TASK_ROLE }),
    taskDefinition: () => ({ cpu: '512', memory: '1024' }),
    runTask: () => ({
      launchType: undefined,
      capacityProviderStrategy: [{ capacityProvider: 'FARGATE_SPOT', weight: 1 }],
    }),
    overrides: { cpu: '512', memory: '1024', taskRoleArn: TASK_ROLE },
    containerOverride: { cpu: 512, memory: 1024 },
    env: { [SIGTERM]: 'reschedule' },
  },
  notOnFargate(
    'EC2',
    'EC2: container-level int cpu/memory, bridge network, no network configuration'
  ),
  notOnFargate('EXTERNAL', 'EXTERNAL (ECS Anywhere, with a container instance): like EC2'),
  {
    name: 'a custom capacity provider strategy replaces the launch type',
    deployment: () => ({ capacity_provider_strategy: STRATEGY }),
    runTask: () => ({ launchType: undefined, capacityProviderStrategy: STRATEGY }),
    env: { [SIGTERM]: 'reschedule' },
    warns: /Removed launchType FARGATE: a capacity provider strategy is set/,
  },
  {
    name: 'a given task_definition_arn: nothing registered, the ARN is run, a missing key secret is flagged',
    deployment: (c) => ({ task_definition_arn: c.givenArn }),
    taskDefinition: null,
    runTask: (c) => ({ taskDefinition: c.givenArn }),
    warns: /gives container 'prefect' no PREFECT_API_KEY secret/,
  },
  {
    name: 'a given network_configuration with vpc_id is sent as given',
    deployment: (c) => ({
      vpc_id: c.vpc.id,
      network_configuration: {
        subnets: [c.vpc.subnets[1]],
        securityGroups: [c.vpc.securityGroup],
        assignPublicIp: 'DISABLED',
      },
    }),
    runTask: (c) => awsvpc([c.vpc.subnets[1] ?? ''], 'DISABLED', [c.vpc.securityGroup]),
  },
  {
    name: "a discovered network: vpc_id alone gives all that VPC's subnets",
    flowRun: (c) => ({ vpc_id: c.vpc.id }),
    runTask: (c) => awsvpc(c.vpc.subnets),
  },
  {
    name: 'CloudWatch logs without options: group prefect, stream prefix per pool and deployment',
    deployment: () => ({ configure_cloudwatch_logs: true }),
    container: (c) => awslogs(c),
  },
  {
    name: 'CloudWatch logs with cloudwatch_logs_options: the user options win',
    deployment: () => ({ configure_cloudwatch_logs: true, cloudwatch_logs_options: LOG_OPTIONS }),
    container: (c) => awslogs(c, LOG_OPTIONS),
  },
  {
    name: 'secrets: the API key only as a TD secret (the run’s ARN where the template has the variable), never in overrides',
    flowRun: (c) => ({
      prefect_api_key_secret_arn: c.runSecret,
      env: { PREFECT_API_KEY: API_KEY },
    }),
    // v0.4 has no `prefect_api_key_secret_arn` placeholder, so the launcher's ARN stays.
    keySecret: (c) => (c.template === 'current' ? c.runSecret : c.launcherSecret),
    warns: /PREFECT_API_KEY was left out of the container environment/,
  },
  {
    name: 'env with a null value: the pool default is removed ("env.POOL_DEFAULT": null; v0.4 refuses null inside env)',
    deployment: () => ({ env: { KEEP: 'kept' } }),
    flowRun: () => ({ 'env.POOL_DEFAULT': null }),
    env: { KEEP: 'kept', POOL_DEFAULT: null },
  },
  {
    name: 'dotted keys: "env.FOO" on the deployment merges with the run’s env and the pool default',
    deployment: () => ({ 'env.FOO': 'x' }),
    flowRun: () => ({ env: { BAR: 'from-run' } }),
    env: { FOO: 'x', BAR: 'from-run' },
  },
  {
    name: 'labels needing slugs become valid tags (plain and dotted)',
    deployment: () => ({ labels: { 'team name': 'data/eng ✓' } }),
    flowRun: () => ({ 'labels.cost center': 'R&D #42' }),
    tags: { 'team-name': 'data/eng', 'cost-center': 'R-D-42' },
  },
];

const byName = (list: Pair[]) => [...list].sort((a, b) => a.name.localeCompare(b.name));
const byKey = (list: Tag[]) => [...list].sort((a, b) => a.key.localeCompare(b.key));

const expectedTaskDefinition = (row: Case, c: Ctx): Json => ({
  family: c.family,
  containerDefinitions: [
    {
      name: 'prefect',
      image: IMAGE,
      secrets: [{ name: 'PREFECT_API_KEY', valueFrom: row.keySecret?.(c) ?? c.launcherSecret }],
      ...row.container?.(c),
    },
  ],
  cpu: '1024',
  memory: '2048',
  executionRoleArn: POOL_ROLE,
  requiresCompatibilities: ['FARGATE'],
  networkMode: 'awsvpc',
  tags: [
    { key: 'prefect-ecs-serverless/content-hash', value: expect.stringMatching(/^[0-9a-f]{64}$/) },
  ],
  ...row.taskDefinition?.(c),
});

const expectedEnvironment = (row: Case, c: Ctx, apiUrl: string): Pair[] =>
  byName(
    Object.entries({
      POOL_DEFAULT: 'from-pool',
      PREFECT_API_URL: apiUrl,
      PREFECT__FLOW_RUN_ID: c.run.id,
      PREFECT__WORKER_NAME: WORKER,
      PREFECT__FLOW_ID: c.deployment.flow_id,
      PREFECT__FLOW_NAME: `${c.deployment.name}-flow`,
      PREFECT__DEPLOYMENT_ID: c.deployment.id,
      PREFECT__DEPLOYMENT_NAME: c.deployment.name,
      [ATTEMPT_VARIABLE]: c.transitionId,
      ...row.env,
    }).flatMap(([name, value]) => (value === null ? [] : [{ name, value }]))
  );

const expectedTags = (row: Case, c: Ctx, poolId: string): Tag[] =>
  byKey(
    Object.entries({
      'prefect.io/flow-run-id': c.run.id,
      'prefect.io/flow-run-name': c.run.name,
      'prefect.io/version': '3.8.3',
      'prefect.io/work-pool-name': c.pool,
      'prefect.io/work-pool-id': poolId,
      'prefect.io/worker-name': WORKER,
      'prefect.io/flow-id': c.deployment.flow_id,
      'prefect.io/flow-name': `${c.deployment.name}-flow`,
      'prefect.io/deployment-id': c.deployment.id,
      'prefect.io/deployment-name': c.deployment.name,
      // Python's UTC isoformat of `updated` (the server writes `Z` and microseconds).
      'prefect.io/deployment-updated': String(c.deployment.updated).replace(/Z$/, '+00:00'),
      ...row.tags,
    }).map(([key, value]) => ({ key, value }))
  );

/** The record Lambda's SQS event source mapping hands the launcher for one launch message. */
const sqsEvent = (body: string): SQSEvent => {
  const at = String(Date.now());
  const attributes = { ApproximateReceiveCount: '1', SentTimestamp: at, SenderId: 'AIDATEST' };
  const record = { messageId: randomUUID(), receiptHandle: randomUUID(), body, md5OfBody: '' };
  return {
    Records: [
      {
        ...record,
        attributes: { ...attributes, ApproximateFirstReceiveTimestamp: at },
        messageAttributes: {},
        eventSource: 'aws:sqs',
        eventSourceARN: 'arn:aws:sqs:us-east-1:123456789012:launch',
        awsRegion: 'us-east-1',
      },
    ],
  };
};

describe.each(TEMPLATES)('launch matrix, %s default template', (template) => {
  const pool = `matrix.${template}`;
  let prefect: PrefectStandin;
  let aws: AwsStandin;
  let handler: LauncherHandler;
  let poolId: string;
  const base = {} as Omit<Ctx, 'run' | 'deployment' | 'family'>;
  const clients: { destroy(): void }[] = [];

  beforeAll(async () => {
    [prefect, aws] = await Promise.all([
      startPrefectStandin({ apiKey: API_KEY }),
      startAwsStandin(),
    ]);
    const endpoint = { region: aws.region, endpoint: aws.url, credentials };
    const ecs = ecsClient(aws, { maxAttempts: 2 });
    const [ec2, secretsManager, sqs] = [
      new EC2Client(endpoint),
      new SecretsManagerClient(endpoint),
      new SQSClient(endpoint),
    ];
    clients.push(ecs, ec2, secretsManager, sqs);
    // The cluster with FARGATE/FARGATE_SPOT, a task definition to name, one container instance.
    const fargate = await setUpFargate(aws, ecs, 'byo-etl', CLUSTER);
    aws.ecs.setContainerInstances(CLUSTER, 1);
    const vpcId = aws.ec2.addVpc({ cidrBlock: '10.42.0.0/16' });
    const subnet = (i: number) =>
      aws.ec2.addSubnet({ vpcId, availabilityZone: 'us-east-1a', cidrBlock: `10.42.${i}.0/24` });
    Object.assign(base, {
      template,
      pool,
      launcherSecret: aws.secrets.putSecret('prefect/api-key', API_KEY),
      runSecret: aws.secrets.putSecret('prefect/etl-api-key', API_KEY),
      givenArn: fargate.taskDefinitionArn,
      defaultSubnets: [...fargate.subnets].sort(),
      vpc: {
        id: vpcId,
        subnets: [subnet(0), subnet(1)].sort(),
        securityGroup: aws.ec2.addSecurityGroup({ vpcId, groupName: 'etl' }),
      },
    });
    const seeded = { name: pool, base_job_template: poolTemplate(template) };
    poolId = (await seed.workPool(prefect.apiUrl, seeded, auth)).id;
    const config = loadConfig({
      PREFECT_API_URL: prefect.apiUrl,
      PREFECT_API_KEY_SECRET_ARN: base.launcherSecret,
      PREFECT_WORK_POOLS: pool,
      LAUNCH_QUEUE_URL: 'https://sqs.us-east-1.amazonaws.com/123456789012/launch',
      AWS_REGION: aws.region,
      ECS_EXECUTION_ROLE_ARN: LAUNCHER_ROLE,
    });
    const quiet = () => undefined;
    const deps = await createLauncherDeps(config, {
      logger: { debug: quiet, info: quiet, warn: quiet, error: console.error },
      clients: { ecs, ec2, secretsManager, sqs },
      prefectDeps: { sleep: async () => {} },
    });
    handler = createLauncherHandler(deps);
  });

  afterAll(async () => {
    for (const client of clients) client.destroy();
    await Promise.all([aws?.close(), prefect?.close()]);
  });

  /** Seeds the case's deployment and run, claims the run as the poller does, and launches it. */
  const launch = async (row: Case) => {
    const name = `etl-${randomUUID().slice(0, 8)}`;
    const early = { ...base, run: {} as FlowRun, deployment: { name } as Deployment, family: '' };
    const jobVariables = { image: IMAGE, ...row.deployment?.(early) };
    const deployment = await seed.deployment(
      prefect.apiUrl,
      { name, workPoolName: pool, jobVariables },
      auth
    );
    const runVariables = { jobVariables: row.flowRun?.(early) ?? {} };
    const run = await seed.flowRun(prefect.apiUrl, deployment.id, runVariables, auth);
    const transitionId = randomUUID();
    const details = { state_details: { transition_id: transitionId } };
    const claim = { type: 'PENDING', name: 'Pending', ...details };
    const claimed = await proposeState(prefect.apiUrl, run.id, claim, false, auth);
    expect(claimed.status).toBe('ACCEPT');
    const message = {
      flowRunId: run.id,
      workPool: pool,
      transitionId,
      scheduledTime: new Date(),
      claimedAt: String(claimed.state?.timestamp),
    };
    const since = [aws.callsTo('RegisterTaskDefinition').length, aws.callsTo('RunTask').length];
    // Act
    const response = await handler(sqsEvent(JSON.stringify(buildLaunchMessage(message))));
    expect(response.batchItemFailures).toEqual([]);
    const family = `prefect_matrix-${template.replaceAll('.', '-')}_${deployment.id}`;
    return {
      ctx: { ...early, run, deployment, family, transitionId } satisfies Ctx,
      registered: aws.callsTo('RegisterTaskDefinition').slice(since[0]),
      runs: aws.callsTo('RunTask').slice(since[1]),
    };
  };

  it.each(CASES)('$name', async (row) => {
    const { ctx, registered, runs } = await launch(row);
    // Assess: RegisterTaskDefinition (none for a given ARN)
    expect(registered.map((call) => call.input)).toEqual(
      row.taskDefinition === null ? [] : [expectedTaskDefinition(row, ctx)]
    );
    const output = registered[0]?.output as { taskDefinition?: { taskDefinitionArn?: string } };
    // Assess: RunTask, field by field; environment and tags compared sorted
    expect(runs).toHaveLength(1);
    const input = runs[0]?.input as Json & {
      overrides: { containerOverrides: Json[] };
      tags: Tag[];
    };
    const { overrides, tags, ...request } = input;
    const { containerOverrides, ...taskOverrides } = overrides;
    const [override, ...others] = containerOverrides;
    const { environment, ...orchestration } = override as Json & { environment: Pair[] };
    expect(others).toEqual([]);
    expect(orchestration).toEqual({ name: 'prefect', command: COMMAND, ...row.containerOverride });
    expect(byName(environment)).toEqual(expectedEnvironment(row, ctx, prefect.apiUrl));
    expect(taskOverrides).toEqual({ ...row.overrides });
    expect(byKey(tags)).toEqual(expectedTags(row, ctx, poolId));
    expect(request).toEqual({
      cluster: CLUSTER,
      taskDefinition: output?.taskDefinition?.taskDefinitionArn,
      launchType: 'FARGATE',
      ...awsvpc(ctx.defaultSubnets),
      clientToken: claimClientToken(ctx.run.id, ctx.transitionId),
      startedBy: `prefect/${ctx.run.id}`,
      ...row.runTask?.(ctx),
    });
    expect('launchType' in request && 'capacityProviderStrategy' in request).toBe(false);
    expect(JSON.stringify([input, registered])).not.toContain(API_KEY);
    // Assess: Prefect
    const started = runs[0]?.output as { tasks?: { taskArn: string }[] } | undefined;
    const after = await readFlowRun(prefect.apiUrl, ctx.run.id, auth);
    expect(after.infrastructure_pid).toBe(`${CLUSTER}::${started?.tasks?.[0]?.taskArn}`);
    expect(after.state_type).toBe('PENDING');
    if (row.warns) {
      const logged = prefect.logs.filter((line) => line.flow_run_id === ctx.run.id);
      expect(logged.map((line) => line.message)).toContainEqual(expect.stringMatching(row.warns));
    }
  });
});
