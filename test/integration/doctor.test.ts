/**
 * `prefect-ecs-serverless doctor` end to end: the CLI is spawned as a user runs it
 * (`node --import tsx cli/main.ts doctor`), with an environment that points at the Prefect stand-in
 * and the AWS stand-in (ECS, EC2, Secrets Manager, STS, IAM on one port) through the real clients.
 *
 * One healthy setup is seeded once: a pool whose deployments use a Prefect variable and a block, a
 * cluster, an execution and a task role, a VPC with two subnets and a security group, and the
 * Prefect credential in Secrets Manager. Each misconfiguration test changes one thing, through the
 * environment or through a pool of its own whose one deployment has one job variable changed, and
 * asserts the message, the fix and exit status 1.
 *
 * Pools whose `aws_credentials` (an AWS Credentials block as the template's default) assume a role
 * of another account use the stand-in's STS (`sts.addRole`) and its tenant of that account and
 * region, where the pool's cluster is created; the doctor must find it there, not at home.
 */

import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { CreateClusterCommand, ECSClient } from '@aws-sdk/client-ecs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAssumeRole } from '../../shared/aws/assume-role.ts';
import type { CheckResult } from '../../shared/doctor/check-result.ts';
import { trustsEcsTasks } from '../../shared/doctor/trust-policy.ts';
import { createPrefectClient, type PrefectClient } from '../../shared/prefect/client.ts';
import { awsQueryExtras } from '../standins/aws/query-extras.ts';
import { startAwsStandin } from '../standins/ecs/server.ts';
import type { AwsStandin } from '../standins/ecs/types.ts';
import { ECS_BASE_JOB_TEMPLATE } from '../standins/prefect/actors.ts';
import { registerAwsCredentialsBlock } from '../standins/prefect/aws-credentials-block.ts';
import { type PrefectStandin, startPrefectStandin } from '../standins/prefect/server.ts';

const AUTH_STRING = 'admin:doctor-integration-pass-7f3c';
const REGION = 'eu-west-1';
const POOL = 'ecs-serverless';
const CLUSTER = 'prefect';
const REGISTRY = '123456789012.dkr.ecr.eu-west-1.amazonaws.com';
/** The account and region of the pools that assume a role (`aws_credentials.assume_role_arn`). */
const POOL_ACCOUNT = '210987654321';
const POOL_REGION = 'us-west-2';
const POOL_ROLE = `arn:aws:iam::${POOL_ACCOUNT}:role/prefect-pools`;
/** A role whose trust policy admits another account only: AssumeRole from here is AccessDenied. */
const UNTRUSTING_ROLE = `arn:aws:iam::${POOL_ACCOUNT}:role/trusts-someone-else`;
/** Static keys of an AWS Credentials block: only `…<last 4>` of the id may ever be printed. */
const STATIC_KEYS = {
  aws_access_key_id: 'AKIADOCTORBLOCKK3Y9',
  aws_secret_access_key: 'doctor-BlockSecretNeverShown-71e2c0',
};

let prefect: PrefectStandin;
let aws: AwsStandin;
let client: PrefectClient;
let secretArn: string;
let executionRoleArn: string;
let taskRoleArn: string;
let vpcId: string;
let subnets: string[];
let securityGroup: string;
let otherVpcSubnet: string;
let otherVpcSecurityGroup: string;

/** The job variables of the healthy deployment, which each test changes one of. */
let healthyJobVariables: Record<string, unknown>;

const secretSchemaFields = {
  title: 'Secret',
  type: 'object',
  properties: { value: { title: 'Value', type: 'string', format: 'password', writeOnly: true } },
  required: ['value'],
  secret_fields: ['value'],
  block_schema_references: {},
};

/** Creates a flow and a deployment of `pool` with these job variables. */
const seedDeployment = async (
  pool: string,
  name: string,
  jobVariables: Record<string, unknown>
) => {
  const flow = await client.createFlow({ name: `${name}-flow` });
  return client.createDeployment({ name, flowId: flow.id, workPoolName: pool, jobVariables });
};

/** The default template with this `aws_credentials` default (a block reference or its fields). */
const templateWithCredentials = (credentials: unknown): Record<string, unknown> => {
  const template = structuredClone(ECS_BASE_JOB_TEMPLATE) as {
    variables: { properties: Record<string, Record<string, unknown>> };
  };
  template.variables.properties.aws_credentials = {
    ...template.variables.properties.aws_credentials,
    default: credentials,
  };
  return template;
};

