/**
 * Where the forwarded Prefect settings come from: the launcher's configuration (`loadConfig`) and the
 * launcher settings `render` reads from the local environment.
 */
import { describe, expect, it } from 'vitest';
import { UsageError } from '../../../../cli/cli-command.ts';
import { renderSettingsFromEnv } from '../../../../cli/render-settings.ts';
import { loadConfig } from '../../../../shared/config.ts';
import { ConfigError } from '../../../../shared/errors/config-error.ts';

const SECRET_ARN = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:prefect-api-key-AbCdEf';

const launcherEnv = {
  PREFECT_API_URL: ' https://prefect.example.com/api ',
  PREFECT_API_KEY_SECRET_ARN: SECRET_ARN,
  PREFECT_WORK_POOLS: 'ecs',
  PREFECT_WORKER_NAME: 'lambda',
  LAUNCH_QUEUE_URL: 'https://sqs.us-east-1.amazonaws.com/123456789012/launch',
  AWS_REGION: 'us-east-1',
};

describe('loadConfig: prefectSettings', () => {
  it("holds the environment's Prefect settings, then FLOW_RUN_PREFECT_SETTINGS winning", () => {
    // Act
    const config = loadConfig({
      ...launcherEnv,
      PREFECT_LOGGING_LEVEL: 'INFO',
      PREFECT_CLIENT_MAX_RETRIES: '3',
      FLOW_RUN_PREFECT_SETTINGS:
        '{"PREFECT_LOGGING_LEVEL":"DEBUG","PREFECT_FLOW_DEFAULT_RETRIES":2}',
    });
    // Assess
    expect(config.prefectSettings).toEqual({
      PREFECT_API_URL: 'https://prefect.example.com/api',
      PREFECT_CLIENT_MAX_RETRIES: '3',
      PREFECT_FLOWS_DEFAULT_RETRIES: '2',
      PREFECT_LOGGING_LEVEL: 'DEBUG',
    });
  });

  it('never holds a credential, even one set in the environment for local use', () => {
    // Act
    const config = loadConfig({ ...launcherEnv, PREFECT_API_KEY: 'pnu_local-key' });
    // Assess
    expect(config.prefectCredentials).toEqual({ kind: 'apiKey', value: 'pnu_local-key' });
    expect(Object.keys(config.prefectSettings)).toEqual(['PREFECT_API_URL']);
  });

  it('refuses FLOW_RUN_PREFECT_SETTINGS with a credential, naming it and not its value', () => {
    // Act
    let error: unknown;
    try {
      loadConfig({ ...launcherEnv, FLOW_RUN_PREFECT_SETTINGS: '{"PREFECT_API_KEY":"pnu_leak"}' });
    } catch (caught) {
      error = caught;
    }
    // Assess
    expect(error).toBeInstanceOf(ConfigError);
    expect(String((error as Error).message)).toContain(
      'FLOW_RUN_PREFECT_SETTINGS: may not set PREFECT_API_KEY'
    );
    expect(String((error as Error).message)).not.toContain('pnu_leak');
  });
});

describe('render settings: prefectSettings', () => {
  it('shows what the launcher would forward from the same variables', () => {
    // Act
    const settings = renderSettingsFromEnv({
      PREFECT_API_KEY: 'pnu_local-key',
      PREFECT_WORK_POOLS: 'ecs',
      PREFECT_LOGGING_LEVEL: 'INFO',
      FLOW_RUN_PREFECT_SETTINGS: '{"PREFECT_LOGGING_LEVEL":"DEBUG"}',
    });
    // Assess
    expect(settings.prefectSettings).toEqual({ PREFECT_LOGGING_LEVEL: 'DEBUG' });
  });

  it('refuses an invalid FLOW_RUN_PREFECT_SETTINGS as a usage error', () => {
    // Act / Assess
    expect(() =>
      renderSettingsFromEnv({ FLOW_RUN_PREFECT_SETTINGS: '{"PREFECT_NOT_A_SETTING":"1"}' })
    ).toThrow(UsageError);
  });
});
