/**
 * Validates request bodies and query parameters against the real server's OpenAPI document with
 * Ajv (JSON Schema 2020-12, as OpenAPI 3.1 uses); errors are reported as FastAPI would
 * (see `validation-issues.ts`).
 */
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import ajvFormatsModule from 'ajv-formats';
import { findOperation, openApiDocument } from './openapi-document.ts';
import { toValidationIssues, type ValidationIssue } from './validation-issues.ts';

// ajv-formats is CommonJS: under NodeNext its default import is `module.exports`.
const addFormats = ajvFormatsModule.default;
/** A JSON request body: `present` is false when the request had no body bytes at all. */
export interface RequestBody {
  present: boolean;
  value: unknown;
}

const DATE_TIME =
  /^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|z|[+-]\d{2}(?::?\d{2})?)$/;

/**
 * Pydantic accepts `T` or a space between date and time (the Python client sends `str(datetime)`).
 * Stricter than pydantic on purpose: a timezone offset is required, because a naive datetime is
 * ambiguous and our clients must never send one.
 */
export const isDateTime = (value: string): boolean =>
  DATE_TIME.test(value) && !Number.isNaN(Date.parse(value.replace(' ', 'T')));

/** An Ajv instance that knows the document's formats and non-standard keywords. */
export const createAjv = (): Ajv2020 => {
  const ajv = new Ajv2020({ allErrors: true, strict: true, strictTypes: false, verbose: true });
  addFormats(ajv);
  ajv.addFormat('date-time', { type: 'string', validate: isDateTime });
  for (const format of ['password', 'time-delta', 'path']) ajv.addFormat(format, true);
  // Keys of the registered document and pydantic-specific annotations that are not JSON Schema.
  for (const keyword of [
    'components',
    'paths',
    'supported_environment_variables',
    'min_items',
    'max_items',
  ]) {
    ajv.addKeyword(keyword);
  }
  return ajv;
};

/** The `$id` under which the document's `components` and `paths` are registered. */
export const DOCUMENT_ID = 'prefect';
let requestAjv: Ajv2020 | undefined;

/** The document registered once; schemas are compiled lazily, on first use, and cached by Ajv. */
const documentAjv = (): Ajv2020 => {
  if (!requestAjv) {
    requestAjv = createAjv();
    requestAjv.addSchema({
      $id: DOCUMENT_ID,
      components: openApiDocument.components,
      paths: openApiDocument.paths,
    });
  }
  return requestAjv;
};

