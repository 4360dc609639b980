import { randomUUID } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { rawCall } from './raw-http.ts';
import { type PrefectStandin, startPrefectStandin } from './server.ts';

describe('Prefect stand-in: blocks, variables and logs', () => {
  let prefect: PrefectStandin;
  beforeEach(async () => {
    prefect = await startPrefectStandin();
  });
  afterEach(async () => {
    await prefect.close();
  });

  const post = (path: string, body: unknown) => rawCall(prefect.apiUrl, 'POST', path, { body });
  const get = (path: string) => rawCall(prefect.apiUrl, 'GET', path);

  const createSecretBlock = async () => {
    const type = (await post('/block_types/', { name: 'Secret', slug: 'secret' })).body as {
      id: string;
    };
    const schema = (
      await post('/block_schemas/', {
        block_type_id: type.id,
        fields: { properties: { value: { type: 'string' } }, secret_fields: ['value'] },
      })
    ).body as { id: string };
    const document = await post('/block_documents/', {
      name: 'prefect-api-key',
      data: { value: 'pnu_secret' },
      block_schema_id: schema.id,
      block_type_id: type.id,
    });
    return { type, schema, document };
  };

  describe('blocks', () => {
    it('masks secret fields unless include_secrets=true', async () => {
      // Prepare
      const { document } = await createSecretBlock();
      const id = (document.body as { id: string }).id;
      // Act
      const masked = await get(`/block_documents/${id}`);
      const revealed = await get(`/block_documents/${id}?include_secrets=true`);
      // Assess
      expect(document.status).toBe(201);
      expect(masked.body).toMatchObject({ data: { value: '********' }, block_type_name: 'Secret' });
      expect(revealed.body).toMatchObject({ data: { value: 'pnu_secret' } });
    });

    it('reads a document by block type slug and name, as job templates reference them', async () => {
      // Prepare
      await createSecretBlock();
      // Act
      const found = await get(
        '/block_types/slug/secret/block_documents/name/prefect-api-key?include_secrets=true'
      );
      const missing = await get('/block_types/slug/secret/block_documents/name/nope');
      // Assess
      expect(found.body).toMatchObject({ name: 'prefect-api-key', data: { value: 'pnu_secret' } });
      expect(missing).toMatchObject({ status: 404, body: { detail: 'Block document not found' } });
    });

    it('answers 409 for a duplicate document name and 404 for an unknown slug', async () => {
      // Prepare
      const { type, schema } = await createSecretBlock();
      // Act
      const duplicate = await post('/block_documents/', {
        name: 'prefect-api-key',
        data: { value: 'other' },
        block_schema_id: schema.id,
        block_type_id: type.id,
      });
      const unknownType = await get('/block_types/slug/nope');
      // Assess
      expect(duplicate).toMatchObject({ status: 409, body: { detail: 'Block already exists' } });
      expect(unknownType).toMatchObject({ status: 404, body: { detail: 'Block type not found' } });
    });

    it('returns the existing schema for identical fields (200) and reserves "Prefect" type names (403)', async () => {
      // Prepare
      const { type, schema } = await createSecretBlock();
      // Act
      const again = await post('/block_schemas/', {
        block_type_id: type.id,
        fields: { secret_fields: ['value'], properties: { value: { type: 'string' } } },
      });
      const reserved = await post('/block_types/', { name: 'Prefect Thing', slug: 'thing' });
      // Assess
      expect(again.status).toBe(200);
      expect((again.body as { id: string }).id).toBe(schema.id);
      expect(reserved.status).toBe(403);
    });
  });

  describe('variables', () => {
    it('creates (201), refuses a duplicate (409) and reads by name', async () => {
      // Act
      const created = await post('/variables/', {
        name: 'image_tag',
        value: { tag: 'v1' },
        tags: ['ecs'],
      });
      const duplicate = await post('/variables/', { name: 'image_tag', value: 'v2' });
      const read = await get('/variables/name/image_tag');
      // Assess
      expect(created.status).toBe(201);
      expect(duplicate).toMatchObject({
        status: 409,
        body: { detail: "A variable with the name 'image_tag' already exists." },
      });
      expect(read.body).toMatchObject({ name: 'image_tag', value: { tag: 'v1' }, tags: ['ecs'] });
    });

    it('answers 404 for a missing variable', async () => {
      // Act
      const response = await get('/variables/name/missing');
      // Assess
      expect(response).toMatchObject({ status: 404, body: { detail: 'Variable not found.' } });
    });
  });

  describe('logs', () => {
    it('stores log lines (201, body null) and reads them back by flow run', async () => {
      // Prepare
      const runId = randomUUID();
      const line = (message: string, flow_run_id: string | null) => ({
        name: 'prefect.flow_runs.worker',
        level: 20,
        message,
        timestamp: '2026-08-21T12:00:00+02:00',
        flow_run_id,
      });
      // Act
      const created = await post('/logs/', [line('Submitting', runId), line('other', null)]);
      const filtered = await post('/logs/filter', { logs: { flow_run_id: { any_: [runId] } } });
      // Assess
      expect([created.status, created.body]).toEqual([201, null]);
      expect(prefect.logs).toHaveLength(2);
      expect(filtered.body).toEqual([
        expect.objectContaining({
          message: 'Submitting',
          flow_run_id: runId,
          timestamp: '2026-08-21T10:00:00Z',
        }),
      ]);
    });
  });
});
