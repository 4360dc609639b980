/**
 * `prefect-ecs-serverless render` as a user runs it: the CLI spawned as a process (Node with tsx on
 * cli/main.ts, and once through the bin shim), with input files made of the API objects the Prefect
 * stand-in returns. The requests it prints are compared with what the launcher, run through its
 * handler against the Prefect and AWS stand-ins, actually sent to ECS for the same run, and the
 * account and region its `aws` section names with where the launcher's calls landed (a pool whose
 * `aws_credentials` assumes a role of another account, registered with the stand-in's STS).
 */

import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { EC2Client } from '@aws-sdk/client-ec2';
import { CreateClusterCommand, ECSClient } from '@aws-sdk/client-ecs';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SQSClient } from '@aws-sdk/client-sqs';
import type { SQSEvent } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLauncherHandler } from '../../functions/launcher/handler.ts';
import { createLauncherDeps } from '../../functions/launcher/launcher-deps.ts';
import { createAssumeRole } from '../../shared/aws/assume-role.ts';
import { loadConfig } from '../../shared/config.ts';
import { claimClientToken } from '../../shared/ecs/client-token.ts';
import { buildLaunchMessage } from '../../shared/launch/launch-message.ts';
import { createPrefectClient, type PrefectClient } from '../../shared/prefect/client.ts';
import { startAwsStandin } from '../standins/ecs/server.ts';
import type { AwsStandin } from '../standins/ecs/types.ts';
import { proposeState } from '../standins/prefect/actors.ts';
import { registerAwsCredentialsBlock } from '../standins/prefect/aws-credentials-block.ts';
import { type PrefectStandin, startPrefectStandin } from '../standins/prefect/server.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const API_KEY = 'pnu_render-cli-integration-key';
const CLUSTER = 'prefect';
const EXECUTION_ROLE = 'arn:aws:iam::123456789012:role/prefect-execution';
const REGISTRY = '123456789012.dkr.ecr.us-east-1.amazonaws.com';
const credentials = { accessKeyId: 'test', secretAccessKey: 'test' };
const auth = { authorization: `Bearer ${API_KEY}` };
/** A role of another account that pools assume (`aws_credentials.assume_role_arn`). */
const POOL_ACCOUNT = '210987654321';
const POOL_REGION = 'eu-west-1';
const POOL_ROLE = `arn:aws:iam::${POOL_ACCOUNT}:role/prefect-pools`;
/** Static keys of an AWS Credentials block: only `…<last 4>` of the id may ever be printed. */
const STATIC_KEYS = {
  aws_access_key_id: 'AKIARENDERCLIKEY7XQZ',
  aws_secret_access_key: 'render-SecretAccessKeyNeverShown-4c1e9b',
  aws_session_token: 'render-SessionTokenNeverShown-88d0aa',
};
/** A pool per default template (named so that the family needs no change). */
const POOLS = { current: 'ecs-current', 'v0.4': 'ecs-v0-4' } as const;
const quietLogger = { debug() {}, info() {}, warn() {}, error() {} };

const template = (name: 'current' | 'v0.4'): Record<string, unknown> =>
  JSON.parse(
    readFileSync(
      new URL(`../fixtures/prefect/ecs-base-job-template.${name}.json`, import.meta.url),
      'utf8'
    )
  ) as Record<string, unknown>;

let prefect: PrefectStandin;
let aws: AwsStandin;
let client: PrefectClient;
let secretArn: string;
let workDir: string;
let awsCredentialsBlockId: string;
const sdkClients: { destroy(): void }[] = [];

