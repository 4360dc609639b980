/**
 * Secrets, the $0.80 of the old idle bill: by default the credentials are SSM SecureString
 * parameters the user creates (free), and an upgrade loses nothing. A stack an earlier version
 * deployed created `PrefectApiSecret` and `WebhookSecret` (its outputs `PrefectApiSecretArn` /
 * `WebhookSecretArn` say so); `osls deploy` keeps creating them (same logical ids: CloudFormation
 * keeps the secrets and their values), now with DeletionPolicy and UpdateReplacePolicy Retain, so
 * that dropping them later (`secretStore=ssm`) never deletes one. Driven through infra/parameters.cjs
 * as osls calls it on `osls deploy` (the `cf:` answers are the deployed stack's outputs), and through
 * the packaged template with `secretStore=secretsmanager`.
 */
// biome-ignore-all lint/suspicious/noTemplateCurlyInString: CloudFormation Fn::Sub strings
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  actionsOf,
  type CfnTemplate,
  idsOfType,
  resourceOf,
  resourcesOf,
  roleOfFunction,
  statementsOfRole,
} from './cfn-template.ts';
import { effectiveTemplate } from './effective-template.ts';
import { type PackagedService, packageService, SERVICE_DIR } from './osls-package.ts';

type Resolved = Record<string, unknown> & { conditions: Record<string, string> };
const resolveParameters = createRequire(import.meta.url)(
  '../../infra/parameters.cjs'
) as (context: { resolveVariable: (expression: string) => Promise<unknown> }) => Promise<Resolved>;

const STACK = 'prefect-ecs-serverless-prod';
const OLD_PREFECT = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:PrefectApiSecret-AbCdEf';
const OLD_WEBHOOK = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:WebhookSecret-GhIjKl';

