/**
 * Block types, schemas and documents as the server returns them. Secret fields (the schema's
 * `secret_fields`, dotted paths with `*` wildcards) are masked unless `include_secrets=true`.
 */
import type { BlockDocumentRecord, BlockSchemaRecord, BlockTypeRecord, Store } from './store.ts';

export const blockTypeView = (blockType: BlockTypeRecord) => ({ ...blockType });

export const blockSchemaView = (store: Store, schema: BlockSchemaRecord) => {
  const blockType = store.blockTypes.get(schema.block_type_id);
  return {
    ...schema,
    block_type: blockType ? blockTypeView(blockType) : null,
  };
};

const OBFUSCATED = '********';

const obfuscate = (data: unknown, path: readonly string[]): unknown => {
  if (data === null || typeof data !== 'object' || Array.isArray(data)) return data;
  const [head, ...rest] = path;
  if (head === undefined) return data;
  const copy: Record<string, unknown> = { ...(data as Record<string, unknown>) };
  const keys = head === '*' ? Object.keys(copy) : [head];
  for (const key of keys) {
    if (!(key in copy)) continue;
    copy[key] = rest.length === 0 ? OBFUSCATED : obfuscate(copy[key], rest);
  }
  return copy;
};

/** Block document data with the schema's `secret_fields` masked unless `includeSecrets`. */
export const blockDocumentData = (
  store: Store,
  document: BlockDocumentRecord,
  includeSecrets: boolean
): Record<string, unknown> => {
  if (includeSecrets) return document.data;
  const schema = store.blockSchemas.get(document.block_schema_id);
  const secretFields = schema?.fields.secret_fields;
  let data: unknown = document.data;
  if (Array.isArray(secretFields)) {
    for (const field of secretFields) data = obfuscate(data, String(field).split('.'));
  }
  return data as Record<string, unknown>;
};

export const blockDocumentView = (
  store: Store,
  document: BlockDocumentRecord,
  includeSecrets: boolean
) => {
  const schema = store.blockSchemas.get(document.block_schema_id);
  const blockType = store.blockTypes.get(document.block_type_id);
  return {
    id: document.id,
    created: document.created,
    updated: document.updated,
    name: document.name,
    data: blockDocumentData(store, document, includeSecrets),
    block_schema_id: document.block_schema_id,
    block_schema: schema ? blockSchemaView(store, schema) : null,
    block_type_id: document.block_type_id,
    block_type_name: blockType?.name ?? null,
    block_type: blockType ? blockTypeView(blockType) : null,
    block_document_references: {},
    is_anonymous: document.is_anonymous,
  };
};