beforeAll(async () => {
  prefect = await startPrefectStandin({ apiKey: API_KEY });
  aws = await startAwsStandin({ regions: [POOL_REGION] });
  client = createPrefectClient({ apiUrl: prefect.apiUrl, apiKey: API_KEY });
  secretArn = aws.secrets.putSecret('prefect/api-key', API_KEY);
  const ecs = new ECSClient({ region: aws.region, endpoint: aws.url, credentials });
  await ecs.send(new CreateClusterCommand({ clusterName: CLUSTER }));
  ecs.destroy();
  // The pool account's cluster, created as that account (a session of its role).
  aws.sts.addRole({ arn: POOL_ROLE });
  const assumed = await createAssumeRole({
    region: aws.region,
    env: { AWS_ENDPOINT_URL_STS: aws.url },
  })({ RoleArn: POOL_ROLE, RoleSessionName: 'render-cli-setup' }, async () => credentials);
  const poolEcs = new ECSClient({ region: POOL_REGION, endpoint: aws.url, credentials: assumed });
  await poolEcs.send(new CreateClusterCommand({ clusterName: CLUSTER }));
  poolEcs.destroy();
  workDir = mkdtempSync(join(tmpdir(), 'render-cli-'));

  const secretType = await client.createBlockType({ name: 'Secret', slug: 'secret' });
  const secretSchema = await client.createBlockSchema({
    blockTypeId: secretType.id,
    fields: {
      title: 'Secret',
      type: 'object',
      properties: { value: { title: 'Value', type: 'string', format: 'password' } },
      required: ['value'],
      secret_fields: ['value'],
      block_schema_references: {},
    },
  });
  await client.createBlockDocument({
    name: 'registry',
    data: { value: REGISTRY },
    blockSchemaId: secretSchema.id,
    blockTypeId: secretType.id,
  });
  await client.createVariable({ name: 'etl_tag', value: '2026.1' });
  const awsCredentials = await registerAwsCredentialsBlock(client);
  awsCredentialsBlockId = await awsCredentials.create('static-keys', STATIC_KEYS);
  for (const name of ['current', 'v0.4'] as const) {
    await client.createWorkPool({
      name: POOLS[name],
      type: 'ecs',
      baseJobTemplate: template(name),
    });
  }
});

afterAll(async () => {
  for (const sdkClient of sdkClients) sdkClient.destroy();
  await aws?.close();
  await prefect?.close();
  if (workDir) rmSync(workDir, { recursive: true, force: true });
});

interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** The environment of a user's shell, without whatever Prefect or AWS settings this one has. */
const cleanEnv = (extra: Record<string, string>): NodeJS.ProcessEnv => {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (!/^(PREFECT_|AWS_|ECS_|TEMPLATE_ENV)/.test(name)) env[name] = value;
  }
  return { ...env, ...extra };
};

/** Spawns the CLI: `node --import tsx cli/main.ts …`, or the bin shim. */
const cli = (
  args: readonly string[],
  env: Record<string, string> = {},
  via: 'main' | 'bin' = 'main'
): Promise<CliResult> => {
  const entry =
    via === 'main' ? ['--import', 'tsx', 'cli/main.ts'] : ['bin/prefect-ecs-serverless.mjs'];
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [...entry, ...args],
      { cwd: ROOT, env: cleanEnv(env), timeout: 30_000 },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : -1) : 0;
        resolve({ code, stdout, stderr });
      }
    );
  });
};

/** The launcher's settings, as the environment `render` reads them. */
const launcherEnv = (): Record<string, string> => ({
  PREFECT_API_URL: prefect.apiUrl,
  AWS_REGION: aws.region,
  ECS_EXECUTION_ROLE_ARN: EXECUTION_ROLE,
  PREFECT_API_KEY_SECRET_ARN: secretArn,
});

const writeInput = (content: unknown): string => {
  const file = join(workDir, `${randomUUID()}.json`);
  writeFileSync(file, typeof content === 'string' ? content : JSON.stringify(content));
  return file;
};

const getJson = async (path: string): Promise<Record<string, unknown>> => {
  const response = await fetch(`${prefect.apiUrl}${path}`, { headers: auth });
  expect(response.status).toBe(200);
  return (await response.json()) as Record<string, unknown>;
};

