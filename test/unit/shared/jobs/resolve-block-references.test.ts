import { describe, expect, it } from 'vitest';
import { placeholderOrigin } from '../../../../shared/jobs/placeholder-origin.ts';
import { resolveBlockReferences } from '../../../../shared/jobs/resolve-block-references.ts';
import { TemplateError } from '../../../../shared/jobs/template-error.ts';
import { memoizeTemplateLookups } from '../../../../shared/jobs/template-lookups.ts';
import { fakeLookups, IDS } from './fixtures.ts';

const blocks = {
  blocksByName: {
    'secret/registry': { value: 'acct.dkr.ecr.eu-west-1.amazonaws.com' },
    'json/sidecar': { value: { image: 'datadog/agent:7', ports: [8125, 8126] } },
    'aws-credentials/prod': { region_name: 'eu-west-1', aws_access_key_id: 'AKIA…' },
    'string/pair': { value: 'v', other: 'o' },
  },
  blocksById: { [IDS.block]: { region_name: 'us-east-2', profile_name: null } },
};

describe('resolveBlockReferences: {{ prefect.blocks.<slug>.<name>[.path] }}', () => {
  it.each([
    [
      'a {"value": …} block is unwrapped',
      '{{ prefect.blocks.secret.registry }}',
      'acct.dkr.ecr.eu-west-1.amazonaws.com',
    ],
    [
      'an unwrapped JSON value keeps its type',
      '{{ prefect.blocks.json.sidecar }}',
      { image: 'datadog/agent:7', ports: [8125, 8126] },
    ],
    ['a path below the unwrapped value', '{{ prefect.blocks.json.sidecar.ports[1] }}', 8126],
    [
      'a path starting with "value" is not unwrapped twice',
      '{{ prefect.blocks.json.sidecar.value.image }}',
      'datadog/agent:7',
    ],
    [
      'a block with more fields is not unwrapped',
      '{{ prefect.blocks.aws-credentials.prod }}',
      { region_name: 'eu-west-1', aws_access_key_id: 'AKIA…' },
    ],
    [
      'a field of a multi-field block',
      '{{ prefect.blocks.aws-credentials.prod.region_name }}',
      'eu-west-1',
    ],
    [
      '"value" is an ordinary field of a multi-field block',
      '{{ prefect.blocks.string.pair.value }}',
      'v',
    ],
  ])('%s', async (_case, template, expected) => {
    // Act
    const resolved = await resolveBlockReferences({ field: template }, fakeLookups(blocks));
    // Assess
    expect(resolved).toEqual({ field: expected });
  });

  it('substitutes scalars inline with Python str()', async () => {
    // Act
    const resolved = await resolveBlockReferences(
      '{{ prefect.blocks.secret.registry }}/etl:{{ prefect.blocks.json.sidecar.ports[0] }}',
      fakeLookups(blocks)
    );
    // Assess
    expect(resolved).toBe('acct.dkr.ecr.eu-west-1.amazonaws.com/etl:8125');
  });

  it('leaves other placeholders for later passes', async () => {
    // Act
    const resolved = await resolveBlockReferences(
      '{{ prefect.blocks.secret.registry }}/{{ prefect.variables.tag }}',
      fakeLookups(blocks)
    );
    // Assess
    expect(resolved).toBe('acct.dkr.ecr.eu-west-1.amazonaws.com/{{ prefect.variables.tag }}');
  });
});

describe('resolveBlockReferences: {"$ref": {"block_document_id": …}}', () => {
  it('replaces the whole object with the block data, ignoring sibling keys', async () => {
    // Act
    const resolved = await resolveBlockReferences(
      { aws_credentials: { $ref: { block_document_id: IDS.block }, ignored: true } },
      fakeLookups(blocks)
    );
    // Assess
    expect(resolved).toEqual({ aws_credentials: { region_name: 'us-east-2', profile_name: null } });
  });

  it.each([
    ['an empty id', { $ref: { block_document_id: '' } }],
    ['a JSON-schema $ref string', { $ref: '#/definitions/AwsCredentials' }],
  ])('leaves %s alone', async (_case, template) => {
    // Act
    const resolved = await resolveBlockReferences(template, fakeLookups(blocks));
    // Assess
    expect(resolved).toEqual(template);
  });

  it('names the reference and its path when the block is gone', async () => {
    // Prepare
    const missing = '00000000-0000-4000-8000-000000000000';
    // Act
    const error = await resolveBlockReferences(
      { aws_credentials: { $ref: { block_document_id: missing } } },
      fakeLookups(blocks),
      { path: ['job_configuration'] }
    ).catch((caught: unknown) => caught);
    // Assess
    expect(error).toBeInstanceOf(TemplateError);
    expect(error).toMatchObject({
      templatePath: 'job_configuration.aws_credentials',
      retryable: false,
    });
    expect((error as Error).message).toContain(missing);
  });
});