/** A pool whose `aws_credentials` default is `credentials`, with one deployment. */
const seedPoolWithCredentials = async (
  pool: string,
  credentials: unknown,
  jobVariables: Record<string, unknown>
) => {
  await client.createWorkPool({
    name: pool,
    type: 'ecs',
    baseJobTemplate: templateWithCredentials(credentials),
  });
  await seedDeployment(pool, `${pool}-deployment`, jobVariables);
};

/** The AWS Credentials block documents, by name. */
const awsCredentialsBlocks: Record<string, string> = {};

/** An ECS pool of its own with one deployment: the healthy job variables with `change` applied. */
const seedPoolWith = async (pool: string, change: Record<string, unknown>) => {
  await client.createWorkPool({ name: pool, type: 'ecs', baseJobTemplate: ECS_BASE_JOB_TEMPLATE });
  await seedDeployment(pool, `${pool}-deployment`, { ...healthyJobVariables, ...change });
};

/** The environment of the healthy setup: nothing from this machine's own AWS configuration. */
const healthyEnv = (): Record<string, string> => ({
  PATH: process.env.PATH ?? '',
  PREFECT_API_URL: prefect.apiUrl,
  PREFECT_API_AUTH_STRING_SECRET_ARN: secretArn,
  PREFECT_WORK_POOLS: POOL,
  AWS_REGION: REGION,
  AWS_ENDPOINT_URL: aws.url,
  AWS_ACCESS_KEY_ID: 'AKIDDOCTORTEST',
  AWS_SECRET_ACCESS_KEY: 'doctor-test-secret-key',
  AWS_CONFIG_FILE: '/nonexistent/aws-config',
  AWS_SHARED_CREDENTIALS_FILE: '/nonexistent/aws-credentials',
  AWS_EC2_METADATA_DISABLED: 'true',
  ECS_EXECUTION_ROLE_ARN: executionRoleArn,
});

interface DoctorRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the CLI as a user does, with exactly `env`. */
const runDoctor = (env: Record<string, string>, args: string[] = []): Promise<DoctorRun> =>
  new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'cli/main.ts', 'doctor', ...args], {
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString('utf8');
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString('utf8');
    });
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });

/** The `--json` report. */
const runDoctorJson = async (
  env: Record<string, string>
): Promise<{ code: number | null; ok: boolean; checks: CheckResult[]; text: string }> => {
  const run = await runDoctor(env, ['--json']);
  const report = JSON.parse(run.stdout) as { ok: boolean; checks: CheckResult[] };
  return { code: run.code, ...report, text: run.stdout + run.stderr };
};

const check = (checks: readonly CheckResult[], name: string | RegExp): CheckResult => {
  const found = checks.find((candidate) =>
    typeof name === 'string' ? candidate.name === name : name.test(candidate.name)
  );
  if (!found) {
    throw new Error(`No check ${String(name)} in ${checks.map((c) => c.name).join(' | ')}`);
  }
  return found;
};

const failedNames = (checks: readonly CheckResult[]): string[] =>
  checks.filter((candidate) => !candidate.ok && !candidate.skipped).map((c) => c.name);

/** A port nothing listens on. */
const closedPort = async (): Promise<number> => {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
};

