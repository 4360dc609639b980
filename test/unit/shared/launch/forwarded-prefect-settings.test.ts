import { describe, expect, it } from 'vitest';
import { parseFlowRunPrefectSettings } from '../../../../shared/launch/flow-run-prefect-settings.ts';
import {
  forwardedPrefectSettings,
  prefectSettingName,
} from '../../../../shared/launch/forwarded-prefect-settings.ts';

const API_URL = 'https://api.prefect.cloud/api/accounts/acc/workspaces/ws';

describe('prefectSettingName', () => {
  it("knows Prefect's settings under their canonical names, aliases and any case", () => {
    // Act
    const names = [
      'PREFECT_API_URL',
      'prefect_logging_level',
      'PREFECT_SERVER_CSRF_PROTECTION_ENABLED',
      'PREFECT_FLOW_DEFAULT_RETRIES',
      'PREFECT_CLIENT_CUSTOM_HEADERS',
      'PREFECT_WORKER_PREFETCH_SECONDS',
    ].map(prefectSettingName);
    // Assess
    expect(names).toEqual([
      'PREFECT_API_URL',
      'PREFECT_LOGGING_LEVEL',
      'PREFECT_SERVER_API_CSRF_PROTECTION_ENABLED',
      'PREFECT_FLOWS_DEFAULT_RETRIES',
      'PREFECT_CLIENT_CUSTOM_HEADERS',
      'PREFECT_WORKER_PREFETCH_SECONDS',
    ]);
  });

  it("does not take the stack's own variables for settings", () => {
    // Act
    const names = [
      'PREFECT_API_KEY_SECRET_ARN',
      'PREFECT_API_AUTH_STRING_SECRET_ARN',
      'PREFECT_WORK_POOLS',
      'PREFECT_WORK_QUEUES',
      'PREFECT_WORKER_NAME',
      'PREFECT__FLOW_RUN_ID',
      'TEMPLATE_ENV_ALLOWLIST',
    ].map(prefectSettingName);
    // Assess
    expect(names).toEqual(Array(7).fill(undefined));
  });
});

describe('forwardedPrefectSettings', () => {
  it('keeps the set Prefect settings of a launcher environment, by canonical name, and nothing else', () => {
    // Act
    const forwarded = forwardedPrefectSettings({
      PREFECT_API_URL: API_URL,
      PREFECT_API_KEY: 'pnu_secret',
      PREFECT_API_AUTH_STRING: 'admin:pass',
      PREFECT_API_KEY_SECRET_ARN: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:k',
      PREFECT_WORK_POOLS: 'ecs',
      PREFECT_WORK_QUEUES: 'default',
      PREFECT_WORKER_NAME: 'lambda',
      prefect_logging_level: 'DEBUG',
      PREFECT_CLIENT_MAX_RETRIES: '',
      PREFECT_FLOW_DEFAULT_RETRIES: '2',
      PREFECT_CLIENT_CUSTOM_HEADERS: '{"CF-Access-Client-Secret":"proxy-secret"}',
      AWS_REGION: 'us-east-1',
      POWERTOOLS_SERVICE_NAME: 'x',
    });
    // Assess
    expect(forwarded).toEqual({
      PREFECT_API_URL: API_URL,
      PREFECT_FLOWS_DEFAULT_RETRIES: '2',
      PREFECT_LOGGING_LEVEL: 'DEBUG',
    });
  });

  it('reads a setting set under two names as Prefect does: the canonical name first', () => {
    // Act
    const aliasFirst = forwardedPrefectSettings({
      PREFECT_FLOW_DEFAULT_RETRIES: '1',
      PREFECT_FLOWS_DEFAULT_RETRIES: '5',
    });
    const canonicalFirst = forwardedPrefectSettings({
      PREFECT_FLOWS_DEFAULT_RETRIES: '5',
      PREFECT_FLOW_DEFAULT_RETRIES: '1',
    });
    // Assess
    expect(aliasFirst).toEqual({ PREFECT_FLOWS_DEFAULT_RETRIES: '5' });
    expect(canonicalFirst).toEqual({ PREFECT_FLOWS_DEFAULT_RETRIES: '5' });
  });
});

describe('parseFlowRunPrefectSettings', () => {
  it('takes a JSON object of settings, by canonical name, with values as Prefect writes them', () => {
    // Act
    const parsed = parseFlowRunPrefectSettings(
      JSON.stringify({
        PREFECT_LOGGING_LEVEL: 'DEBUG',
        PREFECT_FLOW_DEFAULT_RETRIES: 2,
        PREFECT_CLIENT_CSRF_SUPPORT_ENABLED: false,
        PREFECT_CLIENT_CUSTOM_HEADERS: { 'X-Env': 'prod' },
      })
    );
    // Assess
    expect(parsed).toEqual({
      settings: {
        PREFECT_CLIENT_CSRF_SUPPORT_ENABLED: 'false',
        PREFECT_CLIENT_CUSTOM_HEADERS: '{"X-Env":"prod"}',
        PREFECT_FLOWS_DEFAULT_RETRIES: '2',
        PREFECT_LOGGING_LEVEL: 'DEBUG',
      },
      issues: [],
    });
  });

  it('has no settings when blank', () => {
    // Act / Assess
    expect(parseFlowRunPrefectSettings(undefined)).toEqual({ settings: {}, issues: [] });
    expect(parseFlowRunPrefectSettings('  ')).toEqual({ settings: {}, issues: [] });
  });

  it('refuses the credentials, PREFECT_API_URL, unknown names, duplicates and lists, never quoting a value', () => {
    // Act
    const parsed = parseFlowRunPrefectSettings(
      JSON.stringify({
        PREFECT_API_KEY: 'pnu_secret-value',
        prefect_api_auth_string: 'admin:secret-value',
        PREFECT_API_URL: 'https://elsewhere/api',
        PREFECT_WORK_POOLS: 'secret-value-pools',
        PREFECT_FLOWS_DEFAULT_RETRIES: 1,
        PREFECT_FLOW_DEFAULT_RETRIES: 2,
        PREFECT_LOGGING_LEVEL: ['secret-value-list'],
      })
    );
    // Assess
    expect(parsed.settings).toEqual({});
    expect(parsed.issues).toEqual([
      expect.stringContaining('may not set PREFECT_API_KEY'),
      expect.stringContaining('may not set PREFECT_API_AUTH_STRING'),
      expect.stringContaining('may not set PREFECT_API_URL'),
      "PREFECT_WORK_POOLS is not a Prefect setting (Prefect's settings reference lists them)",
      'PREFECT_FLOW_DEFAULT_RETRIES sets PREFECT_FLOWS_DEFAULT_RETRIES a second time (under another of its names)',
      'PREFECT_LOGGING_LEVEL must be a string, number, boolean or JSON object',
    ]);
    expect(parsed.issues.join('\n')).not.toContain('secret-value');
  });

  it('refuses what is not a JSON object', () => {
    // Act
    const outcomes = ['{"PREFECT_LOGGING_LEVEL":', '["PREFECT_LOGGING_LEVEL"]', '"DEBUG"'].map(
      parseFlowRunPrefectSettings
    );
    // Assess
    for (const outcome of outcomes) {
      expect(outcome.settings).toEqual({});
      expect(outcome.issues).toEqual([expect.stringContaining('must be a JSON object')]);
    }
  });
});
