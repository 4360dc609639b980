import { apiPath, type HttpTransport } from './http.ts';
import {
  type BlockDocument,
  BlockDocumentSchema,
  type BlockSchema,
  BlockSchemaSchema,
  type BlockType,
  BlockTypeSchema,
} from './schemas.ts';
import { compact } from './wire.ts';

/** Whether to return secret fields in clear (needed to render job templates). */
export interface ReadBlockOptions {
  includeSecrets?: boolean;
}

/** Fields of `BlockTypeCreate` (admin/seeding). */
export interface CreateBlockTypeInput {
  name: string;
  slug: string;
  description?: string | null;
  logoUrl?: string | null;
  documentationUrl?: string | null;
  codeExample?: string | null;
}

/** Fields of `BlockSchemaCreate` (admin/seeding). */
export interface CreateBlockSchemaInput {
  blockTypeId: string;
  /** JSON schema of the block's data. */
  fields: Record<string, unknown>;
  capabilities?: readonly string[];
  version?: string;
}

/** Fields of `BlockDocumentCreate` (admin/seeding). */
export interface CreateBlockDocumentInput {
  name?: string | null;
  data: Record<string, unknown>;
  blockSchemaId: string;
  blockTypeId: string;
  isAnonymous?: boolean;
}

/** Block calls: documents for `$ref` and `{{ prefect.blocks.* }}` template placeholders. */
export interface BlockCalls {
  /** `GET /block_documents/{id}?include_secrets=`. */
  readBlockDocument(id: string, options?: ReadBlockOptions): Promise<BlockDocument>;
  /** `GET /block_types/slug/{slug}/block_documents/name/{name}?include_secrets=`. */
  readBlockDocumentByName(
    slug: string,
    name: string,
    options?: ReadBlockOptions
  ): Promise<BlockDocument>;
  /** `POST /block_types/` (admin). */
  createBlockType(blockType: CreateBlockTypeInput): Promise<BlockType>;
  /** `POST /block_schemas/` (admin). */
  createBlockSchema(blockSchema: CreateBlockSchemaInput): Promise<BlockSchema>;
  /** `POST /block_documents/` (admin). */
  createBlockDocument(document: CreateBlockDocumentInput): Promise<BlockDocument>;
}

/** Binds the block calls to a transport. */
export const createBlockCalls = (http: HttpTransport): BlockCalls => ({
  async readBlockDocument(id, options = {}) {
    const request = {
      operation: 'readBlockDocument',
      method: 'GET',
      path: apiPath`/block_documents/${id}`,
      query: { include_secrets: options.includeSecrets ?? false },
    } as const;
    return (await http.sendParsed(request, BlockDocumentSchema)).data;
  },

  async readBlockDocumentByName(slug, name, options = {}) {
    const request = {
      operation: 'readBlockDocumentByName',
      method: 'GET',
      path: apiPath`/block_types/slug/${slug}/block_documents/name/${name}`,
      query: { include_secrets: options.includeSecrets ?? false },
    } as const;
    return (await http.sendParsed(request, BlockDocumentSchema)).data;
  },

  async createBlockType(blockType) {
    const request = {
      operation: 'createBlockType',
      method: 'POST',
      path: '/block_types/',
      body: compact({
        name: blockType.name,
        slug: blockType.slug,
        description: blockType.description,
        logo_url: blockType.logoUrl,
        documentation_url: blockType.documentationUrl,
        code_example: blockType.codeExample,
      }),
    } as const;
    return (await http.sendParsed(request, BlockTypeSchema)).data;
  },

  async createBlockSchema(blockSchema) {
    const request = {
      operation: 'createBlockSchema',
      method: 'POST',
      path: '/block_schemas/',
      body: compact({
        block_type_id: blockSchema.blockTypeId,
        fields: blockSchema.fields,
        capabilities: blockSchema.capabilities,
        version: blockSchema.version,
      }),
    } as const;
    return (await http.sendParsed(request, BlockSchemaSchema)).data;
  },

  async createBlockDocument(document) {
    const request = {
      operation: 'createBlockDocument',
      method: 'POST',
      path: '/block_documents/',
      body: compact({
        name: document.name,
        data: document.data,
        block_schema_id: document.blockSchemaId,
        block_type_id: document.blockTypeId,
        is_anonymous: document.isAnonymous,
      }),
    } as const;
    return (await http.sendParsed(request, BlockDocumentSchema)).data;
  },
});
