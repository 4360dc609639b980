/**
 * Validates request inputs against botocore "service-2" models (the JSON the AWS SDKs are generated
 * from), the way the AWS front ends do before an operation runs:
 *
 * - type mismatches (a string where an integer belongs, a list where a structure belongs) are
 *   deserialisation failures: AWS JSON services answer `SerializationException`;
 * - constraint violations (required members, length, range, pattern, enum) are validation failures
 *   that AWS reports as `N validation error(s) detected: Value 'x' at 'path' failed to satisfy
 *   constraint: Member must ...; ...`. Which error code carries that message depends on the service
 *   (`ValidationException`, `InvalidParameterException`, ...), so the caller chooses it.
 *
 * Members the model does not know are ignored, as AWS JSON services do. `null` is the same as absent.
 * Patterns are matched against the whole value (Java `matches()`), as the services do.
 */
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** A reference from an operation or an aggregate shape to a shape, with its member traits. */
export interface ShapeRef {
  shape: string;
  locationName?: string;
  queryName?: string;
  idempotencyToken?: boolean;
  deprecated?: boolean;
  box?: boolean;
  timestampFormat?: TimestampFormat;
  jsonvalue?: boolean;
  documentation?: string;
}

export type TimestampFormat = 'iso8601' | 'rfc822' | 'unixTimestamp';

interface ShapeTraits {
  documentation?: string;
  sensitive?: boolean;
  deprecated?: boolean;
}

export interface StructureShape extends ShapeTraits {
  type: 'structure';
  members: Record<string, ShapeRef>;
  required?: string[];
  exception?: boolean;
  fault?: boolean;
  error?: { code?: string; httpStatusCode?: number; senderFault?: boolean };
  /** A Smithy document: any JSON value. */
  document?: boolean;
  /** Exactly one member may be set. */
  union?: boolean;
}

export interface ListShape extends ShapeTraits {
  type: 'list';
  member: ShapeRef;
  min?: number;
  max?: number;
  flattened?: boolean;
}

export interface MapShape extends ShapeTraits {
  type: 'map';
  key: ShapeRef;
  value: ShapeRef;
  min?: number;
  max?: number;
}

export interface StringShape extends ShapeTraits {
  type: 'string';
  min?: number;
  max?: number;
  pattern?: string;
  enum?: string[];
}

export type NumberType =
  | 'byte'
  | 'short'
  | 'integer'
  | 'long'
  | 'float'
  | 'double'
  | 'bigInteger'
  | 'bigDecimal';

export interface NumberShape extends ShapeTraits {
  type: NumberType;
  min?: number;
  max?: number;
  box?: boolean;
}

export interface BooleanShape extends ShapeTraits {
  type: 'boolean';
  box?: boolean;
}

export interface TimestampShape extends ShapeTraits {
  type: 'timestamp';
  timestampFormat?: TimestampFormat;
}

export interface BlobShape extends ShapeTraits {
  type: 'blob';
  min?: number;
  max?: number;
  streaming?: boolean;
}

export type Shape =
  | StructureShape
  | ListShape
  | MapShape
  | StringShape
  | NumberShape
  | BooleanShape
  | TimestampShape
  | BlobShape;

export interface OperationModel {
  name: string;
  http?: { method: string; requestUri: string; responseCode?: number };
  input?: ShapeRef;
  output?: ShapeRef;
  errors?: ShapeRef[];
  idempotent?: boolean;
  deprecated?: boolean;
  documentation?: string;
}

export interface ServiceMetadata {
  apiVersion: string;
  endpointPrefix: string;
  protocol: string;
  protocols?: string[];
  serviceId: string;
  uid?: string;
  jsonVersion?: string;
  targetPrefix?: string;
  signingName?: string;
  xmlNamespace?: string;
  serviceFullName?: string;
  serviceAbbreviation?: string;
  signatureVersion?: string;
}

export interface ServiceModel {
  version?: string;
  metadata: ServiceMetadata;
  operations: Record<string, OperationModel>;
  shapes: Record<string, Shape>;
}

