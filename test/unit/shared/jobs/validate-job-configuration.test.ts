import { describe, expect, it } from 'vitest';
import { JobConfigurationError } from '../../../../shared/jobs/job-configuration-error.ts';
import { TemplateError } from '../../../../shared/jobs/template-error.ts';
import { validateJobConfiguration } from '../../../../shared/jobs/validate-job-configuration.ts';

const taskDefinition = { containerDefinitions: [{ name: 'prefect', image: 'etl:1' }] };

describe('validateJobConfiguration: fields as ECSJobConfiguration types them', () => {
  it('fills Prefect model defaults for missing fields', () => {
    // Act
    const config = validateJobConfiguration({ task_definition: taskDefinition });
    // Assess
    expect(config).toEqual({
      command: null,
      env: {},
      labels: {},
      name: null,
      task_definition: taskDefinition,
      task_run_request: {},
      configure_cloudwatch_logs: false,
      cloudwatch_logs_options: {},
      cloudwatch_logs_prefix: null,
      network_configuration: null,
      auto_deregister_task_definition: false,
      vpc_id: null,
      container_name: null,
      cluster: null,
      match_latest_revision_in_family: false,
      prefect_api_key_secret_arn: null,
      prefect_api_auth_string_secret_arn: null,
      execution_role_arn: null,
      extra: {},
    });
  });

  it('coerces env values with Python str() and keeps null', () => {
    // Act
    const { env } = validateJobConfiguration({
      task_definition: taskDefinition,
      env: { A: 'a', N: 5, F: 0.5, T: true, X: null, D: { k: [1] } },
    });
    // Assess
    expect(env).toEqual({ A: 'a', N: '5', F: '0.5', T: 'True', X: null, D: "{'k': [1]}" });
  });

  it.each([
    ['true', true],
    ['False', false],
    ['yes', true],
    ['off', false],
    [1, true],
    [0, false],
    [null, false],
  ])('reads %j as the boolean %s, as pydantic does', (value, expected) => {
    // Act
    const config = validateJobConfiguration({
      task_definition: taskDefinition,
      configure_cloudwatch_logs: value,
      auto_deregister_task_definition: value,
      execution_role_arn: 'arn:aws:iam::123456789012:role/exec',
    });
    // Assess
    expect(config.configure_cloudwatch_logs).toBe(expected);
    expect(config.auto_deregister_task_definition).toBe(expected);
  });

  it('treats an empty command as unset and an empty network_configuration as null', () => {
    // Act
    const config = validateJobConfiguration({
      task_definition: taskDefinition,
      command: '',
      network_configuration: {},
    });
    // Assess
    expect(config.command).toBeNull();
    expect(config.network_configuration).toBeNull();
  });

  it('puts keys that are not fields in extra, untouched', () => {
    // Act
    const config = validateJobConfiguration({
      task_definition: taskDefinition,
      stream_output: false,
      task_start_timeout_seconds: 300,
      aws_credentials: { region_name: 'eu-west-1' },
    });
    // Assess
    expect(config.extra).toEqual({
      stream_output: false,
      task_start_timeout_seconds: 300,
      aws_credentials: { region_name: 'eu-west-1' },
    });
  });

  it.each([
    [
      'a number where a string is expected',
      { vpc_id: 12345 },
      'vpc_id',
      'job_configuration.vpc_id',
    ],
    [
      'a label that is not a string',
      { labels: { team: 5 } },
      'labels',
      'job_configuration.labels.team',
    ],
    ['env that is not an object', { env: 'A=1' }, 'env', 'job_configuration.env'],
    [
      'a boolean pydantic cannot read',
      { match_latest_revision_in_family: 'maybe' },
      'match_latest_revision_in_family',
      'job_configuration.match_latest_revision_in_family',
    ],
    [
      'a task definition that is not an object',
      { task_run_request: { taskDefinition: 'arn' }, task_definition: [] },
      'task_definition',
      'job_configuration.task_definition',
    ],
  ])('refuses %s, naming the field', (_case, fields, variable, templatePath) => {
    // Act
    const act = () => validateJobConfiguration({ task_definition: taskDefinition, ...fields });
    // Assess
    expect(act).toThrow(JobConfigurationError);
    expect(act).toThrow(expect.objectContaining({ variable, templatePath }));
  });
});