beforeAll(async () => {
  prefect = await startPrefectStandin({ authString: AUTH_STRING });
  aws = await startAwsStandin({ region: REGION, regions: [POOL_REGION] });
  client = createPrefectClient({ apiUrl: prefect.apiUrl, authString: AUTH_STRING });

  // AWS: the credential secret, a cluster, two roles, a VPC with two subnets and a group, and a
  // second VPC whose subnet and group belong elsewhere.
  secretArn = aws.secrets.putSecret('prefect/auth-string', AUTH_STRING);
  const ecs = new ECSClient({
    region: REGION,
    endpoint: aws.url,
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  });
  await ecs.send(new CreateClusterCommand({ clusterName: CLUSTER }));
  ecs.destroy();
  const { iam } = awsQueryExtras(aws.ec2);
  executionRoleArn = iam.addRole({ roleName: 'prefect-execution' });
  taskRoleArn = iam.addRole({ roleName: 'prefect-task', path: '/prefect/' });
  iam.addRole({
    roleName: 'lambda-only',
    trustPolicy: {
      Version: '2012-10-17',
      Statement: [
        {
          Effect: 'Allow',
          Principal: { Service: 'lambda.amazonaws.com' },
          Action: 'sts:AssumeRole',
        },
      ],
    },
  });
  vpcId = aws.ec2.addVpc({ cidrBlock: '10.20.0.0/16' });
  subnets = [
    aws.ec2.addSubnet({ vpcId, availabilityZone: `${REGION}a`, cidrBlock: '10.20.1.0/24' }),
    aws.ec2.addSubnet({ vpcId, availabilityZone: `${REGION}b`, cidrBlock: '10.20.2.0/24' }),
  ];
  securityGroup = aws.ec2.addSecurityGroup({ vpcId, groupName: 'prefect-tasks' });
  const otherVpc = aws.ec2.addVpc({ cidrBlock: '10.30.0.0/16' });
  otherVpcSubnet = aws.ec2.addSubnet({
    vpcId: otherVpc,
    availabilityZone: `${REGION}a`,
    cidrBlock: '10.30.1.0/24',
  });
  otherVpcSecurityGroup = aws.ec2.addSecurityGroup({ vpcId: otherVpc, groupName: 'elsewhere' });

  // Another account: a role this account may assume, one it may not, and a cluster in POOL_REGION
  // created as that account.
  aws.sts.addRole({ arn: POOL_ROLE });
  aws.sts.addRole({ arn: UNTRUSTING_ROLE, trustedAccounts: ['999999999999'] });
  const assumed = await createAssumeRole({
    region: REGION,
    env: { AWS_ENDPOINT_URL_STS: aws.url },
  })({ RoleArn: POOL_ROLE, RoleSessionName: 'doctor-setup' }, async () => ({
    accessKeyId: 'test',
    secretAccessKey: 'test',
  }));
  const poolEcs = new ECSClient({ region: POOL_REGION, endpoint: aws.url, credentials: assumed });
  await poolEcs.send(new CreateClusterCommand({ clusterName: CLUSTER }));
  poolEcs.destroy();

  // Prefect: a Secret block and a variable the healthy deployment reads, the pool, and two
  // deployments: one on the VPC above, one on the default VPC (network discovery).
  const secretType = await client.createBlockType({ name: 'Secret', slug: 'secret' });
  const secretSchema = await client.createBlockSchema({
    blockTypeId: secretType.id,
    fields: secretSchemaFields,
  });
  await client.createBlockDocument({
    name: 'registry',
    data: { value: REGISTRY },
    blockSchemaId: secretSchema.id,
    blockTypeId: secretType.id,
  });
  await client.createVariable({ name: 'etl_tag', value: '2026.1' });
  const awsCredentials = await registerAwsCredentialsBlock(client);
  const blocks: Record<string, Record<string, unknown>> = {
    'pool-role': {
      assume_role_arn: POOL_ROLE,
      assume_role_kwargs: { RoleSessionName: 'doctor-check' },
      region_name: POOL_REGION,
      aws_client_parameters: { verify: false },
    },
    untrusting: { assume_role_arn: UNTRUSTING_ROLE, region_name: POOL_REGION },
    'static-keys': STATIC_KEYS,
  };
  for (const [name, data] of Object.entries(blocks)) {
    awsCredentialsBlocks[name] = await awsCredentials.create(name, data);
  }
  await client.createWorkPool({ name: POOL, type: 'ecs', baseJobTemplate: ECS_BASE_JOB_TEMPLATE });
  healthyJobVariables = {
    image: '{{ prefect.blocks.secret.registry }}/etl:{{ prefect.variables.etl_tag }}',
    cluster: CLUSTER,
    execution_role_arn: executionRoleArn,
    task_role_arn: taskRoleArn,
    vpc_id: vpcId,
    network_configuration: {
      subnets,
      securityGroups: [securityGroup],
      assignPublicIp: 'DISABLED',
    },
  };
  await seedDeployment(POOL, 'etl', healthyJobVariables);
  await seedDeployment(POOL, 'report', { cluster: CLUSTER });
}, 30_000);

afterAll(async () => {
  await aws?.close();
  await prefect?.close();
});