export type ValidationIssueKind = 'required' | 'type' | 'length' | 'range' | 'pattern' | 'enum';

/** One problem with one value. `message` is the AWS wording for that problem alone. */
export interface ValidationIssue {
  kind: ValidationIssueKind;
  /** Where the value sits, AWS-style: `tags.1.member.key` (lists count from 1), `options.<key>`. */
  path: string;
  /** The member name (last path segment that is a structure member), e.g. `key`. */
  member: string;
  /** The offending value (`undefined` when a required member is missing). */
  value: unknown;
  message: string;
}

/** What is wrong with an operation's input, classified the way AWS answers it. */
export interface InputProblem {
  /** `serialization`: the body does not fit the shapes' types; `validation`: a constraint fails. */
  kind: 'serialization' | 'validation';
  /** `SerializationException`'s message, or the `N validation error(s) detected: ...` message. */
  message: string;
  issues: ValidationIssue[];
}

export interface ValidateOptions {
  /**
   * Accept scalars written as strings (`"5"`, `"true"`, an ISO date), as the query protocol (EC2)
   * carries every value. Off for JSON protocols, where `"5"` for an integer is a serialization error.
   */
  scalarsAsStrings?: boolean;
}

const MAX_DEPTH = 64;
const INT_MIN = -(2 ** 31);
const INT_MAX = 2 ** 31 - 1;

const modelCache = new Map<string, ServiceModel>();

/** Reads a service-2 JSON file once per path and keeps it (the ECS model is 864 KB). */
export const loadServiceModel = (path: string | URL): ServiceModel => {
  const file = path instanceof URL ? fileURLToPath(path) : path;
  const cached = modelCache.get(file);
  if (cached) return cached;
  if (!existsSync(file)) {
    throw new Error(
      `AWS service model not found at ${file}. The stand-ins load the botocore models vendored in test/standins/aws/models/.`
    );
  }
  const parsed = JSON.parse(readFileSync(file, 'utf8')) as ServiceModel;
  if (!parsed.metadata || !parsed.operations || !parsed.shapes) {
    throw new Error(
      `${file} is not a botocore service-2 model (metadata/operations/shapes missing)`
    );
  }
  modelCache.set(file, parsed);
  return parsed;
};

/** The path of a model vendored in `test/standins/aws/models/`, e.g. `standinModelPath('ecs.json')`. */
export const standinModelPath = (file: string): string =>
  fileURLToPath(new URL(`./models/${file}`, import.meta.url));

const patternCache = new Map<string, RegExp | null>();

/** AWS patterns are Java regexes matched with `matches()`: anchored at both ends. */
const compilePattern = (pattern: string): RegExp | null => {
  const cached = patternCache.get(pattern);
  if (cached !== undefined) return cached;
  let compiled: RegExp | null = null;
  for (const flags of ['u', '']) {
    try {
      compiled = new RegExp(`^(?:${pattern})$`, flags);
      break;
    } catch {
      // Try the next flag set; a pattern JS cannot compile is not checked.
    }
  }
  patternCache.set(pattern, compiled);
  return compiled;
};

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** The JSON token names the AWS (Jackson-based) deserialisers use in their messages. */
const tokenOf = (value: unknown): string => {
  if (value === null) return 'VALUE_NULL';
  if (Array.isArray(value)) return 'START_ARRAY';
  switch (typeof value) {
    case 'string':
      return 'VALUE_STRING';
    case 'number':
      return Number.isInteger(value) ? 'VALUE_NUMBER_INT' : 'VALUE_NUMBER_FLOAT';
    case 'boolean':
      return value ? 'VALUE_TRUE' : 'VALUE_FALSE';
    case 'object':
      return 'START_OBJECT';
    default:
      return typeof value;
  }
};

const JAVA_TYPE: Record<Shape['type'], string> = {
  structure: 'a Structure',
  list: 'a List',
  map: 'a Map',
  string: 'a String',
  byte: 'a Byte',
  short: 'a Short',
  integer: 'an Integer',
  long: 'a Long',
  float: 'a Float',
  double: 'a Double',
  bigInteger: 'a BigInteger',
  bigDecimal: 'a BigDecimal',
  boolean: 'a Boolean',
  timestamp: 'a Date',
  blob: 'a ByteBuffer',
};

