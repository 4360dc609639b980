/** Block types, block schemas and block documents (what job-template references resolve). */
import { createHash } from 'node:crypto';
import { blockDocumentView, blockSchemaView, blockTypeView } from '../block-views.ts';
import { HttpError, httpError, notFound } from '../http-errors.ts';
import type { RouteDefinition } from '../router.ts';
import {
  type BlockDocumentRecord,
  type BlockSchemaRecord,
  type BlockTypeRecord,
  newId,
  nowString,
} from '../store.ts';
import { bodyOf, canonicalId, integrityConflict, type Json } from './lookups.ts';

const createBlockType: RouteDefinition = {
  method: 'POST',
  path: '/block_types/',
  handle: ({ store, body }) => {
    const input = bodyOf(body);
    const name = String(input.name);
    if (name.toLowerCase().startsWith('prefect')) {
      throw httpError(403, "Block type names beginning with 'Prefect' are reserved.");
    }
    const slug = String(input.slug);
    if ([...store.blockTypes.values()].some((t) => t.name === name || t.slug === slug)) {
      throw httpError(409, `Block type with name "${name}" already exists`);
    }
    const now = nowString(store);
    const blockType: BlockTypeRecord = {
      id: newId(),
      created: now,
      updated: now,
      name,
      slug,
      logo_url: (input.logo_url as string | null | undefined) ?? null,
      documentation_url: (input.documentation_url as string | null | undefined) ?? null,
      description: (input.description as string | null | undefined) ?? null,
      code_example: (input.code_example as string | null | undefined) ?? null,
      is_protected: false,
    };
    store.blockTypes.set(blockType.id, blockType);
    return { status: 201, body: blockTypeView(blockType) };
  },
};

const readBlockType: RouteDefinition = {
  method: 'GET',
  path: '/block_types/{id:uuid}',
  handle: ({ store, params }) => {
    const blockType = store.blockTypes.get(canonicalId(params.id ?? ''));
    if (!blockType) throw notFound('Block type not found');
    return { status: 200, body: blockTypeView(blockType) };
  },
};

const readBlockTypeBySlug: RouteDefinition = {
  method: 'GET',
  path: '/block_types/slug/{slug}',
  handle: ({ store, params }) => {
    const blockType = [...store.blockTypes.values()].find((t) => t.slug === params.slug);
    if (!blockType) throw notFound('Block type not found');
    return { status: 200, body: blockTypeView(blockType) };
  },
};

/** A stable checksum of the fields (the real one hashes Prefect's own canonical JSON). */
const checksumOf = (fields: Json): string => {
  const canonical = (value: unknown): unknown =>
    Array.isArray(value)
      ? value.map(canonical)
      : value !== null && typeof value === 'object'
        ? Object.fromEntries(
            Object.keys(value)
              .sort()
              .map((k) => [k, canonical((value as Json)[k])])
          )
        : value;
  return `sha256:${createHash('sha256')
    .update(JSON.stringify(canonical(fields)))
    .digest('hex')}`;
};

const createBlockSchema: RouteDefinition = {
  method: 'POST',
  path: '/block_schemas/',
  handle: ({ store, body }) => {
    const input = bodyOf(body);
    const blockTypeId = String(input.block_type_id);
    if (!store.blockTypes.has(blockTypeId)) {
      throw notFound(`Block type ${blockTypeId} not found.`);
    }
    const fields = (input.fields as Json | undefined) ?? {};
    const version = (input.version as string | undefined) ?? 'non-versioned';
    const checksum = checksumOf(fields);
    const existing = [...store.blockSchemas.values()].find(
      (s) => s.checksum === checksum && s.version === version
    );
    if (existing) return { status: 200, body: blockSchemaView(store, existing) };
    const now = nowString(store);
    const schema: BlockSchemaRecord = {
      id: newId(),
      created: now,
      updated: now,
      checksum,
      fields,
      block_type_id: blockTypeId,
      capabilities: (input.capabilities as string[] | undefined) ?? [],
      version,
    };
    store.blockSchemas.set(schema.id, schema);
    return { status: 201, body: blockSchemaView(store, schema) };
  },
};

const readBlockSchema: RouteDefinition = {
  method: 'GET',
  path: '/block_schemas/{id:uuid}',
  handle: ({ store, params }) => {
    const schema = store.blockSchemas.get(canonicalId(params.id ?? ''));
    if (!schema) throw notFound('Block schema not found');
    return { status: 200, body: blockSchemaView(store, schema) };
  },
};

const createBlockDocument: RouteDefinition = {
  method: 'POST',
  path: '/block_documents/',
  handle: ({ store, body }) => {
    const input = bodyOf(body);
    const name = (input.name as string | null | undefined) ?? null;
    const isAnonymous = (input.is_anonymous as boolean | undefined) ?? false;
    if (name === null && !isAnonymous) {
      throw new HttpError(422, {
        exception_message: 'Invalid request received.',
        exception_detail: [
          {
            type: 'value_error',
            loc: ['body'],
            msg: 'Value error, Names must be provided for block documents.',
            input,
            ctx: { error: {} },
          },
        ],
        request_body: input,
      });
    }
    const blockTypeId = String(input.block_type_id);
    const schema = store.blockSchemas.get(String(input.block_schema_id));
    if (
      name !== null &&
      [...store.blockDocuments.values()].some(
        (d) => d.block_type_id === blockTypeId && d.name === name
      )
    ) {
      throw httpError(409, 'Block already exists');
    }
    if (!schema || !store.blockTypes.has(blockTypeId)) throw integrityConflict();
    const now = nowString(store);
    const document: BlockDocumentRecord = {
      id: newId(),
      created: now,
      updated: now,
      name,
      data: (input.data as Json | undefined) ?? {},
      block_schema_id: schema.id,
      block_type_id: blockTypeId,
      is_anonymous: isAnonymous,
    };
    store.blockDocuments.set(document.id, document);
    return { status: 201, body: blockDocumentView(store, document, false) };
  },
};

const readBlockDocument: RouteDefinition = {
  method: 'GET',
  path: '/block_documents/{id:uuid}',
  handle: ({ store, params, query }) => {
    const document = store.blockDocuments.get(canonicalId(params.id ?? ''));
    if (!document) throw notFound('Block document not found');
    return {
      status: 200,
      body: blockDocumentView(store, document, query.include_secrets === true),
    };
  },
};

const readBlockDocumentByName: RouteDefinition = {
  method: 'GET',
  path: '/block_types/slug/{slug}/block_documents/name/{block_document_name}',
  handle: ({ store, params, query }) => {
    const blockType = [...store.blockTypes.values()].find((t) => t.slug === params.slug);
    const document = blockType
      ? [...store.blockDocuments.values()].find(
          (d) => d.block_type_id === blockType.id && d.name === params.block_document_name
        )
      : undefined;
    if (!document) throw notFound('Block document not found');
    return {
      status: 200,
      body: blockDocumentView(store, document, query.include_secrets === true),
    };
  },
};

export const blockRoutes: readonly RouteDefinition[] = [
  createBlockType,
  readBlockType,
  readBlockTypeBySlug,
  createBlockSchema,
  readBlockSchema,
  createBlockDocument,
  readBlockDocument,
  readBlockDocumentByName,
];
