/**
 * Job-configuration resolution through the real Prefect client against the Prefect stand-in
 * (test/standins/prefect/server.ts): blocks by name and by `$ref` id with secrets, variables, 404s
 * as "missing", each block read once per resolution. Seeded with the client's own admin calls.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTemplateLookups } from '../../shared/jobs/create-template-lookups.ts';
import { resolveJobConfiguration } from '../../shared/jobs/resolve-job-configuration.ts';
import { TemplateError } from '../../shared/jobs/template-error.ts';
import { createPrefectClient, type PrefectClient } from '../../shared/prefect/client.ts';
import { type PrefectStandin, startPrefectStandin } from '../standins/prefect/server.ts';

const AUTH_STRING = 'admin:integration-secret-pass';
const POOL = 'ecs-lookups';
const REGISTRY = '123456789012.dkr.ecr.eu-west-1.amazonaws.com';

const secretSchemaFields = {
  title: 'Secret',
  type: 'object',
  properties: { value: { title: 'Value', type: 'string', format: 'password', writeOnly: true } },
  required: ['value'],
  secret_fields: ['value'],
  block_schema_references: {},
};
const awsCredentialsFields = {
  title: 'AwsCredentials',
  type: 'object',
  properties: {
    region_name: { title: 'Region Name', type: 'string' },
    aws_secret_access_key: { title: 'Secret', type: 'string', format: 'password', writeOnly: true },
  },
  secret_fields: ['aws_secret_access_key'],
  block_schema_references: {},
};

let prefect: PrefectStandin;
let client: PrefectClient;
let credentialsId: string;

/**
 * The current default template, with an `aws_credentials` default that references a block and a
 * task-definition `cpu` taken from a variable.
 */
const poolTemplate = (blockDocumentId: string): Record<string, unknown> => {
  const template = JSON.parse(
    readFileSync(
      new URL('../fixtures/prefect/ecs-base-job-template.current.json', import.meta.url),
      'utf8'
    )
  ) as {
    job_configuration: { task_definition: Record<string, unknown> };
    variables: { properties: Record<string, Record<string, unknown>> };
  };
  template.job_configuration.task_definition.cpu = '{{ prefect.variables.etl_cpu }}';
  template.variables.properties.aws_credentials = {
    ...template.variables.properties.aws_credentials,
    default: { $ref: { block_document_id: blockDocumentId } },
  };
  return template;
};

/** A deployment and one flow run with these job variables, read back as the launcher would. */
const seedRun = async (name: string, jobVariables: Record<string, unknown>) => {
  const flow = await client.createFlow({ name: `flow-${name}` });
  const created = await client.createDeployment({
    name,
    flowId: flow.id,
    workPoolName: POOL,
    workQueueName: 'default',
    jobVariables,
  });
  const run = await client.createFlowRunFromDeployment(created.id, { parameters: {} });
  return {
    workPool: await client.readWorkPool(POOL),
    deployment: await client.readDeployment(created.id),
    flow: await client.readFlow(flow.id),
    flowRun: await client.readFlowRun(run.id),
  };
};

const resolveFor = async (objects: Awaited<ReturnType<typeof seedRun>>) =>
  resolveJobConfiguration(
    {
      ...objects,
      workerName: 'ecs-serverless-lambda',
      prefectEnvironment: { PREFECT_API_URL: prefect.apiUrl },
    },
    { lookups: createTemplateLookups(client) }
  );

beforeAll(async () => {
  prefect = await startPrefectStandin({ authString: AUTH_STRING });
  client = createPrefectClient({ apiUrl: prefect.apiUrl, authString: AUTH_STRING });

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
  const awsType = await client.createBlockType({
    name: 'AWS Credentials',
    slug: 'aws-credentials',
  });
  const awsSchema = await client.createBlockSchema({
    blockTypeId: awsType.id,
    fields: awsCredentialsFields,
  });
  const credentials = await client.createBlockDocument({
    name: 'prod',
    data: { region_name: 'eu-west-1', aws_secret_access_key: 'wJalrXUtnFEMI' },
    blockSchemaId: awsSchema.id,
    blockTypeId: awsType.id,
  });
  credentialsId = credentials.id;
  await client.createVariable({ name: 'ecs_cluster', value: 'prefect-cluster' });
  await client.createVariable({ name: 'etl_cpu', value: 2048 });

  await client.createWorkPool({
    name: POOL,
    type: 'ecs',
    baseJobTemplate: poolTemplate(credentialsId),
  });
});

afterAll(async () => {
  await prefect.close();
});

describe('template lookups through the Prefect client', () => {
  it('resolves blocks (by name and $ref, secrets included) and variables, each block read once', async () => {
    // Prepare
    const objects = await seedRun('lookups', {
      image: '{{ prefect.blocks.secret.registry }}/etl:1',
      env: {
        REGISTRY: '{{ prefect.blocks.secret.registry }}',
        TAG: '{{ prefect.variables.missing_tag }}',
      },
      cluster: '{{ prefect.variables.ecs_cluster }}',
    });
    const before = prefect.requests.length;
    // Act
    const { configuration } = await resolveFor(objects);
    // Assess
    expect(configuration.task_definition).toMatchObject({
      containerDefinitions: [{ image: `${REGISTRY}/etl:1` }],
      cpu: 2048,
    });
    expect(configuration.cluster).toBe('prefect-cluster');
    expect(configuration.task_run_request).toMatchObject({ cluster: 'prefect-cluster' });
    expect(configuration.env).toMatchObject({ REGISTRY, TAG: '' });
    expect(configuration.extra.aws_credentials).toEqual({
      region_name: 'eu-west-1',
      aws_secret_access_key: 'wJalrXUtnFEMI',
    });
    const reads = prefect.requests
      .slice(before)
      .map((request) => `${request.status} ${request.url}`);
    expect(reads.sort()).toEqual(
      [
        `200 /api/block_documents/${credentialsId}?include_secrets=true`,
        '200 /api/block_types/slug/secret/block_documents/name/registry?include_secrets=true',
        '404 /api/variables/name/missing_tag',
        '200 /api/variables/name/ecs_cluster',
        '200 /api/variables/name/etl_cpu',
      ].sort()
    );
  });

  it('a block that does not exist is a TemplateError naming the placeholder and the job variable', async () => {
    // Prepare
    const objects = await seedRun('missing-block', {
      image: '{{ prefect.blocks.secret.deleted }}/etl:1',
    });
    // Act
    const error = await resolveFor(objects).catch((caught: unknown) => caught);
    // Assess
    expect(error).toBeInstanceOf(TemplateError);
    expect(error).toMatchObject({
      retryable: false,
      variable: 'image',
      placeholder: '{{ prefect.blocks.secret.deleted }}',
      templatePath: 'job_configuration.task_definition.containerDefinitions[0].image',
    });
  });
});
