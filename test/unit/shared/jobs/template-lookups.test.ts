import { describe, expect, it } from 'vitest';
import {
  createTemplateLookups,
  type TemplateLookupsClient,
} from '../../../../shared/jobs/create-template-lookups.ts';
import { memoizeTemplateLookups } from '../../../../shared/jobs/template-lookups.ts';
import { PrefectNotFoundError } from '../../../../shared/prefect/prefect-api-error.ts';
import { PrefectConnectionError } from '../../../../shared/prefect/prefect-connection-error.ts';
import type { BlockDocument } from '../../../../shared/prefect/schemas.ts';
import { fakeLookups, IDS } from './fixtures.ts';

const context = {
  operation: 'readBlockDocumentByName',
  method: 'GET',
  path: '/block_types/…',
  attempts: 1,
};
const notFound = () =>
  new PrefectNotFoundError(context, {
    status: 404,
    statusText: 'Not Found',
    detail: 'Block document not found',
    retryable: false,
  });

const document = (data: Record<string, unknown>): BlockDocument => ({
  id: IDS.block,
  name: 'registry',
  data,
  block_schema_id: IDS.block,
  block_type_id: IDS.block,
  block_type_name: 'Secret',
  is_anonymous: false,
});

/** A client double that records its calls. */
const clientDouble = (overrides: Partial<TemplateLookupsClient> = {}) => {
  const calls: unknown[][] = [];
  const client: TemplateLookupsClient = {
    async readVariableByName(name) {
      calls.push(['readVariableByName', name]);
      return name === 'tag' ? { id: IDS.block, name, value: 'v1', tags: [] } : undefined;
    },
    async readBlockDocument(id, options) {
      calls.push(['readBlockDocument', id, options]);
      return document({ value: 'by-id' });
    },
    async readBlockDocumentByName(slug, name, options) {
      calls.push(['readBlockDocumentByName', slug, name, options]);
      return document({ value: 'by-name' });
    },
    ...overrides,
  };
  return { client, calls };
};

describe('createTemplateLookups', () => {
  it('reads block documents with secrets and variables by name', async () => {
    // Prepare
    const { client, calls } = clientDouble();
    const lookups = createTemplateLookups(client);
    // Act
    const byId = await lookups.readBlockDocument(IDS.block);
    const byName = await lookups.readBlockDocumentByName('secret', 'registry');
    const variable = await lookups.readVariable('tag');
    const missing = await lookups.readVariable('nope');
    // Assess
    expect(byId?.data).toEqual({ value: 'by-id' });
    expect(byName?.data).toEqual({ value: 'by-name' });
    expect(variable?.value).toBe('v1');
    expect(missing).toBeUndefined();
    expect(calls).toEqual([
      ['readBlockDocument', IDS.block, { includeSecrets: true }],
      ['readBlockDocumentByName', 'secret', 'registry', { includeSecrets: true }],
      ['readVariableByName', 'tag'],
      ['readVariableByName', 'nope'],
    ]);
  });

  it('turns a 404 into "does not exist"', async () => {
    // Prepare
    const { client } = clientDouble({
      readBlockDocument: () => Promise.reject(notFound()),
      readBlockDocumentByName: () => Promise.reject(notFound()),
    });
    const lookups = createTemplateLookups(client);
    // Act / Assess
    await expect(lookups.readBlockDocument(IDS.block)).resolves.toBeUndefined();
    await expect(lookups.readBlockDocumentByName('secret', 'gone')).resolves.toBeUndefined();
  });

  it('passes other failures through, retryable intact', async () => {
    // Prepare
    const outage = new PrefectConnectionError(context, 'ECONNRESET', false, new Error('reset'));
    const { client } = clientDouble({ readBlockDocumentByName: () => Promise.reject(outage) });
    // Act
    const act = createTemplateLookups(client).readBlockDocumentByName('secret', 'registry');
    // Assess
    await expect(act).rejects.toBe(outage);
    expect(outage.retryable).toBe(true);
  });

  it('caches nothing across calls (a warm Lambda sees edited blocks)', async () => {
    // Prepare
    const { client, calls } = clientDouble();
    const lookups = createTemplateLookups(client);
    // Act
    await lookups.readBlockDocumentByName('secret', 'registry');
    await lookups.readBlockDocumentByName('secret', 'registry');
    // Assess
    expect(calls).toHaveLength(2);
  });
});

describe('memoizeTemplateLookups', () => {
  it('reads each variable, block name and block id once, separately', async () => {
    // Prepare
    const inner = fakeLookups({ blocksByName: { 'secret/a': { value: 1 } } });
    const lookups = memoizeTemplateLookups(inner);
    // Act
    await Promise.all([
      lookups.readVariable('x'),
      lookups.readVariable('x'),
      lookups.readBlockDocumentByName('secret', 'a'),
      lookups.readBlockDocumentByName('secret', 'a'),
      lookups.readBlockDocumentByName('secret.a', ''),
      lookups.readBlockDocument('a'),
      lookups.readBlockDocument('a'),
    ]);
    // Assess
    expect(inner.reads).toEqual(['variable:x', 'block:secret/a', 'block:secret.a/', 'block-id:a']);
  });
});