describe('resolveBlockReferences: errors', () => {
  it('a missing block names the placeholder, the template path and the job variable', async () => {
    // Prepare
    const placeholder = '{{ prefect.blocks.secret.deleted }}';
    const template = {
      task_definition: { containerDefinitions: [{ image: `${placeholder}/etl:1` }] },
    };
    // Act
    const error = await resolveBlockReferences(template, fakeLookups(blocks), {
      path: ['job_configuration'],
      originOf: placeholderOrigin({ image: `${placeholder}/etl:1`, cpu: 1024 }),
    }).catch((caught: unknown) => caught);
    // Assess
    expect(error).toBeInstanceOf(TemplateError);
    expect(error).toMatchObject({
      placeholder,
      templatePath: 'job_configuration.task_definition.containerDefinitions[0].image',
      variable: 'image',
      retryable: false,
    });
    expect((error as Error).message).toMatch(
      /^\{\{ prefect\.blocks\.secret\.deleted \}\} at job_configuration\.task_definition\.containerDefinitions\[0\]\.image \(from job variable "image"\): there is no block "deleted" of type "secret"/
    );
  });

  it.each([
    ['a dict', 'x-{{ prefect.blocks.aws-credentials.prod }}', /resolves to an object/],
    ['a list', 'ports: {{ prefect.blocks.json.sidecar.ports }}', /resolves to a list/],
  ])('refuses %s used inline', async (_case, template, message) => {
    // Act
    const error = await resolveBlockReferences({ name: template }, fakeLookups(blocks), {
      path: ['job_configuration'],
    }).catch((caught: unknown) => caught);
    // Assess
    expect(error).toBeInstanceOf(TemplateError);
    expect((error as Error).message).toMatch(message);
    expect(error).toMatchObject({ templatePath: 'job_configuration.name', variable: undefined });
    expect((error as Error).message).toContain('in the work pool base job template');
  });

  it.each([
    ['a malformed placeholder', '{{ prefect.blocks.secret }}', /not a block placeholder/],
    ['a missing field', '{{ prefect.blocks.aws-credentials.prod.nope }}', /has no field "nope"/],
  ])('refuses %s', async (_case, template, message) => {
    // Act
    const act = resolveBlockReferences(template, fakeLookups(blocks));
    // Assess
    await expect(act).rejects.toThrow(message);
  });

  it('passes lookup failures through unchanged (e.g. a retryable connection error)', async () => {
    // Prepare
    const outage = Object.assign(new Error('ECONNRESET'), { retryable: true });
    const lookups = { ...fakeLookups(), readBlockDocumentByName: () => Promise.reject(outage) };
    // Act
    const act = resolveBlockReferences('{{ prefect.blocks.secret.registry }}', lookups);
    // Assess
    await expect(act).rejects.toBe(outage);
  });
});

describe('resolveBlockReferences with memoized lookups', () => {
  it('reads a block referenced twice only once', async () => {
    // Prepare
    const lookups = fakeLookups(blocks);
    // Act
    await resolveBlockReferences(
      {
        a: '{{ prefect.blocks.secret.registry }}',
        b: 'x/{{ prefect.blocks.secret.registry }}',
        c: { $ref: { block_document_id: IDS.block } },
        d: { $ref: { block_document_id: IDS.block } },
      },
      memoizeTemplateLookups(lookups)
    );
    // Assess
    expect(lookups.reads).toEqual(['block:secret/registry', `block-id:${IDS.block}`]);
  });
});