describe('validateJobConfiguration: ECSJobConfiguration validators', () => {
  const arn = 'arn:aws:ecs:eu-west-1:123456789012:task-definition/etl:3';
  const role = 'arn:aws:iam::123456789012:role/exec';

  it.each([
    [
      'neither a task definition nor an ARN',
      {},
      'task_definition_arn',
      /neither a task definition nor a task definition ARN/,
    ],
    [
      'only non-essential containers',
      {
        task_definition: {
          containerDefinitions: [
            { name: 'a', essential: false },
            { name: 'b', essential: false },
          ],
        },
      },
      'task_definition',
      /at least one essential container/,
    ],
    [
      'CloudWatch logs without an execution role',
      { task_definition: taskDefinition, configure_cloudwatch_logs: true },
      'execution_role_arn',
      /needs a task execution role/,
    ],
    [
      'CloudWatch options without configure_cloudwatch_logs',
      { task_definition: taskDefinition, cloudwatch_logs_options: { 'awslogs-group': 'etl' } },
      'configure_cloudwatch_logs',
      /cloudwatch_logs_options is set but configure_cloudwatch_logs is not enabled/,
    ],
    [
      'a network configuration without vpc_id',
      { task_definition: taskDefinition, network_configuration: { subnets: ['subnet-a'] } },
      'vpc_id',
      /Set the job variable "vpc_id"/,
    ],
    [
      'a network configuration with an empty vpc_id',
      {
        task_definition: taskDefinition,
        network_configuration: { subnets: ['subnet-a'] },
        vpc_id: '',
      },
      'vpc_id',
      /vpc_id/,
    ],
  ])('refuses %s', (_case, populated, variable, message) => {
    // Act
    const act = () => validateJobConfiguration(populated);
    // Assess
    expect(act).toThrow(TemplateError);
    expect(act).toThrow(message);
    expect(act).toThrow(expect.objectContaining({ variable, retryable: false }));
  });

  it.each([
    ['an ARN with no task definition', { task_run_request: { taskDefinition: arn } }],
    ['an empty container list', { task_definition: { containerDefinitions: [], family: 'x' } }],
    [
      'one essential container among sidecars',
      { task_definition: { containerDefinitions: [{ essential: false }, { name: 'prefect' }] } },
    ],
    [
      'logs with an execution role',
      {
        task_definition: taskDefinition,
        configure_cloudwatch_logs: true,
        execution_role_arn: role,
      },
    ],
    [
      'logs with the role in the task definition',
      {
        task_definition: { ...taskDefinition, executionRoleArn: role },
        configure_cloudwatch_logs: true,
      },
    ],
    [
      'logs with a task definition ARN',
      { task_run_request: { taskDefinition: arn }, configure_cloudwatch_logs: true },
    ],
    [
      'a network configuration with vpc_id',
      {
        task_definition: taskDefinition,
        network_configuration: { subnets: ['s'] },
        vpc_id: 'vpc-1',
      },
    ],
  ])('accepts %s', (_case, populated) => {
    // Act / Assess
    expect(() => validateJobConfiguration(populated)).not.toThrow();
  });
});

describe('validateJobConfiguration with the launcher default execution role', () => {
  it('accepts CloudWatch logs when only the launcher has an execution role (ECS_EXECUTION_ROLE_ARN)', () => {
    // Prepare: the stack's own execution role, none in the template
    const populated = {
      task_definition: { containerDefinitions: [{ name: 'prefect', image: 'etl:1' }] },
      configure_cloudwatch_logs: true,
    };
    // Act
    const config = validateJobConfiguration(populated, {
      defaultExecutionRoleArn: 'arn:aws:iam::123456789012:role/stack-exec',
    });
    // Assess
    expect(config.configure_cloudwatch_logs).toBe(true);
    expect(config.execution_role_arn).toBeNull();
  });
});