/** serverless.yml's `params.default`, as osls reads them. */
const defaultParams = async (): Promise<Map<string, string>> => {
  const text = await readFile(join(SERVICE_DIR, 'serverless.yml'), 'utf8');
  const block = /^params:\n {2}default:\n((?: {4}.*\n| *#.*\n)+)/m.exec(text)?.[1] ?? '';
  return new Map(
    [...block.matchAll(/^ {4}(\w+): (?:"([^"]*)"|([^\s#]+))/gm)].map((match) => [
      match[1] ?? '',
      match[2] ?? match[3] ?? '',
    ])
  );
};

/**
 * Resolves the parameters as `osls deploy --stage prod` would, `outputs` being the deployed stack's
 * (none: no stack yet). Returns them and every `cf:` lookup made.
 */
const resolveOnDeploy = async (
  params: Record<string, string>,
  outputs: Record<string, string> | undefined,
  argv = ['node', 'osls', 'deploy', '--stage', 'prod']
) => {
  const defaults = await defaultParams();
  const lookups: string[] = [];
  const saved = process.argv;
  process.argv = argv; // isDeploy() reads the osls command line
  const resolved = await resolveParameters({
    resolveVariable: async (expression) => {
      if (expression === 'self:service') return 'prefect-ecs-serverless';
      if (expression === 'sls:stage') return 'prod';
      const cf = /^cf:([^.]+)\.(\w+), ''$/.exec(expression);
      if (cf) {
        lookups.push(`${cf[1]}.${cf[2]}`);
        return cf[1] === STACK ? (outputs?.[cf[2] ?? ''] ?? null) : null;
      }
      const name = /^param:(\w+)/.exec(expression)?.[1] ?? '';
      return params[name] ?? defaults.get(name) ?? '';
    },
  }).finally(() => {
    process.argv = saved;
  });
  return { resolved, lookups };
};

const REQUIRED = {
  prefectApiUrl: 'https://api.prefect.cloud/api/accounts/a/workspaces/w',
  workPools: 'etl',
};

describe('upgrading a stack that created its Secrets Manager secrets', () => {
  it('keeps both secrets (default secretStore=auto), and the functions keep reading them', async () => {
    // Act
    const { resolved, lookups } = await resolveOnDeploy(REQUIRED, {
      PrefectApiSecretArn: OLD_PREFECT,
      WebhookSecretArn: OLD_WEBHOOK,
    });
    // Assess
    expect(lookups).toEqual([`${STACK}.PrefectApiSecretArn`, `${STACK}.WebhookSecretArn`]);
    expect(resolved.conditions).toMatchObject({
      createPrefectApiSecret: 'true',
      createWebhookSecret: 'true',
      createsSecret: 'true',
    });
    expect(resolved.prefectApiKeySecretArn).toEqual({ Ref: 'PrefectApiSecret' });
    expect(resolved.webhookSecretArn).toEqual({ Ref: 'WebhookSecret' });
    expect(resolved.prefectSecretReadAction).toBe('secretsmanager:GetSecretValue');
  });

  it('with secretStore=ssm keeps them one more deploy while the deployed template does not retain them', async () => {
    // Act
    const { resolved } = await resolveOnDeploy(
      { ...REQUIRED, secretStore: 'ssm' },
      { PrefectApiSecretArn: OLD_PREFECT, WebhookSecretArn: OLD_WEBHOOK }
    );
    // Assess
    expect(resolved.conditions).toMatchObject({
      createPrefectApiSecret: 'true',
      createWebhookSecret: 'true',
    });
  });

  it('with secretStore=ssm drops them once the deployed template retains them, and reads SSM', async () => {
    // Act
    const { resolved } = await resolveOnDeploy(
      { ...REQUIRED, secretStore: 'ssm' },
      {
        PrefectApiSecretArn: OLD_PREFECT,
        WebhookSecretArn: OLD_WEBHOOK,
        SecretsRetainedOnRemoval: 'true',
      }
    );
    // Assess
    expect(resolved.conditions).toMatchObject({
      createPrefectApiSecret: 'false',
      createWebhookSecret: 'false',
      createsSecret: 'false',
    });
    expect(resolved.prefectApiKeySecretArn).toEqual({
      'Fn::Sub':
        'arn:${AWS::Partition}:ssm:${AWS::Region}:${AWS::AccountId}:parameter/prefect-ecs-serverless/prod/prefect-api-key',
    });
    expect(resolved.prefectSecretReadAction).toBe('ssm:GetParameter');
    expect(resolved.prefectSecretInjectAction).toBe('ssm:GetParameters');
    expect(resolved.webhookSecretReadAction).toBe('ssm:GetParameter');
  });

  it('a new stack uses the SSM parameters and creates no secret', async () => {
    // Act
    const { resolved, lookups } = await resolveOnDeploy(REQUIRED, undefined);
    // Assess
    expect(lookups).toHaveLength(2);
    expect(resolved.conditions).toMatchObject({ createsSecret: 'false' });
    expect(resolved.ssmParameterNames).toBe(
      '/prefect-ecs-serverless/prod/prefect-api-key,/prefect-ecs-serverless/prod/webhook-secret'
    );
  });

  it('osls package never asks CloudFormation (it runs offline)', async () => {
    // Act
    const { resolved, lookups } = await resolveOnDeploy(REQUIRED, undefined, [
      'node',
      'osls',
      'package',
    ]);
    // Assess
    expect(lookups).toEqual([]);
    expect(resolved.conditions.createsSecret).toBe('false');
  });

  it('given ARNs win over every store, SSM or Secrets Manager', async () => {
    // Prepare
    const parameter = 'arn:aws:ssm:us-east-1:123456789012:parameter/team/prefect-key';
    // Act
    const { resolved, lookups } = await resolveOnDeploy(
      { ...REQUIRED, prefectApiSecretArn: parameter, webhookSecretArn: OLD_WEBHOOK },
      { PrefectApiSecretArn: OLD_PREFECT, WebhookSecretArn: OLD_WEBHOOK }
    );
    // Assess
    expect(lookups).toEqual([]);
    expect(resolved.prefectApiKeySecretArn).toBe(parameter);
    expect(resolved.prefectSecretReadAction).toBe('ssm:GetParameter');
    expect(resolved.webhookSecretArn).toBe(OLD_WEBHOOK);
    expect(resolved.webhookSecretReadAction).toBe('secretsmanager:GetSecretValue');
  });
});

describe('secretStore=secretsmanager, packaged', () => {
  let packaged: PackagedService;
  let deployed: CfnTemplate;

  beforeAll(async () => {
    // Prepare
    packaged = await packageService({ params: { secretStore: 'secretsmanager' } });
    deployed = effectiveTemplate(packaged.template);
  }, 180_000);

  afterAll(async () => {
    await packaged?.dispose();
  });

  it('creates both secrets, retained on removal and replacement, and says so in an output', () => {
    // Assess
    for (const id of ['PrefectApiSecret', 'WebhookSecret']) {
      expect(resourceOf(deployed, id)).toMatchObject({
        DeletionPolicy: 'Retain',
        UpdateReplacePolicy: 'Retain',
      });
    }
    expect(deployed.Outputs?.SecretsRetainedOnRemoval).toMatchObject({ Value: 'true' });
    expect(Object.keys(deployed.Outputs ?? {})).toEqual(
      expect.arrayContaining(['PrefectApiSecretArn', 'WebhookSecretArn'])
    );
  });

  it('creates the Prefect secret empty and lets Secrets Manager generate the webhook secret', () => {
    // Arrange
    const propertiesOf = (id: string) =>
      resourceOf(deployed, id).Properties as Record<string, unknown>;
    // Assess
    expect(propertiesOf('PrefectApiSecret')).not.toHaveProperty('SecretString');
    expect(propertiesOf('PrefectApiSecret')).not.toHaveProperty('GenerateSecretString');
    expect(propertiesOf('WebhookSecret')).not.toHaveProperty('SecretString');
    expect(propertiesOf('WebhookSecret').GenerateSecretString).toEqual({
      PasswordLength: 48,
      ExcludePunctuation: true,
    });
  });

  it('lets each function read the created Prefect secret, and the webhook its own, with GetSecretValue only', () => {
    // Assess
    for (const id of [
      'PollerLambdaFunction',
      'LauncherLambdaFunction',
      'ReporterLambdaFunction',
      'WebhookLambdaFunction',
    ]) {
      const statements = statementsOfRole(deployed, roleOfFunction(deployed, id));
      const reads = statements
        .filter((s) => actionsOf(s).includes('secretsmanager:GetSecretValue'))
        .flatMap(resourcesOf);
      expect(reads).toEqual(
        id === 'WebhookLambdaFunction'
          ? [{ Ref: 'WebhookSecret' }, { Ref: 'PrefectApiSecret' }]
          : [{ Ref: 'PrefectApiSecret' }]
      );
      expect(statements.flatMap(actionsOf).filter((a) => a.startsWith('ssm:'))).toEqual([]);
    }
    expect(idsOfType(deployed, 'AWS::SecretsManager::Secret').sort()).toEqual([
      'PrefectApiSecret',
      'WebhookSecret',
    ]);
  });
});
