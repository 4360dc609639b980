/**
 * The `prefectSettings` stack parameter: infra/parameters.cjs driven as osls calls it (offline,
 * `osls package`), its output handed to the launcher as FLOW_RUN_PREFECT_SETTINGS and read by
 * `loadConfig`; serverless.yml wires that variable onto the launcher.
 */
// biome-ignore-all lint/suspicious/noTemplateCurlyInString: an osls variable in serverless.yml
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../shared/config.ts';
import { SERVICE_DIR } from './osls-package.ts';

const resolveParameters = createRequire(import.meta.url)(
  '../../infra/parameters.cjs'
) as (context: {
  resolveVariable: (expression: string) => Promise<unknown>;
}) => Promise<Record<string, unknown>>;

const REQUIRED: Record<string, unknown> = {
  prefectApiUrl: 'https://api.prefect.cloud/api/accounts/a/workspaces/w',
  workPools: 'etl',
  ecsClusters: 'default',
  taskLogGroups: 'prefect',
  prefectAuth: 'apiKey',
  secretStore: 'ssm',
  ec2NetworkDiscovery: 'true',
  logLevel: 'INFO',
};

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

/** The parameters as `osls package` resolves them (no AWS), or the error it stops with. */
const resolve = async (prefectSettings: unknown) => {
  const defaults = await defaultParams();
  const params: Record<string, unknown> = { ...REQUIRED, prefectSettings };
  const saved = process.argv;
  process.argv = ['node', 'osls', 'package'];
  try {
    return await resolveParameters({
      resolveVariable: async (expression) => {
        if (expression === 'self:service') return 'prefect-ecs-serverless';
        if (expression === 'sls:stage') return 'prod';
        if (expression.startsWith('cf:')) return null;
        const name = /^param:(\w+)/.exec(expression)?.[1] ?? '';
        return params[name] ?? defaults.get(name) ?? '';
      },
    });
  } finally {
    process.argv = saved;
  }
};

const launcherConfig = (flowRunPrefectSettings: unknown) =>
  loadConfig({
    PREFECT_API_URL: String(REQUIRED.prefectApiUrl),
    PREFECT_API_KEY_SECRET_ARN: 'arn:aws:ssm:us-east-1:123456789012:parameter/prefect-api-key',
    PREFECT_WORK_POOLS: 'etl',
    LAUNCH_QUEUE_URL: 'https://sqs.us-east-1.amazonaws.com/123456789012/launch',
    AWS_REGION: 'us-east-1',
    FLOW_RUN_PREFECT_SETTINGS: String(flowRunPrefectSettings),
  });

describe('prefectSettings parameter', () => {
  it('defaults to none: the launcher forwards only PREFECT_API_URL', async () => {
    // Act
    const resolved = await resolve('');
    // Assess
    expect(resolved.flowRunPrefectSettings).toBe('');
    expect(launcherConfig(resolved.flowRunPrefectSettings).prefectSettings).toEqual({
      PREFECT_API_URL: REQUIRED.prefectApiUrl,
    });
  });

  it('takes a JSON object from --param, and a mapping from params:, by canonical name', async () => {
    // Act
    const fromCli = await resolve(
      '{"PREFECT_LOGGING_LEVEL":"DEBUG","PREFECT_FLOW_DEFAULT_RETRIES":2,"PREFECT_CLIENT_CUSTOM_HEADERS":{"X-Env":"prod"}}'
    );
    const fromYaml = await resolve({
      PREFECT_LOGGING_LEVEL: 'DEBUG',
      PREFECT_FLOW_DEFAULT_RETRIES: 2,
    });
    // Assess
    expect(launcherConfig(fromCli.flowRunPrefectSettings).prefectSettings).toEqual({
      PREFECT_API_URL: REQUIRED.prefectApiUrl,
      PREFECT_CLIENT_CUSTOM_HEADERS: '{"X-Env":"prod"}',
      PREFECT_FLOWS_DEFAULT_RETRIES: '2',
      PREFECT_LOGGING_LEVEL: 'DEBUG',
    });
    expect(launcherConfig(fromYaml.flowRunPrefectSettings).prefectSettings).toMatchObject({
      PREFECT_FLOWS_DEFAULT_RETRIES: '2',
      PREFECT_LOGGING_LEVEL: 'DEBUG',
    });
  });

  it('refuses credentials, PREFECT_API_URL and names that are not settings, quoting no value', async () => {
    // Act
    const outcome = await resolve(
      '{"PREFECT_API_KEY":"pnu_secret-value","PREFECT_API_URL":"https://x/api","PREFECT_WORK_POOLS":"secret-value"}'
    ).catch((error: Error) => error);
    // Assess
    expect(outcome).toBeInstanceOf(Error);
    const text = (outcome as Error).message;
    expect(text).toContain('prefectSettings: may not set PREFECT_API_KEY');
    expect(text).toContain('prefectSettings: may not set PREFECT_API_URL');
    expect(text).toContain('prefectSettings: PREFECT_WORK_POOLS is not a Prefect setting');
    expect(text).not.toContain('secret-value');
  });

  it('refuses what is not a JSON object', async () => {
    // Act
    const outcome = await resolve('PREFECT_LOGGING_LEVEL=DEBUG').catch((error: Error) => error);
    // Assess
    expect((outcome as Error).message).toContain('prefectSettings: must be a JSON object');
  });

  it('is wired onto the launcher as FLOW_RUN_PREFECT_SETTINGS, and only there', async () => {
    // Act
    const text = await readFile(join(SERVICE_DIR, 'serverless.yml'), 'utf8');
    // Assess
    const wired = text.match(/^ +FLOW_RUN_PREFECT_SETTINGS: (.*)$/gm) ?? [];
    expect(wired).toEqual([
      '      FLOW_RUN_PREFECT_SETTINGS: ${file(infra/parameters.cjs):flowRunPrefectSettings}',
    ]);
    const launcher = text.slice(text.indexOf('\n  launcher:'), text.indexOf('\n  reporter:'));
    expect(launcher).toContain('FLOW_RUN_PREFECT_SETTINGS:');
  });
});
