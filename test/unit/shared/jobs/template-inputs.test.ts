import { describe, expect, it } from 'vitest';
import { schemaDefaults } from '../../../../shared/jobs/schema-defaults.ts';
import { TemplateError } from '../../../../shared/jobs/template-error.ts';
import {
  buildTemplateInputs,
  parseBaseJobTemplate,
} from '../../../../shared/jobs/template-inputs.ts';
import { currentTemplate, v04Template } from './fixtures.ts';

describe('schemaDefaults', () => {
  it('keeps non-null defaults of the current template and drops null ones', () => {
    // Prepare
    const { variables } = parseBaseJobTemplate(currentTemplate(), 'pool');
    // Act
    const defaults = schemaDefaults(variables);
    // Assess
    expect(defaults).toEqual({
      launch_type: 'FARGATE',
      auto_deregister_task_definition: false,
      match_latest_revision_in_family: false,
    });
  });

  it('takes the v0.4 template defaults, falsy ones included', () => {
    // Prepare
    const { variables } = parseBaseJobTemplate(v04Template(), 'pool');
    // Act
    const defaults = schemaDefaults(variables);
    // Assess
    expect(defaults).toEqual({
      launch_type: 'FARGATE',
      task_start_timeout_seconds: 300,
      task_watch_poll_interval: 5,
      auto_deregister_task_definition: false,
      match_latest_revision_in_family: false,
    });
  });

  it('ignores a schema without properties', () => {
    // Act / Assess
    expect(schemaDefaults({ type: 'object' })).toEqual({});
  });
});

describe('parseBaseJobTemplate', () => {
  it.each([
    ['an empty template', {}],
    ['no variables', { job_configuration: {} }],
    ['a job_configuration that is not an object', { job_configuration: [], variables: {} }],
  ])('refuses %s, naming the pool', (_case, raw) => {
    // Act
    const act = () => parseBaseJobTemplate(raw, 'etl-pool');
    // Assess
    expect(act).toThrow(TemplateError);
    expect(act).toThrow(/"etl-pool"/);
  });
});

const template = (
  jobConfiguration: Record<string, unknown>,
  properties: Record<string, unknown>
) => ({
  job_configuration: jobConfiguration,
  variables: { type: 'object', properties },
});

describe('buildTemplateInputs (from_template_and_values steps 1–6)', () => {
  it('replaces a templated env with a truthy env default, then merges job-variable env into it', () => {
    // Prepare
    const base = template(
      { env: '{{ env }}' },
      { env: { type: 'object', default: { A: 'default', B: 'default' } } }
    );
    // Act
    const { jobConfiguration, values } = buildTemplateInputs(base, { env: { B: 'job', C: null } });
    // Assess
    expect(jobConfiguration.env).toEqual({ A: 'default', B: 'job', C: null });
    expect(values.env).toEqual({ B: 'job', C: null });
  });

  it('merges the env default into a literal env object of the template', () => {
    // Prepare
    const base = template(
      { env: { LITERAL: 'x', A: 'literal' } },
      { env: { default: { A: 'default' } } }
    );
    // Act
    const { jobConfiguration } = buildTemplateInputs(base, {});
    // Assess
    expect(jobConfiguration.env).toEqual({ LITERAL: 'x', A: 'default' });
  });

  it('leaves "{{ env }}" for templating when there is no env default', () => {
    // Prepare
    const base = template({ env: '{{ env }}' }, { env: { type: 'object' } });
    // Act
    const { jobConfiguration, values } = buildTemplateInputs(base, { 'env.A': '1' });
    // Assess
    expect(jobConfiguration.env).toBe('{{ env }}');
    expect(values).toEqual({ env: { A: '1' } });
  });

  it('job variables replace defaults top-level, null included', () => {
    // Prepare
    const base = template({}, { launch_type: { default: 'FARGATE' }, cpu: { default: null } });
    // Act
    const { values } = buildTemplateInputs(base, { launch_type: null, cpu: 2048 });
    // Assess
    expect(values).toEqual({ launch_type: null, cpu: 2048 });
  });

  it('does not modify the pool template', () => {
    // Prepare
    const base = template({ env: { A: '1' } }, { env: { default: { B: '2' } } });
    // Act
    buildTemplateInputs(base, { env: { C: '3' } });
    // Assess
    expect(base.job_configuration).toEqual({ env: { A: '1' } });
  });

  it('refuses an env job variable that is not an object when it must be merged', () => {
    // Prepare
    const base = template({ env: { A: '1' } }, {});
    // Act
    const act = () => buildTemplateInputs(base, { env: 'A=1' });
    // Assess
    expect(act).toThrow(TemplateError);
  });
});