describe('doctor on a healthy setup', () => {
  it('passes every check, shows the version and account, and exits 0', async () => {
    // Act
    const run = await runDoctor(healthyEnv());
    // Assess
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).not.toContain('✘');
    expect(run.stdout).toContain('✔ Configuration');
    expect(run.stdout).toContain(
      '✔ Prefect credential secret (PREFECT_API_AUTH_STRING_SECRET_ARN)'
    );
    expect(run.stdout).toContain('✔ Prefect reachable');
    expect(run.stdout).toContain('server version 3.8.3');
    expect(run.stdout).toContain(`✔ Work pool '${POOL}': type ecs`);
    expect(run.stdout).toContain(
      `✔ AWS credentials of '${POOL}': not set: the functions' own role, region ${REGION} (the pool's default; a deployment may set its own with the job variable aws_credentials)`
    );
    expect(run.stdout).toContain(`✔ Template of '${POOL}' for 'etl-flow/etl'`);
    expect(run.stdout).toContain(`✔ Template of '${POOL}' for 'report-flow/report'`);
    expect(run.stdout).toContain('✔ AWS identity: account 123456789012');
    expect(run.stdout).toContain(`✔ ECS cluster '${CLUSTER}': ACTIVE`);
    expect(run.stdout).toContain(`✔ Execution role ${executionRoleArn}`);
    expect(run.stdout).toContain(`✔ Task role ${taskRoleArn}`);
    expect(run.stdout).toContain(`✔ Subnets in ${vpcId}`);
    expect(run.stdout).toContain(`✔ Security groups in ${vpcId}: ${securityGroup} is in ${vpcId}`);
    expect(run.stdout).toContain(`✔ Default VPC: ${aws.ec2.defaultVpcId} exists`);
    expect(run.stdout).toMatch(/All \d+ checks passed\./);
    expect(run.stdout).not.toContain(AUTH_STRING);
    expect(run.stdout).not.toContain('doctor-integration-pass');
  });

  it('prints the same checklist as JSON with --json', async () => {
    // Act
    const report = await runDoctorJson(healthyEnv());
    // Assess
    expect(report.code).toBe(0);
    expect(report.ok).toBe(true);
    expect(report.checks.length).toBeGreaterThanOrEqual(13);
    expect(report.checks.every((result) => result.ok && result.fix === undefined)).toBe(true);
    expect(check(report.checks, 'AWS identity').detail).toContain(
      'arn:aws:iam::123456789012:user/standin'
    );
    expect(report.text).not.toContain(AUTH_STRING);
  });
});