/** A claimed run of a new deployment in `pool`, and its objects exactly as the API returns them. */
const claimedRun = async (pool: string, jobVariables: Record<string, unknown>) => {
  const flow = await client.createFlow({ name: `flow-${randomUUID()}` });
  const deployment = await client.createDeployment({
    name: `etl-${randomUUID()}`,
    flowId: flow.id,
    workPoolName: pool,
    jobVariables: { cluster: CLUSTER, ...jobVariables },
  });
  const run = await client.createFlowRunFromDeployment(deployment.id, {});
  const transitionId = randomUUID();
  const claim = await proposeState(
    prefect.apiUrl,
    run.id,
    { type: 'PENDING', name: 'Pending', state_details: { transition_id: transitionId } },
    false,
    { headers: auth }
  );
  expect(claim.status).toBe('ACCEPT');
  const input = {
    work_pool: await getJson(`/work_pools/${pool}`),
    deployment: await getJson(`/deployments/${deployment.id}`),
    flow: await getJson(`/flows/${flow.id}`),
    flow_run: await getJson(`/flow_runs/${run.id}`),
  };
  return { runId: run.id, transitionId, pool, input };
};

/** Launches the run through the launcher's handler and returns the ECS requests it made. */
const launch = async (claimed: Awaited<ReturnType<typeof claimedRun>>) => {
  const endpoint = { region: aws.region, endpoint: aws.url, credentials };
  const ecs = new ECSClient(endpoint);
  const ec2 = new EC2Client(endpoint);
  const secretsManager = new SecretsManagerClient(endpoint);
  const sqs = new SQSClient({ region: aws.region, endpoint: 'http://127.0.0.1:9', credentials });
  sdkClients.push(ecs, ec2, secretsManager, sqs);
  const config = loadConfig({
    ...launcherEnv(),
    PREFECT_WORK_POOLS: claimed.pool,
    LAUNCH_QUEUE_URL: 'http://127.0.0.1:9/123456789012/launch',
  });
  const handler = createLauncherHandler(
    await createLauncherDeps(config, {
      logger: quietLogger,
      clients: { ecs, ec2, secretsManager, sqs },
    })
  );
  const body = JSON.stringify(
    buildLaunchMessage({
      flowRunId: claimed.runId,
      workPool: claimed.pool,
      transitionId: claimed.transitionId,
      scheduledTime: new Date(),
      claimedAt: new Date(),
    })
  );
  const event = {
    Records: [
      {
        messageId: randomUUID(),
        receiptHandle: 'receipt',
        body,
        attributes: { ApproximateReceiveCount: '1' },
        messageAttributes: {},
        eventSource: 'aws:sqs',
      },
    ],
  } as unknown as SQSEvent;
  const response = await handler(event);
  expect(response.batchItemFailures).toEqual([]);
  // Every tenant's calls: a pool's aws_credentials may send the launch to another account.
  const callsTo = (operation: string) =>
    aws.allCalls.filter((call) => call.operation === operation);
  const runTask = callsTo('RunTask').find(
    (call) => (call.input as { startedBy?: string }).startedBy === `prefect/${claimed.runId}`
  );
  const arn = (runTask?.input as { taskDefinition?: string } | undefined)?.taskDefinition;
  const registration = callsTo('RegisterTaskDefinition').find(
    (call) =>
      (call.output as { taskDefinition?: { taskDefinitionArn?: string } } | undefined)
        ?.taskDefinition?.taskDefinitionArn === arn
  );
  return {
    runTask: runTask?.input as Record<string, unknown>,
    registerTaskDefinition: registration?.input as Record<string, unknown>,
    /** Where RunTask landed. */
    tenant: { account: runTask?.accountId, region: runTask?.region },
  };
};

interface Rendered {
  registerTaskDefinition: Record<string, unknown> | null;
  runTask: Record<string, unknown>;
  aws: { region: string; account: string | null; credentials: string[] };
  warnings: string[];
  notes: string[];
}

const renderOk = async (args: readonly string[], env: Record<string, string> = {}) => {
  const result = await cli(['render', ...args], env);
  expect(result.stderr).toBe('');
  expect(result.code).toBe(0);
  return { rendered: JSON.parse(result.stdout) as Rendered, stdout: result.stdout };
};

type Container = { name?: string; environment?: { name: string; value: string }[] };
const overrideOf = (runTask: Record<string, unknown>): Container =>
  ((runTask.overrides as { containerOverrides?: Container[] }).containerOverrides ?? [])[0] ?? {};

