import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  decidePoolAwsCredentials,
  probePoolAwsCredentials,
} from '../../../../shared/doctor/check-aws-credentials.ts';
import { PermanentLaunchError } from '../../../../shared/errors/permanent-launch-error.ts';
import type { TemplateLookups } from '../../../../shared/jobs/template-lookups.ts';

const ROLE = 'arn:aws:iam::210987654321:role/prefect-pools';
const BLOCK_ID = '5b1d7c2e-0c1f-4a8e-9d3b-2f6a4e8c1b70';
const SECRET = 'unit-SecretAccessKeyNeverShown-0a9b';

/** The current default template, with this `aws_credentials` default. */
const workPool = (credentials: unknown) => {
  const template = JSON.parse(
    readFileSync(
      new URL('../../../fixtures/prefect/ecs-base-job-template.current.json', import.meta.url),
      'utf8'
    )
  ) as { variables: { properties: Record<string, Record<string, unknown>> } };
  template.variables.properties.aws_credentials = {
    ...template.variables.properties.aws_credentials,
    default: credentials,
  };
  return {
    id: '0f6c2a4e-3b5d-4c7e-8f9a-1b2c3d4e5f60',
    name: 'ecs',
    base_job_template: template as unknown as Record<string, unknown>,
  };
};

/** Lookups that know one block document. */
const lookupsWith = (data: Record<string, unknown>): TemplateLookups => ({
  readVariable: async () => undefined,
  readBlockDocument: async (id) => (id === BLOCK_ID ? { data } : undefined),
  readBlockDocumentByName: async () => undefined,
});

const settings = { templateEnvironment: {}, templateEnvAllowlist: [] };

describe('probePoolAwsCredentials', () => {
  it("reads the template's default through its block reference, as the launcher does", async () => {
    // Prepare
    const pool = workPool({ $ref: { block_document_id: BLOCK_ID } });
    const lookups = lookupsWith({ assume_role_arn: ROLE, region_name: 'eu-west-1' });
    // Act
    const outcome = await probePoolAwsCredentials(pool, settings, lookups);
    // Assess
    expect(outcome).toMatchObject({
      ok: true,
      settings: { region: 'eu-west-1', assumeRole: { RoleArn: ROLE } },
    });
  });

  it('answers null settings for a pool without a default', async () => {
    // Act
    const outcome = await probePoolAwsCredentials(workPool(undefined), settings, lookupsWith({}));
    // Assess
    expect(outcome).toEqual({ ok: true, settings: null });
  });

  it('answers the error for profile_name and for a block that does not exist', async () => {
    // Act
    const profile = await probePoolAwsCredentials(
      workPool({ profile_name: 'dev' }),
      settings,
      lookupsWith({})
    );
    const missing = await probePoolAwsCredentials(
      workPool({ $ref: { block_document_id: '9e8d7c6b-5a4f-4e3d-8c2b-1a0f9e8d7c6b' } }),
      settings,
      lookupsWith({})
    );
    // Assess
    expect(profile.ok).toBe(false);
    expect(!profile.ok && profile.error).toBeInstanceOf(PermanentLaunchError);
    expect(missing.ok).toBe(false);
    expect(!missing.ok && (missing.error as Error).name).toBe('TemplateError');
  });
});

describe('decidePoolAwsCredentials', () => {
  it("passes a pool without aws_credentials: the functions' own role and region", () => {
    // Act
    const result = decidePoolAwsCredentials('ecs', 'us-east-1', { ok: true, settings: null });
    // Assess
    expect(result).toEqual({
      name: "AWS credentials of 'ecs'",
      ok: true,
      detail:
        "not set: the functions' own role, region us-east-1 (the pool's default; a deployment may set its own with the job variable aws_credentials)",
    });
  });

  it('warns about fields with no effect, naming each, and passes otherwise', async () => {
    // Prepare
    const ignoring = await probePoolAwsCredentials(
      workPool({
        assume_role_arn: ROLE,
        aws_client_parameters: { api_version: '2014-11-13', config: { signature_version: 'v4' } },
      }),
      settings,
      lookupsWith({})
    );
    const clean = await probePoolAwsCredentials(
      workPool({ assume_role_arn: ROLE }),
      settings,
      lookupsWith({})
    );
    // Act
    const warned = decidePoolAwsCredentials('ecs', 'us-east-1', ignoring);
    const passed = decidePoolAwsCredentials('ecs', 'us-east-1', clean);
    // Assess
    expect(warned).toMatchObject({ ok: true, warning: true });
    expect(warned.detail.split('\n')).toEqual([
      `assumes ${ROLE} (STS AssumeRole as the functions' own role); region us-east-1 (the functions' own) (the pool's default; a deployment may set its own with the job variable aws_credentials)`,
      'ignored: aws_client_parameters.api_version: the Node SDK has one API version per service',
      'ignored: aws_client_parameters.config.signature_version: no equivalent in the Node SDK',
    ]);
    expect(warned.fix).toBe(
      "Remove aws_client_parameters.api_version, aws_client_parameters.config.signature_version from the block (or the pool's aws_credentials): the serverless launcher cannot apply them."
    );
    expect(passed).toMatchObject({ ok: true });
    expect(passed.warning).toBeUndefined();
  });

  it('fails profile_name with the message that says what to use, and the place to change', async () => {
    // Prepare
    const outcome = await probePoolAwsCredentials(
      workPool({ profile_name: 'dev' }),
      settings,
      lookupsWith({})
    );
    // Act
    const result = decidePoolAwsCredentials('ecs', 'us-east-1', outcome);
    // Assess
    expect(result.ok).toBe(false);
    expect(result.detail).toContain('profile_name "dev" cannot be used by a serverless worker');
    expect(result.detail).toContain('Use assume_role_arn');
    expect(result.fix).toContain(
      "Change the default of the variable aws_credentials in the base job template of 'ecs'"
    );
  });

  it('never shows the secret key of a block with static keys', async () => {
    // Prepare
    const outcome = await probePoolAwsCredentials(
      workPool({ $ref: { block_document_id: BLOCK_ID } }),
      settings,
      lookupsWith({ aws_access_key_id: 'AKIAUNITTESTKEY4321', aws_secret_access_key: SECRET })
    );
    // Act
    const result = decidePoolAwsCredentials('ecs', 'us-east-1', outcome);
    // Assess
    expect(result.detail).toContain('uses static access key …4321');
    expect(JSON.stringify(result)).not.toContain(SECRET);
    expect(JSON.stringify(result)).not.toContain('AKIAUNITTESTKEY4321');
  });
});