/** Escapes one JSON-pointer segment. */
export const escapePointer = (segment: string): string =>
  segment.replace(/~/g, '~0').replace(/\//g, '~1');

const compileRef = (ajv: Ajv2020, pointer: string): ValidateFunction => {
  const validate = ajv.getSchema(`${DOCUMENT_ID}#${pointer}`);
  if (!validate)
    throw new Error(`Prefect stand-in: no schema at ${pointer} in the OpenAPI document`);
  return validate;
};

/** `#/components/schemas/<name>`, e.g. `WorkPoolCreate`. */
export const componentValidator = (schemaName: string): ValidateFunction =>
  compileRef(documentAjv(), `/components/schemas/${escapePointer(schemaName)}`);
/** Validates `value` against `#/components/schemas/<schemaName>`; returns [] when valid. */
export const validateComponent = (
  schemaName: string,
  value: unknown,
  prefix: ReadonlyArray<string | number> = ['body']
): ValidationIssue[] => {
  const validate = componentValidator(schemaName);
  return validate(value) ? [] : toValidationIssues(validate.errors ?? [], value, prefix);
};

const bodySchemaPointer = (specPath: string, method: string): string =>
  `/paths/${escapePointer(specPath)}/${method.toLowerCase()}/requestBody/content/application~1json/schema`;

/** Whether the body schema is one of FastAPI's generated `Body_*` objects (several embedded params). */
const isEmbeddedBody = (schema: Record<string, unknown>): boolean =>
  typeof schema.$ref === 'string' && schema.$ref.startsWith('#/components/schemas/Body_');

/** FastAPI treats an embedded body parameter sent as `null` like one not sent (its default). */
const withoutNullParameters = (value: unknown): unknown =>
  value !== null && typeof value === 'object' && !Array.isArray(value)
    ? Object.fromEntries(Object.entries(value).filter(([, v]) => v !== null))
    : value;

/**
 * Validates a request body the way FastAPI does for the operation `method specPath`. An absent body
 * of a required single-model body is `missing` at `["body"]`; an absent body of embedded parameters
 * is validated as `{}` so that each required parameter is reported, and embedded parameters sent as
 * `null` count as absent.
 */
export const validateRequestBody = (
  specPath: string,
  method: string,
  body: RequestBody
): ValidationIssue[] => {
  const requestBody = findOperation(specPath, method)?.requestBody;
  const schema = requestBody?.content['application/json']?.schema;
  if (!requestBody || !schema) return [];
  let value = body.value;
  if (!body.present || value === null) {
    if (isEmbeddedBody(schema)) value = {};
    else if (requestBody.required) {
      return [{ type: 'missing', loc: ['body'], msg: 'Field required', input: null }];
    } else return [];
  }
  if (isEmbeddedBody(schema)) value = withoutNullParameters(value);
  const validate = compileRef(documentAjv(), bodySchemaPointer(specPath, method));
  return validate(value) ? [] : toValidationIssues(validate.errors ?? [], value, ['body']);
};

/** The forms Python's `uuid` parsing in pydantic accepts: hyphenated, simple, braced, `urn:uuid:`. */
const UUID_FORMS = [
  /^([0-9a-f]{8})-([0-9a-f]{4})-([0-9a-f]{4})-([0-9a-f]{4})-([0-9a-f]{12})$/i,
  /^([0-9a-f]{8})([0-9a-f]{4})([0-9a-f]{4})([0-9a-f]{4})([0-9a-f]{12})$/i,
  /^\{([0-9a-f]{8})-([0-9a-f]{4})-([0-9a-f]{4})-([0-9a-f]{4})-([0-9a-f]{12})\}$/i,
  /^urn:uuid:([0-9a-f]{8})-([0-9a-f]{4})-([0-9a-f]{4})-([0-9a-f]{4})-([0-9a-f]{12})$/i,
];

/** A UUID query value in canonical form (lower case, hyphenated), or null when it is not one. */
export const parseUuid = (raw: string): string | null => {
  for (const form of UUID_FORMS) {
    const match = form.exec(raw);
    if (match) return match.slice(1, 6).join('-').toLowerCase();
  }
  return null;
};

const TRUE_WORDS = new Set(['1', 'on', 't', 'true', 'y', 'yes']);
const FALSE_WORDS = new Set(['0', 'off', 'f', 'false', 'n', 'no']);

/**
 * Parses and validates the query parameters the operation declares (pydantic's lax rules for
 * booleans and integers; UUIDs in any form Python accepts, returned canonical). Returns the typed values and the issues.
 */
export const validateQuery = (
  specPath: string,
  method: string,
  query: URLSearchParams
): { values: Record<string, unknown>; issues: ValidationIssue[] } => {
  const values: Record<string, unknown> = {};
  const issues: ValidationIssue[] = [];
  const parameters = findOperation(specPath, method)?.parameters ?? [];
  for (const parameter of parameters) {
    if (parameter.in !== 'query') continue;
    const raw = query.get(parameter.name);
    const schema = parameter.schema ?? {};
    if (raw === null) {
      if (parameter.required) {
        issues.push({
          type: 'missing',
          loc: ['query', parameter.name],
          msg: 'Field required',
          input: null,
        });
      } else values[parameter.name] = schema.default ?? null;
      continue;
    }
    const loc = ['query', parameter.name];
    if (schema.type === 'boolean') {
      const word = raw.toLowerCase();
      if (TRUE_WORDS.has(word)) values[parameter.name] = true;
      else if (FALSE_WORDS.has(word)) values[parameter.name] = false;
      else {
        issues.push({
          type: 'bool_parsing',
          loc,
          msg: 'Input should be a valid boolean, unable to interpret input',
          input: raw,
        });
      }
    } else if (schema.type === 'integer') {
      if (/^[+-]?\d+$/.test(raw.trim())) values[parameter.name] = Number(raw);
      else {
        issues.push({
          type: 'int_parsing',
          loc,
          msg: 'Input should be a valid integer, unable to parse string as an integer',
          input: raw,
        });
      }
    } else if (schema.format === 'uuid') {
      const id = parseUuid(raw);
      if (id !== null) values[parameter.name] = id;
      else
        issues.push({ type: 'uuid_parsing', loc, msg: 'Input should be a valid UUID', input: raw });
    } else values[parameter.name] = raw;
  }
  return { values, issues };
};