/** How AWS prints a value in a validation message (Java `toString` style). */
const renderValue = (value: unknown): string => {
  if (Array.isArray(value)) return `[${value.map(renderValue).join(', ')}]`;
  if (isRecord(value)) {
    return `{${Object.entries(value)
      .map(([key, item]) => `${key}=${renderValue(item)}`)
      .join(', ')}}`;
  }
  return String(value);
};

const describeValue = (value: unknown, sensitive: boolean): string => {
  if (value === undefined || value === null) return 'Value null';
  if (sensitive) return 'Value';
  return `Value '${renderValue(value)}'`;
};

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

interface Walk {
  model: ServiceModel;
  options: ValidateOptions;
  issues: ValidationIssue[];
}

const lastMember = (path: string): string => {
  const segments = path.split('.').filter((s) => s !== 'member' && !/^\d+$/.test(s));
  return segments.at(-1) ?? path;
};

const addIssue = (
  walk: Walk,
  kind: ValidationIssueKind,
  path: string,
  value: unknown,
  constraint: string,
  sensitive: boolean
): void => {
  walk.issues.push({
    kind,
    path,
    member: lastMember(path),
    value,
    message: `${describeValue(value, sensitive)} at '${path}' failed to satisfy constraint: ${constraint}`,
  });
};

const addTypeIssue = (walk: Walk, shape: Shape, path: string, value: unknown): void => {
  walk.issues.push({
    kind: 'type',
    path,
    member: lastMember(path),
    value,
    message: `${tokenOf(value)} at '${path}' can not be converted to ${JAVA_TYPE[shape.type]}`,
  });
};

const checkLength = (
  walk: Walk,
  shape: { min?: number; max?: number; sensitive?: boolean },
  path: string,
  value: unknown,
  length: number
): void => {
  const sensitive = shape.sensitive === true;
  if (shape.min !== undefined && length < shape.min) {
    addIssue(
      walk,
      'length',
      path,
      value,
      `Member must have length greater than or equal to ${shape.min}`,
      sensitive
    );
  }
  if (shape.max !== undefined && length > shape.max) {
    addIssue(
      walk,
      'length',
      path,
      value,
      `Member must have length less than or equal to ${shape.max}`,
      sensitive
    );
  }
};

const asNumber = (walk: Walk, value: unknown): number | undefined => {
  if (typeof value === 'number') return value;
  if (walk.options.scalarsAsStrings && typeof value === 'string' && value.trim() !== '') {
    const parsed = Number(value);
    return Number.isNaN(parsed) ? undefined : parsed;
  }
  return undefined;
};

const validateNumber = (walk: Walk, shape: NumberShape, path: string, value: unknown): void => {
  const number = asNumber(walk, value);
  if (number === undefined || !Number.isFinite(number)) {
    addTypeIssue(walk, shape, path, value);
    return;
  }
  const integral = ['byte', 'short', 'integer', 'long', 'bigInteger'].includes(shape.type);
  if (integral && !Number.isInteger(number)) {
    addTypeIssue(walk, shape, path, value);
    return;
  }
  if (shape.type === 'integer' && (number < INT_MIN || number > INT_MAX)) {
    addTypeIssue(walk, shape, path, value);
    return;
  }
  const sensitive = shape.sensitive === true;
  if (shape.min !== undefined && number < shape.min) {
    addIssue(
      walk,
      'range',
      path,
      value,
      `Member must have value greater than or equal to ${shape.min}`,
      sensitive
    );
  }
  if (shape.max !== undefined && number > shape.max) {
    addIssue(
      walk,
      'range',
      path,
      value,
      `Member must have value less than or equal to ${shape.max}`,
      sensitive
    );
  }
};

