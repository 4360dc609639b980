/**
 * Checks a response body against a response schema of the OpenAPI document, more strictly than the
 * document says: the real server serialises pydantic models, so every declared field is present and
 * no undeclared field appears. Each object schema with `properties` is therefore checked with all
 * of them required and (unless the schema says otherwise) no additional properties.
 */
import type { Ajv2020 } from 'ajv/dist/2020.js';
import { openApiDocument } from './openapi-document.ts';
import { createAjv, DOCUMENT_ID, escapePointer } from './openapi-validator.ts';

const tightenObjects = (node: unknown): unknown => {
  if (Array.isArray(node)) return node.map(tightenObjects);
  if (node === null || typeof node !== 'object') return node;
  const copy: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(node)) {
    // `properties` maps names to schemas: recurse into each schema, never treat the map as a schema.
    copy[key] =
      key === 'properties' && value && typeof value === 'object'
        ? Object.fromEntries(Object.entries(value).map(([k, v]) => [k, tightenObjects(v)]))
        : tightenObjects(value);
  }
  const properties = copy.properties;
  if (properties && typeof properties === 'object' && !Array.isArray(properties)) {
    copy.required = Object.keys(properties);
    if (!('additionalProperties' in copy)) copy.additionalProperties = false;
  }
  return copy;
};

let responseAjv: Ajv2020 | undefined;

const strictAjv = (): Ajv2020 => {
  if (!responseAjv) {
    responseAjv = createAjv();
    const schemas = openApiDocument.components.schemas;
    const tightened = Object.fromEntries(
      Object.entries(schemas).map(([name, schema]) => [name, tightenObjects(schema)])
    );
    responseAjv.addSchema({ $id: DOCUMENT_ID, components: { schemas: tightened } });
  }
  return responseAjv;
};

const describe = (error: {
  instancePath: string;
  message?: string;
  params: Record<string, unknown>;
}): string => {
  const where = error.instancePath === '' ? '(root)' : error.instancePath;
  const detail =
    'additionalProperty' in error.params ? ` '${String(error.params.additionalProperty)}'` : '';
  return `${where} ${error.message ?? 'is invalid'}${detail}`;
};

/**
 * Lists why `body` does not have the exact shape of `#/components/schemas/<schemaName>`; `[]` when
 * it does. A name ending in `[]` (e.g. `WorkerFlowRunResponse[]`) checks an array of them.
 */
export const responseShapeErrors = (schemaName: string, body: unknown): string[] => {
  const isArray = schemaName.endsWith('[]');
  const name = isArray ? schemaName.slice(0, -2) : schemaName;
  const validate = strictAjv().getSchema(
    `${DOCUMENT_ID}#/components/schemas/${escapePointer(name)}`
  );
  if (!validate) return [`no schema named ${name} in the OpenAPI document`];
  if (isArray && !Array.isArray(body)) return ['(root) must be an array'];
  const items: unknown[] = isArray ? (body as unknown[]) : [body];
  const errors: string[] = [];
  items.forEach((item, index) => {
    if (validate(item)) return;
    const at = isArray ? `[${index}]` : '';
    for (const error of validate.errors ?? []) {
      // Union summaries and the `null` branch of optional fields only repeat the real error.
      if (error.keyword === 'anyOf') continue;
      const nullBranch =
        error.keyword === 'type' &&
        error.params.type === 'null' &&
        /\/anyOf\/\d+\/type$/.test(error.schemaPath);
      if (nullBranch) continue;
      errors.push(`${at}${describe(error)}`);
    }
  });
  return errors;
};
