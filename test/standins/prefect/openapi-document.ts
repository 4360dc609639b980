/**
 * The OpenAPI 3.1 document served by a real Prefect 3.8.3 server (`GET /api/openapi.json`), loaded
 * once per process. Paths are relative to `/api`, e.g. `/work_pools/{name}`.
 */
import { readFileSync } from 'node:fs';

/** One operation of the document, reduced to what the stand-in uses. */
export interface OpenApiOperation {
  readonly parameters?: ReadonlyArray<{
    readonly name: string;
    readonly in: 'path' | 'query' | 'header' | 'cookie';
    readonly required?: boolean;
    readonly schema?: Record<string, unknown>;
  }>;
  readonly requestBody?: {
    readonly required?: boolean;
    readonly content: Record<string, { readonly schema: Record<string, unknown> }>;
  };
}

/** The parts of the document the stand-in reads. */
export interface OpenApiDocument {
  readonly openapi: string;
  readonly paths: Record<string, Record<string, OpenApiOperation>>;
  readonly components: { readonly schemas: Record<string, Record<string, unknown>> };
}

/** Absolute path of the document inside this folder (a copy of /work/shared/prefect-openapi.json). */
export const OPENAPI_DOCUMENT_PATH = new URL('./prefect-openapi.json', import.meta.url);

/** The parsed document; read from disk once, when this module is first imported. */
export const openApiDocument: OpenApiDocument = JSON.parse(
  readFileSync(OPENAPI_DOCUMENT_PATH, 'utf8')
) as OpenApiDocument;

/** Returns the operation for `method` (lower or upper case) on the document path `specPath`. */
export const findOperation = (specPath: string, method: string): OpenApiOperation | undefined =>
  openApiDocument.paths[specPath]?.[method.toLowerCase()];

/** Whether the document defines a component schema with this name. */
export const hasComponentSchema = (name: string): boolean =>
  Object.hasOwn(openApiDocument.components.schemas, name);