describe('doctor names each misconfiguration and its fix, and exits 1', () => {
  it('lists every missing or invalid variable together', async () => {
    // Prepare
    const env = healthyEnv();
    delete (env as Record<string, string | undefined>).PREFECT_WORK_POOLS;
    env.PREFECT_API_URL = 'not-a-url';
    env.AWS_REGION = 'mars';
    // Act
    const run = await runDoctor(env);
    // Assess
    expect(run.code).toBe(1);
    expect(run.stdout).toContain('✘ Configuration: 3 problems:');
    expect(run.stdout).toContain('- PREFECT_API_URL: must be an absolute http(s) URL');
    expect(run.stdout).toContain('- PREFECT_WORK_POOLS: required\n');
    expect(run.stdout).toContain('- AWS_REGION: must be an AWS region such as us-east-1');
    expect(run.stdout).toContain('fix: Set or correct the variables listed');
    expect(run.stdout).toContain(
      '– Prefect and AWS checks: skipped (the configuration is not valid)'
    );
    expect(run.stdout).not.toContain('mars');
  });

  it('Prefect unreachable', async () => {
    // Prepare
    const env = { ...healthyEnv(), PREFECT_API_URL: `http://127.0.0.1:${await closedPort()}/api` };
    // Act
    const report = await runDoctorJson(env);
    // Assess
    expect(report.code).toBe(1);
    expect(failedNames(report.checks)).toEqual(['Prefect reachable']);
    const reachable = check(report.checks, 'Prefect reachable');
    expect(reachable.detail).toContain(env.PREFECT_API_URL);
    expect(reachable.detail).toMatch(/ECONNREFUSED|fetch failed/);
    expect(reachable.fix).toContain('Check PREFECT_API_URL');
    expect(check(report.checks, `Work pool '${POOL}'`).skipped).toBe(true);
  });

  it('wrong Prefect credentials', async () => {
    // Prepare: a local auth string wins over the secret
    const wrong = 'admin:not-the-password-42';
    const env = { ...healthyEnv(), PREFECT_API_AUTH_STRING: wrong };
    // Act
    const run = await runDoctor(env);
    // Assess
    expect(run.code).toBe(1);
    expect(run.stdout).toContain(
      '✘ Prefect authenticated: Prefect answered 401 (Unauthorized) using PREFECT_API_AUTH_STRING'
    );
    expect(run.stdout).toContain('fix: Check PREFECT_API_KEY / PREFECT_API_AUTH_STRING');
    expect(run.stdout).toContain(
      `– Work pool '${POOL}': skipped (Prefect did not accept the credential)`
    );
    expect(run.stdout).not.toContain('not-the-password-42');
  });

  it('a work pool that does not exist', async () => {
    // Prepare
    const env = { ...healthyEnv(), PREFECT_WORK_POOLS: `${POOL},no-such-pool` };
    // Act
    const run = await runDoctor(env);
    // Assess
    expect(run.code).toBe(1);
    expect(run.stdout).toContain("✘ Work pool 'no-such-pool': does not exist");
    expect(run.stdout).toContain(
      'fix: `prefect work-pool create --type ecs no-such-pool`, or correct PREFECT_WORK_POOLS.'
    );
    expect(run.stdout).toContain(`✔ Work pool '${POOL}'`);
  });

  it('a work pool of another type', async () => {
    // Prepare
    await client.createWorkPool({ name: 'process-pool', type: 'process' });
    const env = { ...healthyEnv(), PREFECT_WORK_POOLS: 'process-pool' };
    // Act
    const report = await runDoctorJson(env);
    // Assess
    expect(report.code).toBe(1);
    expect(failedNames(report.checks)).toEqual(["Work pool 'process-pool'"]);
    const pool = check(report.checks, "Work pool 'process-pool'");
    expect(pool.detail).toBe("is of type 'process', not 'ecs'");
    expect(pool.fix).toContain('prefect work-pool create --type ecs <name>');
  });

  it('a deployment whose job variables use a block that does not exist', async () => {
    // Prepare
    await seedPoolWith('pool-missing-block', {
      image: '{{ prefect.blocks.secret.no-such-registry }}/etl:1',
    });
    const env = { ...healthyEnv(), PREFECT_WORK_POOLS: 'pool-missing-block' };
    // Act
    const report = await runDoctorJson(env);
    // Assess
    expect(report.code).toBe(1);
    const name =
      "Template of 'pool-missing-block' for 'pool-missing-block-deployment-flow/pool-missing-block-deployment'";
    expect(failedNames(report.checks)).toEqual([name]);
    const template = check(report.checks, name);
    expect(template.detail).toContain('{{ prefect.blocks.secret.no-such-registry }}');
    expect(template.detail).toContain('there is no block "no-such-registry" of type "secret"');
    expect(template.detail).toContain('from job variable "image"');
    expect(template.fix).toContain('Change job variable "image" in the job variables of');
  });

  it('a deployment whose job variables use a Prefect variable that does not exist', async () => {
    // Prepare
    await seedPoolWith('pool-missing-variable', {
      image: `${REGISTRY}/etl:{{ prefect.variables.no_such_tag }}`,
    });
    const env = { ...healthyEnv(), PREFECT_WORK_POOLS: 'pool-missing-variable' };
    // Act
    const report = await runDoctorJson(env);
    // Assess
    expect(report.code).toBe(1);
    const template = check(report.checks, /^Template of 'pool-missing-variable'/);
    expect(failedNames(report.checks)).toEqual([template.name]);
    expect(template.detail).toBe(
      '{{ prefect.variables.no_such_tag }} (in job variable "image" of the deployment): Prefect variable "no_such_tag" does not exist, so it renders as ""'
    );
    expect(template.fix).toBe(
      '`prefect variable set no_such_tag <value>`, or change the placeholder.'
    );
  });

  it('a cluster that does not exist', async () => {
    // Prepare
    await seedPoolWith('pool-missing-cluster', { cluster: 'no-such-cluster' });
    const env = { ...healthyEnv(), PREFECT_WORK_POOLS: 'pool-missing-cluster' };
    // Act
    const report = await runDoctorJson(env);
    // Assess
    expect(report.code).toBe(1);
    expect(failedNames(report.checks)).toEqual(["ECS cluster 'no-such-cluster'"]);
    const cluster = check(report.checks, "ECS cluster 'no-such-cluster'");
    expect(cluster.detail).toContain(`does not exist in ${REGION}`);
    expect(cluster.fix).toContain(
      `aws ecs create-cluster --cluster-name no-such-cluster --region ${REGION}`
    );
  });

  it('an execution role that does not exist', async () => {
    // Prepare
    const missing = 'arn:aws:iam::123456789012:role/no-such-role';
    await seedPoolWith('pool-missing-role', { execution_role_arn: missing });
    const env = { ...healthyEnv(), PREFECT_WORK_POOLS: 'pool-missing-role' };
    // Act
    const report = await runDoctorJson(env);
    // Assess
    expect(report.code).toBe(1);
    expect(failedNames(report.checks)).toEqual([`Execution role ${missing}`]);
    const role = check(report.checks, `Execution role ${missing}`);
    expect(role.detail).toContain('does not exist in account 123456789012');
    expect(role.fix).toContain('aws iam create-role --role-name no-such-role');
  });

  it('a task role ECS cannot assume (its trust policy does not name ecs-tasks)', async () => {
    // Prepare
    const lambdaOnly = 'arn:aws:iam::123456789012:role/lambda-only';
    await seedPoolWith('pool-untrusted-role', { task_role_arn: lambdaOnly });
    const env = { ...healthyEnv(), PREFECT_WORK_POOLS: 'pool-untrusted-role' };
    // Act
    const report = await runDoctorJson(env);
    // Assess
    expect(report.code).toBe(1);
    expect(failedNames(report.checks)).toEqual([`Task role ${lambdaOnly}`]);
    const role = check(report.checks, `Task role ${lambdaOnly}`);
    expect(role.detail).toContain(
      'its trust policy does not allow ecs-tasks.amazonaws.com to assume it'
    );
    expect(role.fix).toContain('aws iam update-assume-role-policy --role-name lambda-only');
  });

  it('a subnet outside the VPC', async () => {
    // Prepare
    await seedPoolWith('pool-foreign-subnet', {
      network_configuration: {
        subnets: [subnets[0], otherVpcSubnet],
        securityGroups: [securityGroup],
      },
    });
    const env = { ...healthyEnv(), PREFECT_WORK_POOLS: 'pool-foreign-subnet' };
    // Act
    const report = await runDoctorJson(env);
    // Assess
    expect(report.code).toBe(1);
    expect(failedNames(report.checks)).toEqual([`Subnets in ${vpcId}`]);
    const network = check(report.checks, `Subnets in ${vpcId}`);
    expect(network.detail).toContain(
      `Subnet ${otherVpcSubnet} in network_configuration is not in VPC ${vpcId} (vpc_id)`
    );
    expect(network.fix).toContain('Change the job variable "network_configuration"');
  });

  it('a security group outside the VPC', async () => {
    // Prepare
    await seedPoolWith('pool-foreign-group', {
      network_configuration: { subnets, securityGroups: [securityGroup, otherVpcSecurityGroup] },
    });
    const env = { ...healthyEnv(), PREFECT_WORK_POOLS: 'pool-foreign-group' };
    // Act
    const report = await runDoctorJson(env);
    // Assess
    expect(report.code).toBe(1);
    expect(failedNames(report.checks)).toEqual([`Security groups in ${vpcId}`]);
    const groups = check(report.checks, `Security groups in ${vpcId}`);
    expect(groups.detail).toContain(`${otherVpcSecurityGroup} is in `);
    expect(groups.detail).toContain(`, not ${vpcId}`);
    expect(groups.fix).toContain(`Set network_configuration.securityGroups to groups of ${vpcId}`);
  });

  it('a credential secret that cannot be read', async () => {
    // Prepare
    const missing = `arn:aws:secretsmanager:${REGION}:123456789012:secret:prefect/gone-AbCdEf`;
    const env = { ...healthyEnv(), PREFECT_API_AUTH_STRING_SECRET_ARN: missing };
    // Act
    const run = await runDoctor(env);
    // Assess
    expect(run.code).toBe(1);
    expect(run.stdout).toContain(
      `✘ Prefect credential secret (PREFECT_API_AUTH_STRING_SECRET_ARN): Could not read secret ${missing}: ResourceNotFoundException`
    );
    expect(run.stdout).toContain(
      'fix: Create the secret in this account and region, or correct PREFECT_API_AUTH_STRING_SECRET_ARN.'
    );
    expect(run.stdout).toContain(
      '– Prefect authenticated: skipped (the Prefect credential secret could not be read)'
    );
    expect(run.stdout).toContain('✔ Prefect reachable');
    expect(run.stdout).toContain('✔ AWS identity');
  });
});