const validateString = (walk: Walk, shape: StringShape, path: string, value: unknown): void => {
  if (typeof value !== 'string') {
    addTypeIssue(walk, shape, path, value);
    return;
  }
  checkLength(walk, shape, path, value, value.length);
  const sensitive = shape.sensitive === true;
  if (shape.pattern !== undefined) {
    const regex = compilePattern(shape.pattern);
    if (regex && !regex.test(value)) {
      addIssue(
        walk,
        'pattern',
        path,
        value,
        `Member must satisfy regular expression pattern: ${shape.pattern}`,
        sensitive
      );
    }
  }
  if (shape.enum !== undefined && !shape.enum.includes(value)) {
    addIssue(
      walk,
      'enum',
      path,
      value,
      `Member must satisfy enum value set: [${shape.enum.join(', ')}]`,
      sensitive
    );
  }
};

const validateTimestamp = (
  walk: Walk,
  shape: TimestampShape,
  path: string,
  value: unknown
): void => {
  if (typeof value === 'number' && Number.isFinite(value)) return;
  if (typeof value === 'string') {
    const isoAllowed = walk.options.scalarsAsStrings || shape.timestampFormat === 'iso8601';
    if (isoAllowed && !Number.isNaN(Date.parse(value))) return;
    if (walk.options.scalarsAsStrings && value.trim() !== '' && Number.isFinite(Number(value))) {
      return;
    }
  }
  addTypeIssue(walk, shape, path, value);
};

const validateBlob = (walk: Walk, shape: BlobShape, path: string, value: unknown): void => {
  if (typeof value !== 'string' || !BASE64.test(value)) {
    addTypeIssue(walk, shape, path, value);
    return;
  }
  const padding = value.endsWith('==') ? 2 : value.endsWith('=') ? 1 : 0;
  checkLength(walk, shape, path, value, (value.length / 4) * 3 - padding);
};

const validateBoolean = (walk: Walk, shape: BooleanShape, path: string, value: unknown): void => {
  if (typeof value === 'boolean') return;
  if (walk.options.scalarsAsStrings && (value === 'true' || value === 'false')) return;
  addTypeIssue(walk, shape, path, value);
};

const joinPath = (path: string, member: string): string => (path ? `${path}.${member}` : member);

const validateStructure = (
  walk: Walk,
  shape: StructureShape,
  path: string,
  value: unknown,
  depth: number
): void => {
  if (shape.document) return;
  if (!isRecord(value)) {
    addTypeIssue(walk, shape, path || '<root>', value);
    return;
  }
  for (const name of shape.required ?? []) {
    const present = Object.hasOwn(value, name) && value[name] !== null;
    if (!present) {
      addIssue(walk, 'required', joinPath(path, name), undefined, 'Member must not be null', false);
    }
  }
  for (const [name, ref] of Object.entries(shape.members)) {
    if (!Object.hasOwn(value, name)) continue;
    const item = value[name];
    if (item === null || item === undefined) continue;
    visit(walk, ref.shape, joinPath(path, name), item, depth + 1);
  }
};

const validateList = (
  walk: Walk,
  shape: ListShape,
  path: string,
  value: unknown,
  depth: number
): void => {
  if (!Array.isArray(value)) {
    addTypeIssue(walk, shape, path, value);
    return;
  }
  checkLength(walk, shape, path, value, value.length);
  value.forEach((item, index) => {
    const itemPath = `${path}.${index + 1}.member`;
    if (item === null || item === undefined) {
      addIssue(walk, 'required', itemPath, undefined, 'Member must not be null', false);
      return;
    }
    visit(walk, shape.member.shape, itemPath, item, depth + 1);
  });
};