describe('render --input', () => {
  it.each(['current', 'v0.4'] as const)(
    'prints what the launcher sends for a run of the %s default template',
    async (name) => {
      // Prepare
      const claimed = await claimedRun(POOLS[name], {
        image: '{{ prefect.blocks.secret.registry }}/etl:{{ prefect.variables.etl_tag }}',
        // the v0.4 template's `env` schema takes strings only
        env: name === 'current' ? { EXTRA: 'yes', UNSET_ME: null } : { EXTRA: 'yes' },
        labels: { team: 'Data & ML' },
      });
      const file = writeInput({
        ...claimed.input,
        variables: { etl_tag: '2026.1' },
        blocks: { 'secret/registry': { value: REGISTRY } },
      });
      // Act
      const { rendered, stdout } = await renderOk(['--input', file], {
        ...launcherEnv(),
        PREFECT_API_KEY: API_KEY,
      });
      const sent = await launch(claimed);
      // Assess: the task definition exactly as registered
      expect(rendered.registerTaskDefinition).toEqual(sent.registerTaskDefinition);
      expect(rendered.registerTaskDefinition).toMatchObject({
        family: `prefect_${POOLS[name]}_${claimed.input.deployment.id}`,
        cpu: '1024',
        memory: '2048',
        requiresCompatibilities: ['FARGATE'],
        networkMode: 'awsvpc',
        executionRoleArn: EXECUTION_ROLE,
        containerDefinitions: [
          {
            name: 'prefect',
            image: `${REGISTRY}/etl:2026.1`,
            secrets: [{ name: 'PREFECT_API_KEY', valueFrom: secretArn }],
          },
        ],
      });
      // RunTask as sent, but for the two values only AWS knows
      const { taskDefinition, networkConfiguration, ...runTask } = rendered.runTask;
      const {
        taskDefinition: sentArn,
        networkConfiguration: sentNetwork,
        ...sentRunTask
      } = sent.runTask;
      expect(runTask).toEqual(sentRunTask);
      expect(String(sentArn)).toMatch(/^arn:aws:ecs:.*:task-definition\/prefect_ecs-/);
      expect(taskDefinition).toBe(
        `<registered at launch (or reused): family prefect_${POOLS[name]}_${claimed.input.deployment.id}>`
      );
      expect(sentNetwork).toMatchObject({ awsvpcConfiguration: { assignPublicIp: 'ENABLED' } });
      expect(networkConfiguration).toEqual({
        awsvpcConfiguration: {
          subnets: [
            expect.stringMatching(
              /^<discovered at launch: the subnets of the region's default VPC/
            ),
          ],
          assignPublicIp: 'ENABLED',
          securityGroups: [],
        },
      });
      expect(rendered.notes).toContainEqual(
        expect.stringMatching(/^networkConfiguration: discovered at launch/)
      );
      // the key fields, spelled out
      expect(runTask).toMatchObject({
        cluster: CLUSTER,
        launchType: 'FARGATE',
        clientToken: claimClientToken(claimed.runId, claimed.transitionId),
        startedBy: `prefect/${claimed.runId}`,
      });
      expect(runTask.tags).toEqual(
        expect.arrayContaining([
          { key: 'prefect.io/flow-run-id', value: claimed.runId },
          { key: 'team', value: 'Data-ML' },
        ])
      );
      const environment = overrideOf(rendered.runTask).environment ?? [];
      expect(environment).toContainEqual({ name: 'PREFECT__FLOW_RUN_ID', value: claimed.runId });
      expect(environment).toContainEqual({ name: 'PREFECT_API_URL', value: prefect.apiUrl });
      expect(environment.map((variable) => variable.name)).not.toContain('PREFECT_API_KEY');
      expect(environment.map((variable) => variable.name)).not.toContain('UNSET_ME');
      expect(stdout).not.toContain(API_KEY);
      // no aws_credentials: the functions' own role and region, where the launch went
      expect(rendered.aws).toEqual({
        region: aws.region,
        account: null,
        credentials: [`the functions' own role, region ${aws.region}`],
      });
      expect(sent.tenant).toEqual({ account: '123456789012', region: aws.region });
    }
  );

  it('registers nothing for a run with task_definition_arn, and runs that ARN', async () => {
    // Prepare
    const arn = 'arn:aws:ecs:us-east-1:123456789012:task-definition/etl:7';
    const claimed = await claimedRun('ecs-current', { task_definition_arn: arn });
    const file = writeInput(claimed.input);
    // Act
    const { rendered } = await renderOk(['--input', file], launcherEnv());
    // Assess
    expect(rendered.registerTaskDefinition).toBeNull();
    expect(rendered.runTask.taskDefinition).toBe(arn);
    expect(rendered.runTask.clientToken).toBe(
      claimClientToken(claimed.runId, claimed.transitionId)
    );
    expect(rendered.notes).toContainEqual(
      expect.stringContaining(`task_definition_arn is given (${arn})`)
    );
  });

  it('uses a given network configuration as it is, noting the VPC check it skipped', async () => {
    // Prepare
    const claimed = await claimedRun('ecs-current', {
      vpc_id: 'vpc-0abc',
      network_configuration: { subnets: ['subnet-2', 'subnet-1'], securityGroups: ['sg-1'] },
    });
    const file = writeInput(claimed.input);
    // Act
    const { rendered } = await renderOk(['--input', file], launcherEnv());
    // Assess
    expect(rendered.runTask.networkConfiguration).toEqual({
      awsvpcConfiguration: { subnets: ['subnet-2', 'subnet-1'], securityGroups: ['sg-1'] },
    });
    expect(rendered.notes).toContainEqual(expect.stringContaining('checked against VPC vpc-0abc'));
  });

  it('shows placeholders, never a credential, for settings the environment does not give', async () => {
    // Prepare
    const claimed = await claimedRun('ecs-current', {
      env: { PREFECT_API_KEY: 'pnu_pasted-into-job-variables' },
    });
    const file = writeInput(claimed.input);
    // Act
    const { rendered, stdout } = await renderOk(['--input', file], { PREFECT_API_KEY: API_KEY });
    // Assess
    const [container] = (rendered.registerTaskDefinition?.containerDefinitions ?? []) as {
      secrets?: unknown;
    }[];
    expect(container?.secrets).toEqual([
      { name: 'PREFECT_API_KEY', valueFrom: '<PREFECT_API_KEY_SECRET_ARN>' },
    ]);
    expect(rendered.notes).toContainEqual(
      expect.stringMatching(/^<PREFECT_API_KEY_SECRET_ARN>: .*set PREFECT_API_KEY_SECRET_ARN/)
    );
    expect(stdout).not.toContain(API_KEY);
    expect(stdout).not.toContain('pnu_pasted-into-job-variables');
    expect(rendered.warnings).toContainEqual(
      expect.stringContaining('PREFECT_API_KEY was left out of the container environment')
    );
  });

  it('exits 1 naming the placeholder, the job variable and the template path for a missing block', async () => {
    // Prepare
    const claimed = await claimedRun('ecs-current', {
      image: '{{ prefect.blocks.secret.deleted }}/etl:1',
    });
    const file = writeInput(claimed.input);
    // Act
    const result = await cli(['render', '--input', file], launcherEnv());
    // Assess
    expect(result.code).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr).toContain('{{ prefect.blocks.secret.deleted }}');
    expect(result.stderr).toContain(
      'template path: job_configuration.task_definition.containerDefinitions[0].image'
    );
    expect(result.stderr).toContain('job variable: image');
    expect(result.stderr).toContain('"blocks"');
  });

  it('exits 1 naming the field, never quoting the secret a block rendered into it', async () => {
    // Prepare: a Secret block holding a dict, where the job configuration wants strings
    const password = 'render-NoLeakDictSecret5b3d1f';
    const claimed = await claimedRun('ecs-current', {
      labels: { db: '{{ prefect.blocks.secret.db-credentials }}' },
    });
    const file = writeInput({
      ...claimed.input,
      blocks: { 'secret/db-credentials': { value: { username: 'etl', password } } },
    });
    // Act
    const result = await cli(['render', '--input', file], launcherEnv());
    // Assess
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('job_configuration.labels.db must be a string, got an object');
    expect(result.stdout + result.stderr).not.toContain(password);
  });

  it('exits 2 with what is wrong for a file that is not JSON (through the bin shim)', async () => {
    // Prepare
    const file = writeInput('{"work_pool": ');
    // Act
    const result = await cli(['render', '--input', file], {}, 'bin');
    // Assess
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(`${file} is not JSON`);
    expect(result.stderr).toContain('"work_pool": …, "deployment": … | null');
  });

  it('exits 2 listing the missing and invalid objects of the input', async () => {
    // Prepare
    const claimed = await claimedRun('ecs-current', {});
    const { deployment: _deployment, ...withoutDeployment } = claimed.input;
    const file = writeInput({
      ...withoutDeployment,
      flow_run: { ...claimed.input.flow_run, id: 'not-a-uuid' },
      varaibles: {},
    });
    // Act
    const result = await cli(['render', '--input', file]);
    // Assess
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr).toContain('deployment: required');
    expect(result.stderr).toContain('flow_run.id:');
    expect(result.stderr).toContain('"varaibles"');
  });

  it('exits 2 for bad usage', async () => {
    // Act
    const results = await Promise.all([cli(['render']), cli(['render', '--nope']), cli(['nope'])]);
    // Assess
    expect(results.map((result) => result.code)).toEqual([2, 2, 2]);
    expect(results[0]?.stderr).toContain('give either --input <file> or --flow-run <flow-run-id>');
    expect(results[2]?.stderr).toContain("unknown command 'nope'");
  });
});