/** A `$ref` to an AWS Credentials block seeded above. */
const blockRef = (name: string) => ({ $ref: { block_document_id: awsCredentialsBlocks[name] } });

/** The job variables of a deployment of a pool in POOL_ACCOUNT (its execution role lives there). */
const poolAccountJobVariables = {
  cluster: CLUSTER,
  execution_role_arn: `arn:aws:iam::${POOL_ACCOUNT}:role/prefect-execution`,
};

describe("doctor checks each pool's aws_credentials", () => {
  it('assumes the role, and finds the cluster and default VPC in that account and region; ignored fields are a warning', async () => {
    // Prepare
    const pool = 'pool-other-account';
    await seedPoolWithCredentials(pool, blockRef('pool-role'), poolAccountJobVariables);
    const env = { ...healthyEnv(), PREFECT_WORK_POOLS: pool, ASSUME_ROLE_ARNS: POOL_ROLE };
    const tenant = aws.tenant(POOL_ACCOUNT, POOL_REGION);
    const describedBefore = tenant.callsTo('DescribeClusters').length;
    // Act
    const run = await runDoctor(env);
    const report = await runDoctorJson(env);
    // Assess
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(report.code).toBe(0);
    const where = `account ${POOL_ACCOUNT}, region ${POOL_REGION}`;
    expect(run.stdout).toContain(
      `! AWS credentials of '${pool}': assumes ${POOL_ROLE} (STS AssumeRole as the functions' own role, session doctor-check); region ${POOL_REGION} (the pool's default; a deployment may set its own with the job variable aws_credentials)\n    ignored: aws_client_parameters.verify: Lambda always verifies TLS certificates`
    );
    expect(run.stdout).toContain(
      "    fix: Remove aws_client_parameters.verify from the block (or the pool's aws_credentials)"
    );
    expect(run.stdout).toContain(`✔ assumeRoleArns lists ${POOL_ROLE}: ASSUME_ROLE_ARNS lists it`);
    expect(run.stdout).toContain(
      `✔ AssumeRole ${POOL_ROLE} (region ${POOL_REGION}): assumed as arn:aws:iam::123456789012:user/standin: arn:aws:sts::${POOL_ACCOUNT}:assumed-role/prefect-pools/doctor-check, account ${POOL_ACCOUNT}, region ${POOL_REGION}`
    );
    expect(run.stdout).toContain(
      `✔ ECS cluster '${CLUSTER}' (${where}): ACTIVE, arn:aws:ecs:${POOL_REGION}:${POOL_ACCOUNT}:cluster/${CLUSTER}`
    );
    expect(run.stdout).toContain(`✔ Default VPC (${where}): ${tenant.ec2.defaultVpcId} exists`);
    expect(run.stdout).toMatch(/All \d+ checks passed \(1 with a warning\)\./);
    // the cluster was asked for in the pool's account and region (twice: text, then --json)
    expect(tenant.callsTo('DescribeClusters').length).toBe(describedBefore + 2);
    const credentials = check(report.checks, `AWS credentials of '${pool}'`);
    expect(credentials).toMatchObject({ ok: true, warning: true });
  });

  it('fails a role the stack may not assume, naming the stack parameter assumeRoleArns', async () => {
    // Prepare
    const pool = 'pool-role-not-listed';
    await seedPoolWithCredentials(pool, blockRef('pool-role'), poolAccountJobVariables);
    const listed = `arn:aws:iam::${POOL_ACCOUNT}:role/some-other-role`;
    const env = { ...healthyEnv(), PREFECT_WORK_POOLS: pool, ASSUME_ROLE_ARNS: listed };
    // Act
    const report = await runDoctorJson(env);
    // Assess
    expect(report.code).toBe(1);
    expect(failedNames(report.checks)).toEqual([`assumeRoleArns lists ${POOL_ROLE}`]);
    const allowed = check(report.checks, `assumeRoleArns lists ${POOL_ROLE}`);
    expect(allowed.detail).toContain(
      'ASSUME_ROLE_ARNS (the stack parameter assumeRoleArns) does not list it'
    );
    expect(allowed.detail).toContain(`pool '${pool}' (its default)`);
    expect(allowed.fix).toBe(
      `Add ${POOL_ROLE} to the stack parameter assumeRoleArns and deploy again (\`--param assumeRoleArns=${listed},${POOL_ROLE}\`).`
    );
  });

  it('fails AssumeRole refused by the trust policy with the trust-policy fix, and skips that scope', async () => {
    // Prepare
    const pool = 'pool-untrusting-role';
    await seedPoolWithCredentials(pool, blockRef('untrusting'), poolAccountJobVariables);
    const env = { ...healthyEnv(), PREFECT_WORK_POOLS: pool };
    // Act
    const report = await runDoctorJson(env);
    // Assess
    expect(report.code).toBe(1);
    const name = `AssumeRole ${UNTRUSTING_ROLE} (region ${POOL_REGION})`;
    expect(failedNames(report.checks)).toEqual([name]);
    const assume = check(report.checks, name);
    expect(assume.detail).toContain(
      `Could not assume ${UNTRUSTING_ROLE}: AccessDenied: User: arn:aws:iam::123456789012:user/standin is not authorized to perform: sts:AssumeRole on resource: ${UNTRUSTING_ROLE}`
    );
    expect(assume.fix).toContain(
      `Let the trust policy of ${UNTRUSTING_ROLE} allow sts:AssumeRole to the stack's poller, launcher and reporter roles (the stack output FunctionRoleArns)`
    );
    expect(assume.fix).toContain('infra/member-account/functions-role.yml');
    expect(assume.fix).toContain('asked as arn:aws:iam::123456789012:user/standin');
    expect(
      check(
        report.checks,
        `ECS clusters and network (account ${POOL_ACCOUNT}, region ${POOL_REGION})`
      )
    ).toMatchObject({ skipped: true, detail: `${name} failed` });
  });

  it('fails profile_name, saying what to use instead', async () => {
    // Prepare
    const pool = 'pool-profile-name';
    await seedPoolWithCredentials(
      pool,
      { profile_name: 'data-prod', region_name: POOL_REGION },
      { cluster: CLUSTER }
    );
    const env = { ...healthyEnv(), PREFECT_WORK_POOLS: pool };
    // Act
    const run = await runDoctor(env);
    // Assess
    expect(run.code).toBe(1);
    expect(run.stdout).toContain(
      `✘ AWS credentials of '${pool}': the job variable "aws_credentials" (an AWS Credentials block): profile_name "data-prod" cannot be used by a serverless worker. Named profiles live in ~/.aws/config`
    );
    expect(run.stdout).toContain(
      'Use assume_role_arn with a role listed in the stack parameter assumeRoleArns'
    );
    expect(run.stdout).toContain(
      `    fix: Change the default of the variable aws_credentials in the base job template of '${pool}'`
    );
    // its deployment, which inherits the default, cannot launch either
    expect(run.stdout).toContain(
      `✘ Template of '${pool}' for '${pool}-deployment-flow/${pool}-deployment'`
    );
  });

  it('checks static keys with their own identity, showing only the last 4 characters of the key id', async () => {
    // Prepare
    const pool = 'pool-static-keys';
    await seedPoolWithCredentials(pool, blockRef('static-keys'), {
      cluster: CLUSTER,
      execution_role_arn: executionRoleArn,
    });
    const env = { ...healthyEnv(), PREFECT_WORK_POOLS: pool };
    // Act
    const run = await runDoctor(env);
    // Assess
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toContain(
      `✔ AWS credentials of '${pool}': uses static access key …K3Y9; region ${REGION} (the functions' own)`
    );
    expect(run.stdout).toContain(
      `✔ Static access key …K3Y9 (region ${REGION}): arn:aws:iam::123456789012:user/standin, account 123456789012`
    );
    expect(run.stdout).toContain(
      `✔ ECS cluster '${CLUSTER}' (account 123456789012, region ${REGION}): ACTIVE`
    );
    expect(run.stdout + run.stderr).not.toContain(STATIC_KEYS.aws_secret_access_key);
    expect(run.stdout + run.stderr).not.toContain(STATIC_KEYS.aws_access_key_id);
  });
});

describe('trust policy decision', () => {
  it('accepts ecs-tasks in a list, with conditions, and refuses a deny or another service', () => {
    // Prepare
    const policy = (statements: unknown[]) => JSON.stringify({ Statement: statements });
    const allow = {
      Effect: 'Allow',
      Principal: { Service: ['ecs-tasks.amazonaws.com', 'lambda.amazonaws.com'] },
      Action: ['sts:AssumeRole'],
    };
    // Act / Assess
    expect(trustsEcsTasks(policy([allow]))).toEqual({ trusted: true, conditional: false });
    expect(
      trustsEcsTasks(
        policy([{ ...allow, Condition: { StringEquals: { 'aws:SourceAccount': '1' } } }])
      )
    ).toEqual({ trusted: true, conditional: true });
    expect(trustsEcsTasks(policy([allow, { ...allow, Effect: 'Deny' }])).trusted).toBe(false);
    expect(
      trustsEcsTasks(policy([{ ...allow, Principal: { Service: 'lambda.amazonaws.com' } }])).trusted
    ).toBe(false);
    expect(trustsEcsTasks(policy([{ ...allow, Action: 'sts:*' }])).trusted).toBe(true);
    expect(trustsEcsTasks('not json').trusted).toBe(false);
  });
});