const validateMap = (
  walk: Walk,
  shape: MapShape,
  path: string,
  value: unknown,
  depth: number
): void => {
  if (!isRecord(value)) {
    addTypeIssue(walk, shape, path, value);
    return;
  }
  const entries = Object.entries(value);
  checkLength(walk, shape, path, value, entries.length);
  for (const [key, item] of entries) {
    const keyWalk: Walk = { ...walk, issues: [] };
    visit(keyWalk, shape.key.shape, path, key, depth + 1);
    for (const issue of keyWalk.issues) {
      if (issue.kind === 'type') {
        walk.issues.push(issue);
        continue;
      }
      const constraint = issue.message.slice(issue.message.indexOf('constraint: ') + 12);
      addIssue(
        walk,
        issue.kind,
        path,
        value,
        `Map keys must satisfy constraint: [${constraint}]`,
        shape.sensitive === true
      );
    }
    const itemPath = `${path}.${key}`;
    if (item === null || item === undefined) {
      addIssue(walk, 'required', itemPath, undefined, 'Member must not be null', false);
      continue;
    }
    visit(walk, shape.value.shape, itemPath, item, depth + 1);
  }
};

const visit = (
  walk: Walk,
  shapeName: string,
  path: string,
  value: unknown,
  depth: number
): void => {
  const shape = walk.model.shapes[shapeName];
  if (!shape) throw new Error(`Shape ${shapeName} is not in the model`);
  if (depth > MAX_DEPTH) {
    addTypeIssue(walk, shape, path, value);
    return;
  }
  switch (shape.type) {
    case 'structure':
      validateStructure(walk, shape, path, value, depth);
      break;
    case 'list':
      validateList(walk, shape, path, value, depth);
      break;
    case 'map':
      validateMap(walk, shape, path, value, depth);
      break;
    case 'string':
      validateString(walk, shape, path, value);
      break;
    case 'boolean':
      validateBoolean(walk, shape, path, value);
      break;
    case 'timestamp':
      validateTimestamp(walk, shape, path, value);
      break;
    case 'blob':
      validateBlob(walk, shape, path, value);
      break;
    default:
      validateNumber(walk, shape, path, value);
  }
};

/**
 * Every problem with `value` as an instance of `shapeName`, located under `path` (use `''` for an
 * operation's input). Unknown members are ignored; `null` members count as absent.
 */
export const validateShape = (
  model: ServiceModel,
  shapeName: string,
  value: unknown,
  path = '',
  options: ValidateOptions = {}
): ValidationIssue[] => {
  const walk: Walk = { model, options, issues: [] };
  visit(walk, shapeName, path, value, 0);
  return walk.issues;
};

/** `1 validation error detected: ...` / `2 validation errors detected: ...; ...` */
export const formatValidationMessage = (issues: readonly ValidationIssue[]): string =>
  `${issues.length} validation error${issues.length === 1 ? '' : 's'} detected: ${issues
    .map((issue) => issue.message)
    .join('; ')}`;

/**
 * Checks `input` against `operation`'s input shape. Type mismatches win over constraint violations,
 * as the body is deserialised before it is validated. Throws if the model has no such operation.
 */
export const checkOperationInput = (
  model: ServiceModel,
  operation: string,
  input: unknown,
  options: ValidateOptions = {}
): InputProblem | null => {
  const op = model.operations[operation];
  if (!op) throw new Error(`${model.metadata.serviceId} has no operation ${operation}`);
  const body = input === undefined || input === null ? {} : input;
  if (!op.input) {
    return isRecord(body)
      ? null
      : {
          kind: 'serialization',
          message: `${tokenOf(body)} can not be converted to a Structure`,
          issues: [],
        };
  }
  const issues = validateShape(model, op.input.shape, body, '', options);
  if (issues.length === 0) return null;
  const typeIssue = issues.find((issue) => issue.kind === 'type');
  if (typeIssue) return { kind: 'serialization', message: typeIssue.message, issues: [typeIssue] };
  return { kind: 'validation', message: formatValidationMessage(issues), issues };
};

/**
 * The message AWS would answer `input` with, or `null` when it is valid: a `SerializationException`
 * message for a type mismatch, otherwise `N validation error(s) detected: ...` listing every
 * constraint violation (AWS lists them all, not only the first).
 */
export const validateOperationInput = (
  model: ServiceModel,
  operation: string,
  input: unknown,
  options: ValidateOptions = {}
): string | null => checkOperationInput(model, operation, input, options)?.message ?? null;