/** Runs `act` with these variables in this process's environment (the launcher's STS endpoint). */
const withEnv = async <T>(vars: Record<string, string>, act: () => Promise<T>): Promise<T> => {
  const saved = Object.fromEntries(Object.keys(vars).map((name) => [name, process.env[name]]));
  Object.assign(process.env, vars);
  try {
    return await act();
  } finally {
    for (const [name, value] of Object.entries(saved)) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  }
};

describe('render shows where the launch calls AWS (aws_credentials)', () => {
  it('names the assumed role, its session, the region, the endpoint and the ignored fields, where the launcher then runs the task', async () => {
    // Prepare
    const claimed = await claimedRun('ecs-current', {
      execution_role_arn: `arn:aws:iam::${POOL_ACCOUNT}:role/prefect-execution`,
      aws_credentials: {
        assume_role_arn: POOL_ROLE,
        assume_role_kwargs: { RoleSessionName: 'etl-render', DurationSeconds: null },
        region_name: POOL_REGION,
        aws_client_parameters: { endpoint_url: aws.url, verify: false, api_version: '2014-11-13' },
      },
    });
    const file = writeInput(claimed.input);
    // Act
    const { rendered } = await renderOk(['--input', file], launcherEnv());
    const sent = await withEnv({ AWS_ENDPOINT_URL_STS: aws.url }, () => launch(claimed));
    // Assess
    expect(rendered.aws).toEqual({
      region: POOL_REGION,
      account: POOL_ACCOUNT,
      credentials: [
        `assumes ${POOL_ROLE} (STS AssumeRole as the functions' own role, session etl-render)`,
        `region ${POOL_REGION}`,
        `endpoint ${aws.url}`,
        'ignored: aws_client_parameters.api_version: the Node SDK has one API version per service',
        'ignored: aws_client_parameters.verify: Lambda always verifies TLS certificates (set NODE_EXTRA_CA_CERTS on the functions for a private CA)',
      ],
    });
    expect(rendered.warnings).toContainEqual(
      expect.stringMatching(
        /^aws_credentials: these fields have no effect here: aws_client_parameters\.api_version/
      )
    );
    // the launcher assumed that role with that session and ran the task in that account and region
    expect(sent.tenant).toEqual({ account: POOL_ACCOUNT, region: POOL_REGION });
    expect(aws.sts.sessions()).toContainEqual(
      expect.objectContaining({ roleArn: POOL_ROLE, sessionName: 'etl-render' })
    );
    expect(rendered.registerTaskDefinition).toEqual(sent.registerTaskDefinition);
    expect(rendered.registerTaskDefinition).toMatchObject({
      executionRoleArn: `arn:aws:iam::${POOL_ACCOUNT}:role/prefect-execution`,
    });
  });

  it('exits 1 for profile_name, saying what to use instead', async () => {
    // Prepare
    const claimed = await claimedRun('ecs-current', {
      aws_credentials: { profile_name: 'data-prod', region_name: POOL_REGION },
    });
    const file = writeInput(claimed.input);
    // Act
    const result = await cli(['render', '--input', file], launcherEnv());
    // Assess
    expect(result.code).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr).toContain('the launcher would crash this flow run');
    expect(result.stderr).toContain(
      'profile_name "data-prod" cannot be used by a serverless worker'
    );
    expect(result.stderr).toContain(
      'Use assume_role_arn with a role listed in the stack parameter assumeRoleArns'
    );
  });

  it('shows a static key as its last 4 characters, never the secret key or session token, from a file and from Prefect', async () => {
    // Prepare: the pool's runs reference an AWS Credentials block with static keys
    const claimed = await claimedRun('ecs-current', {
      aws_credentials: { $ref: { block_document_id: awsCredentialsBlockId } },
    });
    const file = writeInput({ ...claimed.input, blocks: { [awsCredentialsBlockId]: STATIC_KEYS } });
    const env = { ...launcherEnv(), PREFECT_API_KEY: API_KEY };
    // Act
    const fromFile = await cli(['render', '--input', file], env);
    const fromPrefect = await cli(['render', '--flow-run', claimed.runId], env);
    // Assess
    for (const result of [fromFile, fromPrefect]) {
      expect(result.stderr).toBe('');
      expect(result.code).toBe(0);
      const rendered = JSON.parse(result.stdout) as Rendered;
      expect(rendered.aws).toEqual({
        region: aws.region,
        account: null,
        credentials: [
          'uses static access key …7XQZ with a session token',
          `region ${aws.region} (the functions' own)`,
        ],
      });
      for (const secret of Object.values(STATIC_KEYS)) {
        expect(result.stdout + result.stderr).not.toContain(secret);
      }
    }
  });
});

