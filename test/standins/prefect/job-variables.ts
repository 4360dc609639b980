/**
 * Job-variable validation against a work pool's `base_job_template.variables` JSON schema, as the
 * server does (`server/api/validation.py`): pool defaults on pool create/update, deployment
 * `job_variables` on deployment create (required keys ignored), and the full merge
 * (defaults ← deployment ← flow run) on flow-run create, where required keys count.
 */
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import ajvFormatsModule from 'ajv-formats';
import { httpError } from './http-errors.ts';
import type { Store } from './store.ts';

// ajv-formats is CommonJS: under NodeNext its default import is `module.exports`.
const addFormats = ajvFormatsModule.default;

type Json = Record<string, unknown>;

let userAjv: Ajv2020 | undefined;
const compiled = new Map<string, ValidateFunction>();

/** Templates come from users and pydantic v1/v2 generators: be lenient about the schema itself. */
const lenientAjv = (): Ajv2020 => {
  if (!userAjv) {
    userAjv = new Ajv2020({ strict: false, allErrors: false, validateFormats: false });
    addFormats(userAjv);
  }
  return userAjv;
};

const isObject = (value: unknown): value is Json =>
  value !== null && typeof value === 'object' && !Array.isArray(value);

const withoutRequired = (node: unknown): unknown => {
  if (Array.isArray(node)) return node.map(withoutRequired);
  if (!isObject(node)) return node;
  return Object.fromEntries(
    Object.entries(node)
      .filter(([key, value]) => !(key === 'required' && Array.isArray(value)))
      .map(([key, value]) => [key, withoutRequired(value)])
  );
};

/** `allow_none_with_default`: a top-level property with a default also accepts null. */
const allowNullWithDefault = (schema: Json): Json => {
  const properties = schema.properties;
  if (!isObject(properties)) return schema;
  const relaxed = Object.fromEntries(
    Object.entries(properties).map(([name, property]) =>
      isObject(property) && 'default' in property
        ? [name, { anyOf: [property, { type: 'null' }] }]
        : [name, property]
    )
  );
  return { ...schema, properties: relaxed };
};

const compile = (schema: Json, ignoreRequired: boolean): ValidateFunction => {
  const prepared = allowNullWithDefault(
    (ignoreRequired ? withoutRequired(schema) : schema) as Json
  );
  const key = JSON.stringify(prepared);
  const cached = compiled.get(key);
  if (cached) return cached;
  try {
    const validate = lenientAjv().compile(prepared);
    compiled.set(key, validate);
    return validate;
  } catch (error) {
    throw httpError(422, `Invalid job variables schema: ${(error as Error).message}`);
  }
};

const isBlockReference = (value: unknown): value is { $ref: { block_document_id: string } } =>
  isObject(value) &&
  isObject(value.$ref) &&
  typeof (value.$ref as Json).block_document_id === 'string';

/** Non-null top-level defaults; `{"$ref": {"block_document_id"}}` resolves to the block's data. */
const defaultsOf = (store: Store, schema: Json): Json => {
  const properties = isObject(schema.properties) ? schema.properties : {};
  const defaults: Json = {};
  for (const [name, property] of Object.entries(properties)) {
    if (!isObject(property) || property.default === undefined || property.default === null) {
      continue;
    }
    const value = property.default;
    if (isBlockReference(value)) {
      const document = store.blockDocuments.get(value.$ref.block_document_id);
      if (!document) throw httpError(404, 'Block not found.');
      defaults[name] = document.data;
    } else defaults[name] = value;
  }
  return defaults;
};

const describeFailure = (validate: ValidateFunction): string => {
  const error = validate.errors?.[0];
  if (!error) return 'Validation failed.';
  const field = error.instancePath
    .slice(1)
    .split('/')
    .filter((s) => s !== '')
    .join('.');
  const missing = (error.params as { missingProperty?: string }).missingProperty;
  const reason = missing ? `'${missing}' is a required property` : (error.message ?? 'invalid');
  return field
    ? `Validation failed for field '${field}'. Failure reason: ${reason}`
    : `Validation failed. Failure reason: ${reason}`;
};

const variablesSchema = (baseJobTemplate: Json): Json | undefined => {
  const schema = baseJobTemplate.variables;
  return isObject(schema) && Object.keys(schema).length > 0 ? schema : undefined;
};

/** Validates the defaults of a pool's template (pool create/update); throws 422 or 404. */
export const validatePoolDefaults = (store: Store, baseJobTemplate: Json): void => {
  const schema = variablesSchema(baseJobTemplate);
  if (!schema) return;
  const validate = compile(schema, true);
  if (!validate(defaultsOf(store, schema))) throw httpError(422, describeFailure(validate));
};

/**
 * Validates layered job variables against the pool's schema. Returns the failure message (to be
 * prefixed by the caller, e.g. "Error creating flow run: ") or undefined when valid.
 */
export const jobVariablesFailure = (
  store: Store,
  baseJobTemplate: Json,
  layers: ReadonlyArray<Json | null | undefined>,
  options: { ignoreRequired: boolean }
): string | undefined => {
  const schema = variablesSchema(baseJobTemplate);
  if (!schema) return undefined;
  const merged: Json = { ...defaultsOf(store, schema) };
  for (const layer of layers) if (isObject(layer)) Object.assign(merged, layer);
  const validate = compile(schema, options.ignoreRequired);
  return validate(merged) ? undefined : describeFailure(validate);
};

/** Validates flow-run parameters against a deployment's `parameter_openapi_schema`. */
export const parametersFailure = (schema: Json, parameters: Json): string | undefined => {
  const validate = compile(schema, false);
  return validate(parameters) ? undefined : describeFailure(validate);
};
