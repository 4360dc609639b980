import { describe, expect, it } from 'vitest';
import { DEFAULT_IMAGE, DEFAULT_WORKER_NAME, loadConfig } from '../../../shared/config.ts';
import { ConfigError } from '../../../shared/errors/config-error.ts';

const SECRET_ARN = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:prefect-api-key-AbCdEf';

const minimal = {
  PREFECT_API_URL: 'http://localhost:4200/api',
  PREFECT_WORK_POOLS: 'ecs',
  LAUNCH_QUEUE_URL: 'https://sqs.us-east-1.amazonaws.com/123456789012/launch',
  AWS_REGION: 'us-east-1',
};

const errorOf = (env: Record<string, string | undefined>, role?: 'poller'): ConfigError => {
  try {
    loadConfig(env, role ? { role } : {});
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error('loadConfig did not throw');
};

describe('loadConfig', () => {
  it('applies defaults to a minimal environment', () => {
    // Prepare / Act
    const config = loadConfig(minimal);
    // Assess
    expect(config).toMatchObject({
      prefectApiUrl: 'http://localhost:4200/api',
      prefectCredentials: { kind: 'none' },
      workPools: ['ecs'],
      workQueues: [],
      tickQueueUrl: undefined,
      workerName: DEFAULT_WORKER_NAME,
      ecsDefaultImage: DEFAULT_IMAGE,
      ecsExecutionRoleArn: undefined,
      launchRetryDeadlineSeconds: 900,
      templateEnvAllowlist: [],
      templateEnvironment: {},
      awsRegion: 'us-east-1',
    });
  });

  it('lists every missing variable in one error', () => {
    // Prepare / Act
    const error = errorOf({});
    // Assess
    expect(error.issues).toEqual([
      'PREFECT_API_URL: required',
      'PREFECT_WORK_POOLS: required',
      'LAUNCH_QUEUE_URL: required',
      'AWS_REGION: required',
    ]);
    expect(error.message).toContain('4 problems');
    expect(error.retryable).toBe(false);
  });

  it('lists every invalid variable without quoting values', () => {
    // Prepare
    const env = {
      ...minimal,
      PREFECT_API_URL: 'pnu_thisIsASecretPastedInTheWrongPlace',
      LAUNCH_RETRY_DEADLINE_SECONDS: 'soon',
      ECS_EXECUTION_ROLE_ARN: 'my-role',
      PREFECT_API_KEY_SECRET_ARN: 'pnu_anotherSecret',
      TEMPLATE_ENV_ALLOWLIST: 'OK_NAME,not a name',
      AWS_REGION: 'Virginia',
    };
    // Act
    const error = errorOf(env);
    // Assess
    expect(error.issues.map((issue) => issue.split(':')[0])).toEqual([
      'PREFECT_API_URL',
      'PREFECT_API_KEY_SECRET_ARN',
      'ECS_EXECUTION_ROLE_ARN',
      'LAUNCH_RETRY_DEADLINE_SECONDS',
      'TEMPLATE_ENV_ALLOWLIST',
      'AWS_REGION',
    ]);
    expect(error.message).not.toContain('pnu_');
    expect(JSON.stringify(error)).not.toContain('pnu_');
  });

  it('parses lists, trims blanks and picks allow-listed variables for templates', () => {
    // Prepare
    const env = {
      ...minimal,
      PREFECT_WORK_POOLS: ' ecs-a , ecs-b,, ',
      PREFECT_WORK_QUEUES: 'default,high',
      TEMPLATE_ENV_ALLOWLIST: 'REGISTRY,MISSING',
      REGISTRY: '123.dkr.ecr.us-east-1.amazonaws.com',
      TICK_QUEUE_URL: '',
      LAUNCH_RETRY_DEADLINE_SECONDS: '120',
    };
    // Act
    const config = loadConfig(env);
    // Assess
    expect(config.workPools).toEqual(['ecs-a', 'ecs-b']);
    expect(config.workQueues).toEqual(['default', 'high']);
    expect(config.templateEnvironment).toEqual({ REGISTRY: '123.dkr.ecr.us-east-1.amazonaws.com' });
    expect(config.tickQueueUrl).toBeUndefined();
    expect(config.launchRetryDeadlineSeconds).toBe(120);
  });

  it.each([
    [
      { PREFECT_API_AUTH_STRING: 'u:p', PREFECT_API_KEY: 'k' },
      { kind: 'authString', value: 'u:p' },
    ],
    [
      { PREFECT_API_KEY: 'k', PREFECT_API_KEY_SECRET_ARN: SECRET_ARN },
      { kind: 'apiKey', value: 'k' },
    ],
    [{ PREFECT_API_KEY_SECRET_ARN: SECRET_ARN }, { kind: 'apiKeySecret', secretArn: SECRET_ARN }],
    [
      { PREFECT_API_AUTH_STRING_SECRET_ARN: SECRET_ARN },
      { kind: 'authStringSecret', secretArn: SECRET_ARN },
    ],
  ])('credentials %j → %j (plain values win for the Lambda itself)', (extra, expected) => {
    // Prepare / Act
    const config = loadConfig({ ...minimal, ...extra });
    // Assess
    expect(config.prefectCredentials).toEqual(expected);
  });

  it('keeps the secret ARN for task definitions even when a plain key is set locally', () => {
    // Prepare / Act
    const config = loadConfig({
      ...minimal,
      PREFECT_API_KEY: 'k',
      PREFECT_API_KEY_SECRET_ARN: SECRET_ARN,
    });
    // Assess
    expect(config.prefectApiKeySecretArn).toBe(SECRET_ARN);
  });

  it('refuses Prefect Cloud without credentials', () => {
    // Prepare / Act
    const error = errorOf({
      ...minimal,
      PREFECT_API_URL: 'https://api.prefect.cloud/api/accounts/a/workspaces/w',
    });
    // Assess
    expect(error.issues).toEqual([
      expect.stringMatching(/^PREFECT_API_KEY_SECRET_ARN: Prefect Cloud/),
    ]);
  });

  it('never lets templates read the Prefect credentials', () => {
    // Prepare / Act
    const error = errorOf({ ...minimal, TEMPLATE_ENV_ALLOWLIST: 'PREFECT_API_KEY' });
    // Assess
    expect(error.issues).toEqual([expect.stringMatching(/^TEMPLATE_ENV_ALLOWLIST: may not list/)]);
  });

  it("never lets templates read the function role's AWS credentials", () => {
    // Prepare / Act
    const error = errorOf({
      ...minimal,
      TEMPLATE_ENV_ALLOWLIST: 'TEAM,AWS_SECRET_ACCESS_KEY,AWS_SESSION_TOKEN',
    });
    // Assess
    expect(error.issues).toEqual([
      'TEMPLATE_ENV_ALLOWLIST: may not list the Prefect or AWS credentials (AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN)',
    ]);
  });

  it('requires the tick queue for the poller only', () => {
    // Prepare / Act
    const error = errorOf(minimal, 'poller');
    // Assess
    expect(error.issues).toEqual(['TICK_QUEUE_URL: required for the poller']);
    expect(() => loadConfig(minimal)).not.toThrow();
  });
});

describe('loadConfig for the reporter', () => {
  it('needs neither work pools nor the launch queue, which only the claim path uses', () => {
    // Prepare
    const env = { PREFECT_API_URL: 'http://localhost:4200/api', AWS_REGION: 'eu-west-1' };
    // Act
    const config = loadConfig(env, { role: 'reporter' });
    // Assess
    expect(config.workPools).toEqual([]);
    expect(config.prefectApiUrl).toBe('http://localhost:4200/api');
  });

  it('still lists both as missing for the launcher, in one error', () => {
    // Prepare
    const env = { PREFECT_API_URL: 'http://localhost:4200/api', AWS_REGION: 'eu-west-1' };
    // Act
    const load = () => loadConfig(env, { role: 'launcher' });
    // Assess
    expect(load).toThrow(/PREFECT_WORK_POOLS[\s\S]*LAUNCH_QUEUE_URL/);
  });
});
