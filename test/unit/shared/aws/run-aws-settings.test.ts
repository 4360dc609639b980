import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { createRunAwsSettings } from '../../../../shared/aws/run-aws-settings.ts';
import { awsTargetOf, taskDefinitionOptionsFor } from '../../../../shared/aws/run-aws-target.ts';
import type { TemplateLookups } from '../../../../shared/jobs/template-lookups.ts';
import { PrefectNotFoundError } from '../../../../shared/prefect/prefect-api-error.ts';
import type { Deployment, WorkPool } from '../../../../shared/prefect/schemas.ts';

const ROLE = 'arn:aws:iam::210987654321:role/prefect-member';
const BLOCK_ID = '5b1d5a2e-0000-4000-8000-000000000001';
const template = JSON.parse(
  readFileSync(
    new URL('../../../fixtures/prefect/ecs-base-job-template.current.json', import.meta.url),
    'utf8'
  )
);

/** The current default template, its aws_credentials defaulting to a block (as `prefect work-pool create --provision-infra` sets it). */
const poolWithBlock = (): WorkPool =>
  ({
    id: 'pool-id',
    name: 'member',
    type: 'ecs',
    base_job_template: {
      ...template,
      variables: {
        ...template.variables,
        properties: {
          ...template.variables.properties,
          aws_credentials: {
            ...template.variables.properties.aws_credentials,
            default: { $ref: { block_document_id: BLOCK_ID } },
          },
        },
      },
    },
  }) as unknown as WorkPool;

const setup = (pool: WorkPool, deployment?: Partial<Deployment>) => {
  const reads: string[] = [];
  const clock = { now: 0 };
  const lookups: TemplateLookups = {
    readVariable: async () => undefined,
    readBlockDocument: async (id) => {
      reads.push(`block ${id}`);
      return { data: { assume_role_arn: ROLE, region_name: 'eu-west-1' } } as never;
    },
    readBlockDocumentByName: async () => undefined,
  };
  const settings = createRunAwsSettings({
    prefect: {
      readWorkPool: async (name) => {
        reads.push(`pool ${name}`);
        return pool;
      },
      readDeployment: async (id) => {
        reads.push(`deployment ${id}`);
        if (!deployment)
          throw new PrefectNotFoundError(
            { operation: 'readDeployment', method: 'GET', path: `/deployments/${id}`, attempts: 1 },
            {
              status: 404,
              statusText: 'Not Found',
              detail: 'Deployment not found.',
              retryable: false,
            }
          );
        return { id, job_variables: {}, ...deployment } as Deployment;
      },
    },
    lookups,
    now: () => new Date(clock.now),
  });
  return { reads, clock, settings };
};

const run = { work_pool_name: 'member', deployment_id: 'dep-1', job_variables: {} };

describe('createRunAwsSettings', () => {
  it("templates the run's aws_credentials from its pool's block, then serves it from memory", async () => {
    // Prepare
    const { settings, reads, clock } = setup(poolWithBlock(), {});
    // Act
    const first = await settings.settingsOf(run);
    await settings.settingsOf(run);
    const cachedReads = reads.length;
    clock.now += 61_000;
    await settings.settingsOf(run);
    // Assess
    expect(first).toMatchObject({ region: 'eu-west-1', assumeRole: { RoleArn: ROLE } });
    expect(cachedReads).toBe(3);
    expect(reads).toEqual([
      'pool member',
      'deployment dep-1',
      `block ${BLOCK_ID}`,
      'pool member',
      'deployment dep-1',
      `block ${BLOCK_ID}`,
    ]);
  });

  it("lets the deployment's and the run's job variables override the pool's default", async () => {
    // Prepare
    const { settings } = setup(poolWithBlock(), {
      job_variables: { aws_credentials: { region_name: 'ap-south-1' } },
    });
    // Act
    const fromDeployment = await settings.settingsOf(run);
    const fromRun = await settings.settingsOf({
      ...run,
      job_variables: { aws_credentials: null },
    });
    // Assess
    expect(fromDeployment).toMatchObject({ region: 'ap-south-1', assumeRole: undefined });
    expect(fromRun).toBeNull();
  });

  it('reads no deployment when the template has no aws_credentials', async () => {
    // Prepare
    const pool = poolWithBlock();
    const { aws_credentials: _, ...rest } = template.job_configuration;
    (pool.base_job_template as Record<string, unknown>).job_configuration = rest;
    const { settings, reads } = setup(pool, {});
    // Act
    const result = await settings.settingsOf(run);
    // Assess
    expect(result).toBeNull();
    expect(reads).toEqual(['pool member']);
  });

  it('takes a deleted deployment as one without job variables', async () => {
    // Prepare
    const { settings } = setup(poolWithBlock());
    // Act / Assess
    await expect(settings.settingsOf(run)).resolves.toMatchObject({ region: 'eu-west-1' });
  });
});

describe('taskDefinitionOptionsFor', () => {
  const defaults = {
    region: 'us-east-1',
    executionRoleArn: 'arn:aws:iam::123456789012:role/stack-execution',
    apiKeySecretArn: 'arn:aws:ssm:us-east-1:123456789012:parameter/prefect/api-key',
  };
  const configuration = {
    prefect_api_key_secret_arn: null,
    prefect_api_auth_string_secret_arn: null,
    execution_role_arn: null,
    task_definition: {},
  };

  it("drops the stack's execution role for a run in another account, and says why", () => {
    // Prepare
    const target = awsTargetOf(
      { extra: { aws_credentials: { assume_role_arn: ROLE, region_name: 'eu-west-1' } } },
      'us-east-1'
    );
    // Act
    const { options, warnings } = taskDefinitionOptionsFor(defaults, target, configuration);
    // Assess
    expect(options.region).toBe('eu-west-1');
    expect(options.executionRoleArn).toBeUndefined();
    expect(warnings).toHaveLength(2);
    expect(warnings[0]).toMatch(/account 210987654321.*Set execution_role_arn/);
    expect(warnings[1]).toMatch(/PREFECT_API_KEY.*prefect_api_key_secret_arn/);
    const own = taskDefinitionOptionsFor(defaults, target, {
      ...configuration,
      execution_role_arn: 'arn:aws:iam::210987654321:role/member-execution',
    });
    expect(own.options.executionRoleArn).toBeUndefined();
    expect(own.warnings.filter((w) => w.includes("stack's task execution role"))).toEqual([]);
  });

  it('changes nothing but the region for the home account', () => {
    // Prepare
    const target = awsTargetOf(
      { extra: { aws_credentials: { region_name: 'eu-west-1' } } },
      'us-east-1'
    );
    // Act
    const { options, warnings } = taskDefinitionOptionsFor(defaults, target, {
      ...configuration,
      prefect_api_key_secret_arn: 'arn:aws:secretsmanager:eu-west-1:210987654321:secret:k',
    });
    // Assess
    expect(options).toEqual({ ...defaults, region: 'eu-west-1' });
    expect(warnings).toEqual([]);
  });
});