describe('render --flow-run', () => {
  it('reads the run, its objects, blocks and variables from Prefect and renders as --input does', async () => {
    // Prepare
    const claimed = await claimedRun('ecs-current', {
      image: '{{ prefect.blocks.secret.registry }}/etl:{{ prefect.variables.etl_tag }}',
    });
    const file = writeInput({
      ...claimed.input,
      variables: { etl_tag: '2026.1' },
      blocks: { 'secret/registry': { value: REGISTRY } },
    });
    const env = { ...launcherEnv(), PREFECT_API_KEY: API_KEY };
    // Act
    const fromPrefect = await renderOk(['--flow-run', claimed.runId], env);
    const fromFile = await renderOk(['--input', file], env);
    // Assess
    expect(fromPrefect.rendered).toEqual(fromFile.rendered);
    expect(fromPrefect.rendered.registerTaskDefinition).toMatchObject({
      containerDefinitions: [{ image: `${REGISTRY}/etl:2026.1` }],
    });
    expect(fromPrefect.stdout).not.toContain(API_KEY);
  });

  it('exits 1 when the flow run does not exist', async () => {
    // Prepare
    const missing = randomUUID();
    // Act
    const result = await cli(['render', '--flow-run', missing], {
      PREFECT_API_URL: prefect.apiUrl,
      PREFECT_API_KEY: API_KEY,
    });
    // Assess
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`flow run ${missing} was not found at ${prefect.apiUrl}`);
  });

  it('exits 2 without PREFECT_API_URL', async () => {
    // Act
    const result = await cli(['render', '--flow-run', randomUUID()]);
    // Assess
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('set PREFECT_API_URL');
  });
});
